//! Number text as Jackson/Java writes and reads it: `Double.toString`/`Float.toString` layout,
//! `BigDecimal.toString` for NUMERIC decimals, and the unscaled two's-complement bytes that
//! Connect's Decimal uses.
//!
//! Design decision: digits come from `ryu` (shortest round-trip, as Java 19+ prints them, with
//! Java's "at least two significant digits" rule); only the layout is Java's. Java 17's older
//! `FloatingDecimal` prints a handful of values with more digits than needed (e.g. 2e23 as
//! `1.9999999999999998E23`); those are listed in the fixture test as known differences.

use std::fmt::Write as _;

/// Appends a Java `Double.toString` rendering (Jackson quotes NaN and the infinities).
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        return write_non_finite(out, v.is_nan(), v > 0.0);
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    let mut d = Digits::from_display(s);
    if d.len == 1 && !(v.fract() == 0.0 && v.abs() < 9.0e15) {
        // Java prints at least two significant digits and picks the two-digit decimal closest
        // to the exact value (e.g. 4.9E-324, not 5.0E-324).
        let mut tmp = StackStr::default();
        let _ = write!(tmp, "{:.1e}", v);
        d = Digits::from_display(tmp.as_str());
    }
    d.write_java(out, v.is_sign_negative());
}

/// Appends a Java `Float.toString` rendering.
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        return write_non_finite(out, v.is_nan(), v > 0.0);
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    let mut d = Digits::from_display(s);
    if d.len == 1 && !(v.fract() == 0.0 && v.abs() < 1.0e7) {
        let mut tmp = StackStr::default();
        let _ = write!(tmp, "{:.1e}", v);
        d = Digits::from_display(tmp.as_str());
    }
    d.write_java(out, v.is_sign_negative());
}

fn write_non_finite(out: &mut Vec<u8>, nan: bool, positive: bool) {
    out.extend_from_slice(match (nan, positive) {
        (true, _) => b"\"NaN\"".as_slice(),
        (false, true) => b"\"Infinity\"",
        (false, false) => b"\"-Infinity\"",
    });
}

/// Significant digits (no leading/trailing zeros) and the exponent of the first digit.
struct Digits {
    digits: [u8; 40],
    len: usize,
    exp: i32,
}

impl Digits {
    /// Parses Rust/ryu float text such as `-1.25e-7`, `1234.5` or `1e16`.
    fn from_display(s: &str) -> Digits {
        let s = s.trim_start_matches('-');
        let (mant, e) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap_or(0)),
            None => (s, 0),
        };
        let int_len = mant.find('.').unwrap_or(mant.len()) as i32;
        let mut d = Digits {
            digits: [0; 40],
            len: 0,
            exp: int_len - 1 + e,
        };
        let mut leading = true;
        for b in mant.bytes().filter(u8::is_ascii_digit) {
            if leading && b == b'0' {
                d.exp -= 1;
                continue;
            }
            leading = false;
            if d.len < d.digits.len() {
                d.digits[d.len] = b;
                d.len += 1;
            }
        }
        while d.len > 1 && d.digits[d.len - 1] == b'0' {
            d.len -= 1;
        }
        d
    }

    /// Java layout: plain for 1e-3 <= |v| < 1e7, else `d.dddE[-]n`, always a fractional digit.
    fn write_java(&self, out: &mut Vec<u8>, negative: bool) {
        if negative {
            out.push(b'-');
        }
        let digits = &self.digits[..self.len];
        if (-3..7).contains(&self.exp) {
            if self.exp >= 0 {
                let int_len = self.exp as usize + 1;
                for i in 0..int_len {
                    out.push(*digits.get(i).unwrap_or(&b'0'));
                }
                out.push(b'.');
                if digits.len() > int_len {
                    out.extend_from_slice(&digits[int_len..]);
                } else {
                    out.push(b'0');
                }
            } else {
                out.extend_from_slice(b"0.");
                for _ in 0..(-self.exp - 1) {
                    out.push(b'0');
                }
                out.extend_from_slice(digits);
            }
        } else {
            out.push(digits[0]);
            out.push(b'.');
            if digits.len() > 1 {
                out.extend_from_slice(&digits[1..]);
            } else {
                out.push(b'0');
            }
            out.push(b'E');
            write_i64(out, self.exp as i64);
        }
    }
}

/// A small fixed buffer for `write!` without allocating.
struct StackStr {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        StackStr {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends a decimal integer.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&tmp[i..]);
}

// ---------------------------------------------------------------------------------------------
// Decimals: unscaled big-endian two's complement (Java `BigInteger.toByteArray`) <-> text.

/// A non-negative big integer, little-endian base-2^32 limbs.
#[derive(Debug, Clone, Default)]
struct Magnitude(Vec<u32>);

impl Magnitude {
    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = add as u64;
        for limb in &mut self.0 {
            let v = *limb as u64 * mul as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }
    /// Divides in place, returning the remainder.
    fn div_rem(&mut self, div: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let cur = (rem << 32) | *limb as u64;
            *limb = (cur / div as u64) as u32;
            rem = cur % div as u64;
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        rem as u32
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }
    fn from_be_bytes(bytes: &[u8]) -> Magnitude {
        let mut limbs = Vec::with_capacity(bytes.len() / 4 + 1);
        for chunk in bytes.rchunks(4) {
            let mut v = 0u32;
            for &b in chunk {
                v = (v << 8) | b as u32;
            }
            limbs.push(v);
        }
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        Magnitude(limbs)
    }
    fn to_be_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.0.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        let first = out.iter().position(|&b| b != 0).unwrap_or(out.len());
        out.drain(..first);
        out
    }
    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_owned();
        }
        let mut m = self.clone();
        let mut chunks = Vec::new();
        while !m.is_zero() {
            chunks.push(m.div_rem(1_000_000_000));
        }
        let mut s = String::with_capacity(chunks.len() * 9);
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                let _ = write!(s, "{c}");
            } else {
                let _ = write!(s, "{c:09}");
            }
        }
        s
    }
}

/// Two's-complement big-endian bytes -> (negative, decimal digits of the magnitude).
pub(crate) fn unscaled_to_digits(bytes: &[u8]) -> (bool, String) {
    if bytes.len() <= 16 {
        let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            0xFF
        } else {
            0
        };
        let mut buf = [fill; 16];
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        let v = i128::from_be_bytes(buf);
        return (v < 0, v.unsigned_abs().to_string());
    }
    let negative = bytes[0] & 0x80 != 0;
    if !negative {
        return (false, Magnitude::from_be_bytes(bytes).to_decimal());
    }
    // Magnitude of a negative number: invert and add one.
    let mut inv: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for b in inv.iter_mut().rev() {
        let (v, overflow) = b.overflowing_add(1);
        *b = v;
        if !overflow {
            break;
        }
    }
    (true, Magnitude::from_be_bytes(&inv).to_decimal())
}

/// Minimal two's-complement bytes (Java `BigInteger.toByteArray`) of a signed magnitude
/// given as decimal digits.
pub(crate) fn digits_to_unscaled(negative: bool, digits: &str) -> Vec<u8> {
    let mut m = Magnitude::default();
    for chunk in digits.as_bytes().chunks(9) {
        let mut v = 0u32;
        for &b in chunk {
            v = v * 10 + (b - b'0') as u32;
        }
        m.mul_add(10u32.pow(chunk.len() as u32), v);
    }
    let mag = m.to_be_bytes();
    if mag.is_empty() {
        return vec![0];
    }
    if !negative {
        let mut out = Vec::with_capacity(mag.len() + 1);
        if mag[0] & 0x80 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&mag);
        return out;
    }
    // -m fits in n bytes iff m <= 2^(8n-1).
    let fits = mag[0] < 0x80 || (mag[0] == 0x80 && mag[1..].iter().all(|&b| b == 0));
    let mut out = Vec::with_capacity(mag.len() + 1);
    if !fits {
        out.push(0);
    }
    out.extend_from_slice(&mag);
    for b in out.iter_mut() {
        *b = !*b;
    }
    for b in out.iter_mut().rev() {
        let (v, overflow) = b.overflowing_add(1);
        *b = v;
        if !overflow {
            break;
        }
    }
    out
}

/// Drops redundant sign bytes so the encoding matches `BigInteger.toByteArray`.
pub(crate) fn minimal_unscaled(bytes: &[u8]) -> &[u8] {
    let mut b = bytes;
    while b.len() > 1 && ((b[0] == 0 && b[1] & 0x80 == 0) || (b[0] == 0xFF && b[1] & 0x80 != 0)) {
        b = &b[1..];
    }
    b
}

/// Appends Java's `BigDecimal.toString()` of unscaled bytes at a scale.
pub(crate) fn write_big_decimal(out: &mut Vec<u8>, unscaled: &[u8], scale: i32) {
    let (negative, coeff) = unscaled_to_digits(unscaled);
    if negative {
        out.push(b'-');
    }
    let c = coeff.as_bytes();
    let adjusted = -(scale as i64) + (c.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        let scale = scale as usize;
        if scale == 0 {
            out.extend_from_slice(c);
        } else if c.len() > scale {
            out.extend_from_slice(&c[..c.len() - scale]);
            out.push(b'.');
            out.extend_from_slice(&c[c.len() - scale..]);
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', scale - c.len()));
            out.extend_from_slice(c);
        }
    } else {
        out.push(c[0]);
        if c.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&c[1..]);
        }
        out.push(b'E');
        if adjusted > 0 {
            out.push(b'+');
        }
        write_i64(out, adjusted);
    }
}

/// A JSON number split into sign, significant digits and a decimal scale (value =
/// digits * 10^-scale), as `BigDecimal(String)` would hold it.
#[derive(Debug, PartialEq)]
pub(crate) struct DecimalText {
    pub negative: bool,
    /// Without leading zeros; "0" for zero.
    pub digits: String,
    pub scale: i64,
}

/// Parses JSON number text (already validated by the parser).
pub(crate) fn parse_decimal_text(text: &str) -> DecimalText {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mant, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits: String = int
        .chars()
        .chain(frac.chars())
        .skip_while(|&c| c == '0')
        .collect();
    if digits.is_empty() {
        digits.push('0');
    }
    DecimalText {
        negative,
        digits,
        scale: frac.len() as i64 - exp,
    }
}

/// The low 64 bits of the integer part (truncated toward zero) of JSON number text: what
/// Jackson's `longValue()` returns for int, long, big-integer and big-decimal nodes.
pub(crate) fn wrapping_integer_part(text: &str) -> i64 {
    let d = parse_decimal_text(text);
    let bytes = d.digits.as_bytes();
    let int_len = bytes.len() as i64 - d.scale;
    let mut acc: u64 = 0;
    if int_len > 0 {
        let take = (int_len as usize).min(bytes.len());
        for &b in &bytes[..take] {
            acc = acc.wrapping_mul(10).wrapping_add((b - b'0') as u64);
        }
        // 10^64 is a multiple of 2^64: more trailing zeros leave the low bits at zero.
        let zeros = (int_len as usize - take).min(64);
        for _ in 0..zeros {
            acc = acc.wrapping_mul(10);
        }
    }
    let v = acc as i64;
    if d.negative {
        v.wrapping_neg()
    } else {
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f64s(v: f64) -> String {
        let mut o = Vec::new();
        write_f64(&mut o, v);
        String::from_utf8(o).unwrap_or_default()
    }
    fn f32s(v: f32) -> String {
        let mut o = Vec::new();
        write_f32(&mut o, v);
        String::from_utf8(o).unwrap_or_default()
    }

    #[test]
    fn java_double_layout() {
        assert_eq!(f64s(1.0e10), "1.0E10");
        assert_eq!(f64s(1.0e-4), "1.0E-4");
        assert_eq!(f64s(0.001), "0.001");
        assert_eq!(f64s(100.0), "100.0");
        assert_eq!(f64s(9999999.0), "9999999.0");
        assert_eq!(f64s(1.0e7), "1.0E7");
        assert_eq!(f64s(-0.0025), "-0.0025");
        assert_eq!(f64s(5e-324), "4.9E-324");
        assert_eq!(f64s(f64::NAN), "\"NaN\"");
        assert_eq!(f32s(1.0e-45), "1.4E-45");
        assert_eq!(f32s(0.1), "0.1");
        assert_eq!(f32s(1.6777216e7), "1.6777216E7");
    }

    #[test]
    fn decimals_match_biginteger() {
        assert_eq!(digits_to_unscaled(false, "128"), vec![0, 128]);
        assert_eq!(digits_to_unscaled(true, "128"), vec![0x80]);
        assert_eq!(digits_to_unscaled(true, "129"), vec![0xFF, 0x7F]);
        assert_eq!(digits_to_unscaled(true, "256"), vec![0xFF, 0x00]);
        assert_eq!(digits_to_unscaled(false, "0"), vec![0]);
        let big = "123456789012345678901234567890123456789012345";
        for neg in [false, true] {
            let bytes = digits_to_unscaled(neg, big);
            assert_eq!(unscaled_to_digits(&bytes), (neg, big.to_owned()));
        }
        let mut o = Vec::new();
        write_big_decimal(&mut o, &[123], -2);
        assert_eq!(o, b"1.23E+4");
        assert_eq!(
            wrapping_integer_part("12345678901234567890"),
            -6101065172474983726
        );
        assert_eq!(wrapping_integer_part("-12.7"), -12);
        assert_eq!(wrapping_integer_part("1e3"), 1000);
    }
}
