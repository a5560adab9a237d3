"""The packed batch encoding (docs/packed-batches.md): a whole batch as one byte string.

The host hands a component that exports the packed interfaces one ``bytes`` per batch instead
of a tree of WIT records, so a batch crosses the boundary as one copy instead of one guest
allocation per string and list. This module reads and writes that encoding in plain Python
(it imports nothing generated, so the SDK's tests run it under plain CPython).

Design decision: decoding is lazy where it pays. A struct value is read as the byte spans of
its fields (:class:`PackedStruct`); a field becomes a Python value only when the plugin reads
it, and on the way out every field the plugin did not write is copied back as bytes. A record
the transform returns unchanged in its head, key or headers copies those as bytes too, and the
output's schema table starts with a copy of the input's, so those bytes keep their schema
indexes. Schema objects are built once per distinct schema (cached across batches by their
bytes), not once per record or batch.
"""

from __future__ import annotations

import gc
import re
import struct as _struct
from typing import Any, Dict, List, Optional, Tuple

from ._data import (DataError, Header, Record, Schema, SchemaType, SourceRecord, Struct, Typed)

VERSION = 1
#: Deepest nesting of values and schemas, as the host's decoder.
MAX_DEPTH = 512

# Tags of docs/packed-batches.md ("Values").
T_NULL, T_BOOL, T_INT8, T_INT16, T_INT32, T_INT64, T_F32, T_F64 = range(8)
T_STRING, T_BYTES, T_ARRAY, T_MAP, T_STRUCT = range(8, 13)

_TYPES = (SchemaType.INT8, SchemaType.INT16, SchemaType.INT32, SchemaType.INT64,
          SchemaType.FLOAT32, SchemaType.FLOAT64, SchemaType.BOOLEAN, SchemaType.STRING,
          SchemaType.BYTES, SchemaType.ARRAY, SchemaType.MAP, SchemaType.STRUCT)
_TYPE_CODE = {t: i for i, t in enumerate(_TYPES)}
_TIMESTAMP_TYPES = ("no-timestamp-type", "create-time", "log-append-time")
_TIMESTAMP_CODE = {t: i for i, t in enumerate(_TIMESTAMP_TYPES)}
#: Schemaless numbers of these tags keep their Connect type as a :class:`Typed`.
_SCHEMALESS_TYPED = {T_INT8: SchemaType.INT8, T_INT16: SchemaType.INT16,
                     T_INT32: SchemaType.INT32, T_F32: SchemaType.FLOAT32}
_INT_RANGES = {
    SchemaType.INT8: (-(1 << 7), (1 << 7) - 1, T_INT8),
    SchemaType.INT16: (-(1 << 15), (1 << 15) - 1, T_INT16),
    SchemaType.INT32: (-(1 << 31), (1 << 31) - 1, T_INT32),
    SchemaType.INT64: (-(1 << 63), (1 << 63) - 1, T_INT64),
}
#: Values a plugin cannot change in place: when it hands one back untouched, its input bytes
#: are still its encoding.
_IMMUTABLE = frozenset((type(None), bool, int, float, str, bytes, Typed))

_STRING = SchemaType.STRING
_F32 = _struct.Struct("<f")
_F64 = _struct.Struct("<d")
_UNREAD = object()
_new = object.__new__


class gc_paused:
    """``with gc_paused():`` runs a batch call with CPython's cyclic garbage collector off.

    Decoding a batch makes several container objects per record (the record, its dict, the
    spans, a struct's field lists), and every 700 of them start a collection that walks all
    young objects, the batch's live records included: in plain CPython 3.11 that was half of
    the decoding time (plugin-sdk/python/bench/bench_packed.py). The records are freed by
    reference counting when the call returns; cycles made during the call wait at most until
    the collector's next run after it. Nested uses leave the collector as the outer one found it.
    """

    __slots__ = ("_was_enabled",)

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: Any) -> None:
        if self._was_enabled:
            gc.enable()


class MalformedPayload(DataError):
    """Bytes that are not a packed payload at all (cut short, an unknown tag, ...): a host bug,
    which fails the whole call rather than one record."""


# Shared with the structured path (sluice._wire), so both report bad data in the same words.

def mismatch(value: Any, t: str) -> DataError:
    return DataError(f"a {t} schema needs a {t} value, got {type(value).__name__}: {str(value)[:60]}")


def infer(value: Any) -> str:
    """The Connect type a schemaless Python value travels as."""
    if isinstance(value, bool):
        return SchemaType.BOOLEAN
    if isinstance(value, int):
        return SchemaType.INT64
    if isinstance(value, float):
        return SchemaType.FLOAT64
    if isinstance(value, str):
        return SchemaType.STRING
    if isinstance(value, (bytes, bytearray)):
        return SchemaType.BYTES
    if isinstance(value, (list, tuple)):
        return SchemaType.ARRAY
    if isinstance(value, dict):
        return SchemaType.MAP
    raise DataError(f"cannot send a {type(value).__name__} as Connect data")


def hashable(key: Any) -> Any:
    # Connect allows any map key; Python dict keys must be hashable.
    if isinstance(key, list):
        return tuple(hashable(k) for k in key)
    if isinstance(key, (dict, Struct)):
        raise DataError("map keys that are maps or structs are not supported by the Python SDK")
    return key


def check_number(t: str, value: Any) -> Any:
    """``value`` as a number of Connect type ``t``, or the DataError the structured path gives."""
    if t == SchemaType.FLOAT32 or t == SchemaType.FLOAT64:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise mismatch(value, t)
        return float(value)
    lo, hi, _ = _INT_RANGES[t]
    if isinstance(value, bool) or not isinstance(value, int):
        raise mismatch(value, t)
    if not lo <= value <= hi:
        raise DataError(f"{value} does not fit in {t}")
    return value


# Reading --------------------------------------------------------------------------------

def _uvar(buf: bytes, p: int) -> Tuple[int, int]:
    b = buf[p]
    if b < 0x80:
        return b, p + 1
    v = b & 0x7F
    shift = 7
    while True:
        p += 1
        b = buf[p]
        if shift == 63 and b > 1:
            raise MalformedPayload(f"varint overflows 64 bits at byte {p}")
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, p + 1
        shift += 7
        if shift > 63:
            raise MalformedPayload(f"varint overflows 64 bits at byte {p}")


def _svar(buf: bytes, p: int) -> Tuple[int, int]:
    u, p = _uvar(buf, p)
    return (u >> 1) ^ -(u & 1), p


def _opt_svar(buf: bytes, p: int) -> Tuple[Optional[int], int]:
    if buf[p] == 0:
        return None, p + 1
    u, p = _uvar(buf, p + 1)
    return (u >> 1) ^ -(u & 1), p


def _str(buf: bytes, p: int) -> Tuple[str, int]:
    n, p = _uvar(buf, p)
    end = p + n
    if end > len(buf):
        raise MalformedPayload(f"string of {n} bytes at byte {p} runs past the end")
    try:
        return buf[p:end].decode("utf-8"), end
    except UnicodeDecodeError as e:
        raise MalformedPayload(f"string at byte {p} is not UTF-8: {e}") from None


def _opt_str(buf: bytes, p: int) -> Tuple[Optional[str], int]:
    if buf[p] == 0:
        return None, p + 1
    return _str(buf, p + 1)


def _skip(buf: bytes, p: int, depth: int = 0) -> int:
    """The end of the value at ``p``, checking only its structure."""
    if depth > MAX_DEPTH:
        raise MalformedPayload(f"value nested deeper than {MAX_DEPTH} levels")
    tag = buf[p]
    p += 1
    if tag == T_STRING or tag == T_BYTES:
        n, p = _uvar(buf, p)
        p += n
        if p > len(buf):
            raise MalformedPayload(f"a value of {n} bytes runs past the end")
        return p
    if T_INT16 <= tag <= T_INT64:
        while buf[p] >= 0x80:
            p += 1
        return p + 1
    if tag == T_NULL:
        return p
    if tag == T_BOOL or tag == T_INT8:
        return p + 1
    if tag == T_F32:
        return p + 4
    if tag == T_F64:
        return p + 8
    if tag == T_ARRAY or tag == T_STRUCT or tag == T_MAP:
        n, p = _uvar(buf, p)
        for _ in range(2 * n if tag == T_MAP else n):
            p = _skip(buf, p, depth + 1)
        return p
    raise MalformedPayload(f"unknown value tag {tag} at byte {p - 1}")


def _value(buf: bytes, p: int, schema: Optional[Schema], depth: int = 0) -> Tuple[Any, int]:
    """The value at ``p`` as the SDK's Python value (as ``sluice._wire.lift_value``)."""
    if depth > MAX_DEPTH:
        raise MalformedPayload(f"value nested deeper than {MAX_DEPTH} levels")
    tag = buf[p]
    p += 1
    if tag == T_STRING:
        return _str(buf, p)
    if tag == T_INT64:
        return _svar(buf, p)
    if tag == T_NULL:
        return None, p
    if tag == T_STRUCT:
        return _struct_at(buf, p, schema, depth)
    if tag == T_BOOL:
        b = buf[p]
        if b > 1:
            raise MalformedPayload(f"boolean byte {b} at byte {p}")
        return b == 1, p + 1
    if tag == T_F64:
        if p + 8 > len(buf):
            raise MalformedPayload("float64 runs past the end")
        return _F64.unpack_from(buf, p)[0], p + 8
    if tag == T_BYTES:
        n, p = _uvar(buf, p)
        if p + n > len(buf):
            raise MalformedPayload(f"bytes of {n} bytes at byte {p} run past the end")
        return buf[p:p + n], p + n
    if tag == T_INT32 or tag == T_INT16:
        v, p = _svar(buf, p)
    elif tag == T_INT8:
        v = buf[p]
        v, p = (v - 256 if v >= 128 else v), p + 1
    elif tag == T_F32:
        if p + 4 > len(buf):
            raise MalformedPayload("float32 runs past the end")
        v, p = _F32.unpack_from(buf, p)[0], p + 4
    elif tag == T_ARRAY:
        n, p = _uvar(buf, p)
        items = schema.items if schema is not None else None
        out = []
        for _ in range(n):
            v, p = _value(buf, p, items, depth + 1)
            out.append(v)
        return out, p
    elif tag == T_MAP:
        n, p = _uvar(buf, p)
        ks = schema.keys if schema is not None else None
        vs = schema.values if schema is not None else None
        d = {}
        for _ in range(n):
            k, p = _value(buf, p, ks, depth + 1)
            v, p = _value(buf, p, vs, depth + 1)
            d[hashable(k)] = v
        return d, p
    else:
        raise MalformedPayload(f"unknown value tag {tag} at byte {p - 1}")
    return (v if schema is not None else Typed(_SCHEMALESS_TYPED[tag], v)), p


def _struct_at(buf: bytes, p: int, schema: Optional[Schema], depth: int) -> Tuple["PackedStruct", int]:
    """A struct value whose tag was just read: the spans of its fields, none decoded yet."""
    scan = _SCANNERS.get(id(schema))
    if scan is not None:
        s = scan(buf, p, depth)
        return s, s._offs[-1]
    return _struct_generic(buf, p, schema, depth)


def _struct_generic(buf: bytes, p: int, schema: Optional[Schema], depth: int) -> Tuple["PackedStruct", int]:
    """:func:`_struct_at` for any schema, walking the fields by their tags. The scanners
    made by :func:`_scanner` give the same result faster, and call this on anything unusual
    (so that errors are the same too)."""
    n = buf[p]
    if n < 0x80:
        p += 1
    else:
        n, p = _uvar(buf, p)
    if schema is None or schema.type != SchemaType.STRUCT:
        raise DataError(f"a struct value needs a struct schema, got {schema!r}")
    nfields = len(schema.fields)
    if n != nfields:
        raise DataError(f"struct value has {n} fields, its schema {nfields}")
    offs = [p]
    append = offs.append
    for _ in range(n):
        # Inline the common field types; anything else by the generic skip.
        tag = buf[p]
        if tag == T_STRING:
            size = buf[p + 1]
            if size < 0x80:
                p += 2 + size
            else:
                size, p = _uvar(buf, p + 1)
                p += size
        elif tag == T_INT64 or tag == T_INT32:
            p += 1
            while buf[p] >= 0x80:
                p += 1
            p += 1
        else:
            p = _skip(buf, p, depth + 1)
        append(p)
    if p > len(buf):
        raise MalformedPayload("a struct value runs past the end")
    names = _FIELD_NAMES.get(id(schema))
    # PackedStruct.__init__, inline. (The scanners do the same; keep them in step.)
    s = _new(PackedStruct)
    s.schema = schema
    s._buf = buf
    s._offs = offs
    s._vals = [_UNREAD] * n
    s._names = names if names is not None else _field_names(schema)
    s._dirty = 0
    s._exposed = False
    s._write = _WRITERS.get(id(schema), _put_fields)
    return s, p


#: The tag a field of each Connect type is written with, and how the scanner steps over it.
_SCAN_TAGS = {
    SchemaType.STRING: (T_STRING, "sized"), SchemaType.BYTES: (T_BYTES, "sized"),
    SchemaType.INT64: (T_INT64, "varint"), SchemaType.INT32: (T_INT32, "varint"),
    SchemaType.INT16: (T_INT16, "varint"), SchemaType.INT8: (T_INT8, 2),
    SchemaType.BOOLEAN: (T_BOOL, 2), SchemaType.FLOAT32: (T_F32, 5),
    SchemaType.FLOAT64: (T_F64, 9),
}


def _scanner(schema: Schema, names: Dict[str, int], writer: Any) -> Any:
    """A function scanning struct values of ``schema`` as :func:`_struct_generic` does,
    specialised to its fields: one straight run of steps, each expecting its field's tag
    (made once per distinct schema, kept with it in the schema cache).

    Only the common shape is handled here: a field whose tag is not the one its schema
    writes is stepped over by :func:`_skip`, as in the generic walk, and a field count that
    differs, a value running past the end or a malformed one hand the whole struct to
    :func:`_struct_generic`, so the result (or the error) is the same as without scanners.
    ``scan(buf, p, depth)`` returns the :class:`PackedStruct` alone: its end is its last
    offset.
    """
    n = len(schema.fields)
    if n >= 0x80:
        return None
    lines = ["def scan(buf, p, depth):",
             "    start = p",
             "    try:",
             f"        if buf[p] != {n}:",
             "            return _struct_generic(buf, p, SCHEMA, depth)[0]",
             "        p += 1",
             "        o0 = p"]
    for i, (_, fs) in enumerate(schema.fields):
        tag, step = _SCAN_TAGS.get(fs.type, (None, None))
        if tag is None:  # arrays, maps, nested structs
            lines.append("        p = _skip(buf, p, depth + 1)")
        else:
            lines.append("        t = buf[p]")
            if step == "sized":
                lines += [f"        if t == {tag}:",
                          "            n = buf[p + 1]",
                          "            if n < 0x80:",
                          "                p += 2 + n",
                          "            else:",
                          "                n, p = _uvar(buf, p + 1)",
                          "                p += n"]
            elif step == "varint":
                lines += [f"        if t == {tag}:",
                          "            p += 1",
                          "            while buf[p] >= 0x80:",
                          "                p += 1",
                          "            p += 1"]
            else:
                lines += [f"        if t == {tag}:",
                          f"            p += {step}"]
            if fs.optional:
                lines += [f"        elif t == {T_NULL}:",
                          "            p += 1"]
            lines += ["        else:",
                      "            p = _skip(buf, p, depth + 1)"]
        lines.append(f"        o{i + 1} = p")
    lines += ["        if p > len(buf):",
              "            return _struct_generic(buf, start, SCHEMA, depth)[0]",
              "    except (IndexError, MalformedPayload):",
              "        return _struct_generic(buf, start, SCHEMA, depth)[0]",
              "    s = _new(PackedStruct)",
              "    s.schema = SCHEMA",
              "    s._buf = buf",
              f"    s._offs = [{', '.join(f'o{i}' for i in range(n + 1))}]",
              f"    s._vals = [{', '.join(['_UNREAD'] * n)}]",
              "    s._names = NAMES",
              "    s._dirty = 0",
              "    s._exposed = False",
              "    s._write = WRITER",
              "    return s"]
    scope = {"SCHEMA": schema, "NAMES": names, "WRITER": writer, "_struct_generic": _struct_generic,
             "_skip": _skip, "_uvar": _uvar, "_new": _new, "PackedStruct": PackedStruct,
             "_UNREAD": _UNREAD, "MalformedPayload": MalformedPayload}
    name = f"<sluice packed scanner for {schema.name or 'struct'}>"
    exec(compile("\n".join(lines), name, "exec"), scope)
    return scope["scan"]


def _field_names(schema: Schema) -> Dict[str, int]:
    return {name: i for i, (name, _) in enumerate(schema.fields)}


#: Schemas seen in input batches, by their bytes (bounded: cleared when full).
_SCHEMAS: Dict[bytes, Schema] = {}
_SCHEMA_CACHE_SIZE = 1024
#: Field name -> index, by id of a Schema in _SCHEMAS (those are kept alive by the cache).
_FIELD_NAMES: Dict[int, Dict[str, int]] = {}
#: The scanner (:func:`_scanner`) of each struct schema in _SCHEMAS, nested ones included, by
#: id, so that a struct value of a cached schema is read by one call.
_SCANNERS: Dict[int, Any] = {}
#: The field writer (:func:`_writer`) of each of those struct schemas, by id.
_WRITERS: Dict[int, Any] = {}


def _schema(buf: bytes, p: int, depth: int = 0) -> Tuple[Schema, int]:
    if depth > MAX_DEPTH:
        raise MalformedPayload(f"schema nested deeper than {MAX_DEPTH} levels")
    code = buf[p]
    if code >= len(_TYPES):
        raise MalformedPayload(f"unknown schema type {code} at byte {p}")
    s = Schema(_TYPES[code])
    s.optional = buf[p + 1] == 1
    s.name, p = _opt_str(buf, p + 2)
    s.version, p = _opt_svar(buf, p)
    s.doc, p = _opt_str(buf, p)
    n, p = _uvar(buf, p)
    params = []
    for _ in range(n):
        k, p = _str(buf, p)
        v, p = _str(buf, p)
        params.append((k, v))
    s.parameters = params
    default_at = None
    if buf[p] == 1:
        # The default is a value of this schema, whose fields come after it.
        default_at = p + 1
        p = _skip(buf, default_at, depth + 1)
    else:
        p += 1
    for attr in ("items", "keys", "values"):
        if buf[p] == 1:
            sub, p = _schema(buf, p + 1, depth + 1)
            setattr(s, attr, sub)
        else:
            p += 1
    n, p = _uvar(buf, p)
    fields = []
    for _ in range(n):
        name, p = _str(buf, p)
        fs, p = _schema(buf, p, depth + 1)
        fields.append((name, fs))
    s.fields = fields
    if default_at is not None:
        s.default = _materialize(_value(buf, default_at, s, depth + 1)[0])
    return s, p


def _materialize(v: Any) -> Any:
    """A plain Struct for a PackedStruct (defaults outlive the batch they came in)."""
    if type(v) is PackedStruct:
        return Struct(v.schema, [_materialize(x) for x in v._all()])
    return v


def _table(buf: bytes, p: int, n: int) -> Tuple[List[Schema], int]:
    schemas = []
    for _ in range(n):
        start = p
        _, p = _schema_skip(buf, p)
        key = buf[start:p]
        s = _SCHEMAS.get(key)
        if s is None:
            if len(_SCHEMAS) >= _SCHEMA_CACHE_SIZE:
                _SCHEMAS.clear()
                _FIELD_NAMES.clear()
                _SCANNERS.clear()
                _WRITERS.clear()
            s, _ = _schema(buf, start)
            _SCHEMAS[key] = s
            _register(s)
        schemas.append(s)
    return schemas, p


def _register(s: Schema, depth: int = 0) -> None:
    """Field names and scanners of ``s`` and the struct schemas inside it (all kept alive
    by the cache entry of ``s``, so their ids stay theirs)."""
    if depth > MAX_DEPTH or id(s) in _FIELD_NAMES:
        return
    names = _FIELD_NAMES[id(s)] = _field_names(s)
    if s.type == SchemaType.STRUCT:
        writer = _WRITERS[id(s)] = _writer(s)
        scan = _scanner(s, names, writer)
        if scan is not None:
            _SCANNERS[id(s)] = scan
    for sub in (s.items, s.keys, s.values):
        if sub is not None:
            _register(sub, depth + 1)
    for _, fs in s.fields:
        _register(fs, depth + 1)


def _schema_skip(buf: bytes, p: int, depth: int = 0) -> Tuple[None, int]:
    """The end of the schema at ``p`` (to key the cache before building anything)."""
    if depth > MAX_DEPTH:
        raise MalformedPayload(f"schema nested deeper than {MAX_DEPTH} levels")
    if buf[p] >= len(_TYPES):
        raise MalformedPayload(f"unknown schema type {buf[p]} at byte {p}")
    p += 2
    for opt in range(3):
        if buf[p] == 1:
            if opt == 1:
                _, p = _uvar(buf, p + 1)
            else:
                n, p = _uvar(buf, p + 1)
                p += n
        else:
            p += 1
    n, p = _uvar(buf, p)
    for _ in range(2 * n):
        size, p = _uvar(buf, p)
        p += size
    p = _skip(buf, p + 1, depth + 1) if buf[p] == 1 else p + 1
    for _ in range(3):
        if buf[p] == 1:
            _, p = _schema_skip(buf, p + 1, depth + 1)
        else:
            p += 1
    n, p = _uvar(buf, p)
    for _ in range(n):
        size, p = _uvar(buf, p)
        _, p = _schema_skip(buf, p + size, depth + 1)
    if p > len(buf):
        raise MalformedPayload("a schema runs past the end")
    return None, p


class PackedStruct(Struct):
    """A struct value read from a packed batch: a field is decoded when first read, and every
    field not written is copied back as its input bytes. Behaves as :class:`Struct`."""

    __slots__ = ("_buf", "_offs", "_vals", "_names", "_dirty", "_exposed", "_write")

    def __init__(self, schema: Schema, buf: bytes, offs: List[int]):
        # Struct.__init__ is skipped on purpose: it would fill ``values``. (_struct_at builds
        # these without calling __init__; keep the two in step.)
        self.schema = schema
        self._buf = buf
        self._offs = offs
        self._vals = [_UNREAD] * (len(offs) - 1)
        names = _FIELD_NAMES.get(id(schema))
        self._names = names if names is not None else _field_names(schema)
        #: Bit i set: field i must be encoded (written, or a mutable value handed out).
        self._dirty = 0
        #: ``values`` was handed out: any field may have changed.
        self._exposed = False
        #: Writes the fields when some changed: _put_fields, or its specialised version.
        self._write = _WRITERS.get(id(schema), _put_fields)

    def _read(self, i: int) -> Any:
        buf = self._buf
        p = self._offs[i]
        if buf[p] == T_STRING and buf[p + 1] < 0x80:  # the common case, inline
            v = buf[p + 2:self._offs[i + 1]].decode("utf-8")
        else:
            # A nested value is read one level at a time, so depth counts from here.
            v, _ = _value(buf, p, self.schema.fields[i][1], 1)
            if type(v) not in _IMMUTABLE and type(v) is not PackedStruct:
                self._dirty |= 1 << i
        self._vals[i] = v
        return v

    def _all(self) -> List[Any]:
        vals = self._vals
        return [self._read(i) if v is _UNREAD else v for i, v in enumerate(vals)]

    def _missing(self, name: str) -> DataError:
        known = ", ".join(n for n, _ in self.schema.fields)
        return DataError(f"struct has no field {name!r}; its fields are: {known}")

    @property
    def values(self) -> List[Any]:  # type: ignore[override]
        self._vals = self._all()
        self._exposed = True
        return self._vals

    @values.setter
    def values(self, values: List[Any]) -> None:
        self._vals = list(values)
        self._exposed = True

    def get(self, name: str) -> Any:
        try:
            i = self._names[name]
        except KeyError:
            raise self._missing(name) from None
        v = self._vals[i]
        if v is not _UNREAD:
            return v
        buf = self._buf
        p = self._offs[i]
        if buf[p] == T_STRING and buf[p + 1] < 0x80:  # _read's common case, inline
            v = self._vals[i] = buf[p + 2:self._offs[i + 1]].decode("utf-8")
            return v
        return self._read(i)

    __getitem__ = get

    def put(self, name: str, value: Any) -> "Struct":
        try:
            i = self._names[name]
        except KeyError:
            raise self._missing(name) from None
        self._vals[i] = value
        self._dirty |= 1 << i
        return self

    __setitem__ = put

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def items(self) -> List[Tuple[str, Any]]:
        return [(n, v) for (n, _), v in zip(self.schema.fields, self._all())]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Struct) or self.schema is not other.schema:
            return False
        theirs = other._all() if isinstance(other, PackedStruct) else other.values
        return self._all() == theirs

    def _clean(self) -> bool:
        """Whether the input bytes still encode this struct exactly."""
        if self._exposed or self._dirty:
            return False
        for v in self._vals:
            if type(v) is PackedStruct and not v._clean():
                return False
        return True


def _set_head(name: str) -> Any:
    def set_(self: "PackedRecord", v: Any) -> None:
        self.__dict__[name] = v
        self._hd = True
    return set_


class PackedRecord(Record):
    """A record read from a packed batch. ``partition``, ``offset`` and ``timestamp`` are
    decoded when first read; what the plugin leaves as read is written back as its input
    bytes (``_src``: the batch's bytes, the record's spans and what they were read as).

    The other attributes are slots, set by Batch without a ``__dict__`` per record (the
    instance's ``__dict__`` holds only partition, offset and timestamp once read or set, and
    what a plugin adds). ``_hd`` is None until then."""

    __slots__ = ("topic", "key", "value", "key_schema", "value_schema", "timestamp_type",
                 "headers", "_src", "_hd")

    def _head(self) -> None:
        d = self.__dict__
        src = self._src
        self._hd = True
        buf = src[0]
        p = src[1]
        n, p = _uvar(buf, p)
        p += n
        partition, p = _opt_svar(buf, p)
        offset, p = _opt_svar(buf, p)
        timestamp, p = _opt_svar(buf, p)
        d["_head"] = (partition, offset, timestamp)
        d.setdefault("partition", partition)
        d.setdefault("offset", offset)
        d.setdefault("timestamp", timestamp)

    def _get(self, name: str) -> Any:
        d = self.__dict__
        if name not in d:
            self._head()
        return d[name]

    partition = property(lambda self: self._get("partition"),  # type: ignore[assignment]
                         _set_head("partition"))
    offset = property(lambda self: self._get("offset"),  # type: ignore[assignment]
                      _set_head("offset"))
    timestamp = property(lambda self: self._get("timestamp"),  # type: ignore[assignment]
                         _set_head("timestamp"))


def _record_end(buf: bytes, p: int) -> int:
    """The end of the record at ``p``, checking only its structure."""
    n, p = _uvar(buf, p)  # topic
    p += n
    for _ in range(3):
        _, p = _opt_svar(buf, p)
    p += 1
    for _ in range(2):
        _, p = _uvar(buf, p)
        p = _skip(buf, p)
    n, p = _uvar(buf, p)
    for _ in range(n):
        size, p = _uvar(buf, p)
        _, p = _uvar(buf, p + size)
        p = _skip(buf, p)
    return p


#: The three ``opt<svar>`` of a record head (partition, offset, timestamp): skipped in one
#: call, decoded only when the plugin reads them.
_HEAD_VARINTS = re.compile(rb"(?:\x00|\x01[\x80-\xff]{0,9}[\x00-\x7f]){3}", re.DOTALL)


#: ``match`` of the bytes of a topic (with its length) followed by a head, by those bytes.
_TOPIC_HEADS: Dict[bytes, Any] = {}


def _topic_head(topic: bytes) -> Any:
    m = _TOPIC_HEADS.get(topic)
    if m is None:
        if len(_TOPIC_HEADS) >= _SCHEMA_CACHE_SIZE:
            _TOPIC_HEADS.clear()
        m = _TOPIC_HEADS[topic] = re.compile(re.escape(topic) + _HEAD_VARINTS.pattern, re.DOTALL).match
    return m


def _head_clean(d: Dict[str, Any]) -> bool:
    """Whether a PackedRecord's partition, offset and timestamp are still as read."""
    h = d.get("_head")
    if h is None:  # never read: unchanged unless set
        return "partition" not in d and "offset" not in d and "timestamp" not in d
    return d["partition"] is h[0] and d["offset"] is h[1] and d["timestamp"] is h[2]


class Batch:
    """A decoded input batch (``put`` and ``apply``).

    ``records[i]`` is a :class:`PackedRecord`, or a :class:`DataError` for a record whose
    data does not fit its schema.
    """

    __slots__ = ("buf", "schemas", "table", "records")

    def __init__(self, buf: bytes):
        try:
            self._decode(buf)
        except IndexError:
            raise MalformedPayload("packed batch cut short") from None

    def _decode(self, buf: bytes) -> None:
        if not buf or buf[0] != VERSION:
            raise MalformedPayload(f"packed batch version {buf[0] if buf else None}, expected {VERSION}")
        count, p = _uvar(buf, 1)
        nschemas, p = _uvar(buf, p)
        table_start = p
        schemas, p = _table(buf, p, nschemas)
        self.buf = buf
        self.schemas = schemas
        self.table = (table_start, p)
        records: List[Any] = []
        topics: Dict[bytes, str] = {}
        new = object.__new__
        head = _HEAD_VARINTS.match
        same = same_topic = None
        data = self._data
        struct_at = _struct_at
        scanners = [_SCANNERS.get(id(s)) for s in schemas]
        for _ in range(count):
            start = p
            try:
                # The previous record's topic again (the usual case): one match for the
                # topic and the head.
                m = same(buf, p) if same is not None else None
                if m is not None:
                    topic = same_topic
                else:
                    n = buf[p]
                    if n < 0x80:
                        p += 1
                    else:
                        n, p = _uvar(buf, p)
                    tb = buf[p:p + n]
                    topic = topics.get(tb)
                    if topic is None:
                        topic = topics[tb] = tb.decode("utf-8")
                    m = head(buf, p + n)
                    if m is None:
                        raise MalformedPayload(f"record at byte {start}: malformed partition, offset or timestamp")
                    same = _topic_head(buf[start:p + n])
                    same_topic = topic
                p = m.end()
                ts_type = _TIMESTAMP_TYPES[buf[p]]
                head_end = p = p + 1
                # Inline the common cases: a schemaless null key, a struct value.
                if buf[p] == 0 and buf[p + 1] == T_NULL:
                    key_schema = key = None
                    p += 2
                else:
                    key_schema, key, p = data(p)
                value_at = p
                i = buf[p]
                if 0 < i <= nschemas and i < 0x80 and buf[p + 1] == T_STRUCT:
                    value_schema = schemas[i - 1]
                    scan = scanners[i - 1]
                    if scan is not None:
                        value = scan(buf, p + 2, 0)
                        p = value._offs[-1]
                    else:
                        value, p = struct_at(buf, p + 2, value_schema, 0)
                else:
                    value_schema, value, p = data(p)
                headers_at = p
                if buf[p] == 0:
                    headers: List[Header] = []
                    p += 1
                else:
                    n, p = _uvar(buf, p)
                    headers = []
                    for _ in range(n):
                        hk, p = _str(buf, p)
                        hs, hv, p = data(p)
                        headers.append(Header(hk, hs, hv))
            except MalformedPayload:
                raise
            except UnicodeDecodeError as e:
                raise MalformedPayload(f"text in the record at byte {start} is not UTF-8: {e}") from None
            except (IndexError, KeyError):
                raise MalformedPayload(f"record at byte {start} cut short or malformed") from None
            except DataError as e:
                records.append(e)
                p = _record_end(buf, start)
                continue
            r = new(PackedRecord)
            r.topic = topic
            r.key = key
            r.value = value
            r.key_schema = key_schema
            r.value_schema = value_schema
            r.timestamp_type = ts_type
            r.headers = headers
            # What the record was read as, and where: see Encoder.record.
            r._src = (buf, start, head_end, topic, ts_type, key, key_schema, value_at,
                      value, value_schema, headers_at, p, headers,
                      tuple((h, h.key, h.schema, h.value) for h in headers) if headers else ())
            r._hd = None
            records.append(r)
        if p != len(buf):
            raise MalformedPayload(f"{len(buf) - p} bytes after the last record")
        self.records = records

    def _data(self, p: int) -> Tuple[Optional[Schema], Any, int]:
        buf = self.buf
        i = buf[p]
        if i == 0:
            schema = None
            p += 1
        else:
            if i >= 0x80:
                i, p = _uvar(buf, p)
            else:
                p += 1
            if i > len(self.schemas):
                raise DataError(f"schema {i - 1} out of range ({len(self.schemas)} schemas)")
            schema = self.schemas[i - 1]
        # Inline the common cases: a short string, a struct.
        tag = buf[p]
        if tag == T_STRING and buf[p + 1] < 0x80:
            end = p + 2 + buf[p + 1]
            return schema, buf[p + 2:end].decode("utf-8"), end
        if tag == T_STRUCT:
            v, p = _struct_at(buf, p + 1, schema, 0)
            return schema, v, p
        v, p = _value(buf, p, schema)
        return schema, v, p


# Writing --------------------------------------------------------------------------------

def _put_uvar(out: bytearray, v: int) -> None:
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _put_svar(out: bytearray, v: int) -> None:
    _put_uvar(out, ((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF)


def _put_str(out: bytearray, s: str) -> None:
    try:
        b = s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise DataError(f"string is not valid Unicode text: {e}") from None
    _put_uvar(out, len(b))
    out += b


def _put_opt_str(out: bytearray, s: Optional[str]) -> None:
    if s is None:
        out.append(0)
    else:
        out.append(1)
        _put_str(out, s)


def _put_opt_svar(out: bytearray, v: Optional[int], what: str) -> None:
    if v is None:
        out.append(0)
        return
    if isinstance(v, bool) or not isinstance(v, int) or not -(1 << 63) <= v < (1 << 63):
        raise DataError(f"{what} must be an int64 or None, got {v!r}")
    out.append(1)
    _put_svar(out, v)


def _put_f32(out: bytearray, v: float) -> None:
    try:
        out += _F32.pack(v)
    except OverflowError:
        # Too large for float32: infinity, as a float32 conversion gives elsewhere.
        out += _F32.pack(float("inf") if v > 0 else float("-inf"))


def _put_number(out: bytearray, t: str, value: Any) -> None:
    v = check_number(t, value)
    if t == SchemaType.FLOAT64:
        out.append(T_F64)
        out += _F64.pack(v)
    elif t == SchemaType.FLOAT32:
        out.append(T_F32)
        _put_f32(out, v)
    elif t == SchemaType.INT8:
        out.append(T_INT8)
        out.append(v & 0xFF)
    else:
        out.append(_INT_RANGES[t][2])
        _put_svar(out, v)


def _put_value(out: bytearray, value: Any, schema: Optional[Schema], depth: int = 0) -> None:
    """Encodes ``value`` (as ``sluice._wire.lower_value``, with the same checks)."""
    if depth > MAX_DEPTH:
        raise DataError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None:
        out.append(T_NULL)
        return
    if type(value) is PackedStruct:
        _put_packed_struct(out, value, depth)
        return
    if isinstance(value, Typed):
        _put_number(out, value.type, value.value)
        return
    if isinstance(value, Struct):
        _put_struct_values(out, value.values, value.schema.fields, depth)
        return
    t = schema.type if schema is not None else infer(value)
    if t == SchemaType.STRING:
        if not isinstance(value, str):
            raise mismatch(value, t)
        out.append(T_STRING)
        _put_str(out, value)
    elif t == SchemaType.BOOLEAN:
        if not isinstance(value, bool):
            raise mismatch(value, t)
        out.append(T_BOOL)
        out.append(1 if value else 0)
    elif t == SchemaType.BYTES:
        if not isinstance(value, (bytes, bytearray)):
            raise mismatch(value, t)
        out.append(T_BYTES)
        _put_uvar(out, len(value))
        out += value
    elif t == SchemaType.ARRAY:
        if not isinstance(value, (list, tuple)):
            raise mismatch(value, t)
        items = schema.items if schema is not None else None
        out.append(T_ARRAY)
        _put_uvar(out, len(value))
        for v in value:
            _put_value(out, v, items, depth + 1)
    elif t == SchemaType.MAP:
        if not isinstance(value, dict):
            raise mismatch(value, t)
        ks = schema.keys if schema is not None else None
        vs = schema.values if schema is not None else None
        out.append(T_MAP)
        _put_uvar(out, len(value))
        for k, v in value.items():
            _put_value(out, list(k) if isinstance(k, tuple) else k, ks, depth + 1)
            _put_value(out, v, vs, depth + 1)
    elif t == SchemaType.STRUCT:
        raise mismatch(value, t)
    else:
        _put_number(out, t, value)


def _put_struct_values(out: bytearray, values: List[Any], fields: List[Tuple[str, Schema]],
                       depth: int) -> None:
    # As many fields as both have (as the structured path); the host checks the count.
    pairs = list(zip(values, fields))
    out.append(T_STRUCT)
    _put_uvar(out, len(pairs))
    for v, (_, fs) in pairs:
        _put_value(out, v, fs, depth + 1)


def _put_packed_struct(out: bytearray, s: PackedStruct, depth: int) -> None:
    buf, offs = s._buf, s._offs
    if s._exposed:
        _put_struct_values(out, s._vals, s.schema.fields, depth)
        return
    out.append(T_STRUCT)
    _put_uvar(out, len(s._vals))
    if s._clean():
        out += buf[offs[0]:offs[-1]]
        return
    s._write(out, s, depth)


def _put_fields(out: bytearray, s: PackedStruct, depth: int, copy_from: int = -1,
                end: int = -1) -> None:
    """The fields of a PackedStruct that was not exposed: unchanged ones as their input bytes
    (runs of them in one copy), the others encoded. ``copy_from``: where input bytes not yet
    copied start, before the fields (-1: none); ``end``: how far after the fields the input
    bytes are to be copied too (-1: the end of the struct)."""
    buf, offs = s._buf, s._offs
    dirty = s._dirty
    fields = s.schema.fields
    # copy_from: the start of the run of unchanged bytes not yet copied
    i = 0
    for v in s._vals:
        if v is _UNREAD or (not dirty >> i & 1 and (type(v) is not PackedStruct or v._clean())):
            if copy_from < 0:
                copy_from = offs[i]
            i += 1
            continue
        if copy_from >= 0:
            out += buf[copy_from:offs[i]]
            copy_from = -1
        if type(v) is str and fields[i][1].type == _STRING:
            # The common edit, inline: a short string into a string field.
            try:
                b = v.encode()
            except UnicodeEncodeError as e:
                raise DataError(f"string is not valid Unicode text: {e}") from None
            if len(b) < 0x80:
                out.append(T_STRING)
                out.append(len(b))
                out += b
                i += 1
                continue
        _put_value(out, v, fields[i][1], depth + 1)
        i += 1
    if copy_from < 0:
        copy_from = offs[i]
    if end < 0:
        end = offs[i]
    if copy_from < end:
        out += buf[copy_from:end]


def _writer(schema: Schema) -> Any:
    """:func:`_put_fields` specialised to ``schema``'s fields (made once per distinct schema,
    as the scanners are): the loop unrolled, each field's schema known, the same bytes."""
    n = len(schema.fields)
    lines = ["def put_fields(out, s, depth, c=-1, end=-1):",
             "    buf = s._buf",
             "    offs = s._offs",
             "    dirty = s._dirty"]
    if n:
        lines.append(f"    {', '.join(f'v{i}' for i in range(n))}, = s._vals")
    for i, (_, fs) in enumerate(schema.fields):
        v = f"v{i}"
        unchanged = (f"{v} is _UNREAD or (not dirty & {1 << i}"
                     f" and (type({v}) is not PackedStruct or {v}._clean()))")
        lines += [f"    if {unchanged}:",
                  "        if c < 0:",
                  f"            c = offs[{i}]",
                  "    else:",
                  "        if c >= 0:",
                  f"            out += buf[c:offs[{i}]]",
                  "            c = -1"]
        if fs.type == SchemaType.STRING:
            lines += [f"        if type({v}) is str:",
                      "            try:",
                      f"                b = {v}.encode()",
                      "            except UnicodeEncodeError as e:",
                      '                raise DataError(f"string is not valid Unicode text: {e}") from None',
                      f"            out.append({T_STRING})",
                      "            if len(b) < 0x80:",
                      "                out.append(len(b))",
                      "            else:",
                      "                _put_uvar(out, len(b))",
                      "            out += b",
                      "        else:",
                      f"            _put_value(out, {v}, F{i}, depth + 1)"]
        else:
            lines.append(f"        _put_value(out, {v}, F{i}, depth + 1)")
    lines += ["    if c < 0:",
              f"        c = offs[{n}]",
              "    if end < 0:",
              f"        end = offs[{n}]",
              "    if c < end:",
              "        out += buf[c:end]"]
    scope = {f"F{i}": fs for i, (_, fs) in enumerate(schema.fields)}
    scope.update(_UNREAD=_UNREAD, PackedStruct=PackedStruct, DataError=DataError,
                 _put_uvar=_put_uvar, _put_value=_put_value)
    name = f"<sluice packed writer for {schema.name or 'struct'}>"
    exec(compile("\n".join(lines), name, "exec"), scope)
    return scope["put_fields"]


def _put_schema(out: bytearray, s: Schema, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise DataError(f"schema nested deeper than {MAX_DEPTH} levels")
    if s.type not in _TYPE_CODE:
        raise DataError(f"unknown schema type {s.type!r}")
    out.append(_TYPE_CODE[s.type])
    out.append(1 if s.optional else 0)
    _put_opt_str(out, s.name)
    _put_opt_svar(out, s.version, "a schema version")
    _put_opt_str(out, s.doc)
    _put_uvar(out, len(s.parameters))
    for k, v in s.parameters:
        _put_str(out, k)
        _put_str(out, v)
    if s.default is None:
        out.append(0)
    else:
        out.append(1)
        _put_value(out, s.default, s)
    for sub in (s.items, s.keys, s.values):
        if sub is None:
            out.append(0)
        else:
            out.append(1)
            _put_schema(out, sub, depth + 1)
    _put_uvar(out, len(s.fields))
    for name, fs in s.fields:
        _put_str(out, name)
        _put_schema(out, fs, depth + 1)


class Encoder:
    """Writes one output payload: records of a batch sharing one schema table.

    With ``batch``, the table starts with a copy of the batch's own, so an output record's
    bytes copied from the input keep their schema indexes; schemas the plugin made are
    interned by identity after them, as in the structured path.
    """

    def __init__(self, batch: Optional[Batch] = None):
        self.out = bytearray()
        self._batch = batch
        self._table = bytearray()
        self._count = 0
        self._index: Dict[int, int] = {}
        self._keep: List[Schema] = []  # keeps interned schemas alive so ids stay unique
        self._nschemas = 0
        #: The input batch's bytes: a record read from them can be copied from them.
        self._buf = batch.buf if batch is not None else None
        if batch is not None:
            for i, s in enumerate(batch.schemas):
                self._index.setdefault(id(s), i)
            self._nschemas = len(batch.schemas)

    def _intern(self, s: Schema) -> int:
        i = self._index.get(id(s))
        if i is None:
            table = self._table
            mark = len(table)
            try:
                _put_schema(table, s)
            except DataError:
                del table[mark:]
                raise
            i = self._index[id(s)] = self._nschemas
            self._nschemas += 1
            self._keep.append(s)
        return i

    def _data(self, out: bytearray, schema: Optional[Schema], value: Any) -> None:
        # A struct always travels with a struct schema; default to the struct's own.
        if schema is None and isinstance(value, Struct):
            schema = value.schema
        if schema is None:
            out.append(0)
        else:
            _put_uvar(out, self._intern(schema) + 1)
        _put_value(out, value, schema)

    def record(self, r: Record) -> None:
        """Appends ``r``. A :class:`PackedRecord` of this encoder's batch copies the bytes of
        what still holds the very objects it was read as (head, key, value, headers)."""
        out = self.out
        if not isinstance(r, Record):
            raise DataError(f"expected a Record, got {type(r).__name__}")
        src = getattr(r, "_src", None)
        if src is not None and src[0] is not self._buf:
            src = None  # read from another batch: its schema indexes mean nothing here
        if src is not None:
            buf = src[0]
            value = r.value
            # Partition, offset and timestamp neither read nor set, or still as read.
            head_clean = r._hd is None or _head_clean(r.__dict__)
            # The usual transform's record: head, key and (no) headers as read, a struct value
            # whose fields are copied or written, all in as few copies as possible.
            if (type(value) is PackedStruct and value is src[8] and not value._exposed
                    and r.key is src[5] and type(src[5]) in _IMMUTABLE
                    and r.key_schema is src[6] and r.value_schema is src[9]
                    and r.headers is src[12] and not src[12] and r.topic is src[3]
                    and r.timestamp_type is src[4] and head_clean):
                if value._dirty or not value._clean():
                    value._write(out, value, 0, src[1], src[11])
                else:
                    out += buf[src[1]:src[11]]
                return
            key = r.key
            key_clean = key is src[5] and r.key_schema is src[6] and type(key) in _IMMUTABLE
            if r.topic is src[3] and r.timestamp_type is src[4] and head_clean:
                if key_clean:  # head and key in one copy
                    out += buf[src[1]:src[7]]
                else:
                    out += buf[src[1]:src[2]]
                    self._data(out, r.key_schema, key)
            else:
                self._head(out, r)
                if key_clean:
                    out += buf[src[2]:src[7]]
                else:
                    self._data(out, r.key_schema, key)
            if value is src[8] and r.value_schema is src[9]:
                if type(value) is PackedStruct:
                    if value._exposed:
                        # The schema index as read, then the struct from its values.
                        _, at = _uvar(buf, src[7])
                        out += buf[src[7]:at]
                        _put_packed_struct(out, value, 0)
                    elif not value._dirty and value._clean():
                        out += buf[src[7]:src[10]]
                    else:
                        # The schema index, tag and field count as read, then the fields.
                        out += buf[src[7]:value._offs[0]]
                        value._write(out, value, 0)
                elif type(value) in _IMMUTABLE:
                    out += buf[src[7]:src[10]]
                else:
                    self._data(out, r.value_schema, value)
            else:
                self._data(out, r.value_schema, value)
            headers = r.headers
            if not headers:
                out.append(0)
                return
            if (headers is src[12] and len(headers) == len(src[13])
                    and all(h is h0 and h.key is k and h.schema is s and h.value is v
                            and type(v) in _IMMUTABLE for h, (h0, k, s, v) in zip(headers, src[13]))):
                out += buf[src[10]:src[11]]
                return
        else:
            self._head(out, r)
            self._data(out, r.key_schema, r.key)
            self._data(out, r.value_schema, r.value)
            headers = r.headers
        _put_uvar(out, len(headers))
        for h in headers:
            if not isinstance(h.key, str):
                raise DataError(f"header key must be a str, got {type(h.key).__name__}")
            _put_str(out, h.key)
            self._data(out, h.schema, h.value)

    @staticmethod
    def _head(out: bytearray, r: Record) -> None:
        if r.timestamp_type not in _TIMESTAMP_CODE:
            raise DataError(f"timestamp_type {r.timestamp_type!r} is not one of "
                            f"{', '.join(_TIMESTAMP_TYPES)}")
        if not isinstance(r.topic, str):
            raise DataError(f"topic must be a str, got {type(r.topic).__name__}")
        _put_str(out, r.topic)
        _put_opt_svar(out, r.partition, "partition")
        _put_opt_svar(out, r.offset, "offset")
        _put_opt_svar(out, r.timestamp, "timestamp")
        out.append(_TIMESTAMP_CODE[r.timestamp_type])

    def append(self, r: Record) -> None:
        """A record of a plain batch (the input of ``put`` and ``apply``)."""
        self.record(r)
        self._count += 1

    def keep(self, r: Record) -> None:
        """A transform's ``keep`` outcome; on a DataError nothing is written."""
        out = self.out
        mark = len(out)
        out.append(0)
        try:
            self.record(r)
        except DataError:
            del out[mark:]
            raise
        self._count += 1

    def drop(self) -> None:
        self.out.append(1)
        self._count += 1

    def fail(self, message: str) -> None:
        out = self.out
        out.append(2)
        # A message is text for a log line: never let an odd character lose it.
        b = str(message).encode("utf-8", "replace")
        _put_uvar(out, len(b))
        out += b
        self._count += 1

    def source_record(self, r: SourceRecord) -> None:
        """One item of a source batch; on a DataError nothing is written."""
        out = self.out
        mark = len(out)
        try:
            _put_offset_map(out, r.source_partition)
            _put_offset_map(out, r.source_offset)
            self.record(r.record)
        except DataError:
            del out[mark:]
            raise
        self._count += 1

    def finish(self) -> bytes:
        head = bytearray((VERSION,))
        _put_uvar(head, self._count)
        _put_uvar(head, self._nschemas)
        parts = [head]
        if self._batch is not None:
            start, end = self._batch.table
            parts.append(self._batch.buf[start:end])
        parts += (self._table, self.out)
        return b"".join(parts)


def _put_offset_map(out: bytearray, d: Dict[str, Any]) -> None:
    _put_uvar(out, len(d))
    for k, v in d.items():
        _put_str(out, k)
        if v is None:
            out.append(0)
        elif isinstance(v, bool):
            out.append(1)
            out.append(1 if v else 0)
        elif isinstance(v, int):
            if not -(1 << 63) <= v < (1 << 63):
                raise DataError(f"source partition/offset {k!r}: {v} does not fit in int64")
            out.append(2)
            _put_svar(out, v)
        elif isinstance(v, float):
            out.append(3)
            out += _F64.pack(v)
        elif isinstance(v, str):
            out.append(4)
            _put_str(out, v)
        else:
            raise DataError(f"source partition/offset {k!r} must be a primitive, got {type(v).__name__}")
