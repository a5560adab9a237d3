"""componentize-py looks up the exported resource `PackedSourceTask` in a top-level module named after
its WIT interface (`packed-source`, exported by the `*-packed` worlds); this one delegates to
the SDK (see sluice/_exports.py)."""

from sluice._exports import PackedSourceTask

__all__ = ["PackedSourceTask"]
