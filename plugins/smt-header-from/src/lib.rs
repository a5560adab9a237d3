//! Kafka's `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves top-level fields of the
//! key/value into headers; `fields[i]` goes to header `headers[i]`. Headers are appended, so
//! existing headers with the same name stay.
//!
//! With a schema the header carries the field's schema; `move` also drops the fields from the
//! struct schema (which, as in Kafka, keeps name/version/doc/parameters but not optionality).
//! Schemaless, the header has no schema and a missing field gives a null header. A null
//! key/value is an error, as in Kafka (guard with a `RecordIsTombstone` predicate).

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.HeaderFrom");

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operation {
    Copy,
    Move,
}

pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    operation: Operation,
    replace_null_with_default: bool,
    /// The `move` form per input schema.
    cache: SchemaCache,
}

impl HeaderFrom {
    fn purpose(&self) -> &'static str {
        match self.operation {
            Operation::Copy => "header copy",
            Operation::Move => "header move",
        }
    }

    fn field_value(&self, s: &Struct, index: usize) -> Value {
        let v = &s.values()[index];
        match (&s.schema().fields[index].schema.default, v) {
            (Some(d), Value::Null) if self.replace_null_with_default => d.clone(),
            _ => v.clone(),
        }
    }

    fn move_schema(&mut self, schema: &SchemaRef) -> SchemaRef {
        if let Some(hit) = self.cache.get(schema) {
            return hit;
        }
        let moved = Schema {
            name: schema.name.clone(),
            version: schema.version,
            doc: schema.doc.clone(),
            parameters: schema.parameters.clone(),
            fields: schema
                .fields
                .iter()
                .filter(|f| !self.fields.contains(&f.name))
                .cloned()
                .collect(),
            ..Schema::new(SchemaType::Struct)
        }
        .into_ref();
        self.cache.insert(schema.clone(), moved.clone());
        moved
    }

    fn apply_side(
        &mut self,
        schema: Option<SchemaRef>,
        value: Value,
        headers: &mut Vec<Header>,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        let Some(_) = schema else {
            let Value::Map(mut entries) = value else {
                return Err(format!(
                    "Only Map objects supported in absence of schema for [{}], found: {}",
                    self.purpose(),
                    value.java_class_name(None)
                ));
            };
            for (field, header) in self.fields.iter().zip(&self.headers) {
                let key = Value::String(field.clone());
                let found = entries.iter().position(|(k, _)| *k == key);
                let v = match (found, self.operation) {
                    (None, _) => Value::Null,
                    (Some(i), Operation::Copy) => entries[i].1.clone(),
                    (Some(i), Operation::Move) => entries.remove(i).1,
                };
                headers.push(Header {
                    key: header.clone(),
                    schema: None,
                    value: v,
                });
            }
            return Ok((None, Value::Map(entries)));
        };
        let Value::Struct(s) = value else {
            return Err(format!(
                "Only Struct objects supported for [{}], found: {}",
                self.purpose(),
                value.java_class_name(None)
            ));
        };
        let struct_schema = s.schema().clone();
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let Some((i, f)) = struct_schema.field(field) else {
                // Kafka dereferences the missing field (a NullPointerException); name it instead.
                let known: Vec<&str> = struct_schema
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect();
                return Err(format!(
                    "HeaderFrom cannot {} field `{field}` to header `{header}`: the struct has no such field; its fields are: {}",
                    if self.operation == Operation::Copy { "copy" } else { "move" },
                    known.join(", ")
                ));
            };
            headers.push(Header {
                key: header.clone(),
                schema: Some(f.schema.clone()),
                value: self.field_value(&s, i),
            });
        }
        if self.operation == Operation::Copy {
            return Ok((schema, Value::Struct(s)));
        }
        let moved = self.move_schema(&struct_schema);
        let values = moved
            .fields
            .iter()
            .map(|f| {
                let (i, _) = struct_schema
                    .field(&f.name)
                    .expect("moved fields come from the input schema");
                self.field_value(&s, i)
            })
            .collect();
        let out = Struct::from_values(moved.clone(), values).map_err(|e| e.to_string())?;
        Ok((Some(moved), Value::Struct(out)))
    }
}

impl Transform for HeaderFrom {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Moves or copies fields in the key/value of a record into that record's headers. Corresponding elements of fields and headers together identify a field and the header it should be moved or copied to.")
            .config(ConfigDef::list("fields").required().importance(Importance::High)
                .doc("Field names in the record whose values are to be copied or moved to headers."))
            .config(ConfigDef::list("headers").required().importance(Importance::High)
                .doc("Header names, in the same order as the field names listed in the fields configuration property."))
            .config(ConfigDef::string("operation").required().importance(Importance::High)
                .recommended(["move", "copy"])
                .doc("Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value)."))
            .config(ConfigDef::boolean("replace.null.with.default").default(true)
                .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => {
                let key = ["operation", "replace.null.with.default", "headers"]
                    .into_iter()
                    .find(|k| {
                        message.contains(&format!("\"{k}\""))
                            || message.contains(&format!("configuration {k}"))
                    })
                    .unwrap_or("fields");
                vec![ConfigProblem {
                    key: key.into(),
                    message,
                }]
            }
        }
    }
    fn create(class: &str, config: Config) -> Result<Self, String> {
        let list = |k: &str| -> Result<Vec<String>, String> {
            match config.get(k) {
                None => Err(format!(
                    "Missing required configuration \"{k}\" which has no default value."
                )),
                Some(raw) => {
                    let items = config.list(k)?;
                    if items.is_empty() {
                        Err(format!(
                            "Invalid value {raw} for configuration {k}: Empty list"
                        ))
                    } else {
                        Ok(items)
                    }
                }
            }
        };
        let fields = list("fields")?;
        let headers = list("headers")?;
        if fields.len() != headers.len() {
            return Err(
                "'fields' config must have the same number of elements as 'headers' config.".into(),
            );
        }
        let operation = match config.get("operation") {
            Some("copy") => Operation::Copy,
            Some("move") => Operation::Move,
            Some(other) => {
                return Err(format!(
                    "Invalid value {other} for configuration operation: String must be one of: move, copy"
                ))
            }
            None => return Err("Missing required configuration \"operation\" which has no default value.".into()),
        };
        Ok(HeaderFrom {
            side: Side::of_class(class),
            fields,
            headers,
            operation,
            replace_null_with_default: config
                .optional_bool("replace.null.with.default")?
                .unwrap_or(true),
            cache: SchemaCache::new(),
        })
    }
    fn apply(&mut self, mut record: Record) -> Outcome {
        let mut headers = std::mem::take(&mut record.headers);
        let result = record.update_side(self.side, |s, v| self.apply_side(s, v, &mut headers));
        record.headers = headers;
        match result {
            Ok(()) => Outcome::Keep(record),
            Err(m) => Outcome::Fail(m),
        }
    }
}

sluice_plugin_sdk::export_transform!(HeaderFrom);

#[cfg(test)]
mod tests {
    use super::*;

    fn make(class: &str, pairs: &[(&str, &str)]) -> Result<HeaderFrom, String> {
        HeaderFrom::create(class, Config::from_pairs(pairs, &HeaderFrom::spec().config))
    }

    #[test]
    fn schemaless_copy_and_move() {
        let v = Value::Map(vec![
            (Value::from("a"), Value::Int64(1)),
            (Value::from("b"), Value::from("x")),
        ]);
        let mut copy = make(
            CLASS.value,
            &[
                ("fields", "a,zz"),
                ("headers", "ha,hz"),
                ("operation", "copy"),
            ],
        )
        .unwrap();
        let Outcome::Keep(r) = copy.apply(
            Record::new("t")
                .with_value(None, v.clone())
                .with_header("ha", None, "old"),
        ) else {
            panic!()
        };
        assert_eq!(r.value, v);
        let hs: Vec<_> = r
            .headers
            .iter()
            .map(|h| (h.key.as_str(), h.value.clone()))
            .collect();
        assert_eq!(
            hs,
            vec![
                ("ha", Value::from("old")),
                ("ha", Value::Int64(1)),
                ("hz", Value::Null)
            ]
        );
        let mut mv = make(
            CLASS.key,
            &[("fields", "a"), ("headers", "ha"), ("operation", "move")],
        )
        .unwrap();
        let Outcome::Keep(r) = mv.apply(Record::new("t").with_key(None, v)) else {
            panic!()
        };
        assert_eq!(
            r.key,
            Value::Map(vec![(Value::from("b"), Value::from("x"))])
        );
        assert_eq!(
            mv.apply(Record::new("t")),
            Outcome::Fail(
                "Only Map objects supported in absence of schema for [header move], found: null"
                    .into()
            )
        );
    }

    #[test]
    fn schema_move_rewrites_schema_and_uses_field_schema() {
        let schema = Schema::struct_builder()
            .name("s")
            .field("a", Schema::int32().optional().with_default(5i32))
            .field("b", Schema::string())
            .optional()
            .build_ref();
        let st = Struct::from_values(schema.clone(), vec![Value::Null, Value::from("x")]).unwrap();
        let mut mv = make(
            CLASS.value,
            &[("fields", "a"), ("headers", "ha"), ("operation", "move")],
        )
        .unwrap();
        let Outcome::Keep(r) =
            mv.apply(Record::new("t").with_value(Some(schema.clone()), Value::Struct(st.clone())))
        else {
            panic!()
        };
        let vs = r.value_schema.unwrap();
        assert_eq!(vs.fields.len(), 1);
        assert!(!vs.optional);
        assert_eq!(vs.name.as_deref(), Some("s"));
        assert_eq!(r.headers[0].value, Value::Int32(5));
        assert_eq!(r.headers[0].schema.as_ref().unwrap().ty, SchemaType::Int32);
        let mut cp = make(
            CLASS.value,
            &[
                ("fields", "a"),
                ("headers", "ha"),
                ("operation", "copy"),
                ("replace.null.with.default", "false"),
            ],
        )
        .unwrap();
        let Outcome::Keep(r) =
            cp.apply(Record::new("t").with_value(Some(schema.clone()), Value::Struct(st.clone())))
        else {
            panic!()
        };
        assert_eq!(r.headers[0].value, Value::Null);
        assert_eq!(r.value, Value::Struct(st));
        let Outcome::Fail(m) = cp.apply(Record::new("t").with_value(Some(schema), Value::Null))
        else {
            panic!()
        };
        assert_eq!(
            m,
            "Only Struct objects supported for [header copy], found: null"
        );
        assert_eq!(
            make(
                CLASS.value,
                &[("fields", "a,b"), ("headers", "h"), ("operation", "copy")]
            )
            .err()
            .unwrap(),
            "'fields' config must have the same number of elements as 'headers' config."
        );
        assert!(make(
            CLASS.value,
            &[("fields", "a"), ("headers", "h"), ("operation", "cut")]
        )
        .err()
        .unwrap()
        .contains("move, copy"));
    }
}
