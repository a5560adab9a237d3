"""componentize-py looks up the exported resource `PackedTransformer` in a top-level module named after
its WIT interface (`packed-transforms`, exported by the `*-packed` worlds); this one delegates to
the SDK (see sluice/_exports.py)."""

from sluice._exports import PackedTransformer

__all__ = ["PackedTransformer"]
