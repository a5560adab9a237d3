//! Decimal text (`-12.50`) ↔ Connect's Decimal (two's-complement big-endian unscaled
//! integer plus a scale), for any number of digits.

/// The unscaled big-endian two's-complement bytes of `text` at `scale`, rounding half up
/// (away from zero) when `text` has more fraction digits, as `BigDecimal.setScale(scale,
/// HALF_UP)` does. `None` for anything that is not a plain decimal number (`NaN`, `1e5`).
pub fn unscaled_bytes(text: &str, scale: i32) -> Option<Vec<u8>> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut digits: Vec<u8> = int.bytes().map(|b| b - b'0').collect();
    let scale_u = scale.max(0) as usize;
    let mut round_up = false;
    if frac.len() > scale_u {
        digits.extend(frac[..scale_u].bytes().map(|b| b - b'0'));
        round_up = frac.as_bytes()[scale_u] >= b'5';
    } else {
        digits.extend(frac.bytes().map(|b| b - b'0'));
        digits.extend(std::iter::repeat_n(0, scale_u - frac.len()));
    }
    if scale < 0 {
        // Negative scales: drop digits from the integer part.
        let drop = (-scale) as usize;
        let keep = digits.len().saturating_sub(drop);
        round_up = digits.get(keep).is_some_and(|&d| d >= 5);
        digits.truncate(keep);
    }
    // Base-256 magnitude, big-endian.
    let mut mag: Vec<u8> = vec![0];
    for d in digits.into_iter().chain(std::iter::empty()) {
        mul_add(&mut mag, 10, d as u32);
    }
    if round_up {
        mul_add(&mut mag, 1, 1);
    }
    Some(twos_complement(mag, negative))
}

fn mul_add(mag: &mut Vec<u8>, mul: u32, add: u32) {
    let mut carry = add;
    for b in mag.iter_mut().rev() {
        let v = *b as u32 * mul + carry;
        *b = (v & 0xff) as u8;
        carry = v >> 8;
    }
    while carry > 0 {
        mag.insert(0, (carry & 0xff) as u8);
        carry >>= 8;
    }
}

fn twos_complement(mut mag: Vec<u8>, negative: bool) -> Vec<u8> {
    // Minimal magnitude with room for the sign bit.
    while mag.len() > 1 && mag[0] == 0 {
        mag.remove(0);
    }
    if mag[0] & 0x80 != 0 {
        mag.insert(0, 0);
    }
    if negative && mag.iter().any(|&b| b != 0) {
        for b in mag.iter_mut() {
            *b = !*b;
        }
        mul_add(&mut mag, 1, 1);
        let len = mag.len();
        // Adding one may carry past the top byte of an all-ones value: keep the width.
        if mag.len() > len {
            mag.remove(0);
        }
        // Drop redundant leading 0xff bytes.
        while mag.len() > 1 && mag[0] == 0xff && mag[1] & 0x80 != 0 {
            mag.remove(0);
        }
    }
    mag
}

/// The decimal text of unscaled two's-complement bytes at `scale` (`[0x04, 0xD2]`, 2 →
/// `12.34`).
pub fn to_text(bytes: &[u8], scale: i32) -> String {
    if bytes.is_empty() {
        return "0".into();
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut mag = bytes.to_vec();
    if negative {
        for b in mag.iter_mut() {
            *b = !*b;
        }
        mul_add(&mut mag, 1, 1);
        if mag.len() > bytes.len() {
            mag.remove(0);
        }
    }
    // Repeated division by 10.
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in mag.iter_mut() {
            let v = (rem << 8) | *b as u32;
            *b = (v / 10) as u8;
            rem = v % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    let mut s = String::from_utf8(digits).unwrap_or_default();
    if scale > 0 {
        let scale = scale as usize;
        if s.len() <= scale {
            s = format!("{}{s}", "0".repeat(scale + 1 - s.len()));
        }
        s.insert(s.len() - scale, '.');
    } else if scale < 0 {
        s.push_str(&"0".repeat((-scale) as usize));
    }
    if negative {
        s.insert(0, '-');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_bytes_matches_connect() {
        assert_eq!(unscaled_bytes("12.34", 2), Some(vec![0x04, 0xD2]));
        assert_eq!(unscaled_bytes("12.5", 2), Some(vec![0x04, 0xE2]));
        assert_eq!(unscaled_bytes("-0.01", 2), Some(vec![0xFF]));
        assert_eq!(unscaled_bytes("1.28", 2), Some(vec![0x00, 0x80]));
        assert_eq!(unscaled_bytes("-1.28", 2), Some(vec![0x80]));
        assert_eq!(unscaled_bytes("-1.29", 2), Some(vec![0xFF, 0x7F]));
        assert_eq!(unscaled_bytes("0", 0), Some(vec![0]));
        assert_eq!(unscaled_bytes("2.5", 0), Some(vec![3]));
        assert_eq!(unscaled_bytes("NaN", 2), None);
        assert_eq!(unscaled_bytes("-2.5", 0), Some(vec![0xFD]));
    }

    #[test]
    fn roundtrip_big_and_small() {
        for (t, s) in [
            ("12.34", 2),
            ("-0.01", 2),
            ("-1.28", 2),
            ("123456789012345678901234567890.123", 3),
            ("-99999999999999999999999999999999999999999", 0),
            ("0.00", 2),
        ] {
            let b = unscaled_bytes(t, s).unwrap();
            assert_eq!(to_text(&b, s), t, "{t}");
        }
    }
}
