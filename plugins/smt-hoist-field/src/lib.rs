//! Kafka's `HoistField$Key` / `HoistField$Value`: wraps the whole key/value in a one-field
//! struct (with a schema) or a one-entry map (schemaless). One plugin serves both classes;
//! `$Key` selects the record key.
//!
//! With a schema the wrapper is a fresh, required, unnamed struct whose only field has the
//! original schema — so a null value only fits when that schema is optional, and otherwise
//! fails as Kafka's `Struct.put` validation does. Schemaless, a null becomes `{field: null}`.

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.HoistField");
/// Kafka keeps the last 16 wrapper schemas per instance; so do we.
pub struct HoistField {
    side: Side,
    field: String,
    /// The wrapper schema per original schema.
    cache: SchemaCache,
}

impl HoistField {
    fn wrapper(&mut self, schema: &SchemaRef) -> SchemaRef {
        if let Some(hit) = self.cache.get(schema) {
            return hit;
        }
        let wrapper = Schema::struct_builder()
            .field(self.field.clone(), schema.clone())
            .build_ref();
        self.cache.insert(schema.clone(), wrapper.clone());
        wrapper
    }

    fn hoist(
        &mut self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        match schema {
            None => Ok((
                None,
                Value::Map(vec![(Value::String(self.field.clone()), value)]),
            )),
            Some(schema) => {
                if value.is_null() && !schema.optional {
                    return Err(format!(
                        "Invalid value: null used for required field: \"{}\", schema type: {}",
                        self.field,
                        java::type_name(schema.ty)
                    ));
                }
                let wrapper = self.wrapper(&schema);
                let st =
                    Struct::from_values(wrapper.clone(), vec![value]).map_err(|e| e.to_string())?;
                Ok((Some(wrapper), Value::Struct(st)))
            }
        }
    }
}

impl Transform for HoistField {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Wrap data using the specified field name in a Struct when schema present, or a Map in the case of schemaless data.")
            .config(
                ConfigDef::string("field")
                    .required()
                    .doc("Field name for the single field that will be created in the resulting Struct or Map."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: "field".into(),
                message,
            }],
        }
    }

    fn create(class: &str, config: Config) -> Result<Self, String> {
        let Some(field) = config.get("field") else {
            return Err(
                "Missing required configuration \"field\" which has no default value.".into(),
            );
        };
        Ok(HoistField {
            side: Side::of_class(class),
            field: field.to_string(),
            cache: SchemaCache::new(),
        })
    }

    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.hoist(s, v))
    }
}

sluice_plugin_sdk::export_transform!(HoistField);

#[cfg(test)]
mod tests {
    use super::*;

    fn create(class: &str, field: &str) -> HoistField {
        HoistField::create(class, Config::new(vec![("field".into(), field.into())])).unwrap()
    }

    fn apply(t: &mut HoistField, r: Record) -> Result<Record, String> {
        match t.apply(r) {
            Outcome::Keep(r) => Ok(r),
            Outcome::Fail(m) => Err(m),
            Outcome::Drop => panic!("HoistField never drops"),
        }
    }

    #[test]
    fn schemaless_wraps_anything_including_null() {
        let mut t = create(CLASS.value, "line");
        let out = apply(&mut t, Record::new("t").with_value(None, "hello")).unwrap();
        assert_eq!(
            out.value,
            Value::Map(vec![(Value::from("line"), Value::from("hello"))])
        );
        let out = apply(&mut t, Record::new("t")).unwrap();
        assert_eq!(
            out.value,
            Value::Map(vec![(Value::from("line"), Value::Null)])
        );
    }

    #[test]
    fn with_schema_wraps_in_a_required_struct() {
        let mut t = create(CLASS.key, "id");
        let s = Schema::int64().optional().into_ref();
        let out = apply(&mut t, Record::new("t").with_key(Some(s.clone()), 5i64)).unwrap();
        let ks = out.key_schema.clone().unwrap();
        assert!(!ks.optional);
        assert_eq!(ks.fields[0].name, "id");
        assert_eq!(ks.fields[0].schema, s);
        assert_eq!(
            out.key.as_struct().unwrap().get("id"),
            Some(&Value::Int64(5))
        );
        // Optional schema: a null key hoists to {id: null}.
        let out = apply(&mut t, Record::new("t").with_key(Some(s), Value::Null)).unwrap();
        assert_eq!(out.key.as_struct().unwrap().get("id"), Some(&Value::Null));
        // Required schema: Struct.put's validation error.
        let err = apply(
            &mut t,
            Record::new("t").with_key(Some(Schema::string().into_ref()), Value::Null),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "Invalid value: null used for required field: \"id\", schema type: STRING"
        );
    }
}
