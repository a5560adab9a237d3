//! Dates, times and timestamps as the databases print them (text protocol), converted to and
//! from Connect's epoch-based logical values, in the zone of values that carry none
//! (`db.timezone`: a fixed offset or a named IANA zone, whose offset depends on the date).

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};

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

/// `db.timezone`: the zone of date/time values that carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC in seconds (east positive).
    Fixed(i32),
    /// An IANA zone (`Europe/Berlin`): daylight saving time and historic changes apply, from
    /// the tz database compiled into the plugin (`chrono-tz`).
    Named(chrono_tz::Tz),
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::UTC
    }
}

impl Zone {
    pub const UTC: Zone = Zone::Fixed(0);

    /// Accepts `UTC`, `GMT`, `Z`, `Etc/UTC`, `+02:00`, `-0530`, `UTC+02:00`, `GMT-03`, and IANA
    /// names (`Europe/Berlin`, `America/New_York`), as Java's `ZoneId.of` does.
    pub fn parse(s: &str) -> Option<Zone> {
        let s = s.trim();
        let rest = ["Etc/UTC", "Etc/GMT", "UTC", "GMT", "Z"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .unwrap_or(s);
        if rest.is_empty() {
            return Some(Zone::UTC);
        }
        if let Some(secs) = parse_offset(rest) {
            return Some(Zone::Fixed(secs));
        }
        s.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
    }

    /// Seconds east of UTC at the instant `utc_secs` (epoch seconds).
    pub fn offset_at(self, utc_secs: i64) -> i32 {
        match self {
            Zone::Fixed(secs) => secs,
            Zone::Named(tz) => match DateTime::from_timestamp(utc_secs, 0) {
                Some(t) => tz
                    .offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    /// Seconds east of UTC of the wall-clock time `local_secs` (seconds since 1970-01-01
    /// 00:00 local), resolved as Java's `ZonedDateTime.ofLocal` does (what Confluent's
    /// connector uses): in an overlap the earlier offset, in a gap the offset before it (so
    /// the time moves forward by the gap's length).
    pub fn offset_for_local(self, local_secs: i64) -> i32 {
        let Zone::Named(tz) = self else {
            return self.offset_at(0);
        };
        let Some(local) = DateTime::from_timestamp(local_secs, 0).map(|t| t.naive_utc()) else {
            return 0;
        };
        let fixed = |naive: &NaiveDateTime| {
            tz.offset_from_local_datetime(naive)
                .earliest()
                .map(|o| o.fix().local_minus_utc())
        };
        // In a gap no offset fits: take the one in force a day earlier (before the gap).
        fixed(&local).unwrap_or_else(|| self.offset_at(local_secs - 86_400))
    }

    /// The session time zone for PostgreSQL: a POSIX spec for a fixed offset (its sign is
    /// inverted: `<+02:00>-02:00` is UTC+2), the name for a named zone (PostgreSQL has them).
    pub fn pg_session(self) -> String {
        match self {
            Zone::Fixed(secs) => {
                format!("<{}>{}", iso_offset(secs), iso_offset(-secs))
            }
            Zone::Named(tz) => tz.name().to_string(),
        }
    }

    /// The session `time_zone` for MySQL/MariaDB (`None` for UTC, which needs no change). A
    /// named zone needs the server's zone tables (`mysql_tzinfo_to_sql`).
    pub fn mysql_session(self) -> Option<String> {
        match self {
            Zone::Fixed(0) => None,
            Zone::Fixed(secs) => Some(iso_offset(secs)),
            Zone::Named(tz) => Some(tz.name().to_string()),
        }
    }
}

/// `+02:00`.
pub fn iso_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
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
pub fn parse_timestamp(s: &str, default: Zone) -> Option<i128> {
    if s.len() < 19 {
        return None;
    }
    let days = parse_date(&s[..10])?;
    if !matches!(s.as_bytes()[10], b' ' | b'T') {
        return None;
    }
    let (nanos, rest) = parse_clock(&s[11..])?;
    let offset = match rest {
        "" => default.offset_for_local(days * 86_400 + nanos.div_euclid(1_000_000_000)),
        "Z" => 0,
        r => parse_offset(r)?,
    };
    Some((days as i128 * 86_400 - offset as i128) * 1_000_000_000 + nanos as i128)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` of an epoch-nanosecond instant, in the zone `tz` (no suffix;
/// microseconds, truncated: what both servers store).
pub fn format_timestamp(epoch_nanos: i128, tz: Zone) -> String {
    let offset = tz.offset_at(epoch_nanos.div_euclid(1_000_000_000) as i64);
    let local = epoch_nanos + offset as i128 * 1_000_000_000;
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
        let utc = Zone::UTC;
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:01.5", utc),
            Some(1_500_000_000)
        );
        assert_eq!(parse_timestamp("1970-01-01 02:00:00+02", utc), Some(0));
        assert_eq!(
            parse_timestamp("1970-01-01 02:00:00", Zone::Fixed(7200)),
            Some(0)
        );
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05.123456+05:30", utc)
                .map(|n| format_timestamp(n, Zone::Fixed(19800))),
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
        assert_eq!(Zone::parse("UTC"), Some(Zone::UTC));
        assert_eq!(Zone::parse("+05:30"), Some(Zone::Fixed(19800)));
        assert_eq!(Zone::parse("GMT-03"), Some(Zone::Fixed(-10800)));
        assert_eq!(
            Zone::parse("Europe/Berlin"),
            Some(Zone::Named(chrono_tz::Europe::Berlin))
        );
        assert_eq!(Zone::parse("Europe/Nowhere"), None);
        assert_eq!(Zone::Fixed(-10800).pg_session(), "<-03:00>+03:00");
        assert_eq!(
            Zone::Fixed(-10800).mysql_session().as_deref(),
            Some("-03:00")
        );
        assert_eq!(format_time_millis(3_723_004), "01:02:03.004");
    }

    #[test]
    fn named_zones_follow_daylight_saving_time() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let at = |s: &str| parse_timestamp(s, berlin).map(|n| (n / 1_000_000_000) as i64);
        // Winter +01:00, summer +02:00.
        let winter = at("2024-01-15 12:00:00").unwrap();
        let summer = at("2024-07-15 12:00:00").unwrap();
        assert_eq!(
            format_timestamp(winter as i128 * 1_000_000_000, Zone::UTC),
            "2024-01-15 11:00:00.000000"
        );
        assert_eq!(
            format_timestamp(summer as i128 * 1_000_000_000, Zone::UTC),
            "2024-07-15 10:00:00.000000"
        );
        // And back: UTC instants printed as Berlin wall-clock time.
        assert_eq!(
            format_timestamp(summer as i128 * 1_000_000_000, berlin),
            "2024-07-15 12:00:00.000000"
        );
        // 2024-10-27 02:30 happened twice: the earlier (summer, +02:00) one, as Java picks.
        assert_eq!(at("2024-10-27 02:30:00"), at("2024-10-27 00:30:00+00"));
        // 2024-03-31 02:30 never happened: moved forward by the gap, to 03:30 +02:00.
        assert_eq!(at("2024-03-31 02:30:00"), at("2024-03-31 01:30:00+00"));
        assert_eq!(berlin.pg_session(), "Europe/Berlin");
    }
}
