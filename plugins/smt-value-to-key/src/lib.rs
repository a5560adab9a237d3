//! Kafka's `ValueToKey`: replaces the record key with a struct (with a value schema) or map
//! (schemaless) made of the listed value fields. The value is left unchanged.
//!
//! There is no tombstone guard in Kafka: a null value fails. With a schema, the key fields
//! reuse the value's field schemas and a listed field the value does not have is an error;
//! schemaless, a missing field becomes a null entry.

use sluice_plugin_sdk::*;

const CLASS: &str = "org.apache.kafka.connect.transforms.ValueToKey";
const PURPOSE: &str = "copying fields from value to key";
/// Kafka keeps the last 16 key schemas per instance; so do we.
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    /// The key schema per value schema.
    cache: SchemaCache,
}

impl ValueToKey {
    fn key_schema(&mut self, value_schema: &SchemaRef) -> Result<SchemaRef, String> {
        if let Some(hit) = self.cache.get(value_schema) {
            return Ok(hit);
        }
        let mut b = Schema::struct_builder();
        for name in &self.fields {
            let Some((_, f)) = value_schema.field(name) else {
                return Err(format!("Field does not exist: {name}"));
            };
            b = b.field(name.clone(), f.schema.clone());
        }
        let key = b.build_ref();
        self.cache.insert(value_schema.clone(), key.clone());
        Ok(key)
    }

    fn key_from(&mut self, record: &Record) -> Result<(Option<SchemaRef>, Value), String> {
        match (&record.value_schema, &record.value) {
            (None, Value::Map(entries)) => {
                let mut key: Vec<(Value, Value)> = Vec::with_capacity(self.fields.len());
                for name in &self.fields {
                    let v = entries
                        .iter()
                        .find(|(k, _)| k.as_str() == Some(name))
                        .map_or(Value::Null, |(_, v)| v.clone());
                    let k = Value::String(name.clone());
                    match key.iter_mut().find(|(existing, _)| *existing == k) {
                        Some(slot) => slot.1 = v,
                        None => key.push((k, v)),
                    }
                }
                Ok((None, Value::Map(key)))
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                other.java_class_name(None)
            )),
            (Some(_), Value::Struct(s)) => {
                let key_schema = self.key_schema(s.schema())?;
                let values = key_schema
                    .fields
                    .iter()
                    .map(|f| {
                        let v = if self.replace_null_with_default {
                            s.get_or_default(&f.name)
                        } else {
                            s.get(&f.name)
                        };
                        v.cloned().unwrap_or(Value::Null)
                    })
                    .collect();
                let key =
                    Struct::from_values(key_schema.clone(), values).map_err(|e| e.to_string())?;
                Ok((Some(key_schema), Value::Struct(key)))
            }
            (Some(schema), other) => Err(format!(
                "Only Struct objects supported for [{PURPOSE}], found: {}",
                other.java_class_name(Some(schema))
            )),
        }
    }
}

impl Transform for ValueToKey {
    fn spec() -> PluginSpec {
        PluginSpec::new(CLASS, "0.1.0")
            .alias("ValueToKey")
            .description("Replace the record key with a new key formed from a subset of fields in the record value.")
            .config(
                ConfigDef::list("fields")
                    .required()
                    .importance(Importance::High)
                    .doc("Field names on the record value to extract as the record key."),
            )
            .config(
                ConfigDef::boolean("replace.null.with.default")
                    .default(true)
                    .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: if message.contains("replace.null.with.default") {
                    "replace.null.with.default".into()
                } else {
                    "fields".into()
                },
                message,
            }],
        }
    }

    fn create(_class: &str, config: Config) -> Result<Self, String> {
        if config.get("fields").is_none() {
            return Err(
                "Missing required configuration \"fields\" which has no default value.".into(),
            );
        }
        let fields = config.list("fields")?;
        if fields.is_empty() {
            return Err("Invalid value [] for configuration fields: Empty list".into());
        }
        Ok(ValueToKey {
            fields,
            replace_null_with_default: config.bool("replace.null.with.default")?,
            cache: SchemaCache::new(),
        })
    }

    fn apply(&mut self, mut record: Record) -> Outcome {
        match self.key_from(&record) {
            Ok((schema, key)) => {
                record.key_schema = schema;
                record.key = key;
                Outcome::Keep(record)
            }
            Err(m) => Outcome::Fail(m),
        }
    }
}

sluice_plugin_sdk::export_transform!(ValueToKey);

#[cfg(test)]
mod tests {
    use super::*;

    fn create(fields: &str) -> ValueToKey {
        ValueToKey::create(
            CLASS,
            Config::with_defs(
                vec![("fields".into(), fields.into())],
                &ValueToKey::spec().config,
            ),
        )
        .unwrap()
    }

    fn apply(t: &mut ValueToKey, r: Record) -> Result<Record, String> {
        match t.apply(r) {
            Outcome::Keep(r) => Ok(r),
            Outcome::Fail(m) => Err(m),
            Outcome::Drop => panic!("ValueToKey never drops"),
        }
    }

    #[test]
    fn schemaless_key_is_a_map_of_the_fields() {
        let mut t = create("id,missing");
        let v = Value::Map(vec![
            (Value::from("id"), Value::Int64(3)),
            (Value::from("x"), Value::from("y")),
        ]);
        let out = apply(&mut t, Record::new("t").with_value(None, v.clone())).unwrap();
        assert_eq!(
            out.key,
            Value::Map(vec![
                (Value::from("id"), Value::Int64(3)),
                (Value::from("missing"), Value::Null),
            ])
        );
        assert_eq!(out.value, v);
        assert_eq!(
            apply(&mut t, Record::new("t")).unwrap_err(),
            "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"
        );
    }

    #[test]
    fn with_schema_key_reuses_field_schemas() {
        let schema = Schema::struct_builder()
            .field("a", Schema::int32())
            .field("b", Schema::string().optional().with_default("dflt"))
            .build_ref();
        let st = Struct::from_values(schema.clone(), vec![1i32.into(), Value::Null]).unwrap();
        let mut t = create("b,a");
        let out = apply(
            &mut t,
            Record::new("t").with_value(Some(schema.clone()), Value::Struct(st.clone())),
        )
        .unwrap();
        let ks = out.key_schema.unwrap();
        let names: Vec<&str> = ks.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        let key = out.key.as_struct().unwrap();
        assert_eq!(key.get("b"), Some(&Value::from("dflt")));
        assert_eq!(key.get("a"), Some(&Value::Int32(1)));
        let mut missing = create("zz");
        assert_eq!(
            apply(
                &mut missing,
                Record::new("t").with_value(Some(schema), Value::Struct(st))
            )
            .unwrap_err(),
            "Field does not exist: zz"
        );
    }
}
