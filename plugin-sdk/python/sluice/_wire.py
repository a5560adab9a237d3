"""Conversions between the SDK's tree types and the flattened WIT form.

Lowering interns schemas per batch by identity: a batch of N records sharing one Schema
object carries it once. Lifting lifts each entry of the batch's schema table once and never
trusts an index: a bad reference becomes a DataError for that record, never a crash.

Imports the bindings componentize-py generates (``wit_world``); only loaded inside a
component, or in tests that generated the bindings first.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

try:
    # In the `*-http` worlds, which also import `wasi:http/types`, componentize-py names the
    # module after its package.
    from wit_world.imports import sluice_connect_types as wit
except ImportError:
    from wit_world.imports import types as wit

from . import (DataError, Header, Record, Schema, SchemaType, SourcePosition, SourceRecord,
               Struct, Typed)
# The checks and messages both encodings share.
from ._packed import check_number, hashable as _hashable, infer as _infer, mismatch as _mismatch

MAX_DEPTH = 512

_TYPE_TO_WIT = {
    SchemaType.INT8: wit.SchemaType.INT8,
    SchemaType.INT16: wit.SchemaType.INT16,
    SchemaType.INT32: wit.SchemaType.INT32,
    SchemaType.INT64: wit.SchemaType.INT64,
    SchemaType.FLOAT32: wit.SchemaType.FLOAT32,
    SchemaType.FLOAT64: wit.SchemaType.FLOAT64,
    SchemaType.BOOLEAN: wit.SchemaType.BOOLEAN,
    SchemaType.STRING: wit.SchemaType.STRING,
    SchemaType.BYTES: wit.SchemaType.BYTES,
    SchemaType.ARRAY: wit.SchemaType.ARRAY,
    SchemaType.MAP: wit.SchemaType.MAP,
    SchemaType.STRUCT: wit.SchemaType.STRUCT,
}
_TYPE_FROM_WIT = {v: k for k, v in _TYPE_TO_WIT.items()}

_TS_TO_WIT = {
    "no-timestamp-type": wit.TimestampType.NO_TIMESTAMP_TYPE,
    "create-time": wit.TimestampType.CREATE_TIME,
    "log-append-time": wit.TimestampType.LOG_APPEND_TIME,
}
_TS_FROM_WIT = {v: k for k, v in _TS_TO_WIT.items()}

_INT_NODES = {
    SchemaType.INT8: wit.ValueNode_Int8,
    SchemaType.INT16: wit.ValueNode_Int16,
    SchemaType.INT32: wit.ValueNode_Int32,
    SchemaType.INT64: wit.ValueNode_Int64,
}

_SCHEMALESS_NUMBER = {
    wit.ValueNode_Int8: SchemaType.INT8,
    wit.ValueNode_Int16: SchemaType.INT16,
    wit.ValueNode_Int32: SchemaType.INT32,
    wit.ValueNode_Float32: SchemaType.FLOAT32,
}


# Lifting (WIT -> SDK) -------------------------------------------------------------------

def lift_schema(w: Any) -> Schema:
    def build(index: int, depth: int) -> Schema:
        if depth > MAX_DEPTH:
            raise DataError(f"schema nested deeper than {MAX_DEPTH} levels")
        if not 0 <= index < len(w.nodes):
            raise DataError(f"schema node {index} out of range ({len(w.nodes)} nodes)")
        node = w.nodes[index]
        s = Schema(_TYPE_FROM_WIT[node.type])
        s.optional = node.optional
        s.name = node.name
        s.version = node.version
        s.doc = node.doc
        s.parameters = list(node.parameters)
        if node.items is not None:
            s.items = build(node.items, depth + 1)
        if node.keys is not None:
            s.keys = build(node.keys, depth + 1)
        if node.values is not None:
            s.values = build(node.values, depth + 1)
        s.fields = [(f.name, build(f.schema, depth + 1)) for f in node.fields]
        if node.default_value is not None:
            s.default = lift_value(w.defaults, node.default_value, s, 0)
        return s
    return build(0, 0)


def lift_value(nodes: List[Any], index: int, schema: Optional[Schema], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise DataError(f"value nested deeper than {MAX_DEPTH} levels")
    if not 0 <= index < len(nodes):
        raise DataError(f"value node {index} out of range ({len(nodes)} nodes)")
    node = nodes[index]
    t = type(node)
    if t is wit.ValueNode_Null:
        return None
    if t in (wit.ValueNode_String, wit.ValueNode_Int64, wit.ValueNode_Float64, wit.ValueNode_Boolean):
        return node.value
    if t in _SCHEMALESS_NUMBER:
        return node.value if schema is not None else Typed(_SCHEMALESS_NUMBER[t], node.value)
    if t is wit.ValueNode_Bytes:
        return bytes(node.value)
    if t is wit.ValueNode_Array:
        items = schema.items if schema is not None else None
        return [lift_value(nodes, i, items, depth + 1) for i in node.value]
    if t is wit.ValueNode_Map:
        ks = schema.keys if schema is not None else None
        vs = schema.values if schema is not None else None
        return {_hashable(lift_value(nodes, k, ks, depth + 1)): lift_value(nodes, v, vs, depth + 1)
                for k, v in node.value}
    if t is wit.ValueNode_Struct:
        if schema is None or schema.type != SchemaType.STRUCT:
            raise DataError(f"a struct value needs a struct schema, got {schema!r}")
        if len(node.value) != len(schema.fields):
            raise DataError(f"struct value has {len(node.value)} fields, its schema {len(schema.fields)}")
        return Struct(schema, [lift_value(nodes, i, fs, depth + 1)
                               for i, (_, fs) in zip(node.value, schema.fields)])
    raise DataError(f"unknown value node {t.__name__}")


def lift_batch(batch: Any) -> List[Any]:
    """One entry per record: a Record, or a DataError for a record that cannot be decoded."""
    lifted: Dict[int, Schema] = {}

    def schema_at(i: Optional[int]) -> Optional[Schema]:
        if i is None:
            return None
        if not 0 <= i < len(batch.schemas):
            raise DataError(f"schema {i} out of range ({len(batch.schemas)} schemas)")
        s = lifted.get(i)
        if s is None:
            s = lifted[i] = lift_schema(batch.schemas[i])
        return s

    def data(d: Any) -> Tuple[Optional[Schema], Any]:
        s = schema_at(d.schema)
        return s, lift_value(d.value, 0, s)

    out: List[Any] = []
    for w in batch.records:
        try:
            ks, k = data(w.key)
            vs, v = data(w.value)
            headers = []
            for h in w.headers:
                hs, hv = data(h.value)
                headers.append(Header(h.key, hs, hv))
            out.append(Record(topic=w.topic, key=k, value=v, key_schema=ks, value_schema=vs,
                              partition=w.kafka_partition, offset=w.kafka_offset,
                              timestamp=w.timestamp, timestamp_type=_TS_FROM_WIT[w.timestamp_type],
                              headers=headers))
        except DataError as e:
            out.append(e)
        except (RecursionError, KeyError, TypeError, ValueError) as e:
            out.append(DataError(f"cannot decode record: {e}"))
    return out


def lift_offset_map(entries: List[Tuple[str, Any]]) -> Dict[str, Any]:
    return {k: (None if isinstance(v, wit.OffsetValue_Null) else v.value) for k, v in entries}


def lift_positions(committed: List[Any]) -> List[SourcePosition]:
    return [SourcePosition(lift_offset_map(p.partition), lift_offset_map(p.offset)) for p in committed]


# Lowering (SDK -> WIT) ------------------------------------------------------------------

def _number(t: str, value: Any) -> Any:
    v = check_number(t, value)
    if t == SchemaType.FLOAT32:
        return wit.ValueNode_Float32(v)
    if t == SchemaType.FLOAT64:
        return wit.ValueNode_Float64(v)
    return _INT_NODES[t](v)


def lower_value(value: Any, schema: Optional[Schema], nodes: List[Any], depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        raise DataError(f"value nested deeper than {MAX_DEPTH} levels")
    index = len(nodes)
    if value is None:
        nodes.append(wit.ValueNode_Null())
        return index
    if isinstance(value, Typed):
        nodes.append(_number(value.type, value.value))
        return index
    if isinstance(value, Struct):
        nodes.append(None)
        children = [lower_value(v, fs, nodes, depth + 1)
                    for v, (_, fs) in zip(value.values, value.schema.fields)]
        nodes[index] = wit.ValueNode_Struct(children)
        return index
    t = schema.type if schema is not None else _infer(value)
    if t == SchemaType.BOOLEAN:
        if not isinstance(value, bool):
            raise _mismatch(value, t)
        nodes.append(wit.ValueNode_Boolean(value))
    elif t == SchemaType.STRING:
        if not isinstance(value, str):
            raise _mismatch(value, t)
        nodes.append(wit.ValueNode_String(value))
    elif t == SchemaType.BYTES:
        if not isinstance(value, (bytes, bytearray)):
            raise _mismatch(value, t)
        nodes.append(wit.ValueNode_Bytes(bytes(value)))
    elif t == SchemaType.ARRAY:
        if not isinstance(value, (list, tuple)):
            raise _mismatch(value, t)
        nodes.append(None)
        items = schema.items if schema is not None else None
        nodes[index] = wit.ValueNode_Array([lower_value(v, items, nodes, depth + 1) for v in value])
    elif t == SchemaType.MAP:
        if not isinstance(value, dict):
            raise _mismatch(value, t)
        nodes.append(None)
        ks = schema.keys if schema is not None else None
        vs = schema.values if schema is not None else None
        nodes[index] = wit.ValueNode_Map([
            (lower_value(list(k) if isinstance(k, tuple) else k, ks, nodes, depth + 1),
             lower_value(v, vs, nodes, depth + 1)) for k, v in value.items()])
    elif t == SchemaType.STRUCT:
        raise _mismatch(value, t)
    else:
        nodes.append(_number(t, value))
    return index


def _lower_schema(s: Schema, nodes: List[Any], defaults: List[Any], depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        raise DataError(f"schema nested deeper than {MAX_DEPTH} levels")
    index = len(nodes)
    nodes.append(None)
    default_value = None if s.default is None else lower_value(s.default, s, defaults)
    items = None if s.items is None else _lower_schema(s.items, nodes, defaults, depth + 1)
    keys = None if s.keys is None else _lower_schema(s.keys, nodes, defaults, depth + 1)
    values = None if s.values is None else _lower_schema(s.values, nodes, defaults, depth + 1)
    fields = [wit.Field(n, _lower_schema(fs, nodes, defaults, depth + 1)) for n, fs in s.fields]
    nodes[index] = wit.SchemaNode(
        type=_TYPE_TO_WIT[s.type], optional=s.optional, name=s.name, version=s.version,
        doc=s.doc, parameters=list(s.parameters), default_value=default_value, items=items,
        keys=keys, values=values, fields=fields)
    return index


class Lowerer:
    """Lowers records of one batch, sharing one schema table (interned by identity)."""

    def __init__(self) -> None:
        self._index: Dict[int, int] = {}
        self._keep: List[Schema] = []  # keeps interned schemas alive so ids stay unique
        self.schemas: List[Any] = []

    def intern(self, s: Schema) -> int:
        i = self._index.get(id(s))
        if i is None:
            nodes: List[Any] = []
            defaults: List[Any] = []
            _lower_schema(s, nodes, defaults)
            self.schemas.append(wit.Schema(nodes, defaults))
            i = self._index[id(s)] = len(self.schemas) - 1
            self._keep.append(s)
        return i

    def data(self, schema: Optional[Schema], value: Any) -> Any:
        # A struct always travels with a struct schema; default to the struct's own.
        if schema is None and isinstance(value, Struct):
            schema = value.schema
        nodes: List[Any] = []
        lower_value(value, schema, nodes)
        return wit.Data(None if schema is None else self.intern(schema), nodes)

    def record(self, r: Record) -> Any:
        if r.timestamp_type not in _TS_TO_WIT:
            raise DataError(f"timestamp_type {r.timestamp_type!r} is not one of {', '.join(_TS_TO_WIT)}")
        return wit.ConnectRecord(
            topic=r.topic, kafka_partition=r.partition, kafka_offset=r.offset,
            timestamp=r.timestamp, timestamp_type=_TS_TO_WIT[r.timestamp_type],
            key=self.data(r.key_schema, r.key), value=self.data(r.value_schema, r.value),
            headers=[wit.Header(h.key, self.data(h.schema, h.value)) for h in r.headers])

    def source_record(self, r: SourceRecord) -> Any:
        return wit.SourceRecord(lower_offset_map(r.source_partition),
                                lower_offset_map(r.source_offset), self.record(r.record))


def lower_offset_map(d: Dict[str, Any]) -> List[Tuple[str, Any]]:
    out = []
    for k, v in d.items():
        if v is None:
            out.append((k, wit.OffsetValue_Null()))
        elif isinstance(v, bool):
            out.append((k, wit.OffsetValue_Boolean(v)))
        elif isinstance(v, int):
            out.append((k, wit.OffsetValue_Int(v)))
        elif isinstance(v, float):
            out.append((k, wit.OffsetValue_Float(v)))
        elif isinstance(v, str):
            out.append((k, wit.OffsetValue_String(v)))
        else:
            raise DataError(f"source partition/offset {k!r} must be a primitive, got {type(v).__name__}")
    return out
