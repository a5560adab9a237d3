//! The pieces of Java's standard library whose exact output Kafka's plugins expose to
//! users, so a Sluice plugin can match Kafka byte for byte: number parsing and printing
//! ([`double_to_string`], [`BigDecimal`], …), dates ([`date_to_string`], [`DateFormat`] for
//! `SimpleDateFormat`, the calendars), Connect's schema type names and base64.
//!
//! Everything here works in UTC and the English locale, the setting Kafka's transforms fix.

mod calendar;
mod date_format;
mod number;

pub use calendar::{
    date_to_string, days_from_gregorian, days_from_java_calendar, gregorian_from_days,
    java_calendar_from_days, values_date_string, MS_PER_DAY,
};
pub use date_format::DateFormat;
pub use number::{
    double_to_string, float_to_string, parse_double, parse_float, parse_int, BigDecimal,
};

use crate::schema::SchemaType;

/// Connect's `Schema.Type` constant name (`INT8`, `STRUCT`, …), as Kafka's messages print it.
///
/// ```
/// use sluice_plugin_sdk::{java, SchemaType};
///
/// assert_eq!(java::type_name(SchemaType::Float64), "FLOAT64");
/// ```
pub fn type_name(ty: SchemaType) -> &'static str {
    match ty {
        SchemaType::Int8 => "INT8",
        SchemaType::Int16 => "INT16",
        SchemaType::Int32 => "INT32",
        SchemaType::Int64 => "INT64",
        SchemaType::Float32 => "FLOAT32",
        SchemaType::Float64 => "FLOAT64",
        SchemaType::Boolean => "BOOLEAN",
        SchemaType::String => "STRING",
        SchemaType::Bytes => "BYTES",
        SchemaType::Array => "ARRAY",
        SchemaType::Map => "MAP",
        SchemaType::Struct => "STRUCT",
    }
}

/// `Base64.getEncoder().encodeToString` (standard alphabet, padded).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_java() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn type_names_are_connects() {
        assert_eq!(type_name(SchemaType::Int8), "INT8");
        assert_eq!(type_name(SchemaType::Struct), "STRUCT");
    }
}
