"""componentize-py looks up the exported resource `PackedSinkTask` in a top-level module named after
its WIT interface (`packed-sink`, exported by the `*-packed` worlds); this one delegates to
the SDK (see sluice/_exports.py)."""

from sluice._exports import PackedSinkTask

__all__ = ["PackedSinkTask"]
