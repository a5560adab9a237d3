"""componentize-py looks up the exported resource `Tester` in a top-level module named after
its WIT interface; this one delegates to the SDK (see sluice/_exports.py)."""

from sluice._exports import Tester

__all__ = ["Tester"]
