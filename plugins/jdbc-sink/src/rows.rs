//! Sink records → rows: which table, which primary-key columns and values (by `pk.mode`),
//! which other columns, or a delete; each value as an SQL literal of the target dialect, or,
//! for rows the sink sends to PostgreSQL with `COPY`, as a field of COPY's text format.

use jdbc_common::{decimal, push_copy_text, time, Db, Dialect, Zone};
use sluice_plugin_sdk::{logical, Record, Schema, SchemaRef, SchemaType, Value};

use crate::settings::{PkMode, Settings};

/// A column of a row: name, the Connect schema it came with (for CREATE/ALTER) and its
/// literal (SQL, or COPY text when the row's `copy` is set).
#[derive(Debug, Clone)]
pub struct Col {
    pub name: String,
    pub schema: SchemaRef,
    pub literal: String,
}

/// What one record does.
#[derive(Debug, Clone)]
pub struct Row {
    pub table: String,
    pub key: Vec<Col>,
    pub cols: Vec<Col>,
    pub delete: bool,
    /// The literals are COPY text fields (PostgreSQL inserts and upserts), not SQL.
    pub copy: bool,
}

const KAFKA_PK: [&str; 3] = ["__connect_topic", "__connect_partition", "__connect_offset"];

/// The row for `r`, or why it cannot be written (a per-record failure). With `copy_ok` a row
/// that is not a delete gets COPY text literals (see [`copy_field`]).
pub fn row(db: &Db, s: &Settings, r: &Record, copy_ok: bool) -> Result<Row, String> {
    let table = s.table_name_format.replace("${topic}", &r.topic);
    let coords = || {
        format!(
            "record at (topic={}, partition={}, offset={})",
            r.topic,
            r.partition.unwrap_or(-1),
            r.offset.unwrap_or(-1)
        )
    };
    let value_struct = match &r.value {
        Value::Struct(st) => Some(st),
        Value::Null => None,
        other => {
            return Err(format!(
                "{}: the JDBC sink needs Struct values with a schema (JsonConverter with schemas.enable=true, or Avro), got a {} value",
                coords(),
                other.java_class_name(r.value_schema.as_deref())
            ))
        }
    };
    let tombstone = value_struct.is_none();
    if tombstone && !s.delete_enabled {
        return Err(format!(
            "{}: a null value (tombstone), but delete.enabled=false; set delete.enabled=true (with pk.mode=record_key) to delete rows",
            coords()
        ));
    }
    let copy = copy_ok && !tombstone;
    let lit = |schema: &Schema, v: &Value, name: &str| -> Result<String, String> {
        if copy {
            copy_field(db.tz, schema, v)
        } else {
            literal(db, db.tz, schema, v)
        }
        .map_err(|e| format!("{}: field `{name}`: {e}", coords()))
    };
    let mut key = Vec::new();
    match s.pk_mode {
        PkMode::None => {}
        PkMode::Kafka => {
            let names: Vec<&str> = if s.pk_fields.len() == 3 {
                s.pk_fields.iter().map(String::as_str).collect()
            } else {
                KAFKA_PK.to_vec()
            };
            let string = Schema::string().into_ref();
            key.push(Col {
                name: names[0].into(),
                schema: string,
                literal: if copy {
                    let mut t = String::with_capacity(r.topic.len());
                    push_copy_text(&mut t, &r.topic);
                    t
                } else {
                    db.quote_string(&r.topic)
                },
            });
            key.push(Col {
                name: names[1].into(),
                schema: Schema::int32().into_ref(),
                literal: r.partition.unwrap_or(-1).to_string(),
            });
            key.push(Col {
                name: names[2].into(),
                schema: Schema::int64().into_ref(),
                literal: r.offset.unwrap_or(-1).to_string(),
            });
        }
        PkMode::RecordKey => match (&r.key, &r.key_schema) {
            (Value::Null, _) => {
                return Err(format!(
                    "{}: pk.mode=record_key but the key is null",
                    coords()
                ))
            }
            (Value::Struct(k), _) => {
                for (i, f) in k.schema().fields.iter().enumerate() {
                    if s.pk_fields.is_empty() || s.pk_fields.contains(&f.name) {
                        key.push(Col {
                            name: f.name.clone(),
                            schema: f.schema.clone(),
                            literal: lit(&f.schema, &k.values()[i], &f.name)?,
                        });
                    }
                }
                if let Some(missing) = s
                    .pk_fields
                    .iter()
                    .find(|p| !key.iter().any(|c| &&c.name == p))
                {
                    return Err(format!(
                        "{}: pk.fields names `{missing}`, which the key struct does not have",
                        coords()
                    ));
                }
            }
            (v, schema) => {
                let name = s
                    .pk_fields
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "__connect_key".into());
                let schema = schema.clone().ok_or_else(|| {
                    format!("{}: pk.mode=record_key needs a key schema", coords())
                })?;
                key.push(Col {
                    literal: lit(&schema, v, &name)?,
                    name,
                    schema,
                });
            }
        },
        PkMode::RecordValue => {
            let Some(v) = value_struct else {
                unreachable!("tombstones need record_key")
            };
            for (i, f) in v.schema().fields.iter().enumerate() {
                if s.pk_fields.is_empty() || s.pk_fields.contains(&f.name) {
                    key.push(Col {
                        name: f.name.clone(),
                        schema: f.schema.clone(),
                        literal: lit(&f.schema, &v.values()[i], &f.name)?,
                    });
                }
            }
            if let Some(missing) = s
                .pk_fields
                .iter()
                .find(|p| !key.iter().any(|c| &&c.name == p))
            {
                return Err(format!(
                    "{}: pk.fields names `{missing}`, which the value struct does not have",
                    coords()
                ));
            }
        }
    }
    let mut cols = Vec::new();
    if let Some(v) = value_struct {
        for (i, f) in v.schema().fields.iter().enumerate() {
            if key.iter().any(|k| k.name == f.name) {
                continue;
            }
            if !s.fields_whitelist.is_empty() && !s.fields_whitelist.contains(&f.name) {
                continue;
            }
            cols.push(Col {
                name: f.name.clone(),
                schema: f.schema.clone(),
                literal: lit(&f.schema, &v.values()[i], &f.name)?,
            });
        }
    }
    Ok(Row {
        table,
        key,
        cols,
        delete: tombstone,
        copy,
    })
}

/// The text of a Decimal, Date, Time or Timestamp value, and whether SQL quotes it (all but
/// decimals); `None` for other values.
fn logical_text(tz: Zone, schema: &Schema, v: &Value) -> Option<(String, bool)> {
    Some(match (schema.name.as_deref(), v) {
        (Some(logical::DECIMAL), Value::Bytes(b)) => {
            let scale: i32 = schema
                .parameter(logical::DECIMAL_SCALE)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (decimal::to_text(b, scale), false)
        }
        (Some(logical::DATE), Value::Int32(days)) => (time::format_date(*days as i64), true),
        (Some(logical::TIME), Value::Int32(ms)) => (time::format_time_millis(*ms as i64), true),
        (Some(logical::TIMESTAMP), Value::Int64(ms)) => {
            (time::format_timestamp(*ms as i128 * 1_000_000, tz), true)
        }
        _ => return None,
    })
}

/// An SQL literal for a Connect value.
pub fn literal(db: &Db, tz: Zone, schema: &Schema, v: &Value) -> Result<String, String> {
    if v.is_null() {
        return Ok("NULL".into());
    }
    let pg = db.dialect == Dialect::Postgres;
    if let Some((text, quoted)) = logical_text(tz, schema, v) {
        return Ok(if quoted { db.quote_string(&text) } else { text });
    }
    Ok(match v {
        Value::Boolean(b) => match (pg, b) {
            (true, true) => "TRUE".into(),
            (true, false) => "FALSE".into(),
            (false, b) => u8::from(*b).to_string(),
        },
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Float32(f) => float(pg, *f as f64, &f.to_string())?,
        Value::Float64(f) => float(pg, *f, &f.to_string())?,
        Value::String(s) => db.quote_string(s),
        Value::Bytes(b) => db.quote_bytes(b),
        Value::Null => "NULL".into(),
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            return Err(format!(
                "{:?} values have no column mapping in the JDBC sink",
                schema.ty
            ))
        }
    })
}

/// A Connect value as a field of PostgreSQL's COPY text format: the same values as
/// [`literal`] writes, unquoted, with `\N` for NULL and text escaped for COPY.
pub fn copy_field(tz: Zone, schema: &Schema, v: &Value) -> Result<String, String> {
    if v.is_null() {
        return Ok("\\N".into());
    }
    if let Some((text, _)) = logical_text(tz, schema, v) {
        return Ok(text);
    }
    Ok(match v {
        Value::Boolean(b) => if *b { "t" } else { "f" }.into(),
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Float32(f) => copy_float(*f as f64, f.to_string()),
        Value::Float64(f) => copy_float(*f, f.to_string()),
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            push_copy_text(&mut out, s);
            out
        }
        // bytea's hex input `\x…`, its backslash doubled for COPY.
        Value::Bytes(b) => {
            let mut out = String::with_capacity(b.len() * 2 + 3);
            out.push_str("\\\\x");
            for x in b {
                use std::fmt::Write;
                let _ = write!(out, "{x:02x}");
            }
            out
        }
        Value::Null => "\\N".into(),
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            return Err(format!(
                "{:?} values have no column mapping in the JDBC sink",
                schema.ty
            ))
        }
    })
}

fn copy_float(f: f64, text: String) -> String {
    if f.is_finite() {
        text
    } else if f.is_nan() {
        "NaN".into()
    } else if f > 0.0 {
        "Infinity".into()
    } else {
        "-Infinity".into()
    }
}

fn float(pg: bool, f: f64, text: &str) -> Result<String, String> {
    if f.is_finite() {
        return Ok(text.to_string());
    }
    if !pg {
        return Err(format!("{f} cannot be stored in MySQL/MariaDB"));
    }
    Ok(if f.is_nan() {
        "'NaN'".into()
    } else if f > 0.0 {
        "'Infinity'".into()
    } else {
        "'-Infinity'".into()
    })
}

/// The column type `auto.create` / `auto.evolve` use for a Connect schema (Confluent's
/// choices per dialect).
pub fn sql_type(dialect: Dialect, schema: &Schema, is_key: bool) -> Result<String, String> {
    let pg = dialect == Dialect::Postgres;
    Ok(match (schema.name.as_deref(), schema.ty) {
        (Some(logical::DECIMAL), _) => {
            let scale = schema.parameter(logical::DECIMAL_SCALE).unwrap_or("0");
            if pg {
                "DECIMAL".into()
            } else {
                format!("DECIMAL(65,{scale})")
            }
        }
        (Some(logical::DATE), _) => "DATE".into(),
        (Some(logical::TIME), _) => {
            if pg {
                "TIME".into()
            } else {
                "TIME(3)".into()
            }
        }
        (Some(logical::TIMESTAMP), _) => {
            if pg {
                "TIMESTAMP".into()
            } else {
                "DATETIME(3)".into()
            }
        }
        (_, SchemaType::Int8) => {
            if pg {
                "SMALLINT".into()
            } else {
                "TINYINT".into()
            }
        }
        (_, SchemaType::Int16) => "SMALLINT".into(),
        (_, SchemaType::Int32) => "INT".into(),
        (_, SchemaType::Int64) => "BIGINT".into(),
        (_, SchemaType::Float32) => {
            if pg {
                "REAL".into()
            } else {
                "FLOAT".into()
            }
        }
        (_, SchemaType::Float64) => {
            if pg {
                "DOUBLE PRECISION".into()
            } else {
                "DOUBLE".into()
            }
        }
        (_, SchemaType::Boolean) => {
            if pg {
                "BOOLEAN".into()
            } else {
                "TINYINT".into()
            }
        }
        (_, SchemaType::String) => {
            if pg {
                "TEXT".into()
            } else if is_key {
                "VARCHAR(256)".into()
            } else {
                "TEXT".into()
            }
        }
        (_, SchemaType::Bytes) => {
            if pg {
                "BYTEA".into()
            } else if is_key {
                "VARBINARY(1024)".into()
            } else {
                "BLOB".into()
            }
        }
        (_, t) => return Err(format!("{t:?} fields have no column type in the JDBC sink")),
    })
}
