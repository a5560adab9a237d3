//! Kafka's `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name and/or version of
//! the key/value schema. Everything else about the schema (type, optionality, default, doc,
//! parameters, fields, item/key/value schemas) is kept; a struct value is rebuilt on the
//! renamed schema, reading each field as `Struct.get` does (a null with a default becomes the
//! default unless `replace.null.with.default=false`).
//!
//! Only struct schemas can be renamed (Kafka 3.9 fails any other schema with "Cannot list
//! fields on non-struct type", and so does this plugin). A schema is required, except that a record with both a null schema and a null value passes
//! through; a null value under a schema stays null (the schema is still renamed).

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass =
    key_value_class!("org.apache.kafka.connect.transforms.SetSchemaMetadata");

pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
}

impl SetSchemaMetadata {
    fn apply_side(
        &self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        let Some(schema) = schema else {
            if value.is_null() {
                return Ok((None, value));
            }
            return Err("Schema required for [updating schema metadata]".into());
        };
        // Kafka 3.9 rebuilds the schema with `schema.fields()`, which throws for anything but
        // a struct: SetSchemaMetadata only works on struct schemas there, so here too.
        if schema.ty != SchemaType::Struct {
            return Err("Cannot list fields on non-struct type".into());
        }
        let mut updated = (*schema).clone();
        if let Some(n) = &self.name {
            updated.name = Some(n.clone());
        }
        if let Some(v) = self.version {
            updated.version = Some(v);
        }
        let updated = updated.into_ref();
        let value = match value {
            Value::Struct(s) => {
                let (old, values) = s.into_parts();
                let values = values
                    .into_iter()
                    .zip(old.fields.iter())
                    .map(|(v, f)| match (&f.schema.default, v) {
                        (Some(d), Value::Null) if self.replace_null_with_default => d.clone(),
                        (_, v) => v,
                    })
                    .collect();
                Value::Struct(
                    Struct::from_values(updated.clone(), values).map_err(|e| e.to_string())?,
                )
            }
            other => other,
        };
        Ok((Some(updated), value))
    }
}

impl Transform for SetSchemaMetadata {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Set the schema name, version or both on the record's key or value schema.")
            .config(ConfigDef::string("schema.name").importance(Importance::High).doc("Schema name to set."))
            .config(ConfigDef::int("schema.version").importance(Importance::High).doc("Schema version to set."))
            .config(ConfigDef::boolean("replace.null.with.default").default(true)
                .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: if message.contains("schema.version") {
                    "schema.version"
                } else {
                    "schema.name"
                }
                .into(),
                message,
            }],
        }
    }
    fn create(class: &str, config: Config) -> Result<Self, String> {
        let version = match config.get("schema.version") {
            None => None,
            Some(v) => Some(v.trim().parse::<i32>().map_err(|_| {
                format!(
                    "Invalid value {v} for configuration schema.version: Not a number of type INT"
                )
            })?),
        };
        let name = config.get("schema.name").map(str::to_string);
        if name.is_none() && version.is_none() {
            return Err("Neither schema name nor version configured".into());
        }
        Ok(SetSchemaMetadata {
            side: Side::of_class(class),
            name,
            version,
            replace_null_with_default: config
                .optional_bool("replace.null.with.default")?
                .unwrap_or(true),
        })
    }
    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.apply_side(s, v))
    }
}

sluice_plugin_sdk::export_transform!(SetSchemaMetadata);

#[cfg(test)]
mod tests {
    use super::*;

    fn make(class: &str, pairs: &[(&str, &str)]) -> Result<SetSchemaMetadata, String> {
        SetSchemaMetadata::create(
            class,
            Config::from_pairs(pairs, &SetSchemaMetadata::spec().config),
        )
    }

    #[test]
    fn renames_struct_schemas_and_rejects_others() {
        let schema = Schema::struct_builder()
            .name("old")
            .version(1)
            .field("a", Schema::int32().optional().with_default(7i32))
            .optional()
            .build_ref();
        let v = Struct::from_values(schema.clone(), vec![Value::Null]).unwrap();
        let mut t = make(
            CLASS.value,
            &[("schema.name", "new"), ("schema.version", "3")],
        )
        .unwrap();
        let Outcome::Keep(r) =
            t.apply(Record::new("t").with_value(Some(schema.clone()), Value::Struct(v.clone())))
        else {
            panic!()
        };
        let vs = r.value_schema.unwrap();
        assert_eq!(
            (vs.name.as_deref(), vs.version, vs.optional),
            (Some("new"), Some(3), true)
        );
        let out = r.value.as_struct().unwrap();
        assert_eq!(out.get("a"), Some(&Value::Int32(7)));
        assert!(std::sync::Arc::ptr_eq(out.schema(), &vs));
        let mut keep_null = make(
            CLASS.value,
            &[
                ("schema.name", "new"),
                ("replace.null.with.default", "false"),
            ],
        )
        .unwrap();
        let Outcome::Keep(r) =
            keep_null.apply(Record::new("t").with_value(Some(schema.clone()), Value::Struct(v)))
        else {
            panic!()
        };
        assert_eq!(r.value.as_struct().unwrap().get("a"), Some(&Value::Null));
        assert_eq!(r.value_schema.unwrap().version, Some(1));
        // Key side; a primitive schema fails as in Kafka 3.9.
        let mut k = make(CLASS.key, &[("schema.version", "9")]).unwrap();
        assert_eq!(
            k.apply(Record::new("t").with_key(Some(Schema::string().into_ref()), "k")),
            Outcome::Fail("Cannot list fields on non-struct type".into())
        );
        // Null schema: only a null value passes.
        assert!(matches!(k.apply(Record::new("t")), Outcome::Keep(_)));
        assert_eq!(
            k.apply(Record::new("t").with_key(None, "k")),
            Outcome::Fail("Schema required for [updating schema metadata]".into())
        );
        // Null value with a schema: schema updated, value stays null.
        let Outcome::Keep(r) = t.apply(Record::new("t").with_value(Some(schema), Value::Null))
        else {
            panic!()
        };
        assert_eq!(r.value_schema.unwrap().name.as_deref(), Some("new"));
        assert_eq!(
            make(CLASS.value, &[]).err().unwrap(),
            "Neither schema name nor version configured"
        );
    }
}
