//! Kafka's `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp (the
//! whole key/value, or one top-level `field`) between `string` (a SimpleDateFormat pattern,
//! UTC), `unix` (epoch seconds/ms/µs/ns per `unix.precision`), and Connect's `Date`, `Time`
//! and `Timestamp` logical types.
//!
//! The input kind comes from the schema (logical name, else STRING → string, INT64 → unix) or,
//! schemaless, from the value (Int64 → unix, String → string). Everything goes through epoch
//! milliseconds, as Kafka goes through `java.util.Date`, so sub-millisecond precision is lost.

use sluice_plugin_sdk::java::DateFormat;
use sluice_plugin_sdk::*;

const CLASS: KeyValueClass =
    key_value_class!("org.apache.kafka.connect.transforms.TimestampConverter");
const PURPOSE: &str = "converting timestamp formats";
const MS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }
    /// Kafka's `TimestampTranslator.typeSchema`.
    fn schema(self, optional: bool) -> Schema {
        let s = match self {
            Kind::String => Schema::string(),
            Kind::Unix => Schema::int64(),
            Kind::Date => Schema::date(),
            Kind::Time => Schema::time(),
            Kind::Timestamp => Schema::timestamp(),
        };
        if optional {
            s.optional()
        } else {
            s
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
}

/// Connect's `ConnectSchema.toString()`.
fn schema_string(s: &Schema) -> String {
    let ty = format!("{:?}", s.ty).to_ascii_uppercase();
    match &s.name {
        Some(n) => format!("Schema{{{n}:{ty}}}"),
        None => format!("Schema{{{ty}}}"),
    }
}

/// The input kind a schema declares (Kafka's `timestampTypeFromSchema`).
fn kind_from_schema(s: &Schema) -> Result<Kind, String> {
    if s.is_logical(logical::TIMESTAMP) {
        Ok(Kind::Timestamp)
    } else if s.is_logical(logical::DATE) {
        Ok(Kind::Date)
    } else if s.is_logical(logical::TIME) {
        Ok(Kind::Time)
    } else if s.ty == SchemaType::String {
        Ok(Kind::String)
    } else if s.ty == SchemaType::Int64 {
        Ok(Kind::Unix)
    } else {
        Err(format!(
            "Schema {} does not correspond to a known timestamp type format",
            schema_string(s)
        ))
    }
}

/// Kafka's `SchemaUtil.copySchemaBasics(schema, SchemaBuilder.struct())`: name, version, doc
/// and parameters — not optionality or the default.
fn struct_basics(s: &Schema) -> Schema {
    Schema {
        name: s.name.clone(),
        version: s.version,
        doc: s.doc.clone(),
        parameters: s.parameters.clone(),
        ..Schema::new(SchemaType::Struct)
    }
}

impl TimestampConverter {
    /// Converts one timestamp; `from` is `None` when the kind is inferred from the value.
    fn convert(&self, v: Value, from: Option<Kind>) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let from = match from {
            Some(k) => k,
            None => match &v {
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                other => {
                    return Err(format!(
                        "TimestampConverter does not support class {} objects as timestamps",
                        other.java_class_name(None)
                    ))
                }
            },
        };
        let millis = self.to_millis(v, from)?;
        self.millis_to_target(millis)
    }

    fn to_millis(&self, v: Value, from: Kind) -> Result<i64, String> {
        match (from, v) {
            (Kind::String, Value::String(s)) => {
                // Kafka only builds a format when one is configured; parsing without one is a
                // NullPointerException there, a precise error here.
                let Some(f) = &self.format else {
                    return Err(format!(
                        "Could not parse timestamp: value ({s}) is a string but no `format` is configured"
                    ));
                };
                f.parse(&s).ok_or_else(|| {
                    format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        f.pattern()
                    )
                })
            }
            (Kind::String, other) => Err(format!(
                "Expected string timestamp to be a String, but found class {}",
                other.java_class_name(None)
            )),
            (Kind::Unix, Value::Int64(t)) => Ok(match self.precision {
                Precision::Seconds => t.saturating_mul(1000),
                Precision::Millis => t,
                Precision::Micros => t / 1000,
                Precision::Nanos => t / 1_000_000,
            }),
            (Kind::Unix, other) => Err(format!(
                "Expected Unix timestamp to be a Long, but found class {}",
                other.java_class_name(None)
            )),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(days) * MS_PER_DAY),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(ms)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(ms),
            (k, other) => Err(format!(
                "Expected {k:?} to be a java.util.Date, but found class {}",
                other.java_class_name(None)
            )),
        }
    }

    fn millis_to_target(&self, ms: i64) -> Result<Value, String> {
        Ok(match self.target {
            Kind::String => match &self.format {
                Some(f) => Value::String(f.format(ms)),
                None => return Err("TimestampConverter requires format option to be specified when using string timestamps".into()),
            },
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms / 1000,
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            // Connect's Date is whole days; Java truncates the division result to int.
            Kind::Date => Value::Int32(ms.div_euclid(MS_PER_DAY) as i32),
            Kind::Time => Value::Int32(ms.rem_euclid(MS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(ms),
        })
    }

    fn field_value(&self, s: &Struct, index: usize) -> Value {
        let v = &s.values()[index];
        match (&s.schema().fields[index].schema.default, v) {
            (Some(d), Value::Null) if self.replace_null_with_default => d.clone(),
            _ => v.clone(),
        }
    }

    /// Rebuilds a struct under `schema`, converting the configured field.
    fn convert_struct(&self, s: &Struct, schema: &SchemaRef) -> Result<Struct, String> {
        let mut values = Vec::with_capacity(s.values().len());
        for (i, f) in s.schema().fields.iter().enumerate() {
            let v = self.field_value(s, i);
            values.push(if f.name == self.field {
                self.convert(v, Some(kind_from_schema(&f.schema)?))?
            } else {
                v
            });
        }
        Struct::from_values(schema.clone(), values).map_err(|e| e.to_string())
    }

    fn apply_side(
        &self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        let Some(schema) = schema else {
            if value.is_null() || self.field.is_empty() {
                return Ok((None, self.convert(value, None)?));
            }
            let Value::Map(mut entries) = value else {
                return Err(format!(
                    "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                    value.java_class_name(None)
                ));
            };
            let key = Value::String(self.field.clone());
            match entries.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    let v = std::mem::replace(&mut entries[i].1, Value::Null);
                    entries[i].1 = self.convert(v, None)?;
                }
                // Kafka's `HashMap.put` adds the (null) field when it was absent.
                None => entries.push((key, Value::Null)),
            }
            return Ok((None, Value::Map(entries)));
        };
        if self.field.is_empty() {
            let updated = self.target.schema(schema.optional).into_ref();
            let from = kind_from_schema(&schema)?;
            return Ok((Some(updated), self.convert(value, Some(from))?));
        }
        let value = match value {
            Value::Null => None,
            Value::Struct(s) => Some(s),
            other => {
                return Err(format!(
                    "Only Struct objects supported for [{PURPOSE}], found: {}",
                    other.java_class_name(None)
                ))
            }
        };
        let mut updated = struct_basics(&schema);
        for f in &schema.fields {
            let fs = if f.name == self.field {
                self.target.schema(f.schema.optional).into_ref()
            } else {
                f.schema.clone()
            };
            updated.fields.push(Field {
                name: f.name.clone(),
                schema: fs,
            });
        }
        updated.optional = schema.optional;
        if let Some(Value::Struct(d)) = &schema.default {
            let shell = updated.clone().into_ref();
            updated.default = Some(Value::Struct(self.convert_struct(d, &shell)?));
        }
        let updated = updated.into_ref();
        let out = match value {
            None => Value::Null,
            Some(s) => Value::Struct(self.convert_struct(&s, &updated)?),
        };
        Ok((Some(updated), out))
    }
}

fn config_error(key: &str, value: &str, allowed: &str) -> String {
    format!("Invalid value {value} for configuration {key}: String must be one of: {allowed}")
}

impl Transform for TimestampConverter {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Convert timestamps between different formats such as Unix epoch, strings, and Connect Date/Timestamp types. Applies to individual fields or to the entire value.")
            .config(ConfigDef::string("field").default("").importance(Importance::High)
                .doc("The field containing the timestamp, or empty if the entire value is a timestamp"))
            .config(ConfigDef::string("target.type").required().importance(Importance::High)
                .recommended(["string", "unix", "Date", "Time", "Timestamp"])
                .doc("The desired timestamp representation: string, unix, Date, Time, or Timestamp"))
            .config(ConfigDef::string("format").default("")
                .doc("A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string."))
            .config(ConfigDef::string("unix.precision").default("milliseconds").importance(Importance::Low)
                .recommended(["nanoseconds", "microseconds", "milliseconds", "seconds"])
                .doc("The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long. Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components."))
            .config(ConfigDef::boolean("replace.null.with.default").default(true)
                .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => {
                let key = ["unix.precision", "target.type", "replace.null.with.default"]
                    .into_iter()
                    .find(|k| message.contains(k))
                    .unwrap_or("format");
                vec![ConfigProblem {
                    key: key.into(),
                    message,
                }]
            }
        }
    }
    fn create(class: &str, config: Config) -> Result<Self, String> {
        let target =
            match config.get("target.type") {
                None => return Err(
                    "Missing required configuration \"target.type\" which has no default value."
                        .into(),
                ),
                Some(t) => Kind::parse(t).ok_or_else(|| {
                    config_error("target.type", t, "string, unix, Date, Time, Timestamp")
                })?,
            };
        let p = config.get("unix.precision").unwrap_or("milliseconds");
        let precision = match p {
            "seconds" => Precision::Seconds,
            "milliseconds" => Precision::Millis,
            "microseconds" => Precision::Micros,
            "nanoseconds" => Precision::Nanos,
            other => {
                return Err(config_error(
                    "unix.precision",
                    other,
                    "nanoseconds, microseconds, milliseconds, seconds",
                ))
            }
        };
        let pattern = config.get("format").unwrap_or("");
        let format = if pattern.trim().is_empty() {
            if target == Kind::String {
                return Err("TimestampConverter requires format option to be specified when using string timestamps".into());
            }
            None
        } else {
            Some(DateFormat::new(pattern).map_err(|e| {
                format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}: {e}")
            })?)
        };
        Ok(TimestampConverter {
            side: Side::of_class(class),
            field: config.get("field").unwrap_or("").to_string(),
            target,
            format,
            precision,
            replace_null_with_default: config
                .optional_bool("replace.null.with.default")?
                .unwrap_or(true),
        })
    }
    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.apply_side(s, v))
    }
}

sluice_plugin_sdk::export_transform!(TimestampConverter);

#[cfg(test)]
mod tests {
    use super::*;

    fn make(class: &str, pairs: &[(&str, &str)]) -> TimestampConverter {
        TimestampConverter::create(
            class,
            Config::from_pairs(pairs, &TimestampConverter::spec().config),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn keep(o: Outcome) -> Record {
        match o {
            Outcome::Keep(r) => r,
            other => panic!("expected Keep, got {other:?}"),
        }
    }

    const TS: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z

    #[test]
    fn schemaless_whole_value_to_string_and_back() {
        let mut t = make(
            CLASS.value,
            &[
                ("target.type", "string"),
                ("format", "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
            ],
        );
        let r = keep(t.apply(Record::new("t").with_value(None, TS)));
        assert_eq!(r.value, Value::from("2023-11-14T22:13:20.123Z"));
        assert!(r.value_schema.is_none());
        let mut back = make(
            CLASS.value,
            &[
                ("target.type", "unix"),
                ("format", "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
                ("unix.precision", "seconds"),
            ],
        );
        let r = keep(back.apply(r));
        assert_eq!(r.value, Value::Int64(1_700_000_000));
        // Tombstones pass through.
        assert_eq!(keep(t.apply(Record::new("t"))).value, Value::Null);
        // Unparseable text names the value and the pattern.
        let Outcome::Fail(m) = back.apply(Record::new("t").with_value(None, "nope")) else {
            panic!()
        };
        assert_eq!(m, "Could not parse timestamp: value (nope) does not match pattern (yyyy-MM-dd'T'HH:mm:ss.SSSX)");
        let Outcome::Fail(m) = back.apply(Record::new("t").with_value(None, 1.5f64)) else {
            panic!()
        };
        assert_eq!(
            m,
            "TimestampConverter does not support class java.lang.Double objects as timestamps"
        );
    }

    #[test]
    fn schema_field_conversion_keeps_other_fields_and_optionality() {
        let schema = Schema::struct_builder()
            .name("ev")
            .field("id", Schema::int32())
            .field("ts", Schema::int64().optional())
            .field("n", Schema::string().optional().with_default("dflt"))
            .build_ref();
        let s = Struct::from_values(
            schema.clone(),
            vec![Value::Int32(1), Value::Int64(TS), Value::Null],
        )
        .unwrap();
        let mut t = make(CLASS.key, &[("target.type", "Date"), ("field", "ts")]);
        let r = keep(
            t.apply(Record::new("t").with_key(Some(schema.clone()), Value::Struct(s.clone()))),
        );
        let ks = r.key_schema.unwrap();
        assert_eq!(ks.name.as_deref(), Some("ev"));
        assert!(ks.fields[1].schema.is_logical(logical::DATE) && ks.fields[1].schema.optional);
        let k = r.key.as_struct().unwrap();
        assert_eq!(k.get("ts"), Some(&Value::Int32(19675)));
        assert_eq!(k.get("n"), Some(&Value::from("dflt")));
        let mut t = make(
            CLASS.key,
            &[
                ("target.type", "Time"),
                ("field", "ts"),
                ("replace.null.with.default", "false"),
            ],
        );
        let r = keep(t.apply(Record::new("t").with_key(Some(schema), Value::Struct(s))));
        let k = r.key.as_struct().unwrap();
        assert_eq!(k.get("ts"), Some(&Value::Int32(80_000_123)));
        assert_eq!(k.get("n"), Some(&Value::Null));
    }

    #[test]
    fn schema_whole_value_and_errors() {
        let mut t = make(
            CLASS.value,
            &[("target.type", "unix"), ("unix.precision", "microseconds")],
        );
        let r = keep(
            t.apply(
                Record::new("t")
                    .with_value(Some(Schema::date().optional().into_ref()), Value::Int32(1)),
            ),
        );
        assert_eq!(r.value, Value::Int64(86_400_000_000));
        assert!(r.value_schema.unwrap().optional);
        let Outcome::Fail(m) =
            t.apply(Record::new("t").with_value(Some(Schema::int32().into_ref()), Value::Int32(1)))
        else {
            panic!()
        };
        assert_eq!(
            m,
            "Schema Schema{INT32} does not correspond to a known timestamp type format"
        );
        let err = TimestampConverter::create(
            CLASS.value,
            Config::new(vec![("target.type".into(), "date".into())]),
        )
        .err()
        .unwrap();
        assert_eq!(err, "Invalid value date for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp");
        let err = TimestampConverter::create(
            CLASS.value,
            Config::new(vec![("target.type".into(), "string".into())]),
        )
        .err()
        .unwrap();
        assert!(err.contains("requires format option"), "{err}");
        let err = TimestampConverter::create(
            CLASS.value,
            Config::new(vec![
                ("target.type".into(), "string".into()),
                ("format".into(), "yyyy-ww".into()),
            ]),
        )
        .err()
        .unwrap();
        assert!(err.contains("'w' (week in year)"), "{err}");
    }
}
