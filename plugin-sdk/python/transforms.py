"""componentize-py looks up the exported resource `Transformer` in a top-level module named after
its WIT interface; this one delegates to the SDK (see sluice/_exports.py)."""

from sluice._exports import Transformer

__all__ = ["Transformer"]
