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
from typing import Any, List

from ._config import Config, ConfigDef, ConfigError, ConfigProblem, ConfigType, PluginSpec
from ._data import (DataError, Drop, Fail, Header, Keep, Logical, Outcome, Record, RecordFailure,
                    Schema, SchemaType, SourcePosition, SourceRecord, Struct, StructSchemaBuilder,
                    TaskError, TopicPartitionOffset, Typed, decimal_bytes)

__all__ = [
    "SchemaType", "Logical", "Schema", "StructSchemaBuilder", "Struct", "Typed", "DataError",
    "decimal_bytes", "Header", "Record", "SourceRecord", "SourcePosition", "TaskError",
    "RecordFailure", "TopicPartitionOffset", "Outcome", "Keep", "Drop", "Fail", "ConfigType",
    "ConfigDef", "PluginSpec", "ConfigError", "ConfigProblem", "Config", "log", "metrics",
    "MetricError", "Transform",
    "Sink", "Source", "Predicate", "export_transform", "export_sink", "export_source",
    "export_predicate",
]


# ---------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------

def _host_interface(name: str) -> Any:
    """The bindings componentize-py generates for the world's import ``name`` (``host``,
    ``metrics``); ``None`` in plain CPython, where there are none."""
    try:
        import importlib
        return importlib.import_module(f"wit_world.imports.{name}")
    except ImportError:
        return None


# Imported now, when this module is: componentize-py snapshots the modules imported while it
# builds the component, and the component has no files to import anything from later.
_HOST_INTERFACES = {name: _host_interface(name) for name in ("host", "metrics")}


class _Log:
    """Lines in the host log, tagged with the connector and task that wrote them."""

    def __init__(self) -> None:
        self._host: Any = _HOST_INTERFACES["host"]

    def _emit(self, level: str, message: str) -> None:
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
# Metrics
# ---------------------------------------------------------------------------------------

class MetricError(Exception):
    """The host refused a metric update (its message says why); nothing changed."""


class _Metrics:
    """Metrics of the plugin's own (like Kafka 4.1's plugin metrics, KIP-877): counters and
    gauges of the calling task, published on the worker's ``GET /metrics`` as
    ``kafka_connect_plugins_<name>{connector,task}`` (a counter with ``_total`` appended)::

        metrics.counter_add("rows_masked")        # + 1
        metrics.gauge_set("lookup_cache_entries", 120)

    A name is 1 to 64 characters a-z, 0-9 and _, starting with a letter; it is a counter or a
    gauge, never both; a task may define at most 64 names. A broken rule raises
    :class:`MetricError` with the host's message. Without a host (plain CPython, the SDK's
    tests) the same rules are checked and the values kept in :attr:`values`.

    Counting per record is cheap: inside a batch call (``apply``, ``put``, ``poll``,
    ``test``) the first update of a name goes to the host, which checks it, and later ones
    are added up in the plugin and sent once when the call returns (one host call per name
    and batch, not per record). A gauge set several times in a batch sends its last value.
    """

    #: Most distinct names a task may define, as the host.
    MAX_NAMES = 64

    def __init__(self) -> None:
        self._host: Any = _HOST_INTERFACES["metrics"]
        #: name -> value, when there is no host.
        self.values: dict = {}
        #: Names the host accepted, with their kind (int: counter, float: gauge).
        self._accepted: dict = {}
        #: Updates of accepted names not yet sent: name -> counter delta or gauge value.
        self._pending: dict = {}
        self._in_batch = False

    def counter_add(self, name: str, delta: int = 1) -> None:
        if self._in_batch and type(delta) is int and delta >= 0 and self._accepted.get(name) is int:
            # The usual per-record call, in a batch, of a name the host accepted: add it up.
            pending = self._pending
            pending[name] = pending.get(name, 0) + delta
            return
        delta = int(delta)
        if delta < 0:
            raise MetricError(f"counter {name!r}: delta {delta} is negative; counters only grow")
        if self._in_batch and self._accepted.get(name) is int:
            pending = self._pending
            pending[name] = pending.get(name, 0) + delta
            return
        self._call("counter_add", name, delta, int)

    def gauge_set(self, name: str, value: float) -> None:
        value = float(value)
        if self._in_batch and self._accepted.get(name) is float:
            self._pending[name] = value
            return
        self._call("gauge_set", name, value, float)

    def _begin_batch(self) -> None:
        self._in_batch = self._host is not None

    def _end_batch(self) -> None:
        """Sends what the batch call added up (called by the SDK when the call returns)."""
        self._in_batch = False
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for name, value in pending.items():
            function = "counter_add" if self._accepted[name] is int else "gauge_set"
            try:
                getattr(self._host, function)(name, value)
            except Exception as e:  # noqa: BLE001 - the host accepted this name before
                log.warn(f"metric {name!r}: the host refused an update it accepted before: "
                         f"{getattr(e, 'value', e)}")

    def _call(self, function: str, name: str, value: Any, kind: type) -> None:
        if self._host is not None:
            try:
                getattr(self._host, function)(str(name), value)
                self._accepted[name] = kind
                return
            except NotImplementedError:
                self._host = None  # generated bindings in plain CPython: no host
                self._in_batch = False
            except Exception as e:  # noqa: BLE001 - componentize-py raises Err(message)
                raise MetricError(str(getattr(e, "value", e))) from None
        import json
        import re
        quoted = json.dumps(str(name), ensure_ascii=False)  # as the host quotes it
        current = self.values.get(name)
        if current is None:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", str(name)):
                raise MetricError(f"invalid metric name {quoted}: use 1 to 64 characters a-z, "
                                  f"0-9 and _, starting with a letter")
            if len(self.values) >= self.MAX_NAMES:
                raise MetricError(f"this task already defines {self.MAX_NAMES} metrics, the "
                                  f"most it may; {quoted} is one too many")
        elif type(current) is not kind:
            have, want = ("counter", "gauge") if kind is float else ("gauge", "counter")
            raise MetricError(f"metric {quoted} is a {have}, not a {want}")
        self.values[name] = (current or 0) + value if kind is int else value


metrics = _Metrics()


# ---------------------------------------------------------------------------------------
# Plugin base classes and export
# ---------------------------------------------------------------------------------------

class _Plugin:
    """What every plugin kind has: its spec, and checks of a config beyond the spec's."""

    @classmethod
    def spec(cls) -> PluginSpec:
        raise NotImplementedError

    @classmethod
    def validate(cls, config: Config) -> List[ConfigProblem]:
        return []


class Transform(_Plugin):
    """A single message transform. Subclass it, then in the app module:
    ``Plugin, Transforms = export_transform(MyTransform)``."""

    def __init__(self, class_name: str, config: Config):
        """Configure one instance; raise (any exception) to refuse the config."""

    def apply(self, record: Record) -> Any:
        """Return ``Outcome.keep(record)``, ``Outcome.drop()`` or ``Outcome.fail(msg)``.
        An exception fails this record only."""
        raise NotImplementedError


class Sink(_Plugin):
    """A sink connector and its task: ``Plugin, SinkConnector = export_sink(MySink)``."""

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


class Source(_Plugin):
    """A source connector and its task: ``Plugin, SourceConnector = export_source(MySource)``."""

    @classmethod
    def task_configs(cls, config: Config, max_tasks: int) -> List[Config]:
        return [config]

    def __init__(self, config: Config, committed: List[SourcePosition]):
        """Start a task; ``committed`` holds the positions committed so far."""

    def poll(self, max_records: int) -> List[SourceRecord]:
        raise NotImplementedError

    def stop(self) -> None:
        pass


class Predicate(_Plugin):
    """A predicate for conditional transforms (``transforms.<t>.predicate``). Subclass it,
    then in the app module: ``Plugin, Predicates = export_predicate(MyPredicate)``."""

    def __init__(self, class_name: str, config: Config):
        """Configure one instance; raise (any exception) to refuse the config."""

    def test(self, record: Record) -> bool:
        """Whether the predicate holds for ``record``. An exception fails this record only."""
        raise NotImplementedError


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


def _export(kind: str, cls: type, caller_globals: dict) -> Any:
    exports = _exports_module()
    if exports is None:
        return (_NotInAComponent, _NotInAComponent)
    pair = getattr(exports, kind)(cls)
    # A `*-packed` world also exports the packed interface of the kind, whose class
    # componentize-py looks up in the app module: put it there, next to the returned pair.
    caller_globals.update(exports.packed_exports(kind))
    return pair


def export_transform(cls: type) -> Any:
    """Registers ``cls`` as this component's transform; returns the ``(Plugin, Transforms)``
    classes componentize-py looks for in the app module."""
    return _export("transform", cls, sys._getframe(1).f_globals)


def export_sink(cls: type) -> Any:
    """Returns ``(Plugin, SinkConnector)`` for the app module."""
    return _export("sink", cls, sys._getframe(1).f_globals)


def export_source(cls: type) -> Any:
    """Returns ``(Plugin, SourceConnector)`` for the app module."""
    return _export("source", cls, sys._getframe(1).f_globals)


def export_predicate(cls: type) -> Any:
    """Returns ``(Plugin, Predicates)`` for the app module."""
    return _export("predicate", cls, sys._getframe(1).f_globals)
