//! `java.text.SimpleDateFormat`, fixed to the UTC time zone and the English locale —
//! exactly the setting Kafka's TimestampConverter, TimestampRouter and InsertHeader use.
//! Compiling and formatting are here, parsing in [`parse`].
//!
//! Java's rules kept on purpose:
//! - pattern compilation: ASCII letters are fields, `'…'` quotes literals, `''` is a quote,
//!   letters Java does not know are rejected with Java's message;
//! - dates before 1582-10-15 use the Julian calendar (Java's default `GregorianCalendar`);
//! - parsing is lenient (out-of-range fields roll over), abutting numeric fields take exactly
//!   their letter count of digits, trailing text after the pattern is ignored.
//!
//! Week-based letters (`w W F Y`) are valid in Java but not implemented here; they are rejected
//! at configuration time with an error naming the letter.

mod parse;

use super::calendar::{days_from_java_calendar, java_calendar_from_days, MS_PER_DAY};
use parse::{parse_field, Fields};

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Letters Java's SimpleDateFormat accepts (`DateFormatSymbols.patternChars`).
const JAVA_LETTERS: &str = "GyMdkHmsSEDFwWahKzZYuXL";
/// Letters implemented here.
const SUPPORTED: &str = "GyMLdHhKkmsSEuDazZX";

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    Literal(String),
    Field(char, usize),
}

/// A compiled `SimpleDateFormat` pattern.
///
/// ```
/// use sluice_plugin_sdk::java::DateFormat;
///
/// let f = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").unwrap();
/// assert_eq!(f.format(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
/// assert_eq!(f.parse("2023-11-14T23:13:20.123+01:00"), Some(1_700_000_000_123));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DateFormat {
    pattern: String,
    items: Vec<Item>,
}

/// Broken-down UTC time.
pub(super) struct Civil {
    pub(super) year: i64,
    month: u32, // 1..=12
    day: u32,
    day_of_year: i64,
    weekday: usize, // 0 = Sunday
    ms_of_day: i64,
}

pub(super) fn civil(millis: i64) -> Civil {
    let days = millis.div_euclid(MS_PER_DAY);
    let (year, month, day) = java_calendar_from_days(days);
    Civil {
        year,
        month,
        day,
        day_of_year: days - days_from_java_calendar(year, 1, 1) + 1,
        weekday: (days + 4).rem_euclid(7) as usize,
        ms_of_day: millis.rem_euclid(MS_PER_DAY),
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        out.push('-');
    }
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

fn letter_name(c: char) -> &'static str {
    match c {
        'F' => "day of week in month",
        'w' => "week in year",
        'W' => "week in month",
        'Y' => "week year",
        _ => "pattern letter",
    }
}

impl DateFormat {
    /// Compiles a pattern; errors carry Java's message where Java rejects the pattern.
    pub fn new(pattern: &str) -> Result<DateFormat, String> {
        let mut items: Vec<Item> = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut literal = String::new();
        let mut i = 0;
        let mut in_quote = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if i + 1 < chars.len() && chars[i + 1] == '\'' {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                in_quote = !in_quote;
                i += 1;
                continue;
            }
            if in_quote || !c.is_ascii_alphabetic() {
                literal.push(c);
                i += 1;
                continue;
            }
            if !JAVA_LETTERS.contains(c) {
                return Err(format!("Illegal pattern character '{c}'"));
            }
            if !SUPPORTED.contains(c) {
                return Err(format!(
                    "pattern letter '{c}' ({}) in \"{pattern}\" is valid in Java but not supported by Sluice; supported letters: {}",
                    letter_name(c),
                    SUPPORTED.chars().map(String::from).collect::<Vec<_>>().join(" ")
                ));
            }
            let mut count = 1;
            while i + count < chars.len() && chars[i + count] == c {
                count += 1;
            }
            if c == 'X' && count > 3 {
                return Err(format!("invalid ISO 8601 format: length={count}"));
            }
            if !literal.is_empty() {
                items.push(Item::Literal(std::mem::take(&mut literal)));
            }
            items.push(Item::Field(c, count));
            i += count;
        }
        if in_quote {
            return Err("Unterminated quote".into());
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            items,
        })
    }

    /// The pattern as given (Java's `toPattern()`).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats epoch milliseconds in UTC.
    pub fn format(&self, millis: i64) -> String {
        let t = civil(millis);
        let bc = t.year <= 0;
        let year_of_era = if bc { 1 - t.year } else { t.year };
        let hour = t.ms_of_day / 3_600_000;
        let mut out = String::new();
        for item in &self.items {
            let (c, n) = match item {
                Item::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Item::Field(c, n) => (*c, *n),
            };
            match c {
                'G' => out.push_str(if bc { "BC" } else { "AD" }),
                'y' if n == 2 => pad(&mut out, year_of_era % 100, 2),
                'y' => pad(&mut out, year_of_era, n),
                'M' | 'L' if n >= 4 => out.push_str(MONTHS[t.month as usize - 1]),
                'M' | 'L' if n == 3 => out.push_str(&MONTHS[t.month as usize - 1][..3]),
                'M' | 'L' => pad(&mut out, t.month.into(), n),
                'd' => pad(&mut out, t.day.into(), n),
                'H' => pad(&mut out, hour, n),
                'h' => pad(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, n),
                'K' => pad(&mut out, hour % 12, n),
                'k' => pad(&mut out, if hour == 0 { 24 } else { hour }, n),
                'm' => pad(&mut out, t.ms_of_day / 60_000 % 60, n),
                's' => pad(&mut out, t.ms_of_day / 1000 % 60, n),
                'S' => pad(&mut out, t.ms_of_day % 1000, n),
                'E' if n >= 4 => out.push_str(WEEKDAYS[t.weekday]),
                'E' => out.push_str(&WEEKDAYS[t.weekday][..3]),
                'u' => pad(
                    &mut out,
                    if t.weekday == 0 { 7 } else { t.weekday as i64 },
                    n,
                ),
                'D' => pad(&mut out, t.day_of_year, n),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'z' if n >= 4 => out.push_str("Coordinated Universal Time"),
                'z' => out.push_str("UTC"),
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                _ => unreachable!("letters are checked when compiling"),
            }
        }
        out
    }

    /// Parses text into epoch milliseconds as Java's lenient `SimpleDateFormat.parse(String)`:
    /// `None` when the text does not match (Java's `ParseException`).
    pub fn parse(&self, text: &str) -> Option<i64> {
        let text: Vec<char> = text.chars().collect();
        let mut pos = 0usize;
        let mut f = Fields::default();
        for (idx, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(lit) => {
                    for c in lit.chars() {
                        if text.get(pos) != Some(&c) {
                            return None;
                        }
                        pos += 1;
                    }
                }
                Item::Field(c, n) => {
                    let obey_count = match self.items.get(idx + 1) {
                        Some(Item::Field(next, next_n)) => match next {
                            'M' | 'L' => *next_n <= 2,
                            'y' | 'd' | 'k' | 'H' | 'm' | 's' | 'S' | 'D' | 'h' | 'K' | 'u' => true,
                            _ => false,
                        },
                        _ => false,
                    };
                    pos = parse_field(&text, pos, *c, *n, obey_count, &mut f)?;
                }
            }
        }
        Some(f.millis())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fmt(p: &str, ms: i64) -> String {
        DateFormat::new(p).unwrap().format(ms)
    }

    #[test]
    fn formats_like_java() {
        // 2023-11-14T22:13:20.123Z
        let ms = 1_700_000_000_123;
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", ms),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(fmt("yyyyMMdd", ms), "20231114");
        assert_eq!(fmt("yy-M-d h:mm a", ms), "23-11-14 10:13 PM");
        assert_eq!(
            fmt("EEE, d MMM yyyy HH:mm:ss Z", ms),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
        assert_eq!(
            fmt("EEEE MMMM D z zzzz", ms),
            "Tuesday November 318 UTC Coordinated Universal Time"
        );
        assert_eq!(fmt("'o''clock' ''", ms), "o'clock '");
        assert_eq!(fmt("SSSSSS", ms), "000123");
        assert_eq!(fmt("yyyy-MM-dd", -1), "1969-12-31");
        assert_eq!(
            fmt("G yyyy-MM-dd", -62_135_769_600_000 - MS_PER_DAY),
            "BC 0001-12-31"
        );
        // Julian calendar before the cutover: the day before 1582-10-15 is 1582-10-04.
        assert_eq!(fmt("yyyy-MM-dd", -141_427 * MS_PER_DAY - 1), "1582-10-04");
    }

    #[test]
    fn rejects_patterns_with_precise_errors() {
        assert_eq!(
            DateFormat::new("yyyy-qq").unwrap_err(),
            "Illegal pattern character 'q'"
        );
        assert_eq!(
            DateFormat::new("yyyy-'T").unwrap_err(),
            "Unterminated quote"
        );
        assert!(DateFormat::new("YYYY-ww")
            .unwrap_err()
            .contains("'Y' (week year)"));
        assert_eq!(
            DateFormat::new("XXXX").unwrap_err(),
            "invalid ISO 8601 format: length=4"
        );
    }
}
