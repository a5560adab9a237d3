//! Confluent's partitioners (kafka-connect-storage-common): which directory under
//! `<topics.dir>/<topic>/` a record's object goes to.
//!
//! | `partitioner.class` | encoded partition |
//! |---|---|
//! | `…partitioner.DefaultPartitioner` | `partition=<kafka partition>` |
//! | `…partitioner.FieldPartitioner` | `<field>=<value>/…` for `partition.field.name` (struct or map values; integers, strings, booleans) |
//! | `…partitioner.TimeBasedPartitioner` | `path.format` applied to the start of the record's `partition.duration.ms` bucket in `timezone` |
//! | `…partitioner.HourlyPartitioner`, `…DailyPartitioner` | TimeBased with Confluent's fixed format and duration |
//!
//! The time of a record comes from `timestamp.extractor`: `Record` (the Kafka timestamp),
//! `RecordField` (`timestamp.field` of the value: epoch milliseconds, a Timestamp, or an ISO
//! 8601 string) or `Wallclock` (the time the record is written; not deterministic, so a
//! replay may place records differently, as with Confluent's).

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use sluice_plugin_sdk::{logical, Record, Schema, SchemaType, Value};

use crate::path_format::{bucket_start, PathFormat};

/// Where a TimeBased partitioner takes a record's time from.
#[derive(Debug, Clone, PartialEq)]
pub enum Extractor {
    Wallclock,
    Record,
    RecordField(String),
}

/// A configured partitioner.
#[derive(Debug, Clone)]
pub enum Partitioner {
    Default,
    Field(Vec<String>),
    Time(TimeBased),
}

#[derive(Debug, Clone)]
pub struct TimeBased {
    pub format: PathFormat,
    pub duration_ms: i64,
    pub tz: Tz,
    pub extractor: Extractor,
}

impl Partitioner {
    /// The encoded partition of `record` (`now_ms`: wall-clock time, for `Wallclock`).
    pub fn encode(&self, record: &Record, now_ms: i64) -> Result<String, String> {
        match self {
            Partitioner::Default => Ok(format!("partition={}", record.partition.unwrap_or(0))),
            Partitioner::Field(fields) => encode_fields(record, fields),
            Partitioner::Time(t) => {
                let ts = t.timestamp(record, now_ms)?;
                Ok(t.format.format(bucket_start(t.duration_ms, ts, &t.tz)))
            }
        }
    }

    /// The record's time for `rotate.interval.ms`; `None` unless time-based (Confluent
    /// ignores `rotate.interval.ms` for other partitioners).
    pub fn record_time(&self, record: &Record, now_ms: i64) -> Option<Result<i64, String>> {
        match self {
            Partitioner::Time(t) => Some(t.timestamp(record, now_ms)),
            _ => None,
        }
    }
}

impl TimeBased {
    fn timestamp(&self, record: &Record, now_ms: i64) -> Result<i64, String> {
        match &self.extractor {
            Extractor::Wallclock => Ok(now_ms),
            Extractor::Record => record.timestamp.ok_or_else(|| {
                format!(
                    "Unable to determine timestamp using timestamp.extractor Record for record \
                     {}-{}@{}: it has no timestamp",
                    record.topic,
                    record.partition.unwrap_or(-1),
                    record.offset.unwrap_or(-1)
                )
            }),
            Extractor::RecordField(field) => {
                let (schema, value) = lookup(record, field)?;
                self.field_time(schema.as_ref(), value).ok_or_else(|| {
                    format!(
                        "Unable to determine timestamp using timestamp.extractor RecordField for \
                         field '{field}' of record {}-{}@{}: {} is neither epoch milliseconds, a \
                         Timestamp nor an ISO 8601 string",
                        record.topic,
                        record.partition.unwrap_or(-1),
                        record.offset.unwrap_or(-1),
                        value.java_class_name(schema.as_ref())
                    )
                })
            }
        }
    }

    fn field_time(&self, schema: Option<&Schema>, value: &Value) -> Option<i64> {
        let name = schema.and_then(|s| s.name.as_deref());
        match (name, value) {
            (Some(logical::DATE), Value::Int32(days)) => Some(i64::from(*days) * 86_400_000),
            (_, Value::String(s)) => parse_iso(s, &self.tz),
            (_, v) => v.as_i64(),
        }
    }
}

/// ISO 8601 date-times as Joda's `ISODateTimeFormat.dateTimeParser()` reads the common forms:
/// with an offset or `Z`, or local (then in `tz`), or a date alone.
fn parse_iso(s: &str, tz: &Tz) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return tz
                .from_local_datetime(&t)
                .earliest()
                .map(|t| t.timestamp_millis());
        }
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// A (possibly dotted) field of the record value: struct fields or map entries.
fn lookup<'r>(record: &'r Record, path: &str) -> Result<(Option<Schema>, &'r Value), String> {
    let mut schema = record.value_schema.as_deref().cloned();
    let mut value = &record.value;
    for name in path.split('.') {
        match value {
            Value::Struct(s) => {
                let field_schema = s.schema().field(name).map(|(_, f)| (*f.schema).clone());
                value = s.get(name).ok_or_else(|| {
                    format!("the record value has no field '{name}' (partition field '{path}')")
                })?;
                schema = field_schema;
            }
            Value::Map(entries) => {
                value = entries
                    .iter()
                    .find(|(k, _)| k.as_str() == Some(name))
                    .map(|(_, v)| v)
                    .ok_or_else(|| {
                        format!("the record value has no key '{name}' (partition field '{path}')")
                    })?;
                schema = schema.and_then(|s| s.values.as_deref().cloned());
            }
            other => {
                return Err(format!(
                    "Error encoding partition: field '{path}' needs a struct or map value, the \
                     record has {}",
                    other.java_class_name(schema.as_ref())
                ))
            }
        }
    }
    Ok((schema, value))
}

fn encode_fields(record: &Record, fields: &[String]) -> Result<String, String> {
    let mut parts = Vec::with_capacity(fields.len());
    for field in fields {
        let (schema, value) = lookup(record, field)?;
        let text = match (schema.as_ref().map(|s| s.ty), value) {
            (_, Value::String(s)) => s.clone(),
            (_, Value::Boolean(b)) => b.to_string(),
            (
                None
                | Some(SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64),
                v,
            ) if v.as_i64().is_some() => v.as_i64().unwrap_or_default().to_string(),
            (_, other) => {
                return Err(format!(
                    "Error encoding partition: field '{field}' is {}; FieldPartitioner takes \
                     integer, string and boolean fields",
                    other.java_class_name(schema.as_ref())
                ))
            }
        };
        parts.push(format!("{field}={text}"));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Struct;

    fn time(extractor: Extractor) -> Partitioner {
        let tz: Tz = "UTC".parse().unwrap();
        Partitioner::Time(TimeBased {
            format: PathFormat::new("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", tz, "en").unwrap(),
            duration_ms: 3_600_000,
            tz,
            extractor,
        })
    }

    fn order() -> Record {
        let schema = Schema::struct_builder()
            .field("region", Schema::string())
            .field("shard", Schema::int32())
            .field("vip", Schema::boolean())
            .field("at", Schema::timestamp())
            .field("price", Schema::float64())
            .build()
            .into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("region", "eu").unwrap();
        s.put("shard", 7i32).unwrap();
        s.put("vip", true).unwrap();
        s.put("at", Value::Int64(1_700_000_000_000)).unwrap();
        s.put("price", 1.5f64).unwrap();
        Record::new("orders")
            .with_partition(3)
            .with_value(Some(schema), Value::Struct(s))
            .with_timestamp(1_600_000_000_000)
    }

    #[test]
    fn default_is_the_kafka_partition() {
        assert_eq!(
            Partitioner::Default.encode(&order(), 0).unwrap(),
            "partition=3"
        );
    }

    #[test]
    fn field_partitioner_encodes_struct_and_map_fields() {
        let p = Partitioner::Field(vec!["region".into(), "shard".into(), "vip".into()]);
        assert_eq!(p.encode(&order(), 0).unwrap(), "region=eu/shard=7/vip=true");
        let map = Record::new("t").with_value(
            None,
            Value::Map(vec![(Value::from("region"), Value::from("us"))]),
        );
        assert_eq!(
            Partitioner::Field(vec!["region".into()])
                .encode(&map, 0)
                .unwrap(),
            "region=us"
        );
        let e = Partitioner::Field(vec!["price".into()])
            .encode(&order(), 0)
            .unwrap_err();
        assert!(e.contains("price") && e.contains("java.lang.Double"), "{e}");
        let e = Partitioner::Field(vec!["nope".into()])
            .encode(&order(), 0)
            .unwrap_err();
        assert!(e.contains("no field 'nope'"), "{e}");
        let e = Partitioner::Field(vec!["x".into()])
            .encode(&Record::new("t").with_value(None, "s"), 0)
            .unwrap_err();
        assert!(e.contains("struct or map"), "{e}");
    }

    #[test]
    fn time_based_extractors() {
        // Record: 2020-09-13T12:26:40Z
        assert_eq!(
            time(Extractor::Record).encode(&order(), 0).unwrap(),
            "year=2020/month=09/day=13/hour=12"
        );
        // RecordField: 2023-11-14T22:13:20Z
        assert_eq!(
            time(Extractor::RecordField("at".into()))
                .encode(&order(), 0)
                .unwrap(),
            "year=2023/month=11/day=14/hour=22"
        );
        assert_eq!(
            time(Extractor::Wallclock).encode(&order(), 0).unwrap(),
            "year=1970/month=01/day=01/hour=00"
        );
        let iso = Record::new("t").with_value(
            None,
            Value::Map(vec![(
                Value::from("at"),
                Value::from("2021-03-04T05:06:07+01:00"),
            )]),
        );
        assert_eq!(
            time(Extractor::RecordField("at".into()))
                .encode(&iso, 0)
                .unwrap(),
            "year=2021/month=03/day=04/hour=04"
        );
        let e = time(Extractor::Record)
            .encode(&Record::new("t"), 0)
            .unwrap_err();
        assert!(e.contains("no timestamp"), "{e}");
        let e = time(Extractor::RecordField("region".into()))
            .encode(&order(), 0)
            .unwrap_err();
        assert!(e.contains("'region'"), "{e}");
    }
}
