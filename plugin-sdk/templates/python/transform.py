"""{{name}}: a Sluice transform. Upper-cases the string field `field` of each record value
(a Struct, or a schemaless dict); fails a record whose field is not a string."""

from sluice import ConfigDef, Outcome, PluginSpec, Struct, Transform, export_transform, log


class {{class_name}}(Transform):
    @classmethod
    def spec(cls):
        return (PluginSpec("{{plugin_name}}", "0.1.0")
                .describe("Upper-cases one string field of the record value.")
                .option(ConfigDef.string("field").required().doc("The field to upper-case.")))

    def __init__(self, class_name, config):
        self.field = config.required_str("field")
        log.info(f"{{name}}: upper-casing {self.field}")

    def apply(self, record):
        value = record.value
        if not isinstance(value, (Struct, dict)) or self.field not in value:
            return Outcome.keep(record)
        current = value[self.field]
        if current is None:
            return Outcome.keep(record)
        if not isinstance(current, str):
            return Outcome.fail(f"field {self.field} is not a string")
        value[self.field] = current.upper()
        return Outcome.keep(record)


Plugin, Transforms = export_transform({{class_name}})
