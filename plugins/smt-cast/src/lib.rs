//! Kafka's `Cast$Key` / `Cast$Value`: casts top-level fields (`spec=a:int32,b:string`) or the
//! whole key/value (`spec=int64`) to a primitive type. One plugin serves both classes; `$Key`
//! selects the record key.
//!
//! Conversions follow Kafka's Java exactly, because users see the results: numbers narrow
//! with Java's wrapping casts (300 as int8 is 44), floats truncate and saturate, strings are
//! parsed with `Integer.parseInt` & co., floats print like `Double.toString` (`1.0E10`),
//! bytes become base64, Decimal goes through `BigDecimal`, and Date/Time/Timestamp cast to
//! numbers via their encodings or to strings in the ISO format Connect's `Values` picks by
//! value (formatted in UTC). A whole-value cast keeps the schema's name/version/doc like
//! Kafka's `SchemaUtil.copySchemaBasics`. A null key/value passes through untouched.

mod value_cast;

use std::collections::HashMap;
use std::sync::Arc;

use sluice_plugin_sdk::*;

use sluice_plugin_sdk::java::type_name;
use value_cast::{cast_value, OUTPUT_TYPES};

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.Cast");
const PURPOSE: &str = "cast types";
/// Kafka keeps the last 16 updated schemas per instance; so do we.
fn parse_type(name: &str) -> Option<SchemaType> {
    Some(match name.trim().to_uppercase().as_str() {
        "INT8" => SchemaType::Int8,
        "INT16" => SchemaType::Int16,
        "INT32" => SchemaType::Int32,
        "INT64" => SchemaType::Int64,
        "FLOAT32" => SchemaType::Float32,
        "FLOAT64" => SchemaType::Float64,
        "BOOLEAN" => SchemaType::Boolean,
        "STRING" => SchemaType::String,
        "BYTES" => SchemaType::Bytes,
        "ARRAY" => SchemaType::Array,
        "MAP" => SchemaType::Map,
        "STRUCT" => SchemaType::Struct,
        _ => return None,
    })
}

fn valid_output(ty: SchemaType) -> Result<SchemaType, String> {
    match ty {
        SchemaType::Bytes | SchemaType::Array | SchemaType::Map | SchemaType::Struct => Err(
            format!(
                "Cast transformation does not support casting to {}; supported types are {OUTPUT_TYPES}",
                type_name(ty)
            ),
        ),
        _ => Ok(ty),
    }
}

/// What the spec asks for.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Whole(SchemaType),
    Fields(HashMap<String, SchemaType>),
}

/// Java's `String.split(":")` (trailing empty strings dropped).
fn java_split(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(':').collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

fn parse_spec(items: &[String]) -> Result<Spec, String> {
    if items.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    let invalid_type = |t: &str| {
        format!(
            "Invalid value java.lang.IllegalArgumentException: No enum constant org.apache.kafka.connect.data.Schema.Type.{} for configuration Invalid type found in casting spec: {}",
            t.trim().to_uppercase(),
            t.trim()
        )
    };
    let mut whole = None;
    let mut fields = HashMap::new();
    for item in items {
        let parts = java_split(item);
        match parts.as_slice() {
            [ty] => {
                let t = parse_type(ty).ok_or_else(|| invalid_type(ty))?;
                whole = Some(valid_output(t)?);
            }
            [field, ty] => {
                let t = parse_type(ty).ok_or_else(|| invalid_type(ty))?;
                fields.insert(field.trim().to_string(), valid_output(t)?);
            }
            _ => {
                return Err(format!(
                    "Invalid value [{}] for configuration renames: Invalid rename mapping: {item}",
                    items.join(", ")
                ))
            }
        }
    }
    match whole {
        Some(_) if items.len() > 1 => Err("Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec".into()),
        Some(t) => Ok(Spec::Whole(t)),
        None => Ok(Spec::Fields(fields)),
    }
}

pub struct Cast {
    side: Side,
    spec: Spec,
    replace_null_with_default: bool,
    /// The updated schema per input schema.
    cache: SchemaCache,
}

/// A fresh schema of a cast target type (`SchemaBuilder.int8()` ...).
fn target_schema(ty: SchemaType) -> Schema {
    Schema::new(ty)
}

/// Kafka's `SchemaUtil.copySchemaBasics`: name, version, doc, parameters.
fn with_basics(mut target: Schema, source: &Schema) -> Schema {
    target.name = source.name.clone();
    target.version = source.version;
    target.doc = source.doc.clone();
    target.parameters = source.parameters.clone();
    target
}

/// A whole-value cast keeps the schema's name (`copySchemaBasics`), so casting a Date, Time,
/// Timestamp or Decimal yields a schema that still claims the logical type while the value no
/// longer is one (a `Long` under a `Timestamp` schema). Kafka's converters reject such a record
/// ("Invalid type for Timestamp, expected Date but was class java.lang.Long"); in Sluice the
/// same bits would silently read as a valid logical value, so we fail the record with Kafka's
/// message instead.
fn logical_name_survives(schema: &Schema, value: &Value) -> Result<(), String> {
    let (short, expected) = match schema.name.as_deref() {
        Some(logical::DATE) => ("Date", "Date"),
        Some(logical::TIME) => ("Time", "Date"),
        Some(logical::TIMESTAMP) => ("Timestamp", "Date"),
        Some(logical::DECIMAL) => ("Decimal", "BigDecimal"),
        _ => return Ok(()),
    };
    if value.is_null() {
        return Ok(());
    }
    Err(format!(
        "Invalid type for {short}, expected {expected} but was class {}",
        value.java_class_name(None)
    ))
}

impl Cast {
    fn updated_schema(&mut self, schema: &SchemaRef) -> Result<SchemaRef, String> {
        if let Some(hit) = self.cache.get(schema) {
            return Ok(hit);
        }
        let mut updated = match &self.spec {
            Spec::Whole(t) => with_basics(target_schema(*t), schema),
            Spec::Fields(casts) => {
                if schema.ty != SchemaType::Struct {
                    return Err("Cannot list fields on non-struct type".into());
                }
                let mut out = with_basics(Schema::new(SchemaType::Struct), schema);
                for f in &schema.fields {
                    let field_schema = match casts.get(&f.name) {
                        Some(t) => {
                            let mut s = target_schema(*t);
                            s.optional = f.schema.optional;
                            if let Some(d) = &f.schema.default {
                                s.default = Some(cast_value(Some(&f.schema), d, *t)?);
                            }
                            Arc::new(s)
                        }
                        None => f.schema.clone(),
                    };
                    out.fields.push(Field {
                        name: f.name.clone(),
                        schema: field_schema,
                    });
                }
                out
            }
        };
        updated.optional = schema.optional;
        if let Some(d) = &schema.default {
            updated.default = Some(cast_value(Some(schema), d, updated.ty)?);
        }
        let updated = Arc::new(updated);
        self.cache.insert(schema.clone(), updated.clone());
        Ok(updated)
    }

    fn cast(
        &mut self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        if value.is_null() {
            return Ok((schema, value));
        }
        match (schema, &self.spec) {
            (None, Spec::Whole(t)) => Ok((None, cast_value(None, &value, *t)?)),
            (None, Spec::Fields(casts)) => {
                let Value::Map(mut entries) = value else {
                    return Err(format!(
                        "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                        value.java_class_name(None)
                    ));
                };
                for (name, t) in casts {
                    let key = Value::String(name.clone());
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = cast_value(None, &slot.1, *t)?,
                        None => entries.push((key, Value::Null)),
                    }
                }
                Ok((None, Value::Map(entries)))
            }
            (Some(schema), _) => {
                let updated = self.updated_schema(&schema)?;
                let casts = match &self.spec {
                    Spec::Whole(t) => {
                        let v = cast_value(Some(&schema), &value, *t)?;
                        logical_name_survives(&updated, &v)?;
                        return Ok((Some(updated), v));
                    }
                    Spec::Fields(casts) => casts,
                };
                let Value::Struct(s) = &value else {
                    return Err(format!(
                        "Only Struct objects supported for [{PURPOSE}], found: {}",
                        value.java_class_name(Some(&schema))
                    ));
                };
                let mut values = Vec::with_capacity(s.schema().fields.len());
                for f in &s.schema().fields {
                    let v = if self.replace_null_with_default {
                        s.get_or_default(&f.name)
                    } else {
                        s.get(&f.name)
                    }
                    .cloned()
                    .unwrap_or(Value::Null);
                    values.push(match casts.get(&f.name) {
                        Some(t) => cast_value(Some(&f.schema), &v, *t)?,
                        None => v,
                    });
                }
                let st = Struct::from_values(updated.clone(), values).map_err(|e| e.to_string())?;
                Ok((Some(updated), Value::Struct(st)))
            }
        }
    }
}

impl Transform for Cast {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Cast fields or the entire key or value to a specific type, e.g. to force an integer field to a smaller width. Cast from integers, floats, boolean and string to any other type, and cast binary to string (base64 encoded).")
            .config(
                ConfigDef::list("spec")
                    .required()
                    .importance(Importance::High)
                    .doc("List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string."),
            )
            .config(
                ConfigDef::boolean("replace.null.with.default")
                    .default(true)
                    .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: if message.contains("replace.null.with.default") {
                    "replace.null.with.default".into()
                } else {
                    "spec".into()
                },
                message,
            }],
        }
    }

    fn create(class: &str, config: Config) -> Result<Self, String> {
        if config.get("spec").is_none() {
            return Err(
                "Missing required configuration \"spec\" which has no default value.".into(),
            );
        }
        Ok(Cast {
            side: Side::of_class(class),
            spec: parse_spec(&config.list("spec")?)?,
            replace_null_with_default: config.bool("replace.null.with.default")?,
            cache: SchemaCache::new(),
        })
    }

    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.cast(s, v))
    }
}

sluice_plugin_sdk::export_transform!(Cast);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value_cast::INPUT_TYPES;

    fn create(class: &str, spec: &str) -> Result<Cast, String> {
        Cast::create(
            class,
            Config::with_defs(vec![("spec".into(), spec.into())], &Cast::spec().config),
        )
    }

    fn apply(t: &mut Cast, r: Record) -> Result<Record, String> {
        match t.apply(r) {
            Outcome::Keep(r) => Ok(r),
            Outcome::Fail(m) => Err(m),
            Outcome::Drop => panic!("Cast never drops"),
        }
    }

    fn whole(spec: &str, schema: Option<Schema>, v: Value) -> Result<Value, String> {
        let mut t = create(CLASS.value, spec)?;
        apply(&mut t, Record::new("t").with_value(schema.map(Arc::new), v)).map(|r| r.value)
    }

    #[test]
    fn numbers_narrow_like_java() {
        assert_eq!(whole("int8", None, Value::Int64(300)), Ok(Value::Int8(44)));
        assert_eq!(
            whole("int32", None, Value::Float64(1e20)),
            Ok(Value::Int32(i32::MAX))
        );
        assert_eq!(
            whole("int8", None, Value::Float64(1e20)),
            Ok(Value::Int8(-1))
        );
        assert_eq!(
            whole("boolean", None, Value::Float64(0.5)),
            Ok(Value::Boolean(false))
        );
        assert_eq!(
            whole("boolean", None, Value::Int64(-2)),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            whole("float32", None, Value::Boolean(true)),
            Ok(Value::Float32(1.0))
        );
        assert_eq!(
            whole("string", None, Value::Float64(1e10)),
            Ok(Value::from("1.0E10"))
        );
        assert_eq!(
            whole("string", None, Value::Float64(0.5)),
            Ok(Value::from("0.5"))
        );
    }

    #[test]
    fn strings_parse_like_java_and_fail_like_kafka() {
        assert_eq!(
            whole("int16", None, Value::from("-12")),
            Ok(Value::Int16(-12))
        );
        assert_eq!(
            whole("boolean", None, Value::from("TRUE")),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            whole("boolean", None, Value::from("yes")),
            Ok(Value::Boolean(false))
        );
        assert_eq!(
            whole("float64", None, Value::from(" 1.5 ")),
            Ok(Value::Float64(1.5))
        );
        assert_eq!(
            whole("int8", None, Value::from("300")),
            Err("Value (300) was out of range for requested data type".into())
        );
        assert_eq!(
            whole("int32", None, Value::from("1.5")),
            Err("Value (1.5) was out of range for requested data type".into())
        );
    }

    #[test]
    fn logical_types_and_bytes() {
        assert_eq!(
            whole(
                "string",
                Some(Schema::bytes()),
                Value::Bytes(b"hi!".to_vec())
            ),
            Ok(Value::from("aGkh"))
        );
        assert_eq!(
            whole("int32", Some(Schema::bytes()), Value::Bytes(vec![1])),
            Err("Unexpected type in Cast transformation: class [B".into())
        );
        let schema = Schema::struct_builder()
            .field("d", Schema::date())
            .field("t", Schema::time().optional())
            .field("ts", Schema::timestamp())
            .field("dec", Schema::decimal(2))
            .field("keep", Schema::string())
            .build_ref();
        let st = Struct::from_values(
            schema.clone(),
            vec![
                Value::Int32(19_675),
                Value::Int32(3_723_004),
                Value::Int64(1_700_000_000_123),
                Value::decimal(-12_345),
                Value::from("x"),
            ],
        )
        .unwrap();
        let mut t = create(CLASS.value, "d:string,t:string,ts:int64,dec:string").unwrap();
        let out = apply(
            &mut t,
            Record::new("t").with_value(Some(schema.clone()), Value::Struct(st.clone())),
        )
        .unwrap();
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.get("d"), Some(&Value::from("2023-11-14")));
        assert_eq!(s.get("t"), Some(&Value::from("01:02:03.004Z")));
        assert_eq!(s.get("ts"), Some(&Value::Int64(1_700_000_000_123)));
        assert_eq!(s.get("dec"), Some(&Value::from("-123.45")));
        let vs = out.value_schema.unwrap();
        assert!(vs.fields[1].schema.optional);
        assert_eq!(vs.fields[1].schema.name, None);
        assert_eq!(vs.fields[4].schema, schema.fields[4].schema);

        let mut t = create(CLASS.value, "dec:float64,ts:string").unwrap();
        let out = apply(
            &mut t,
            Record::new("t").with_value(Some(schema), Value::Struct(st)),
        )
        .unwrap();
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.get("dec"), Some(&Value::Float64(-123.45)));
        assert_eq!(s.get("ts"), Some(&Value::from("2023-11-14T22:13:20.123Z")));
    }

    #[test]
    fn schemaless_fields_and_config_errors() {
        let mut t = create(CLASS.key, "a:int32,missing:string").unwrap();
        let k = Value::Map(vec![(Value::from("a"), Value::from("7"))]);
        let out = apply(&mut t, Record::new("t").with_key(None, k)).unwrap();
        assert_eq!(
            out.key,
            Value::Map(vec![
                (Value::from("a"), Value::Int32(7)),
                (Value::from("missing"), Value::Null),
            ])
        );
        assert_eq!(
            create(CLASS.value, "a:bytes").err().unwrap(),
            format!("Cast transformation does not support casting to BYTES; supported types are {OUTPUT_TYPES}")
        );
        assert_eq!(
            create(CLASS.value, "int8,a:int16").err().unwrap(),
            "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec"
        );
        assert!(create(CLASS.value, "a:float").is_err());
        assert_eq!(
            whole("string", None, Value::Map(vec![])),
            Err(format!("Cast transformation does not support casting from MAP; supported types are {INPUT_TYPES}"))
        );
        // Whole-value casts of logical types keep the logical name, which Kafka cannot encode.
        assert_eq!(
            whole("int64", Some(Schema::timestamp()), Value::Int64(5)),
            Err("Invalid type for Timestamp, expected Date but was class java.lang.Long".into())
        );
        // Tombstones pass through.
        assert_eq!(
            whole("int8", Some(Schema::string().optional()), Value::Null),
            Ok(Value::Null)
        );
    }
}
