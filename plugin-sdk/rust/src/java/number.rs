//! Java's number grammar and printing: `Long.parseLong`, `Double.parseDouble`,
//! `Double.toString` / `Float.toString` and `java.math.BigDecimal` (Connect's Decimal).
//!
//! Printing starts from Rust's shortest round-trip digits, which are the digits Java prints
//! too; only the layout (plain or `E` notation, `.0`) is Java's.

use std::fmt;

/// `Long.parseLong`: an optional sign and ASCII digits, nothing else (no spaces, no `_`).
pub fn parse_int(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Rust's i64 parser accepts the same sign-and-digits grammar and fails on overflow.
    s.parse().ok()
}

/// The text `Double.parseDouble` would accept, normalised for Rust's parser; `None` if Java
/// would throw `NumberFormatException`. Hexadecimal floats are not supported (rare in data).
fn java_float_text(s: &str) -> Option<String> {
    // String.trim(): strips every char <= ' '.
    let t = s.trim_matches(|c: char| c <= ' ');
    let (sign, body) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t.strip_prefix('+').unwrap_or(t)),
    };
    if body == "NaN" {
        return Some("NaN".into());
    }
    if body == "Infinity" {
        return Some(format!("{sign}inf"));
    }
    let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !digits(int_part) || !digits(frac_part) {
        return None;
    }
    if let Some(e) = exponent {
        let e_body = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e_body.is_empty() || !digits(e_body) {
            return None;
        }
    }
    Some(format!("{sign}{body}"))
}

/// `Double.parseDouble`.
pub fn parse_double(s: &str) -> Option<f64> {
    java_float_text(s)?.parse().ok()
}

/// `Float.parseFloat` (rounds once, straight to float).
pub fn parse_float(s: &str) -> Option<f32> {
    java_float_text(s)?.parse().ok()
}

/// Java's `Double.toString`/`Float.toString` layout around the shortest round-trip digits
/// (`sci` is Rust's `{:e}` rendering of the same value, e.g. `-1.25e-7`).
fn java_layout(sci: &str) -> String {
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if negative { "-" } else { "" };
    if digits == "0" {
        return format!("{sign}0.0");
    }
    if (-3..7).contains(&exp) {
        // Plain notation: 10^-3 <= |x| < 10^7.
        let point = exp + 1;
        let (int_part, frac_part) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{digits}", "0".repeat((-point) as usize)),
            )
        } else if (point as usize) >= digits.len() {
            (
                format!("{digits}{}", "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac_part = if frac_part.is_empty() {
            "0".to_string()
        } else {
            frac_part
        };
        format!("{sign}{int_part}.{frac_part}")
    } else {
        let rest = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{rest}E{exp}", &digits[..1])
    }
}

/// `Double.toString`.
///
/// ```
/// use sluice_plugin_sdk::java::double_to_string;
///
/// assert_eq!(double_to_string(1.0), "1.0");
/// assert_eq!(double_to_string(1e7), "1.0E7");
/// ```
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    java_layout(&format!("{d:e}"))
}

/// `Float.toString`.
pub fn float_to_string(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    java_layout(&format!("{f:e}"))
}

/// A `java.math.BigDecimal` small enough for 128 bits (Connect Decimal values in practice).
///
/// ```
/// use sluice_plugin_sdk::java::BigDecimal;
///
/// assert_eq!(BigDecimal { unscaled: 12345, scale: 2 }.to_string(), "123.45");
/// assert_eq!(BigDecimal { unscaled: 123, scale: -2 }.to_string(), "1.23E+4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BigDecimal {
    pub unscaled: i128,
    pub scale: i32,
}

impl BigDecimal {
    /// Connect's Decimal encoding: big-endian two's-complement unscaled bytes; `None` past
    /// 16 bytes.
    pub fn from_bytes(bytes: &[u8], scale: i32) -> Option<BigDecimal> {
        if bytes.len() > 16 {
            return None;
        }
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        let mut buf = if negative { [0xFF; 16] } else { [0; 16] };
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        Some(BigDecimal {
            unscaled: i128::from_be_bytes(buf),
            scale,
        })
    }

    /// The integer part (truncated toward zero), modulo 2^128: enough for Java's narrowing
    /// `intValue()`/`longValue()`, which keep the low-order bits.
    pub fn truncated_low_bits(&self) -> i128 {
        if self.scale >= 0 {
            let divisor = 10i128.checked_pow(self.scale as u32);
            divisor.map_or(0, |d| self.unscaled / d)
        } else {
            let mut n = self.unscaled;
            for _ in 0..(-self.scale).min(200) {
                n = n.wrapping_mul(10);
            }
            n
        }
    }

    /// `doubleValue()`: correctly rounded, via the decimal text.
    pub fn to_f64(self) -> f64 {
        format!("{}e{}", self.unscaled, -i64::from(self.scale))
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// `floatValue()`.
    pub fn to_f32(self) -> f32 {
        format!("{}e{}", self.unscaled, -i64::from(self.scale))
            .parse()
            .unwrap_or(f32::NAN)
    }
}

/// `BigDecimal.toString()`: plain when the scale is non-negative and the adjusted exponent is
/// at least -6, scientific (`1.23E+5`) otherwise.
impl fmt::Display for BigDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.unscaled < 0 { "-" } else { "" };
        let digits = self.unscaled.unsigned_abs().to_string();
        let n = digits.len() as i64;
        let scale = i64::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let adjusted = -scale + (n - 1);
        if scale > 0 && adjusted >= -6 {
            if n > scale {
                let (int_part, frac) = digits.split_at((n - scale) as usize);
                write!(f, "{sign}{int_part}.{frac}")
            } else {
                let zeros = "0".repeat((scale - n) as usize);
                write!(f, "{sign}0.{zeros}{digits}")
            }
        } else {
            let (first, rest) = digits.split_at(1);
            let point = if rest.is_empty() { "" } else { "." };
            let plus = if adjusted > 0 { "+" } else { "" };
            write!(f, "{sign}{first}{point}{rest}E{plus}{adjusted}")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        for (d, s) in [
            (1.0, "1.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (-1.5e-10, "-1.5E-10"),
            (100.0, "100.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(double_to_string(d), s, "{d}");
        }
        assert_eq!(float_to_string(0.1f32), "0.1");
        assert_eq!(float_to_string(1e10f32), "1.0E10");
    }

    #[test]
    fn big_decimals_print_like_java() {
        let d = |unscaled, scale| BigDecimal { unscaled, scale }.to_string();
        assert_eq!(d(12345, 2), "123.45");
        assert_eq!(d(5, 3), "0.005");
        assert_eq!(d(5, 8), "5E-8");
        assert_eq!(d(123, -2), "1.23E+4");
        assert_eq!(d(-1, 1), "-0.1");
        assert_eq!(d(7, 0), "7");
    }

    #[test]
    fn java_number_grammar() {
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int(" 7"), None);
        assert_eq!(parse_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_double("1e3"), Some(1000.0));
        assert_eq!(parse_double("2f"), Some(2.0));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_double("."), None);
    }

    #[test]
    fn decimal_bytes_are_twos_complement() {
        let d = |b: &[u8]| BigDecimal::from_bytes(b, 2).unwrap().to_string();
        assert_eq!(d(&[4, 210]), "12.34");
        assert_eq!(d(&[0xff]), "-0.01");
        assert_eq!(BigDecimal::from_bytes(&[1; 17], 0), None);
    }
}
