"""Adapters from the SDK's plugin classes to the exports componentize-py looks for.

componentize-py finds an exported interface's functions on a class in the app module named
after the interface (``Plugin``, ``Transforms``, ``SinkConnector``, ``SourceConnector``) and an
exported *resource* on a class in a top-level module named after its interface
(``transforms.Transformer``, ``sink_connector.SinkTask``, ``source_connector.SourceTask``,
``predicates.Tester``).
The SDK ships those modules next to this package; they delegate to the adapters here, which
call the one plugin class registered by ``export_*``.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from componentize_py_types import Err, Ok
from wit_world.exports import plugin as wit_plugin
try:
    # In the `*-http` worlds, which also import `wasi:http/types`, componentize-py names the
    # module after its package.
    from wit_world.imports import sluice_connect_types as wit
except ImportError:
    from wit_world.imports import types as wit

from . import (Config, ConfigError, ConfigProblem, DataError, Drop, Fail, Keep, PluginSpec,
               RecordFailure, TaskError, TopicPartitionOffset, metrics)
from . import _packed, _wire


def _packed_interface(name: str) -> bool:
    """Whether the world this component is built for exports the packed interface ``name``
    (the ``*-packed`` worlds of wit/worlds.wit do)."""
    try:
        import importlib
        importlib.import_module(f"wit_world.exports.{name}")
    except ImportError:
        return False
    return True

#: The plugin class this component exports (one plugin per component).
_registered: Optional[type] = None
_defs: Optional[list] = None

_KINDS = {
    "transform": wit_plugin.PluginKind.TRANSFORM,
    "sink": wit_plugin.PluginKind.SINK,
    "source": wit_plugin.PluginKind.SOURCE,
    "predicate": wit_plugin.PluginKind.PREDICATE,
}
_CONFIG_TYPES = {t.name.lower(): t for t in wit_plugin.ConfigType}
_IMPORTANCE = {i.name.lower(): i for i in wit_plugin.Importance}
_FILE_ACCESS = {a.name.lower().replace("_", "-"): a for a in wit_plugin.FileAccess}


def registered() -> type:
    if _registered is None:
        raise RuntimeError("no plugin class registered: call sluice.export_transform/export_sink/"
                           "export_source/export_predicate(YourClass) in the app module")
    return _registered


def config(entries: List[Tuple[str, str]]) -> Config:
    global _defs
    if _defs is None:
        _defs = registered().spec().config
    return Config(entries, _defs)


def _message(e: BaseException) -> str:
    return e.message if isinstance(e, TaskError) else str(e)


def task_error(e: BaseException) -> Err:
    """The WIT ``task-error`` for an exception: TaskError keeps its kind, anything else is fatal."""
    if isinstance(e, TaskError) and e.kind == "retriable":
        return Err(wit.TaskError_Retriable(_message(e)))
    return Err(wit.TaskError_Fatal(_message(e)))


def _lower_spec(spec: PluginSpec, kind: str) -> Any:
    defs = []
    for d in spec.config:
        if d.type not in _CONFIG_TYPES:
            raise ValueError(f"config key {d.name!r}: unknown type {d.type!r}")
        defs.append(wit_plugin.ConfigDef(
            name=d.name, type=_CONFIG_TYPES[d.type], default_value=d.default_value,
            required=d.required_, secret=d.secret, importance=_IMPORTANCE[d.importance_],
            documentation=d.documentation, group=d.group,
            recommended_values=list(d.recommended_values),
            file_access=None if d.file_access is None else _FILE_ACCESS[d.file_access]))
    return wit_plugin.PluginSpec(name=spec.name, aliases=list(spec.aliases), version=spec.version,
                                 kind=_KINDS[kind], description=spec.description, config=defs)


def _plugin_class(cls: type, kind: str) -> type:
    global _registered
    if _registered is not None and _registered is not cls:
        raise RuntimeError(f"one plugin per component: {_registered.__name__} is already exported")
    _registered = cls

    class Plugin:
        def spec(self) -> Any:
            return _lower_spec(cls.spec(), kind)

        def validate(self, entries: List[Tuple[str, str]]) -> List[Any]:
            problems: List[ConfigProblem] = cls.validate(config(entries))
            return [wit_plugin.ConfigProblem(p.key, p.message) for p in problems]

    return Plugin


def _task_configs(cls: type, entries: List[Tuple[str, str]], max_tasks: int) -> List[List[Tuple[str, str]]]:
    try:
        out = cls.task_configs(config(entries), max_tasks)
    except Exception as e:  # noqa: BLE001 - any failure is the plugin's answer
        raise Err(str(e))
    return [list(c.entries) if isinstance(c, Config) else list(c) for c in out]


def packed_exports(kind: str) -> dict:
    """The classes componentize-py looks up in the app module for the packed interfaces the
    world exports (none for a plain world): the SDK puts them there, so the app module's
    export line stays ``Plugin, Transforms = export_transform(...)``."""
    name = {"transform": "packed_transforms", "sink": "packed_sink",
            "source": "packed_source"}.get(kind)
    if name is None or not _packed_interface(name):
        return {}
    class_name = "".join(part.capitalize() for part in name.split("_"))
    return {class_name: type(class_name, (), {})}


def transform(cls: type) -> Tuple[type, type]:
    plugin = _plugin_class(cls, "transform")

    class Transforms:
        pass

    return plugin, Transforms


def sink(cls: type) -> Tuple[type, type]:
    plugin = _plugin_class(cls, "sink")

    class SinkConnector:
        def task_configs(self, entries: List[Tuple[str, str]], max_tasks: int) -> Any:
            return _task_configs(cls, entries, max_tasks)

    return plugin, SinkConnector


def source(cls: type) -> Tuple[type, type]:
    plugin = _plugin_class(cls, "source")

    class SourceConnector:
        def task_configs(self, entries: List[Tuple[str, str]], max_tasks: int) -> Any:
            return _task_configs(cls, entries, max_tasks)

    return plugin, SourceConnector


def predicate(cls: type) -> Tuple[type, type]:
    plugin = _plugin_class(cls, "predicate")

    class Predicates:
        pass

    return plugin, Predicates


# Resource implementations, re-exported by the top-level glue modules ---------------------

class Transformer:
    def __init__(self, instance: Any):
        self._instance = instance

    @classmethod
    def create(cls, class_: str, entries: List[Tuple[str, str]]) -> "Transformer":
        try:
            return cls(registered()(class_, config(entries)))
        except Exception as e:  # noqa: BLE001 - a refused config, reported to the host
            raise Err(str(e))

    def apply(self, batch: Any) -> Any:
        metrics._begin_batch()
        try:
            return self._apply(batch)
        finally:
            metrics._end_batch()

    def _apply(self, batch: Any) -> Any:
        from wit_world.exports import transforms as wit_transforms
        lowerer = _wire.Lowerer()
        outcomes = []
        for lifted in _wire.lift_batch(batch):
            if isinstance(lifted, DataError):
                outcomes.append(wit_transforms.Outcome_Fail(str(lifted)))
                continue
            try:
                out = self._instance.apply(lifted)
            except Exception as e:  # noqa: BLE001 - fails this record only (DataException)
                outcomes.append(wit_transforms.Outcome_Fail(f"{type(e).__name__}: {e}"))
                continue
            if isinstance(out, Keep):
                try:
                    outcomes.append(wit_transforms.Outcome_Keep(lowerer.record(out.record)))
                except DataError as e:
                    outcomes.append(wit_transforms.Outcome_Fail(str(e)))
            elif isinstance(out, Drop):
                outcomes.append(wit_transforms.Outcome_Drop())
            elif isinstance(out, Fail):
                outcomes.append(wit_transforms.Outcome_Fail(out.message))
            else:
                outcomes.append(wit_transforms.Outcome_Fail(
                    f"plugin bug: apply() returned {out!r}; return Outcome.keep/drop/fail"))
        return wit_transforms.TransformOutput(lowerer.schemas, outcomes)


class SinkTask:
    def __init__(self, instance: Any):
        self._instance = instance

    @classmethod
    def open(cls, entries: List[Tuple[str, str]]) -> "SinkTask":
        try:
            return cls(registered()(config(entries)))
        except Exception as e:  # noqa: BLE001
            raise task_error(e)

    def put(self, batch: Any) -> List[Any]:
        return self._put(_wire.lift_batch(batch))

    def _put(self, lifted_batch: List[Any]) -> List[Any]:
        failures = []
        records = []
        positions = []
        for i, lifted in enumerate(lifted_batch):
            if isinstance(lifted, DataError):
                failures.append(wit.RecordFailure(i, str(lifted)))
            else:
                records.append(lifted)
                positions.append(i)
        if records:
            metrics._begin_batch()
            try:
                reported: List[RecordFailure] = self._instance.put(records) or []
            except Exception as e:  # noqa: BLE001
                raise task_error(e)
            finally:
                metrics._end_batch()
            for f in reported:
                if not 0 <= f.index < len(positions):
                    raise task_error(TaskError.fatal(
                        f"plugin bug: put() reported a failure at index {f.index} of a "
                        f"{len(positions)}-record batch"))
                failures.append(wit.RecordFailure(positions[f.index], str(f.message)))
        failures.sort(key=lambda f: f.index)
        return failures

    def flush(self, offsets: List[Any]) -> None:
        try:
            self._instance.flush([TopicPartitionOffset(o.topic, o.partition, o.offset) for o in offsets])
        except Exception as e:  # noqa: BLE001
            raise task_error(e)

    def stop(self) -> None:
        self._instance.stop()


class SourceTask:
    def __init__(self, instance: Any):
        self._instance = instance

    @classmethod
    def open(cls, entries: List[Tuple[str, str]], committed: List[Any]) -> "SourceTask":
        try:
            return cls(registered()(config(entries), _wire.lift_positions(committed)))
        except Exception as e:  # noqa: BLE001
            raise task_error(e)

    def _poll(self, max_records: int) -> List[Any]:
        metrics._begin_batch()
        try:
            return self._instance.poll(max_records) or []
        except Exception as e:  # noqa: BLE001
            raise task_error(e)
        finally:
            metrics._end_batch()

    def poll(self, max_records: int) -> Any:
        records = self._poll(max_records)
        lowerer = _wire.Lowerer()
        try:
            lowered = [lowerer.source_record(r) for r in records]
        except DataError as e:
            raise task_error(TaskError.fatal(f"poll() returned a record that cannot be sent: {e}"))
        return wit.SourceBatch(lowerer.schemas, lowered)

    def stop(self) -> None:
        self._instance.stop()


class Tester:
    def __init__(self, instance: Any):
        self._instance = instance

    @classmethod
    def create(cls, class_: str, entries: List[Tuple[str, str]]) -> "Tester":
        try:
            return cls(registered()(class_, config(entries)))
        except Exception as e:  # noqa: BLE001 - a refused config, reported to the host
            raise Err(str(e))

    def test(self, batch: Any) -> List[Any]:
        metrics._begin_batch()
        try:
            return self._test(batch)
        finally:
            metrics._end_batch()

    def _test(self, batch: Any) -> List[Any]:
        answers: List[Any] = []
        for lifted in _wire.lift_batch(batch):
            if isinstance(lifted, DataError):
                answers.append(Err(str(lifted)))
                continue
            try:
                holds = self._instance.test(lifted)
            except Exception as e:  # noqa: BLE001 - fails this record only
                answers.append(Err(f"{type(e).__name__}: {e}"))
                continue
            if not isinstance(holds, bool):
                answers.append(Err(f"plugin bug: test() returned {holds!r}; return True or False"))
            else:
                answers.append(Ok(holds))
        return answers


# The packed interfaces (docs/packed-batches.md): the same tasks, each batch one byte string.

class PackedTransformer(Transformer):
    def apply(self, records: bytes) -> bytes:  # type: ignore[override]
        with _packed.gc_paused():
            return self._apply_packed(records)

    def _apply_packed(self, records: bytes) -> bytes:
        metrics._begin_batch()
        try:
            batch = _packed.Batch(records)
            out = _packed.Encoder(batch)
            apply = self._instance.apply
            # Encoder.keep, inline (one call fewer per record).
            buf = out.out
            write = out.record
            for record in batch.records:
                if isinstance(record, DataError):  # this record cannot be read
                    out.fail(str(record))
                    continue
                try:
                    outcome = apply(record)
                except Exception as e:  # noqa: BLE001 - fails this record only (DataException)
                    out.fail(f"{type(e).__name__}: {e}")
                    continue
                if isinstance(outcome, Keep):
                    mark = len(buf)
                    buf.append(0)
                    try:
                        write(outcome.record)
                    except DataError as e:
                        del buf[mark:]
                        out.fail(str(e))
                        continue
                    out._count += 1
                elif isinstance(outcome, Drop):
                    out.drop()
                elif isinstance(outcome, Fail):
                    out.fail(outcome.message)
                else:
                    out.fail(f"plugin bug: apply() returned {outcome!r}; return Outcome.keep/drop/fail")
            return out.finish()
        finally:
            metrics._end_batch()


class PackedSinkTask(SinkTask):
    def put(self, records: bytes) -> List[Any]:  # type: ignore[override]
        with _packed.gc_paused():
            try:
                batch = _packed.Batch(records)
            except DataError as e:
                raise task_error(TaskError.fatal(f"the host sent a batch that cannot be read: {e}"))
            return self._put(batch.records)


class PackedSourceTask(SourceTask):
    def poll(self, max_records: int) -> bytes:  # type: ignore[override]
        with _packed.gc_paused():
            records = self._poll(max_records)
            out = _packed.Encoder()
            try:
                for r in records:
                    out.source_record(r)
            except DataError as e:
                raise task_error(TaskError.fatal(f"poll() returned a record that cannot be sent: {e}"))
            return out.finish()
