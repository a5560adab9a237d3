//! Dates, times and timestamps as the databases print them (text protocol), converted to and
//! from Connect's epoch-based logical values, with a fixed UTC offset for values that carry
//! no zone (`db.timezone`).

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `(year, month, day)` of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A fixed offset from UTC in seconds (east positive), parsed from `db.timezone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TzOffset(pub i32);

impl TzOffset {
    /// Accepts `UTC`, `GMT`, `Z`, `Etc/UTC`, `+02:00`, `-0530`, `UTC+02:00`, `GMT-03`.
    pub fn parse(s: &str) -> Option<TzOffset> {
        let s = s.trim();
        let rest = ["Etc/UTC", "Etc/GMT", "UTC", "GMT", "Z"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .unwrap_or(s);
        if rest.is_empty() {
            return Some(TzOffset(0));
        }
        parse_offset(rest).map(TzOffset)
    }

    /// `+02:00`.
    pub fn iso(self) -> String {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let a = self.0.abs();
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    }
}

/// `+HH`, `+HH:MM`, `+HHMM`, `+HH:MM:SS` → seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let parts: Vec<&str> = if digits.contains(':') {
        digits.split(':').collect()
    } else if digits.len() == 4 {
        vec![&digits[..2], &digits[2..]]
    } else {
        vec![digits]
    };
    let mut secs = 0i32;
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) || i > 2 {
            return None;
        }
        let v: i32 = p.parse().ok()?;
        secs += v * [3600, 60, 1][i];
    }
    (secs <= 18 * 3600).then_some(sign * secs)
}

/// Days since the epoch of `YYYY-MM-DD` (a trailing ` BC` or anything else: `None`).
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `HH:MM:SS[.fffffffff]` → nanoseconds since midnight, and the rest of the string.
fn parse_clock(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h: i64 = s[..2].parse().ok()?;
    let mi: i64 = s[3..5].parse().ok()?;
    let se: i64 = s[6..8].parse().ok()?;
    if h > 24 || mi > 59 || se > 60 {
        return None;
    }
    let mut nanos = 0i64;
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = frac[..n].parse::<i64>().ok()? * 10i64.pow(9 - n as u32);
        rest = &frac[n..];
    }
    Some(((h * 3600 + mi * 60 + se) * 1_000_000_000 + nanos, rest))
}

/// A time of day (`03:04:05.123`, PostgreSQL `timetz` `03:04:05+02`) → nanoseconds since
/// midnight UTC (a zone, if any, is applied; the result wraps around the day).
pub fn parse_time(s: &str) -> Option<i64> {
    let (nanos, rest) = parse_clock(s)?;
    let offset = if rest.is_empty() {
        0
    } else {
        parse_offset(rest)? as i64
    };
    Some((nanos - offset * 1_000_000_000).rem_euclid(86_400 * 1_000_000_000))
}

/// Nanoseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.f…][±HH[:MM]]` (`T` also accepted);
/// a value without a zone is in `default`.
pub fn parse_timestamp(s: &str, default: TzOffset) -> Option<i128> {
    if s.len() < 19 {
        return None;
    }
    let days = parse_date(&s[..10])?;
    if !matches!(s.as_bytes()[10], b' ' | b'T') {
        return None;
    }
    let (nanos, rest) = parse_clock(&s[11..])?;
    let offset = match rest {
        "" => default.0,
        "Z" => 0,
        r => parse_offset(r)?,
    };
    Some((days as i128 * 86_400 - offset as i128) * 1_000_000_000 + nanos as i128)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` of an epoch-nanosecond instant, in the zone `tz` (no suffix;
/// microseconds, truncated: what both servers store).
pub fn format_timestamp(epoch_nanos: i128, tz: TzOffset) -> String {
    let local = epoch_nanos + tz.0 as i128 * 1_000_000_000;
    let secs = local.div_euclid(1_000_000_000) as i64;
    let micros = (local.rem_euclid(1_000_000_000) / 1000) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM:SS.fff` of milliseconds since midnight.
pub fn format_time_millis(ms: i64) -> String {
    let ms = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        (ms % 3_600_000) / 60_000,
        (ms % 60_000) / 1000,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip() {
        for (y, m, d, n) in [
            (1970, 1, 1, 0),
            (2000, 3, 1, 11017),
            (1969, 12, 31, -1),
            (2024, 2, 29, 19782),
        ] {
            assert_eq!(days_from_civil(y, m, d), n);
            assert_eq!(civil_from_days(n), (y, m, d));
        }
    }

    #[test]
    fn timestamps() {
        let utc = TzOffset(0);
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:01.5", utc),
            Some(1_500_000_000)
        );
        assert_eq!(parse_timestamp("1970-01-01 02:00:00+02", utc), Some(0));
        assert_eq!(
            parse_timestamp("1970-01-01 02:00:00", TzOffset(7200)),
            Some(0)
        );
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05.123456+05:30", utc)
                .map(|n| format_timestamp(n, TzOffset(19800))),
            Some("2024-01-02 03:04:05.123456".into())
        );
        assert_eq!(parse_timestamp("infinity", utc), None);
        assert_eq!(format_timestamp(-1, utc), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn times_dates_offsets() {
        assert_eq!(
            parse_time("03:04:05.5"),
            Some(((3 * 3600 + 4 * 60 + 5) * 1000 + 500) * 1_000_000)
        );
        assert_eq!(parse_time("01:00:00+02"), Some(23 * 3600 * 1_000_000_000));
        assert_eq!(parse_date("2024-01-02"), Some(19724));
        assert_eq!(TzOffset::parse("UTC"), Some(TzOffset(0)));
        assert_eq!(TzOffset::parse("+05:30"), Some(TzOffset(19800)));
        assert_eq!(TzOffset::parse("GMT-03"), Some(TzOffset(-10800)));
        assert_eq!(TzOffset::parse("Europe/Berlin"), None);
        assert_eq!(TzOffset(-10800).iso(), "-03:00");
        assert_eq!(format_time_millis(3_723_004), "01:02:03.004");
    }
}
