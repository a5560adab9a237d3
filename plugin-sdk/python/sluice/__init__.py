"""Sluice plugin SDK for Python: write source, sink, transform and predicate plugins in plain
Python and build them into WebAssembly components with componentize-py.

It mirrors the Rust SDK (plugin-sdk/): the WIT world ``sluice:connect@0.1.0`` hands plugins
batches of *flattened* trees (lists of nodes pointing at each other by index); this package
turns them into ordinary trees (:class:`Schema`, :class:`Struct`, :class:`Record`) and back, so
plugin code sees one record at a time while every call across the boundary stays batched.

Data model (Connect type -> Python)::

    int8/int16/int32/int64 -> int     float32/float64 -> float    boolean -> bool
    string -> str    bytes -> bytes    array -> list    map -> dict (keys of any hashable type)
    struct -> Struct (fields by name)                   null -> None

Schemaless data (no schema, e.g. JsonConverter with ``schemas.enable=false``) has no schema to
say which number type a value is, so there ``int`` <-> int64 and ``float`` <-> float64, and the
rarer int8/int16/int32/float32 arrive as :class:`Typed` values that go back unchanged.

This module imports nothing generated, so plugin logic is unit-testable with plain CPython
(``python -m unittest``); logging then goes to stderr. The WIT glue lives in ``sluice._wire``
and the export adapters in ``sluice._exports``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = [
    "SchemaType", "Logical", "Schema", "StructSchemaBuilder", "Struct", "Typed", "DataError",
    "decimal_bytes", "Header", "Record", "SourceRecord", "SourcePosition", "TaskError",
    "RecordFailure", "TopicPartitionOffset", "Outcome", "Keep", "Drop", "Fail", "ConfigType",
    "ConfigDef", "PluginSpec", "ConfigError", "ConfigProblem", "Config", "log", "Transform",
    "Sink", "Source", "export_transform", "export_sink", "export_source",
]


# ---------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------

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

    @staticmethod
    def keep(record: Record) -> Keep:
        return Keep(record)

    @staticmethod
    def drop() -> Drop:
        return Drop()

    @staticmethod
    def fail(message: str) -> Fail:
        return Fail(str(message))


# ---------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------

class ConfigType:
    BOOLEAN = "boolean"
    STRING = "string"
    INT = "int"
    SHORT = "short"
    LONG = "long"
    DOUBLE = "double"
    LIST = "list"
    CLASS = "class"
    PASSWORD = "password"


class ConfigDef:
    """One accepted config key: ``ConfigDef.string("file").required().doc("...")``."""

    def __init__(self, name: str, type: str):
        self.name = name
        self.type = type
        self.default_value: Optional[str] = None
        self.required_ = False
        self.secret = type == ConfigType.PASSWORD
        self.importance_ = "medium"
        self.documentation = ""
        self.group: Optional[str] = None
        self.recommended_values: List[str] = []
        #: "read-file", "write-file", "read-dir", "write-dir" or None.
        self.file_access: Optional[str] = None

    @staticmethod
    def string(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.STRING)
    @staticmethod
    def int(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.INT)
    @staticmethod
    def short(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.SHORT)
    @staticmethod
    def long(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.LONG)
    @staticmethod
    def double(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.DOUBLE)
    @staticmethod
    def boolean(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.BOOLEAN)
    @staticmethod
    def list(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.LIST)
    @staticmethod
    def password(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.PASSWORD)

    def required(self) -> "ConfigDef":
        self.required_ = True
        self.default_value = None
        return self

    def default(self, value: Any) -> "ConfigDef":
        self.default_value = str(value).lower() if isinstance(value, bool) else str(value)
        self.required_ = False
        return self

    def doc(self, text: str) -> "ConfigDef":
        self.documentation = text
        return self

    def importance(self, level: str) -> "ConfigDef":
        """"high", "medium" or "low"."""
        self.importance_ = level
        return self

    def mark_secret(self) -> "ConfigDef":
        self.secret = True
        return self

    def in_group(self, group: str) -> "ConfigDef":
        self.group = group
        return self

    def recommended(self, values: Sequence[str]) -> "ConfigDef":
        self.recommended_values = [str(v) for v in values]
        return self

    def with_file_access(self, access: str) -> "ConfigDef":
        self.file_access = access
        return self


class PluginSpec:
    """What a plugin says about itself."""

    def __init__(self, name: str, version: str):
        self.name = name
        self.version = version
        self.aliases: List[str] = []
        self.description = ""
        self.config: List[ConfigDef] = []

    def alias(self, name: str) -> "PluginSpec":
        self.aliases.append(name)
        return self

    def describe(self, text: str) -> "PluginSpec":
        self.description = text
        return self

    def option(self, d: ConfigDef) -> "PluginSpec":
        self.config.append(d)
        return self


class ConfigError(Exception):
    """A bad or missing config value; names the key and never shows a secret's value."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config `{key}`: {message}")
        self.key = key
        self.problem = message


@dataclass
class ConfigProblem:
    key: str
    message: str


class Config:
    """A connector's or transform's config with typed getters that fall back to defaults."""

    def __init__(self, entries: Sequence[Tuple[str, str]] = (), defs: Sequence[ConfigDef] = ()):
        self.entries = list(entries)
        self.defs = list(defs)

    def _def(self, key: str) -> Optional[ConfigDef]:
        return next((d for d in self.defs if d.name == key), None)

    def get(self, key: str) -> Optional[str]:
        """The value as given, else the declared default, else None."""
        for k, v in reversed(self.entries):
            if k == key:
                return v
        d = self._def(key)
        return d.default_value if d else None

    def contains(self, key: str) -> bool:
        return any(k == key for k, _ in self.entries)

    def required_str(self, key: str) -> str:
        v = self.get(key)
        if v is None:
            raise ConfigError(key, "missing required key")
        return v

    def str(self, key: str) -> Optional[str]:
        return self.get(key)

    def int(self, key: str) -> Optional[int]:
        def parse(v: str) -> Optional[int]:
            try:
                return int(v.strip(), 10)
            except ValueError:
                return None
        return self._parse(key, "an integer such as 100", parse)

    def double(self, key: str) -> Optional[float]:
        def parse(v: str) -> Optional[float]:
            try:
                return float(v.strip())
            except ValueError:
                return None
        return self._parse(key, "a number such as 1.5", parse)

    def bool(self, key: str) -> Optional[bool]:
        """``true``/``false`` in any case, as Kafka."""
        return self._parse(key, "`true` or `false`",
                           lambda v: {"true": True, "false": False}.get(v.strip().lower()))

    def list(self, key: str) -> List[str]:
        """A comma-separated list, items trimmed, empty items dropped; [] if missing."""
        v = self.get(key)
        return [] if v is None else [s.strip() for s in v.split(",") if s.strip()]

    def one_of(self, key: str, allowed: Sequence[str]) -> Optional[str]:
        v = self.get(key)
        if v is None or v in allowed:
            return v
        raise ConfigError(key, f"{self._shown(key, v)} is not accepted; use one of: {', '.join(allowed)}")

    def _shown(self, key: str, value: str) -> str:
        d = self._def(key)
        if d is not None and (d.secret or d.type == ConfigType.PASSWORD):
            return "the value [hidden]"
        return f'"{value}"'

    def _parse(self, key: str, expected: str, parse: Callable[[str], Any]) -> Any:
        v = self.get(key)
        if v is None:
            return None
        parsed = parse(v)
        if parsed is None:
            raise ConfigError(key, f"{self._shown(key, v)} is not valid; expected {expected}")
        return parsed


# ---------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------

class _Log:
    """Lines in the host log, tagged with the connector and task that wrote them."""

    def __init__(self) -> None:
        self._host: Any = None
        self._resolved = False

    def _emit(self, level: str, message: str) -> None:
        if not self._resolved:
            self._resolved = True
            try:
                from wit_world.imports import host  # generated by componentize-py
                self._host = host
            except ImportError:
                self._host = None
        if self._host is not None:
            try:
                self._host.log(getattr(self._host.LogLevel, level.upper()), str(message))
                return
            except NotImplementedError:
                # Generated bindings imported into plain CPython (SDK tests): no host.
                self._host = None
        print(f"[{level}] {message}", file=sys.stderr)

    def trace(self, message: str) -> None: self._emit("trace", message)
    def debug(self, message: str) -> None: self._emit("debug", message)
    def info(self, message: str) -> None: self._emit("info", message)
    def warn(self, message: str) -> None: self._emit("warn", message)
    def error(self, message: str) -> None: self._emit("error", message)


log = _Log()


# ---------------------------------------------------------------------------------------
# Plugin base classes and export
# ---------------------------------------------------------------------------------------

class Transform:
    """A single message transform. Subclass it, then in the app module:
    ``Plugin, Transforms = export_transform(MyTransform)``."""

    @classmethod
    def spec(cls) -> PluginSpec:
        raise NotImplementedError

    @classmethod
    def validate(cls, config: Config) -> List[ConfigProblem]:
        return []

    def __init__(self, class_name: str, config: Config):
        """Configure one instance; raise (any exception) to refuse the config."""

    def apply(self, record: Record) -> Any:
        """Return ``Outcome.keep(record)``, ``Outcome.drop()`` or ``Outcome.fail(msg)``.
        An exception fails this record only."""
        raise NotImplementedError


class Sink:
    """A sink connector and its task: ``Plugin, SinkConnector = export_sink(MySink)``."""

    @classmethod
    def spec(cls) -> PluginSpec:
        raise NotImplementedError

    @classmethod
    def validate(cls, config: Config) -> List[ConfigProblem]:
        return []

    @classmethod
    def task_configs(cls, config: Config, max_tasks: int) -> List[Config]:
        return [config] * max_tasks

    def __init__(self, config: Config):
        """Start a task; raise TaskError to fail it."""

    def put(self, records: List[Record]) -> List[RecordFailure]:
        raise NotImplementedError

    def flush(self, offsets: List[TopicPartitionOffset]) -> None:
        pass

    def stop(self) -> None:
        pass


class Source:
    """A source connector and its task: ``Plugin, SourceConnector = export_source(MySource)``."""

    @classmethod
    def spec(cls) -> PluginSpec:
        raise NotImplementedError

    @classmethod
    def validate(cls, config: Config) -> List[ConfigProblem]:
        return []

    @classmethod
    def task_configs(cls, config: Config, max_tasks: int) -> List[Config]:
        return [config]

    def __init__(self, config: Config, committed: List[SourcePosition]):
        """Start a task; ``committed`` holds the positions committed so far."""

    def poll(self, max_records: int) -> List[SourceRecord]:
        raise NotImplementedError

    def stop(self) -> None:
        pass


def _exports_module() -> Any:
    """The export adapters, or None in plain CPython: they need the bindings componentize-py
    generates, which exist only while it builds the component. Returning placeholders there
    lets unit tests import the app module (and its export line) unchanged."""
    try:
        from . import _exports
    except ImportError:
        return None
    return _exports


class _NotInAComponent:
    """Stands in for an export class outside a component (unit tests)."""


def export_transform(cls: type) -> Any:
    """Registers ``cls`` as this component's transform; returns the ``(Plugin, Transforms)``
    classes componentize-py looks for in the app module."""
    exports = _exports_module()
    return exports.transform(cls) if exports else (_NotInAComponent, _NotInAComponent)


def export_sink(cls: type) -> Any:
    """Returns ``(Plugin, SinkConnector)`` for the app module."""
    exports = _exports_module()
    return exports.sink(cls) if exports else (_NotInAComponent, _NotInAComponent)


def export_source(cls: type) -> Any:
    """Returns ``(Plugin, SourceConnector)`` for the app module."""
    exports = _exports_module()
    return exports.source(cls) if exports else (_NotInAComponent, _NotInAComponent)
