"""mask-upper in Python: masks some fields of a record value and upper-cases others.

The same transform exists in Rust (examples/rust-mask-upper) and JavaScript
(examples/js-mask-upper); the integration test and the benchmark run all three.

Works on struct values (data with a schema, e.g. datagen's users) and on schemaless maps
(JsonConverter with schemas.enable=false). A record whose value is neither, or whose named
field is not a string, fails on its own (dead letter queue with errors.tolerance=all);
tombstones (None values) pass unchanged.

It counts the records it let through in its own metric, ``records_kept`` (published by the
worker as ``kafka_connect_plugins_records_kept_total{connector,task}``).
"""

from sluice import ConfigDef, ConfigProblem, Keep, Outcome, PluginSpec, Struct, Transform, export_transform, log, metrics

MASK = "****"


class MaskUpper(Transform):
    @classmethod
    def spec(cls):
        return (PluginSpec("example.python.MaskUpper", "0.1.0")
                .alias("python-mask-upper")
                .describe("Replaces the values of mask.fields with **** and upper-cases upper.fields.")
                .option(ConfigDef.list("mask.fields").default("").doc("Fields whose string value is replaced by ****."))
                .option(ConfigDef.list("upper.fields").default("").doc("Fields whose string value is upper-cased.")))

    @classmethod
    def validate(cls, config):
        if not config.list("mask.fields") and not config.list("upper.fields"):
            return [ConfigProblem("mask.fields", "name at least one field in mask.fields or upper.fields")]
        return []

    def __init__(self, class_name, config):
        problems = self.validate(config)
        if problems:
            raise ValueError(f"config `{problems[0].key}`: {problems[0].message}")
        self.edits = [(f, lambda s: MASK) for f in config.list("mask.fields")]
        self.edits += [(f, str.upper) for f in config.list("upper.fields")]
        log.info(f"mask-upper (python): {len(self.edits)} field edits")

    def apply(self, record):
        outcome = self.edit(record)
        if isinstance(outcome, Keep):
            metrics.counter_add("records_kept")
        return outcome

    def edit(self, record):
        value = record.value
        if value is None:
            return Outcome.keep(record)
        if not isinstance(value, (Struct, dict)):
            return Outcome.fail(f"mask-upper needs a struct or map value, got {type(value).__name__}")
        for field, edit in self.edits:
            if field not in value:
                continue
            current = value[field]
            if current is None:
                continue
            if not isinstance(current, str):
                return Outcome.fail(f'field "{field}" is not a string')
            value[field] = edit(current)
        return Outcome.keep(record)


Plugin, Transforms = export_transform(MaskUpper)
