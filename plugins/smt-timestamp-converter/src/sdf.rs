//! A `java.text.SimpleDateFormat` work-alike, fixed to the UTC time zone and the English
//! locale — exactly the setting Kafka's TimestampConverter and TimestampRouter use.
//!
//! Shared (via `#[path]`) by smt-timestamp-converter and smt-timestamp-router, so both format
//! and parse the same way. Java's rules kept on purpose:
//! - pattern compilation: ASCII letters are fields, `'…'` quotes literals, `''` is a quote,
//!   letters Java does not know are rejected with Java's message;
//! - dates before 1582-10-15 use the Julian calendar (Java's default `GregorianCalendar`);
//! - parsing is lenient (out-of-range fields roll over), abutting numeric fields take exactly
//!   their letter count of digits, trailing text after the pattern is ignored.
//!
//! Week-based letters (`w W F Y`) are valid in Java but not implemented here; they are rejected
//! at configuration time with an error naming the letter.

const MS_PER_DAY: i64 = 86_400_000;
/// Day number (days since 1970-01-01) of 1582-10-15, the first Gregorian day in Java.
const GREGORIAN_CUTOVER_DAY: i64 = -141_427;

const MONTHS: [&str; 12] = [
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
const WEEKDAYS: [&str; 7] = [
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
enum Item {
    Literal(String),
    Field(char, usize),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct DateFormat {
    pattern: String,
    items: Vec<Item>,
}

/// Broken-down UTC time.
struct Civil {
    year: i64,
    month: u32, // 1..=12
    day: u32,
    day_of_year: i64,
    weekday: usize, // 0 = Sunday
    ms_of_day: i64,
}

/// Days since the epoch → (year, month, day), proleptic Gregorian.
fn gregorian_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since the epoch, proleptic Gregorian; month may be any value
/// in 1..=12, day any value (lenient: it is simply added).
fn days_from_gregorian(y: i64, m: u32, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (d - 1)
}

fn julian_from_days(days: i64) -> (i64, u32, u32) {
    let c = days + 2_440_588 + 32_082;
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2).div_euclid(153);
    let day = (e - (153 * m + 2).div_euclid(5) + 1) as u32;
    let month = (m + 3 - 12 * (m / 10)) as u32;
    (d - 4800 + m / 10, month, day)
}

fn days_from_julian(y: i64, m: u32, d: i64) -> i64 {
    let a = (14 - m as i64) / 12;
    let yy = y + 4800 - a;
    let mm = m as i64 + 12 * a - 3;
    let jdn = 1 + (153 * mm + 2) / 5 + 365 * yy + yy.div_euclid(4) - 32_083;
    jdn - 2_440_588 + (d - 1)
}

/// Java's calendar: Julian before the cutover, Gregorian from it.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    if days >= GREGORIAN_CUTOVER_DAY {
        gregorian_from_days(days)
    } else {
        julian_from_days(days)
    }
}

fn days_from_civil(y: i64, m: u32, d: i64) -> i64 {
    let g = days_from_gregorian(y, m, d);
    if g >= GREGORIAN_CUTOVER_DAY {
        g
    } else {
        days_from_julian(y, m, d)
    }
}

fn civil(millis: i64) -> Civil {
    let days = millis.div_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        day_of_year: days - days_from_civil(year, 1, 1) + 1,
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

#[derive(Default)]
struct Fields {
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
    fn millis(&self) -> i64 {
        let mut year = self.year.unwrap_or(1970);
        if self.bc {
            year = 1 - year;
        }
        let days = match (self.day_of_year, self.month.is_some() || self.day.is_some()) {
            (Some(doy), false) => days_from_civil(year, 1, 1) + doy - 1,
            _ => {
                let month = self.month.unwrap_or(0);
                let y = year + month.div_euclid(12);
                let m = month.rem_euclid(12) as u32 + 1;
                days_from_civil(y, m, self.day.unwrap_or(1))
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

fn parse_field(
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
        assert_eq!(
            fmt("yyyy-MM-dd", GREGORIAN_CUTOVER_DAY * MS_PER_DAY - 1),
            "1582-10-04"
        );
    }

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
