//! Column types → Connect schemas, and the text the server sent → Connect values, following
//! Confluent's `GenericDatabaseDialect` / `PostgreSqlDatabaseDialect` mapping (as the JDBC
//! drivers report the types). One deliberate difference: a column type Confluent would drop
//! with a log warning is an error naming the column and its type, so data never silently
//! goes missing.

use jdbc_common::{decimal, time, ColumnMeta, DbType, Zone};
use sluice_plugin_sdk::{Schema, Value};

use crate::settings::NumericMapping;

/// How one column's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// PostgreSQL `t`/`f`.
    PgBool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// Decimal at this scale.
    Decimal(i32),
    /// A NUMERIC mapped to an integer type (precision_only / best_fit): the text rounded to
    /// an integer, then as `Int8`…`Int64` by width.
    NumericInt(u8),
    /// A NUMERIC mapped to float64 (best_fit).
    NumericFloat,
    Str,
    /// PostgreSQL `bytea` hex output (`\x…`).
    PgBytea,
    /// Raw bytes (MySQL binary strings).
    Bytes,
    /// MySQL `BIT(1)`: one raw byte, as int8.
    BitInt8,
    Date,
    /// A time without zone: shifted by `db.timezone`.
    Time,
    /// PostgreSQL `timetz`: carries its zone.
    TimeTz,
    Timestamp,
}

/// The schema and converter of a column, or why it cannot be read.
pub fn map_column(c: &ColumnMeta, numeric: NumericMapping) -> Result<(Schema, Conv), String> {
    let conv = match &c.ty {
        DbType::Pg { oid, typmod } => pg_conv(*oid, *typmod, numeric),
        DbType::My {
            column_type,
            flags,
            charset,
            decimals,
            length,
        } => my_conv(*column_type, *flags, *charset, *decimals, *length),
    }
    .ok_or_else(|| {
        format!(
            "column `{}` has type {}, which the JDBC source cannot map to a Connect schema yet \
             (select it cast to text in a `query`, or leave the table out)",
            c.name, c.type_name
        )
    })?;
    let schema = match conv {
        Conv::PgBool => Schema::boolean(),
        Conv::Int8 | Conv::BitInt8 | Conv::NumericInt(8) => Schema::int8(),
        Conv::Int16 | Conv::NumericInt(16) => Schema::int16(),
        Conv::Int32 | Conv::NumericInt(32) => Schema::int32(),
        Conv::Int64 | Conv::NumericInt(_) => Schema::int64(),
        Conv::Float32 => Schema::float32(),
        Conv::Float64 | Conv::NumericFloat => Schema::float64(),
        Conv::Decimal(scale) => Schema::decimal(scale),
        Conv::Str => Schema::string(),
        Conv::PgBytea | Conv::Bytes => Schema::bytes(),
        Conv::Date => Schema::date(),
        Conv::Time | Conv::TimeTz => Schema::time(),
        Conv::Timestamp => Schema::timestamp(),
    };
    Ok((
        if c.nullable {
            schema.optional()
        } else {
            schema
        },
        conv,
    ))
}

fn pg_conv(oid: u32, typmod: i32, numeric: NumericMapping) -> Option<Conv> {
    use jdbc_common::db::pg_oid::*;
    Some(match oid {
        BOOL => Conv::PgBool,
        INT2 => Conv::Int16,
        INT4 => Conv::Int32,
        INT8 | OID => Conv::Int64,
        FLOAT4 => Conv::Float32,
        FLOAT8 => Conv::Float64,
        NUMERIC => {
            // pgjdbc reports an unconstrained numeric as precision 0, scale 0.
            let (precision, scale) = if typmod >= 4 {
                (((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0xffff)
            } else {
                (0, 0)
            };
            numeric_conv(precision, scale, numeric)
        }
        TEXT | VARCHAR | BPCHAR | NAME | CHAR | XML | UUID | JSON | JSONB => Conv::Str,
        BYTEA => Conv::PgBytea,
        DATE => Conv::Date,
        TIME => Conv::Time,
        TIMETZ => Conv::TimeTz,
        TIMESTAMP | TIMESTAMPTZ => Conv::Timestamp,
        _ => return None,
    })
}

/// Confluent's NUMERIC rules; an unknown precision (0) never "fits" a primitive here
/// (Confluent would map an unconstrained numeric to int8 under best_fit and lose data).
fn numeric_conv(precision: i32, scale: i32, numeric: NumericMapping) -> Conv {
    let int_width = |p: i32| match p {
        p if p > 9 => 64,
        p if p > 4 => 32,
        p if p > 2 => 16,
        _ => 8,
    };
    let known = precision > 0;
    match numeric {
        NumericMapping::PrecisionOnly if known && scale == 0 && precision < 19 => {
            Conv::NumericInt(int_width(precision))
        }
        NumericMapping::BestFit if known && precision < 19 && scale == 0 => {
            Conv::NumericInt(int_width(precision))
        }
        NumericMapping::BestFit if known && precision < 19 && scale > 0 => Conv::NumericFloat,
        NumericMapping::BestFitEagerDouble if known && precision < 19 && scale == 0 => {
            Conv::NumericInt(int_width(precision))
        }
        NumericMapping::BestFitEagerDouble if known && scale > 0 => Conv::NumericFloat,
        _ => Conv::Decimal(scale),
    }
}

fn my_conv(ty: u8, flags: u16, charset: u16, decimals: u8, length: u32) -> Option<Conv> {
    use jdbc_common::db::my_types::*;
    let unsigned = flags & 32 != 0;
    let binary = charset == 63;
    Some(match ty {
        TINY => {
            if unsigned {
                Conv::Int16
            } else {
                Conv::Int8
            }
        }
        SHORT => {
            if unsigned {
                Conv::Int32
            } else {
                Conv::Int16
            }
        }
        INT24 => Conv::Int32,
        LONG => {
            if unsigned {
                Conv::Int64
            } else {
                Conv::Int32
            }
        }
        LONGLONG => Conv::Int64,
        YEAR => Conv::Int16,
        FLOAT => Conv::Float32,
        DOUBLE => Conv::Float64,
        DECIMAL | NEWDECIMAL => Conv::Decimal(decimals as i32),
        VARCHAR | VAR_STRING | STRING | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | BLOB => {
            if binary {
                Conv::Bytes
            } else {
                Conv::Str
            }
        }
        ENUM | SET | JSON => Conv::Str,
        BIT if length <= 1 => Conv::BitInt8,
        BIT => Conv::Bytes,
        DATE => Conv::Date,
        TIME => Conv::Time,
        DATETIME | TIMESTAMP => Conv::Timestamp,
        _ => return None,
    })
}

/// Converts one value. `Err` names what was wrong with the text (the caller adds the column).
pub fn convert(conv: Conv, raw: &[u8], tz: Zone) -> Result<Value, String> {
    let text = || std::str::from_utf8(raw).map_err(|_| "the text is not UTF-8".to_string());
    let bad = |what: &str| format!("cannot read {:?} as {what}", String::from_utf8_lossy(raw));
    let int = |what: &str| -> Result<i64, String> {
        text()?.trim().parse::<i64>().map_err(|_| bad(what))
    };
    Ok(match conv {
        Conv::PgBool => match raw {
            b"t" => Value::Boolean(true),
            b"f" => Value::Boolean(false),
            _ => return Err(bad("boolean")),
        },
        Conv::Int8 => Value::Int8(i8::try_from(int("int8")?).map_err(|_| bad("int8"))?),
        Conv::Int16 => Value::Int16(i16::try_from(int("int16")?).map_err(|_| bad("int16"))?),
        Conv::Int32 => Value::Int32(i32::try_from(int("int32")?).map_err(|_| bad("int32"))?),
        Conv::Int64 => Value::Int64(int("int64 (values above 9223372036854775807 do not fit)")?),
        Conv::Float32 => Value::Float32(text()?.parse::<f32>().map_err(|_| bad("float32"))?),
        Conv::Float64 | Conv::NumericFloat => {
            Value::Float64(text()?.parse::<f64>().map_err(|_| bad("float64"))?)
        }
        Conv::Decimal(scale) => {
            Value::Bytes(decimal::unscaled_bytes(text()?, scale).ok_or_else(|| bad("a decimal"))?)
        }
        Conv::NumericInt(width) => {
            let b = decimal::unscaled_bytes(text()?, 0).ok_or_else(|| bad("an integer"))?;
            if b.len() > 8 {
                return Err(bad("int64"));
            }
            let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
            for x in b {
                v = (v << 8) | x as i64;
            }
            match width {
                8 => Value::Int8(i8::try_from(v).map_err(|_| bad("int8"))?),
                16 => Value::Int16(i16::try_from(v).map_err(|_| bad("int16"))?),
                32 => Value::Int32(i32::try_from(v).map_err(|_| bad("int32"))?),
                _ => Value::Int64(v),
            }
        }
        Conv::Str => Value::String(text()?.to_string()),
        Conv::PgBytea => Value::Bytes(pg_hex(raw).ok_or_else(|| bad("bytea hex"))?),
        Conv::Bytes => Value::Bytes(raw.to_vec()),
        Conv::BitInt8 => Value::Int8(raw.last().copied().unwrap_or(0) as i8),
        Conv::Date => Value::Int32(time::parse_date(text()?).ok_or_else(|| bad("a date"))? as i32),
        Conv::Time => {
            let local = time::parse_time(text()?).ok_or_else(|| bad("a time of day"))?;
            // A time of day is taken on 1970-01-01 in db.timezone, as Confluent's connector
            // reads it through a Calendar there.
            let offset = tz.offset_for_local(local.div_euclid(1_000_000_000)) as i64;
            let utc = (local - offset * 1_000_000_000).rem_euclid(86_400_000_000_000);
            Value::Int32((utc / 1_000_000) as i32)
        }
        Conv::TimeTz => Value::Int32(
            (time::parse_time(text()?).ok_or_else(|| bad("a time of day"))? / 1_000_000) as i32,
        ),
        Conv::Timestamp => {
            let nanos = time::parse_timestamp(text()?, tz).ok_or_else(|| bad("a timestamp"))?;
            Value::Int64(nanos.div_euclid(1_000_000) as i64)
        }
    })
}

/// `\x00ff` → bytes.
fn pg_hex(raw: &[u8]) -> Option<Vec<u8>> {
    let hex = raw.strip_prefix(b"\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    hex.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// The epoch nanoseconds of a timestamp column's text (for offsets).
pub fn timestamp_nanos(raw: &[u8], tz: Zone) -> Option<i128> {
    time::parse_timestamp(std::str::from_utf8(raw).ok()?, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(name: &str, oid: u32, typmod: i32, nullable: bool) -> ColumnMeta {
        ColumnMeta {
            name: name.into(),
            ty: DbType::Pg { oid, typmod },
            nullable,
            type_name: jdbc_common::db::pg_type_name(oid, typmod),
        }
    }

    #[test]
    fn maps_like_confluent() {
        let (s, c) = map_column(
            &pg("n", 1700, ((10 << 16) | 2) + 4, true),
            NumericMapping::None,
        )
        .unwrap();
        assert_eq!(
            (s.parameter("scale"), s.optional, c),
            (Some("2"), true, Conv::Decimal(2))
        );
        let (_, c) = map_column(
            &pg("n", 1700, (5 << 16) + 4, false),
            NumericMapping::BestFit,
        )
        .unwrap();
        assert_eq!(c, Conv::NumericInt(32));
        let (_, c) = map_column(
            &pg("n", 1700, ((10 << 16) | 2) + 4, false),
            NumericMapping::BestFit,
        )
        .unwrap();
        assert_eq!(c, Conv::NumericFloat);
        let (_, c) = map_column(&pg("n", 1700, -1, false), NumericMapping::BestFit).unwrap();
        assert_eq!(c, Conv::Decimal(0));
        let e = map_column(&pg("iv", 1186, -1, false), NumericMapping::None).unwrap_err();
        assert!(e.contains("column `iv` has type interval"), "{e}");
    }

    #[test]
    fn converts_text() {
        let utc = Zone::UTC;
        assert_eq!(convert(Conv::PgBool, b"t", utc), Ok(Value::Boolean(true)));
        assert_eq!(
            convert(Conv::Decimal(2), b"12.34", utc),
            Ok(Value::Bytes(vec![0x04, 0xD2]))
        );
        assert_eq!(
            convert(Conv::PgBytea, b"\\x00ff", utc),
            Ok(Value::Bytes(vec![0, 255]))
        );
        assert_eq!(
            convert(Conv::Timestamp, b"1970-01-01 00:00:01.5+00", utc),
            Ok(Value::Int64(1500))
        );
        assert_eq!(convert(Conv::Date, b"1970-01-02", utc), Ok(Value::Int32(1)));
        assert_eq!(
            convert(Conv::Time, b"00:00:01", utc),
            Ok(Value::Int32(1000))
        );
        assert_eq!(
            convert(Conv::NumericInt(16), b"300", utc),
            Ok(Value::Int16(300))
        );
        assert!(convert(Conv::Int8, b"300", utc)
            .unwrap_err()
            .contains("int8"));
    }
}
