#!/bin/sh
# Builds {{name}}.wasm from app.py and the vendored SDK in sdk/ (componentize-py from
# requirements.txt must be installed: see README.md).
set -eu
cd "$(dirname "$0")"
componentize-py --wit-path wit --world {{world}}-packed componentize --python-path . --python-path sdk app --output {{name}}.wasm
