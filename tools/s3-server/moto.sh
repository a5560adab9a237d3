#!/bin/sh
# Runs moto's S3 server from the venv VENV (installing moto and boto3 from requirements.txt next
# to this script first, when VENV lacks them or holds another version; the marker file is the
# one tests/harness/python.rs writes, so both share one venv). Used by `cargo xtask postgres-cdc
# --to s3`.
#   tools/s3-server/moto.sh VENV [moto.server arguments, e.g. -H 127.0.0.1 -p 8098]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=$1
shift
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/installed-requirements.txt"; then
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/installed-requirements.txt"
fi
exec "$venv/bin/python" -m moto.server "$@"
