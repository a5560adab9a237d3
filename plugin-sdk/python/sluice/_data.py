"""The Connect data model plugins see: schemas, values, records and outcomes (see the package
docs for how Connect types map to Python)."""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any, Dict, List, Optional, Tuple

class SchemaType:
    """Connect's ``Schema.Type`` names, as the WIT ``schema-type`` enum spells them."""

    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOLEAN = "boolean"
    STRING = "string"
    BYTES = "bytes"
    ARRAY = "array"
    MAP = "map"
    STRUCT = "struct"
    ALL = (INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES, ARRAY, MAP, STRUCT)


class Logical:
    """Names of Connect's logical types (a base type plus one of these schema names)."""

    DECIMAL = "org.apache.kafka.connect.data.Decimal"
    DATE = "org.apache.kafka.connect.data.Date"
    TIME = "org.apache.kafka.connect.data.Time"
    TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"
    DECIMAL_SCALE = "scale"


class DataError(Exception):
    """A problem building or decoding Connect data."""


class Schema:
    """A Connect schema.

    Treat schemas as immutable: build one once (e.g. in ``__init__``) and share it between
    records; a batch then carries it once (schemas are interned by identity).
    """

    __slots__ = ("type", "optional", "default", "name", "version", "doc", "parameters",
                 "items", "keys", "values", "fields")

    def __init__(self, type: str):
        if type not in SchemaType.ALL:
            raise DataError(f"unknown schema type {type!r}; use one of: {', '.join(SchemaType.ALL)}")
        self.type = type
        self.optional = False
        #: Default value, or ``None`` for no default.
        self.default: Any = None
        self.name: Optional[str] = None
        self.version: Optional[int] = None
        self.doc: Optional[str] = None
        #: ``(key, value)`` string pairs in insertion order (e.g. Decimal's scale).
        self.parameters: List[Tuple[str, str]] = []
        self.items: Optional[Schema] = None
        self.keys: Optional[Schema] = None
        self.values: Optional[Schema] = None
        #: Struct fields: ``(name, schema)`` pairs in order.
        self.fields: List[Tuple[str, Schema]] = []

    # Constructors -------------------------------------------------------------------
    @staticmethod
    def int8() -> "Schema": return Schema(SchemaType.INT8)
    @staticmethod
    def int16() -> "Schema": return Schema(SchemaType.INT16)
    @staticmethod
    def int32() -> "Schema": return Schema(SchemaType.INT32)
    @staticmethod
    def int64() -> "Schema": return Schema(SchemaType.INT64)
    @staticmethod
    def float32() -> "Schema": return Schema(SchemaType.FLOAT32)
    @staticmethod
    def float64() -> "Schema": return Schema(SchemaType.FLOAT64)
    @staticmethod
    def boolean() -> "Schema": return Schema(SchemaType.BOOLEAN)
    @staticmethod
    def string() -> "Schema": return Schema(SchemaType.STRING)
    @staticmethod
    def bytes() -> "Schema": return Schema(SchemaType.BYTES)

    @staticmethod
    def array(items: "Schema") -> "Schema":
        s = Schema(SchemaType.ARRAY)
        s.items = items
        return s

    @staticmethod
    def map(keys: "Schema", values: "Schema") -> "Schema":
        s = Schema(SchemaType.MAP)
        s.keys, s.values = keys, values
        return s

    @staticmethod
    def struct() -> "StructSchemaBuilder":
        """``Schema.struct().name("x").field("id", Schema.int64()).build()``"""
        return StructSchemaBuilder()

    @staticmethod
    def decimal(scale: int) -> "Schema":
        return Schema.bytes().with_name(Logical.DECIMAL).with_version(1) \
            .with_parameter(Logical.DECIMAL_SCALE, str(scale))

    @staticmethod
    def date() -> "Schema": return Schema.int32().with_name(Logical.DATE).with_version(1)
    @staticmethod
    def time() -> "Schema": return Schema.int32().with_name(Logical.TIME).with_version(1)
    @staticmethod
    def timestamp() -> "Schema": return Schema.int64().with_name(Logical.TIMESTAMP).with_version(1)

    # Modifiers ----------------------------------------------------------------------
    def as_optional(self) -> "Schema":
        self.optional = True
        return self

    def with_name(self, name: str) -> "Schema":
        self.name = name
        return self

    def with_version(self, version: int) -> "Schema":
        self.version = version
        return self

    def with_doc(self, doc: str) -> "Schema":
        self.doc = doc
        return self

    def with_default(self, value: Any) -> "Schema":
        self.default = value
        return self

    def with_parameter(self, key: str, value: str) -> "Schema":
        self.parameters = [(k, v) for k, v in self.parameters if k != key] + [(key, str(value))]
        return self

    def parameter(self, key: str) -> Optional[str]:
        return next((v for k, v in self.parameters if k == key), None)

    def field(self, name: str) -> Optional[Tuple[int, "Schema"]]:
        """``(index, schema)`` of a struct field, or ``None``."""
        for i, (n, s) in enumerate(self.fields):
            if n == name:
                return i, s
        return None

    def __repr__(self) -> str:
        extra = f" {self.name}" if self.name else ""
        return f"Schema({self.type}{extra}{' optional' if self.optional else ''})"


class StructSchemaBuilder:
    def __init__(self) -> None:
        self._schema = Schema(SchemaType.STRUCT)

    def name(self, name: str) -> "StructSchemaBuilder":
        self._schema.name = name
        return self

    def version(self, version: int) -> "StructSchemaBuilder":
        self._schema.version = version
        return self

    def doc(self, doc: str) -> "StructSchemaBuilder":
        self._schema.doc = doc
        return self

    def optional(self) -> "StructSchemaBuilder":
        self._schema.optional = True
        return self

    def field(self, name: str, schema: Schema) -> "StructSchemaBuilder":
        if self._schema.field(name) is not None:
            raise DataError(f"struct schema already has a field {name!r}")
        self._schema.fields.append((name, schema))
        return self

    def build(self) -> Schema:
        return self._schema


@dataclass(frozen=True)
class Typed:
    """A number with an explicit Connect type, for schemaless data: ``Typed("int32", 5)``."""

    type: str
    value: Any


class Struct:
    """A struct value: a struct schema plus one value per field, addressed by name.

    ``s["name"]`` / ``s["name"] = v`` work as well as :meth:`get` / :meth:`put`.
    """

    __slots__ = ("schema", "values")

    def __init__(self, schema: Schema, values: Optional[List[Any]] = None):
        if not isinstance(schema, Schema) or schema.type != SchemaType.STRUCT:
            raise DataError(f"a Struct needs a struct schema, got {schema!r}")
        self.schema = schema
        if values is None:
            self.values = [s.default for _, s in schema.fields]
        else:
            if len(values) != len(schema.fields):
                raise DataError(
                    f"struct schema {schema.name or '(unnamed)'} has {len(schema.fields)} fields "
                    f"but {len(values)} values were given")
            self.values = list(values)

    def _index(self, name: str) -> int:
        found = self.schema.field(name)
        if found is None:
            known = ", ".join(n for n, _ in self.schema.fields)
            raise DataError(f"struct has no field {name!r}; its fields are: {known}")
        return found[0]

    def get(self, name: str) -> Any:
        return self.values[self._index(name)]

    def put(self, name: str, value: Any) -> "Struct":
        """Sets a field; chains: ``s.put("a", 1).put("b", "x")``."""
        self.values[self._index(name)] = value
        return self

    def __contains__(self, name: str) -> bool:
        return self.schema.field(name) is not None

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.put(name, value)

    def items(self) -> List[Tuple[str, Any]]:
        return [(n, v) for (n, _), v in zip(self.schema.fields, self.values)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Struct) and self.schema is other.schema and self.values == other.values

    def __repr__(self) -> str:
        return "Struct{" + ", ".join(f"{n}={v!r}" for n, v in self.items()) + "}"


def decimal_bytes(unscaled: int) -> bytes:
    """Connect's Decimal representation: minimal two's-complement big-endian bytes, as Java's
    ``BigInteger.toByteArray()``."""
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return unscaled.to_bytes(length, "big", signed=True)


@dataclass
class Header:
    key: str
    schema: Optional[Schema]
    value: Any


@dataclass
class Record:
    """A Connect record: what transforms see, what sinks receive, the payload of a source
    record. ``key_schema`` / ``value_schema`` of ``None`` mean schemaless data."""

    topic: str
    key: Any = None
    value: Any = None
    key_schema: Optional[Schema] = None
    value_schema: Optional[Schema] = None
    #: Set on sink records; on source records ``None`` lets the producer choose.
    partition: Optional[int] = None
    #: Set on sink records only.
    offset: Optional[int] = None
    #: Milliseconds since the Unix epoch.
    timestamp: Optional[int] = None
    #: "no-timestamp-type", "create-time" or "log-append-time".
    timestamp_type: str = "no-timestamp-type"
    headers: List[Header] = dc_field(default_factory=list)


@dataclass
class SourceRecord:
    """A record from a source with its position: ``source_partition`` and ``source_offset``
    are dicts of primitives (None, bool, int, float, str)."""

    source_partition: Dict[str, Any]
    source_offset: Dict[str, Any]
    record: Record


@dataclass
class SourcePosition:
    partition: Dict[str, Any]
    offset: Dict[str, Any]


class TaskError(Exception):
    """Fails a whole call: ``TaskError.fatal(msg)`` fails the task, ``retriable`` is retried."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    @staticmethod
    def fatal(message: str) -> "TaskError":
        return TaskError("fatal", message)

    @staticmethod
    def retriable(message: str) -> "TaskError":
        return TaskError("retriable", message)


@dataclass
class RecordFailure:
    """A record a sink could not write; ``index`` is its position in the list given to put."""

    index: int
    message: str


@dataclass
class TopicPartitionOffset:
    topic: str
    partition: int
    offset: int


@dataclass
class Keep:
    record: Record


@dataclass
class Drop:
    pass


@dataclass
class Fail:
    message: str


class Outcome:
    """What a transform does with one record: ``Outcome.keep(r)``, ``drop()``, ``fail(msg)``."""

    #: ``Outcome.keep(record)``: the :class:`Keep` itself (one call per record instead of two).
    keep = staticmethod(Keep)

    @staticmethod
    def drop() -> Drop:
        return Drop()

    @staticmethod
    def fail(message: str) -> Fail:
        return Fail(str(message))
