//! Kafka's `Flatten$Key` / `Flatten$Value`: flattens nested structs (with a schema) or nested
//! maps (schemaless) into one level, naming each leaf by its path joined with `delimiter`.
//!
//! Kafka 3.9 rules kept here:
//! - arrays (and, with a schema, everything that is not a struct) are copied as they are;
//!   array contents are not flattened;
//! - with a schema, MAP fields are an error (the output schema could not name their entries);
//! - a leaf is optional when it or any ancestor struct is optional; a leaf's default is its own
//!   default, else the value it has inside its parent struct's default;
//! - the flattened top-level schema keeps the name, version, doc and parameters of the
//!   original but not its optionality or default (Kafka's `copySchemaBasics`);
//! - a null nested struct leaves its leaves null; a null key/value passes through.

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.Flatten");
const PURPOSE: &str = "flattening";

pub struct Flatten {
    side: Side,
    delimiter: String,
    /// The flattened form per input schema: records of one stream share a schema.
    cache: SchemaCache,
}

/// A struct's field value as Connect's `Struct.get(Field)`: a null falls back to the default.
fn get_or_default(s: &Struct, index: usize) -> &Value {
    let v = &s.values()[index];
    match (&s.schema().fields[index].schema.default, v) {
        (Some(d), Value::Null) => d,
        _ => v,
    }
}

impl Flatten {
    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        entries: Vec<(Value, Value)>,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), String> {
        for (k, v) in entries {
            let Value::String(key) = k else {
                // Kafka casts every key to String: a non-string key is a ClassCastException.
                return Err(format!(
                    "Flatten transformation requires string map keys (for record without schemas), found a key of {}",
                    k.java_class_name(None)
                ));
            };
            let name = self.name(prefix, &key);
            match v {
                Value::Map(inner) => self.flatten_map(inner, &name, out)?,
                Value::Struct(_) => {
                    return Err(format!(
                        "Flatten transformation does not support class {} for record without schemas (for field {name}).",
                        v.java_class_name(None)
                    ))
                }
                other => put(out, name, other),
            }
        }
        Ok(())
    }

    /// Kafka's `buildUpdatedSchema`.
    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        optional: bool,
        parent_default: Option<&Struct>,
        out: &mut Vec<Field>,
    ) -> Result<(), String> {
        for (i, f) in schema.fields.iter().enumerate() {
            let name = self.name(prefix, &f.name);
            let field_optional = optional || f.schema.optional;
            let default = match (&f.schema.default, parent_default) {
                (Some(d), _) => Some(d.clone()),
                (None, Some(p)) => Some(get_or_default(p, i).clone()).filter(|v| !v.is_null()),
                (None, None) => None,
            };
            match f.schema.ty {
                SchemaType::Struct => {
                    let d = match &default {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    self.flatten_schema(&f.schema, &name, field_optional, d, out)?;
                }
                SchemaType::Map => {
                    return Err(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    ))
                }
                _ => {
                    // copySchemaBasics keeps name/version/doc/parameters (and an array's item
                    // schema); optionality and the default are recomputed.
                    let mut leaf = Schema {
                        ty: f.schema.ty,
                        name: f.schema.name.clone(),
                        version: f.schema.version,
                        doc: f.schema.doc.clone(),
                        parameters: f.schema.parameters.clone(),
                        items: f.schema.items.clone(),
                        ..Schema::new(f.schema.ty)
                    };
                    leaf.optional = field_optional;
                    leaf.default = default;
                    out.push(Field {
                        name,
                        schema: leaf.into_ref(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Kafka's `buildWithSchema`: leaf values in schema order.
    fn flatten_struct(s: Option<&Struct>, schema: &Schema, out: &mut Vec<Value>) {
        for (i, f) in schema.fields.iter().enumerate() {
            match f.schema.ty {
                SchemaType::Struct => {
                    let inner = s.and_then(|s| get_or_default(s, i).as_struct());
                    Self::flatten_struct(inner, &f.schema, out);
                }
                _ => out.push(s.map_or(Value::Null, |s| get_or_default(s, i).clone())),
            }
        }
    }

    fn apply_side(
        &mut self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        if value.is_null() {
            return Ok((schema, value));
        }
        let Some(_) = schema else {
            let Value::Map(entries) = value else {
                return Err(format!(
                    "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                    value.java_class_name(None)
                ));
            };
            let mut out = Vec::with_capacity(entries.len());
            self.flatten_map(entries, "", &mut out)?;
            return Ok((None, Value::Map(out)));
        };
        let Value::Struct(s) = value else {
            return Err(format!(
                "Only Struct objects supported for [{PURPOSE}], found: {}",
                value.java_class_name(None)
            ));
        };
        // The struct's own schema drives the flattening, as in Kafka.
        let input = s.schema().clone();
        let updated = match self.cache.get(&input) {
            Some(hit) => hit,
            None => {
                let mut fields = Vec::new();
                let default = match &input.default {
                    Some(Value::Struct(d)) => Some(d),
                    _ => None,
                };
                self.flatten_schema(&input, "", input.optional, default, &mut fields)?;
                let mut flat = Schema {
                    name: input.name.clone(),
                    version: input.version,
                    doc: input.doc.clone(),
                    parameters: input.parameters.clone(),
                    ..Schema::new(SchemaType::Struct)
                };
                // Duplicate names (e.g. `a.b` next to struct `a` with field `b`) keep the
                // first position and the last schema, as Connect's SchemaBuilder would reject
                // them; Kafka fails such schemas, and so do we.
                for f in fields {
                    if flat.fields.iter().any(|e| e.name == f.name) {
                        return Err(format!(
                            "Cannot create field because of field name duplication {}",
                            f.name
                        ));
                    }
                    flat.fields.push(f);
                }
                let flat = flat.into_ref();
                self.cache.insert(input.clone(), flat.clone());
                flat
            }
        };
        let mut values = Vec::with_capacity(updated.fields.len());
        Self::flatten_struct(Some(&s), &input, &mut values);
        let out = Struct::from_values(updated.clone(), values).map_err(|e| e.to_string())?;
        Ok((Some(updated), Value::Struct(out)))
    }
}

/// Inserts like a `LinkedHashMap.put`: a repeated key keeps its first position.
fn put(out: &mut Vec<(Value, Value)>, name: String, v: Value) {
    let key = Value::String(name);
    match out.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 = v,
        None => out.push((key, v)),
    }
}

impl Transform for Flatten {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Flatten a nested data structure, generating names for each field by concatenating the field names at each level with a configurable delimiter character. Applies to Struct when schema present, or a Map in the case of schemaless data. Array fields and their contents are not modified. The default delimiter is '.'.")
            .config(ConfigDef::string("delimiter").default(".")
                .doc("Delimiter to insert between field names from the input record when generating field names for the output record"))
    }
    fn create(class: &str, config: Config) -> Result<Self, String> {
        Ok(Flatten {
            side: Side::of_class(class),
            delimiter: config.get("delimiter").unwrap_or(".").to_string(),
            cache: SchemaCache::new(),
        })
    }
    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.apply_side(s, v))
    }
}

sluice_plugin_sdk::export_transform!(Flatten);

#[cfg(test)]
mod tests {
    use super::*;

    fn make(class: &str, delimiter: Option<&str>) -> Flatten {
        let entries = delimiter
            .map(|d| vec![("delimiter".to_string(), d.to_string())])
            .unwrap_or_default();
        Flatten::create(class, Config::with_defs(entries, &Flatten::spec().config)).unwrap()
    }

    fn s(k: &str) -> Value {
        Value::from(k)
    }

    #[test]
    fn schemaless_nested_maps_arrays_and_nulls() {
        let mut t = make(CLASS.value, Some("_"));
        let v = Value::Map(vec![
            (s("a"), Value::Int64(1)),
            (
                s("b"),
                Value::Map(vec![
                    (s("c"), s("x")),
                    (s("d"), Value::Map(vec![(s("e"), Value::Null)])),
                ]),
            ),
            (
                s("arr"),
                Value::Array(vec![Value::Map(vec![(s("z"), Value::Int64(1))])]),
            ),
            (s("n"), Value::Null),
        ]);
        let Outcome::Keep(r) = t.apply(Record::new("t").with_value(None, v)) else {
            panic!()
        };
        assert_eq!(
            r.value,
            Value::Map(vec![
                (s("a"), Value::Int64(1)),
                (s("b_c"), s("x")),
                (s("b_d_e"), Value::Null),
                (
                    s("arr"),
                    Value::Array(vec![Value::Map(vec![(s("z"), Value::Int64(1))])])
                ),
                (s("n"), Value::Null),
            ])
        );
        let Outcome::Keep(r) = t.apply(Record::new("t")) else {
            panic!()
        };
        assert!(r.value.is_null());
        let Outcome::Fail(m) = t.apply(Record::new("t").with_value(None, "x")) else {
            panic!()
        };
        assert_eq!(m, "Only Map objects supported in absence of schema for [flattening], found: java.lang.String");
    }

    #[test]
    fn schema_optionality_defaults_and_names() {
        let inner = Schema::struct_builder()
            .field("x", Schema::int32())
            .field("y", Schema::string().optional())
            .optional()
            .build_ref();
        let schema = Schema::struct_builder()
            .name("com.example.Outer")
            .field("id", Schema::int64())
            .field("in", inner.clone())
            .field("tags", Schema::array(Schema::string()))
            .build_ref();
        let in_v = Struct::from_values(inner, vec![Value::Int32(5), Value::Null]).unwrap();
        let v = Struct::from_values(
            schema.clone(),
            vec![
                Value::Int64(1),
                Value::Struct(in_v),
                Value::Array(vec![s("t")]),
            ],
        )
        .unwrap();
        let mut t = make(CLASS.key, None);
        let Outcome::Keep(r) =
            t.apply(Record::new("t").with_key(Some(schema.clone()), Value::Struct(v)))
        else {
            panic!()
        };
        let ks = r.key_schema.unwrap();
        assert_eq!(ks.name.as_deref(), Some("com.example.Outer"));
        let names: Vec<_> = ks
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.schema.optional))
            .collect();
        assert_eq!(
            names,
            vec![
                ("id", false),
                ("in.x", true),
                ("in.y", true),
                ("tags", false)
            ]
        );
        assert_eq!(
            ks.fields[3].schema.items.as_ref().unwrap().ty,
            SchemaType::String
        );
        assert_eq!(
            r.key.as_struct().unwrap().values(),
            &[
                Value::Int64(1),
                Value::Int32(5),
                Value::Null,
                Value::Array(vec![s("t")])
            ]
        );
        // A null nested struct leaves its leaves null.
        let v = Struct::from_values(
            schema.clone(),
            vec![Value::Int64(2), Value::Null, Value::Array(vec![])],
        )
        .unwrap();
        let Outcome::Keep(r) = t.apply(Record::new("t").with_key(Some(schema), Value::Struct(v)))
        else {
            panic!()
        };
        assert_eq!(r.key.as_struct().unwrap().values()[1], Value::Null);
        // MAP fields are rejected with a schema.
        let with_map = Schema::struct_builder()
            .field("m", Schema::map(Schema::string(), Schema::string()))
            .build_ref();
        let v = Struct::from_values(with_map.clone(), vec![Value::Map(vec![])]).unwrap();
        let Outcome::Fail(m) = t.apply(Record::new("t").with_key(Some(with_map), Value::Struct(v)))
        else {
            panic!()
        };
        assert_eq!(
            m,
            "Flatten transformation does not support MAP for record with schemas (for field m)."
        );
    }
}
