//! Parsing as Java's lenient `SimpleDateFormat.parse(String)`: fields are read in pattern
//! order into [`Fields`], which then roll over into epoch milliseconds.

use super::{civil, MONTHS, WEEKDAYS};
use crate::java::calendar::{days_from_java_calendar, MS_PER_DAY};

#[derive(Default)]
pub(super) struct Fields {
    bc: bool,
    year: Option<i64>,
    month: Option<i64>, // 0-based
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour_of_day: Option<i64>,
    hour: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    millis: i64,
    offset_ms: i64,
}

impl Fields {
    pub(super) fn millis(&self) -> i64 {
        let mut year = self.year.unwrap_or(1970);
        if self.bc {
            year = 1 - year;
        }
        let days = match (self.day_of_year, self.month.is_some() || self.day.is_some()) {
            (Some(doy), false) => days_from_java_calendar(year, 1, 1) + doy - 1,
            _ => {
                let month = self.month.unwrap_or(0);
                let y = year + month.div_euclid(12);
                let m = month.rem_euclid(12) as u32 + 1;
                days_from_java_calendar(y, m, self.day.unwrap_or(1))
            }
        };
        let hour = match (self.hour_of_day, self.hour) {
            (Some(h), _) => h,
            (None, Some(h)) => h + if self.pm == Some(true) { 12 } else { 0 },
            (None, None) => {
                if self.pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        days.wrapping_mul(MS_PER_DAY)
            .wrapping_add(hour.wrapping_mul(3_600_000))
            .wrapping_add(self.minute.wrapping_mul(60_000))
            .wrapping_add(self.second.wrapping_mul(1000))
            .wrapping_add(self.millis)
            .wrapping_sub(self.offset_ms)
    }
}

/// Java skips spaces and tabs before a field.
fn skip_blanks(text: &[char], mut pos: usize) -> Option<usize> {
    loop {
        match text.get(pos) {
            None => return None,
            Some(' ') | Some('\t') => pos += 1,
            Some(_) => return Some(pos),
        }
    }
}

/// A decimal integer: at most `limit` characters when `limit` is set (abutting fields).
fn parse_number(text: &[char], start: usize, limit: Option<usize>) -> Option<(i64, usize)> {
    let end = limit.map_or(text.len(), |l| (start + l).min(text.len()));
    let mut pos = start;
    let negative = text.get(pos) == Some(&'-') && limit.is_none();
    if negative {
        pos += 1;
    }
    let digits_start = pos;
    let mut value: i64 = 0;
    while pos < end && text[pos].is_ascii_digit() {
        value = value
            .checked_mul(10)?
            .checked_add(text[pos].to_digit(10)? as i64)?;
        pos += 1;
    }
    if pos == digits_start {
        return None;
    }
    Some((if negative { -value } else { value }, pos))
}

/// Case-insensitive match of the longest of `names` (full, then 3-letter forms).
fn parse_name(text: &[char], start: usize, names: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        for candidate in [*name, &name[..3]] {
            let len = candidate.chars().count();
            if start + len > text.len() {
                continue;
            }
            let slice: String = text[start..start + len].iter().collect();
            if slice.eq_ignore_ascii_case(candidate) && best.is_none_or(|(_, l)| len > l) {
                best = Some((i, len));
            }
        }
    }
    best.map(|(i, len)| (i, start + len))
}

/// `hh[[:]mm]` after a sign, as Java's `subParseNumericZone`.
fn parse_numeric_zone(
    text: &[char],
    start: usize,
    count: usize,
    colon: bool,
) -> Option<(i64, usize)> {
    let digit = |p: usize| text.get(p).and_then(|c| c.to_digit(10)).map(i64::from);
    let mut pos = start;
    let mut hours = digit(pos)?;
    pos += 1;
    match digit(pos) {
        Some(d) => {
            hours = hours * 10 + d;
            pos += 1;
        }
        None if count > 0 || !colon => return None,
        None => {}
    }
    if hours > 23 {
        return None;
    }
    let mut minutes = 0;
    if count != 1 {
        if colon {
            if text.get(pos) != Some(&':') {
                return None;
            }
            pos += 1;
        }
        minutes = digit(pos)? * 10 + digit(pos + 1)?;
        pos += 2;
        if minutes > 59 {
            return None;
        }
    }
    Some(((hours * 60 + minutes) * 60_000, pos))
}

pub(super) fn parse_field(
    text: &[char],
    pos: usize,
    c: char,
    n: usize,
    obey_count: bool,
    f: &mut Fields,
) -> Option<usize> {
    let pos = skip_blanks(text, pos)?;
    let limit = obey_count.then_some(n);
    let number = || parse_number(text, pos, limit);
    match c {
        'G' => {
            let (i, end) = parse_name(text, pos, &["BC", "AD"]).or_else(|| {
                // "BC"/"AD" are only two letters: match them exactly.
                let s: String = text.get(pos..pos + 2)?.iter().collect();
                match s.to_ascii_uppercase().as_str() {
                    "BC" => Some((0, pos + 2)),
                    "AD" => Some((1, pos + 2)),
                    _ => None,
                }
            })?;
            f.bc = i == 0;
            Some(end)
        }
        'y' => {
            let (mut v, end) = number()?;
            if n <= 2
                && end - pos == 2
                && text[pos].is_ascii_digit()
                && text[pos + 1].is_ascii_digit()
            {
                // Java maps two-digit years into the century starting 80 years ago.
                let start_year = current_year() - 80;
                let ambiguous = start_year.rem_euclid(100);
                v += start_year.div_euclid(100) * 100 + if v < ambiguous { 100 } else { 0 };
            }
            f.year = Some(v);
            Some(end)
        }
        'M' | 'L' if n <= 2 => {
            let (v, end) = number()?;
            f.month = Some(v - 1);
            Some(end)
        }
        'M' | 'L' => {
            let (i, end) = parse_name(text, pos, &MONTHS)?;
            f.month = Some(i as i64);
            Some(end)
        }
        'd' => {
            let (v, end) = number()?;
            f.day = Some(v);
            Some(end)
        }
        'D' => {
            let (v, end) = number()?;
            f.day_of_year = Some(v);
            Some(end)
        }
        'H' => {
            let (v, end) = number()?;
            f.hour_of_day = Some(v);
            Some(end)
        }
        'k' => {
            let (v, end) = number()?;
            f.hour_of_day = Some(if v == 24 { 0 } else { v });
            Some(end)
        }
        'h' => {
            let (v, end) = number()?;
            f.hour = Some(if v == 12 { 0 } else { v });
            Some(end)
        }
        'K' => {
            let (v, end) = number()?;
            f.hour = Some(v);
            Some(end)
        }
        'm' => {
            let (v, end) = number()?;
            f.minute = v;
            Some(end)
        }
        's' => {
            let (v, end) = number()?;
            f.second = v;
            Some(end)
        }
        'S' => {
            let (v, end) = number()?;
            f.millis = v;
            Some(end)
        }
        'u' => number().map(|(_, end)| end),
        'E' => parse_name(text, pos, &WEEKDAYS).map(|(_, end)| end),
        'a' => {
            let s: String = text.get(pos..pos + 2)?.iter().collect();
            f.pm = Some(match s.to_ascii_uppercase().as_str() {
                "AM" => false,
                "PM" => true,
                _ => return None,
            });
            Some(pos + 2)
        }
        'X' => {
            let sign = match text.get(pos)? {
                'Z' => {
                    f.offset_ms = 0;
                    return Some(pos + 1);
                }
                '+' => 1,
                '-' => -1,
                _ => return None,
            };
            let (off, end) = parse_numeric_zone(text, pos + 1, n, n == 3)?;
            f.offset_ms = sign * off;
            Some(end)
        }
        'z' | 'Z' => {
            let sign = match text.get(pos)? {
                '+' => 1,
                '-' => -1,
                _ => {
                    let rest: String = text[pos..].iter().take(3).collect();
                    let upper = rest.to_ascii_uppercase();
                    if upper == "GMT" || upper == "UTC" {
                        let after = pos + 3;
                        let sign = match text.get(after) {
                            Some('+') => 1,
                            Some('-') => -1,
                            _ => {
                                f.offset_ms = 0;
                                return Some(after);
                            }
                        };
                        let (off, end) = parse_numeric_zone(text, after + 1, 0, true)?;
                        f.offset_ms = sign * off;
                        return Some(end);
                    }
                    if upper.starts_with("UT") {
                        f.offset_ms = 0;
                        return Some(pos + 2);
                    }
                    return None;
                }
            };
            let (off, end) = parse_numeric_zone(text, pos + 1, 0, false)?;
            f.offset_ms = sign * off;
            Some(end)
        }
        _ => None,
    }
}

/// The current UTC year, for Java's two-digit-year window.
fn current_year() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    civil(now).year
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::DateFormat;

    #[test]
    fn parses_like_java() {
        let p = |pat: &str, s: &str| DateFormat::new(pat).unwrap().parse(s);
        assert_eq!(
            p("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2023-11-14T22:13:20.123Z"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            p(
                "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
                "2023-11-14T23:13:20.123+01:00"
            ),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            p("yyyy-MM-dd HH:mm:ss Z", "2023-11-14 23:13:20 +0100"),
            Some(1_700_000_000_000)
        );
        assert_eq!(p("yyyyMMdd", "20231114"), Some(1_699_920_000_000));
        // Lenient: month 13 rolls into the next year; trailing text is ignored.
        assert_eq!(
            p("yyyy-MM-dd", "2022-13-01xyz"),
            p("yyyy-MM-dd", "2023-01-01")
        );
        assert_eq!(p("dd MMM yyyy", "14 nov 2023"), Some(1_699_920_000_000));
        assert_eq!(p("yyyy-MM-dd", "2023/11/14"), None);
        assert_eq!(p("yyyy-MM-dd", ""), None);
        assert_eq!(p("hh:mm a", "10:00 PM"), Some(22 * 3_600_000));
    }
}
