//! Kafka's `InsertField$Key` / `InsertField$Value`: inserts topic, partition, offset,
//! timestamp and static fields. One plugin serves both classes: the host passes the class the
//! user configured, and `$Key` selects the record key.
//!
//! Schemaless data must be a map; schema'd data a struct (whose schema gains the fields).
//! A null operating value passes through (tombstone-safe), as in Kafka.

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.InsertField");

/// A configured field name; `!` suffix = required schema field, `?` or none = optional.
#[derive(Debug, Clone)]
struct FieldSpec {
    name: String,
    optional: bool,
}

fn field(config: &Config, key: &str) -> Option<FieldSpec> {
    let raw = config.get(key).map(str::trim).filter(|s| !s.is_empty())?;
    Some(match raw.strip_suffix('!') {
        Some(n) => FieldSpec {
            name: n.into(),
            optional: false,
        },
        None => FieldSpec {
            name: raw.strip_suffix('?').unwrap_or(raw).into(),
            optional: true,
        },
    })
}

pub struct InsertField {
    side: Side,
    topic: Option<FieldSpec>,
    partition: Option<FieldSpec>,
    offset: Option<FieldSpec>,
    timestamp: Option<FieldSpec>,
    static_field: Option<(FieldSpec, String)>,
    /// `replace.null.with.default` (Kafka 3.9, KIP-1040), default true.
    replace_null_with_default: bool,
    /// The output schema per input struct schema.
    schema_cache: SchemaCache,
}

impl InsertField {
    /// The fields to add, with their schema and value, for one record.
    fn additions(&self, r: &Record) -> Result<Vec<(String, Schema, Value)>, String> {
        let mut out = Vec::new();
        let opt = |s: Schema, f: &FieldSpec| if f.optional { s.optional() } else { s };
        if let Some(f) = &self.topic {
            out.push((
                f.name.clone(),
                opt(Schema::string(), f),
                Value::String(r.topic.clone()),
            ));
        }
        if let Some(f) = &self.partition {
            let v = r.partition.map_or(Value::Null, Value::Int32);
            out.push((f.name.clone(), opt(Schema::int32(), f), v));
        }
        if let Some(f) = &self.offset {
            let Some(o) = r.offset else {
                return Err(
                    "Only SinkRecord supported for [field insertion], found: SourceRecord".into(),
                );
            };
            out.push((f.name.clone(), opt(Schema::int64(), f), Value::Int64(o)));
        }
        if let Some(f) = &self.timestamp {
            let v = r.timestamp.map_or(Value::Null, Value::Int64);
            out.push((f.name.clone(), opt(Schema::timestamp(), f), v));
        }
        if let Some((f, v)) = &self.static_field {
            out.push((
                f.name.clone(),
                opt(Schema::string(), f),
                Value::String(v.clone()),
            ));
        }
        Ok(out)
    }

    /// The input struct schema plus the inserted fields, cached per input schema (as Kafka's
    /// LRU of 16): every record of a batch then shares one output `Arc`, which the SDK sends
    /// across the WASM boundary once per batch instead of once per record.
    fn updated_schema(
        &mut self,
        schema: &SchemaRef,
        adds: &[(String, Schema, Value)],
    ) -> Result<SchemaRef, String> {
        if let Some(hit) = self.schema_cache.get(schema) {
            return Ok(hit);
        }
        // Kafka's SchemaUtil.copySchemaBasics: name, version, doc and parameters are kept;
        // optionality and the default are not (the new struct is required).
        let mut b = Schema::struct_builder();
        if let Some(n) = &schema.name {
            b = b.name(n.clone());
        }
        if let Some(v) = schema.version {
            b = b.version(v);
        }
        if let Some(d) = &schema.doc {
            b = b.doc(d.clone());
        }
        for (k, v) in &schema.parameters {
            b = b.parameter(k.clone(), v.clone());
        }
        for f in &schema.fields {
            b = b.field(f.name.clone(), f.schema.clone());
        }
        for (name, fs, _) in adds {
            if schema.field(name).is_some() {
                return Err(format!(
                    "Cannot create field because of field name duplication {name}"
                ));
            }
            b = b.field(name.clone(), fs.clone());
        }
        let out = b.build_ref();
        self.schema_cache.insert(schema.clone(), out.clone());
        Ok(out)
    }

    fn insert(
        &mut self,
        schema: Option<SchemaRef>,
        value: Value,
        adds: Vec<(String, Schema, Value)>,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        match (schema, value) {
            (s, Value::Null) => Ok((s, Value::Null)),
            (None, Value::Map(mut entries)) => {
                for (name, _, v) in adds {
                    // Schemaless: a null partition/timestamp is skipped, as in Kafka.
                    if v.is_null() {
                        continue;
                    }
                    // Kafka puts into a HashMap copy: an existing key is overwritten.
                    let key = Value::String(name);
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = v,
                        None => entries.push((key, v)),
                    }
                }
                Ok((None, Value::Map(entries)))
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [field insertion], found: {}",
                kind(&other)
            )),
            (Some(schema), Value::Struct(s)) => {
                let new_schema = self.updated_schema(&schema, &adds)?;
                // `Struct.get` reads a null field with a default as the default;
                // replace.null.with.default=false keeps the null (`getWithoutDefault`).
                let (input, mut values) = s.into_parts();
                if self.replace_null_with_default {
                    // `Struct.get` per field: a null with a field default reads as the default.
                    // Values are moved, not cloned; only a substituted default is copied.
                    for (v, f) in values.iter_mut().zip(&input.fields) {
                        if let (Value::Null, Some(d)) = (&*v, &f.schema.default) {
                            *v = d.clone();
                        }
                    }
                }
                values.extend(adds.into_iter().map(|(_, _, v)| v));
                let st =
                    Struct::from_values(new_schema.clone(), values).map_err(|e| e.to_string())?;
                Ok((Some(new_schema), Value::Struct(st)))
            }
            (Some(_), other) => Err(format!(
                "Only Struct objects supported for [field insertion], found: {}",
                kind(&other)
            )),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        Value::Bytes(_) => "[B",
        Value::Boolean(_) => "java.lang.Boolean",
        _ => "java.lang.Number",
    }
}

impl Transform for InsertField {
    fn spec() -> PluginSpec {
        let f = |n: &str, doc: &str| ConfigDef::string(n).doc(doc);
        CLASS
            .spec("0.1.0")
            .description("Insert field(s) using attributes from the record metadata or a configured static value.")
            .config(f("topic.field", "Field name for Kafka topic. Suffix with ! to make this a required field, or ? to keep it optional (the default)."))
            .config(f("partition.field", "Field name for Kafka partition."))
            .config(f("offset.field", "Field name for Kafka offset - only applicable to sink connectors."))
            .config(f("timestamp.field", "Field name for record timestamp."))
            .config(f("static.field", "Field name for static data field."))
            .config(f("static.value", "Static field value, if field name configured."))
            .config(
                ConfigDef::boolean("replace.null.with.default")
                    .default("true")
                    .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."),
            )
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        if config.optional_bool("replace.null.with.default").is_err() {
            return vec![ConfigProblem {
                key: "replace.null.with.default".into(),
                message: format!(
                    "Invalid value {} for configuration replace.null.with.default: Expected value to be either true or false",
                    config.get("replace.null.with.default").unwrap_or_default()
                ),
            }];
        }
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: "static.field".into(),
                message,
            }],
        }
    }
    fn create(class: &str, config: Config) -> Result<Self, String> {
        let static_field = match field(&config, "static.field") {
            None => None,
            Some(f) => match config.get("static.value") {
                Some(v) => Some((f, v.to_string())),
                None => return Err("No value specified for static field: static.value".into()),
            },
        };
        let t = InsertField {
            side: Side::of_class(class),
            topic: field(&config, "topic.field"),
            partition: field(&config, "partition.field"),
            offset: field(&config, "offset.field"),
            timestamp: field(&config, "timestamp.field"),
            static_field,
            replace_null_with_default: config
                .optional_bool("replace.null.with.default")
                .map_err(|e| e.to_string())?
                .unwrap_or(true),
            schema_cache: SchemaCache::new(),
        };
        if t.topic.is_none()
            && t.partition.is_none()
            && t.offset.is_none()
            && t.timestamp.is_none()
            && t.static_field.is_none()
        {
            return Err("No field insertion configured".into());
        }
        Ok(t)
    }

    fn apply(&mut self, record: Record) -> Outcome {
        let adds = match self.additions(&record) {
            Ok(a) => a,
            Err(m) => return Outcome::Fail(m),
        };
        self.side.apply(record, |s, v| self.insert(s, v, adds))
    }
}

impl StructPlans for InsertField {
    fn plan_side(&self) -> Side {
        self.side
    }

    /// The input fields, then the inserted ones taken from the record's metadata. A record
    /// without the partition, offset or timestamp a field needs goes through `apply`.
    fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan> {
        let opt = |s: Schema, f: &FieldSpec| if f.optional { s.optional() } else { s };
        let mut added: Vec<(String, Schema, FieldSource)> = Vec::new();
        let mut add = |f: &Option<FieldSpec>, schema: Schema, source: FieldSource| {
            if let Some(f) = f {
                added.push((f.name.clone(), opt(schema, f), source));
            }
        };
        add(&self.topic, Schema::string(), FieldSource::Topic);
        add(&self.partition, Schema::int32(), FieldSource::Partition);
        add(&self.offset, Schema::int64(), FieldSource::Offset);
        add(&self.timestamp, Schema::timestamp(), FieldSource::Timestamp);
        if let Some((f, v)) = &self.static_field {
            let source = FieldSource::Constant(Value::String(v.clone()));
            added.push((f.name.clone(), opt(Schema::string(), f), source));
        }
        // `updated_schema` reads only the names and schemas of the additions.
        let shapes: Vec<(String, Schema, Value)> = added
            .iter()
            .map(|(n, s, _)| (n.clone(), s.clone(), Value::Null))
            .collect();
        let output = self.updated_schema(input, &shapes).ok()?;
        let null_as_default = self.replace_null_with_default;
        let fields = (0..input.fields.len())
            .map(|index| FieldSource::Input {
                index,
                null_as_default,
            })
            .chain(added.into_iter().map(|(_, _, source)| source))
            .collect();
        Some(StructPlan::new(output, fields))
    }
}

sluice_plugin_sdk::export_transform!(InsertField: StructPlans);

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &[])
    }

    #[test]
    fn schemaless_value_and_struct_key() {
        let mut t = InsertField::create(
            CLASS.value,
            cfg(&[
                ("static.field", "src"),
                ("static.value", "sluice"),
                ("topic.field", "t!"),
            ]),
        )
        .unwrap();
        let r = Record::new("orders")
            .with_value(None, Value::Map(vec![(Value::from("a"), Value::Int32(1))]));
        let Outcome::Keep(out) = t.apply(r) else {
            panic!()
        };
        assert_eq!(
            out.value,
            Value::Map(vec![
                (Value::from("a"), Value::Int32(1)),
                (Value::from("t"), Value::from("orders")),
                (Value::from("src"), Value::from("sluice")),
            ])
        );
        let mut k = InsertField::create(CLASS.key, cfg(&[("topic.field", "t!")])).unwrap();
        let schema = Schema::struct_builder()
            .field("id", Schema::int32())
            .build_ref();
        let st = Struct::from_values(schema.clone(), vec![Value::Int32(7)]).unwrap();
        let r = Record::new("orders").with_key(Some(schema), Value::Struct(st));
        let Outcome::Keep(out) = k.apply(r) else {
            panic!()
        };
        let s = out.key.as_struct().unwrap();
        assert_eq!(s.get("t"), Some(&Value::from("orders")));
        let ks = out.key_schema.unwrap();
        assert!(!ks.fields[1].schema.optional);
        assert!(matches!(t.apply(Record::new("x")), Outcome::Keep(r) if r.value.is_null()));
        assert!(matches!(
            t.apply(Record::new("x").with_value(None, "s")),
            Outcome::Fail(_)
        ));
        assert_eq!(
            InsertField::create(CLASS.value, cfg(&[])).err().unwrap(),
            "No field insertion configured"
        );
    }

    /// Matches Kafka 3.9 (captured in tests/fixtures/smt): an existing schemaless key is
    /// overwritten, an existing struct field is an error, the new struct schema keeps name,
    /// version, doc and parameters but not optionality, and null fields read as their default
    /// unless replace.null.with.default=false.
    #[test]
    fn kafka_schema_rules() {
        let mut t = InsertField::create(
            CLASS.value,
            cfg(&[("static.field", "a"), ("static.value", "new")]),
        )
        .unwrap();
        let r = Record::new("t")
            .with_value(None, Value::Map(vec![(Value::from("a"), Value::Int32(1))]));
        let Outcome::Keep(out) = t.apply(r) else {
            panic!()
        };
        assert_eq!(
            out.value,
            Value::Map(vec![(Value::from("a"), Value::from("new"))])
        );

        let schema = Schema::struct_builder()
            .name("S")
            .version(3)
            .doc("d")
            .parameter("p", "v")
            .optional()
            .field(
                "a",
                Schema::int32().optional().with_default(Value::Int32(7)),
            )
            .build_ref();
        let st = Struct::from_values(schema.clone(), vec![Value::Null]).unwrap();
        let dup =
            t.apply(Record::new("t").with_value(Some(schema.clone()), Value::Struct(st.clone())));
        assert_eq!(
            dup,
            Outcome::Fail("Cannot create field because of field name duplication a".into())
        );

        for (replace, want) in [("true", Value::Int32(7)), ("false", Value::Null)] {
            let mut t = InsertField::create(
                CLASS.value,
                cfg(&[("topic.field", "t"), ("replace.null.with.default", replace)]),
            )
            .unwrap();
            let r = Record::new("x").with_value(Some(schema.clone()), Value::Struct(st.clone()));
            let Outcome::Keep(out) = t.apply(r) else {
                panic!()
            };
            let s = out.value_schema.unwrap();
            assert!(!s.optional);
            assert_eq!(
                (s.name.as_deref(), s.version, s.doc.as_deref()),
                (Some("S"), Some(3), Some("d"))
            );
            assert_eq!(s.parameters, vec![("p".to_string(), "v".to_string())]);
            assert_eq!(
                out.value.as_struct().unwrap().get("a"),
                Some(&want),
                "{replace}"
            );
        }
        assert_eq!(
            InsertField::validate(&cfg(&[
                ("topic.field", "t"),
                ("replace.null.with.default", "yes")
            ]))[0]
                .key,
            "replace.null.with.default"
        );
    }
    /// A class, its config, and how many of the payment records its plans rewrite.
    type PlanCase = (&'static str, &'static [(&'static str, &'static str)], usize);

    #[test]
    fn struct_plans_give_what_apply_gives() {
        let records = testing::payment_records();
        let configs: [PlanCase; 4] = [
            (CLASS.value, &[("timestamp.field", "ingested_at")], 3),
            (
                CLASS.value,
                &[
                    ("topic.field", "t!"),
                    ("partition.field", "p"),
                    ("offset.field", "o"),
                    ("static.field", "s"),
                    ("static.value", "v"),
                    ("replace.null.with.default", "false"),
                ],
                3,
            ),
            (
                CLASS.key,
                &[
                    ("topic.field", "t"),
                    ("static.field", "s"),
                    ("static.value", "v"),
                ],
                2,
            ),
            // A field name the input already has: no plan, every record fails in `apply`.
            (CLASS.value, &[("topic.field", "name")], 0),
        ];
        for (class, pairs, want) in configs {
            let (_, planned) =
                testing::check_struct_plans::<InsertField>(class, &cfg(pairs), &records);
            assert_eq!(planned, want, "{class} {pairs:?}");
        }
    }
}
