//! Joda-Time `DateTimeFormat` patterns, as Confluent's TimeBasedPartitioner uses them for
//! `path.format` (`'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`), formatted in a time zone.
//!
//! Joda's letters, not `SimpleDateFormat`'s: `Y` is the year of era (not a week year), `e` the
//! ISO day-of-week number, `k` the clock hour 1–24. Implemented: `G C Y y M d D e E a H k K h
//! m s S Z`; the week-based letters (`x w`) and zone names (`z`) are refused when the
//! connector is configured, naming the letter. Text (month and day names, AM/PM, era) is
//! English, so a non-English `locale` is refused for patterns that contain text.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

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
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Field(char, usize),
}

/// A compiled `path.format`.
#[derive(Debug, Clone)]
pub struct PathFormat {
    items: Vec<Item>,
    tz: Tz,
}

impl PathFormat {
    /// Compiles `pattern` for time zone `tz` and `locale` (Java's locale string, e.g. `en_US`).
    pub fn new(pattern: &str, tz: Tz, locale: &str) -> Result<PathFormat, String> {
        let items = compile(pattern)?;
        let has_text = items.iter().any(|i| {
            matches!(i, Item::Field('E' | 'a' | 'G', _))
                || matches!(i, Item::Field('M', n) if *n >= 3)
        });
        let language = locale
            .split(['_', '-'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if has_text && !matches!(language.as_str(), "" | "en" | "us" | "uk" | "gb") {
            return Err(format!(
                "locale '{locale}' is not supported for a path.format with month or day names: \
                 Sluice writes them in English (use an English locale, or numeric fields)"
            ));
        }
        Ok(PathFormat { items, tz })
    }

    /// Formats the instant `epoch_ms` in the format's time zone.
    pub fn format(&self, epoch_ms: i64) -> String {
        let Some(t) = self.tz.timestamp_millis_opt(epoch_ms).single() else {
            return String::new();
        };
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Field(c, n) => field(&mut out, &t, *c, *n),
            }
        }
        out
    }
}

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let digits = v.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

fn field(out: &mut String, t: &DateTime<Tz>, c: char, n: usize) {
    let year = i64::from(t.year());
    let year_of_era = if year <= 0 { 1 - year } else { year };
    match c {
        'G' => out.push_str(if year <= 0 { "BC" } else { "AD" }),
        'C' => pad(out, year_of_era / 100, n),
        'Y' | 'y' => {
            let v = if c == 'Y' { year_of_era } else { year };
            if n == 2 {
                pad(out, v.rem_euclid(100), 2)
            } else {
                pad(out, v, n)
            }
        }
        'M' if n >= 4 => out.push_str(MONTHS[t.month0() as usize]),
        'M' if n == 3 => out.push_str(&MONTHS[t.month0() as usize][..3]),
        'M' => pad(out, i64::from(t.month()), n),
        'd' => pad(out, i64::from(t.day()), n),
        'D' => pad(out, i64::from(t.ordinal()), n),
        'e' => pad(out, i64::from(t.weekday().number_from_monday()), n),
        'E' => {
            let day = DAYS[t.weekday().num_days_from_monday() as usize];
            out.push_str(if n >= 4 { day } else { &day[..3] })
        }
        'a' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
        'H' => pad(out, i64::from(t.hour()), n),
        'k' => pad(out, i64::from(if t.hour() == 0 { 24 } else { t.hour() }), n),
        'K' => pad(out, i64::from(t.hour() % 12), n),
        'h' => pad(
            out,
            i64::from(if t.hour().is_multiple_of(12) {
                12
            } else {
                t.hour() % 12
            }),
            n,
        ),
        'm' => pad(out, i64::from(t.minute()), n),
        's' => pad(out, i64::from(t.second()), n),
        'S' => {
            // Joda's fraction of second: the first `n` digits of the millisecond fraction.
            let millis = format!("{:03}", t.timestamp_subsec_millis());
            let mut digits: String = millis.chars().take(n).collect();
            while digits.len() < n {
                digits.push('0');
            }
            out.push_str(&digits);
        }
        'Z' => {
            let secs = t.offset().fix().local_minus_utc();
            if n >= 3 {
                out.push_str(t.timezone().name());
            } else {
                let sign = if secs < 0 { '-' } else { '+' };
                let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
                if n == 2 {
                    out.push_str(&format!("{sign}{h:02}:{m:02}"));
                } else {
                    out.push_str(&format!("{sign}{h:02}{m:02}"));
                }
            }
        }
        _ => {}
    }
}

fn compile(pattern: &str) -> Result<Vec<Item>, String> {
    const SUPPORTED: &str = "GCYyMdDeEaHkKhmsSZ";
    let chars: Vec<char> = pattern.chars().collect();
    let mut items = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                literal.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err(format!("path.format '{pattern}': unterminated quote")),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        literal.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        literal.push(ch);
                        j += 1;
                    }
                }
            }
            i = j + 1;
        } else if c.is_ascii_alphabetic() {
            if !SUPPORTED.contains(c) {
                return Err(format!(
                    "path.format '{pattern}': the pattern letter '{c}' is not supported (supported: {})",
                    SUPPORTED.chars().map(String::from).collect::<Vec<_>>().join(" ")
                ));
            }
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            if !literal.is_empty() {
                items.push(Item::Literal(std::mem::take(&mut literal)));
            }
            items.push(Item::Field(c, n));
            i += n;
        } else {
            literal.push(c);
            i += 1;
        }
    }
    if !literal.is_empty() {
        items.push(Item::Literal(literal));
    }
    Ok(items)
}

/// The UTC offset of `tz` at the instant `epoch_ms`, in milliseconds.
pub fn offset_ms(tz: &Tz, epoch_ms: i64) -> i64 {
    tz.timestamp_millis_opt(epoch_ms)
        .single()
        .map_or(0, |t| i64::from(t.offset().fix().local_minus_utc()) * 1000)
}

/// Confluent's `TimeBasedPartitioner.getPartition`: the start of the `duration_ms` bucket
/// that holds `epoch_ms`, buckets aligned to local time in `tz` (so daily buckets start at
/// local midnight). Java's integer division truncates toward zero; so does Rust's.
pub fn bucket_start(duration_ms: i64, epoch_ms: i64, tz: &Tz) -> i64 {
    let local = epoch_ms + offset_ms(tz, epoch_ms);
    let bucket = (local / duration_ms) * duration_ms;
    // Joda's convertLocalToUTC: the offset in force at the local instant.
    let guess = offset_ms(tz, bucket);
    bucket - offset_ms(tz, bucket - guess)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    #[test]
    fn confluent_style_paths() {
        let f =
            PathFormat::new("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", tz("UTC"), "en").unwrap();
        // 2023-11-14T22:13:20Z
        assert_eq!(
            f.format(1_700_000_000_000),
            "year=2023/month=11/day=14/hour=22"
        );
        let f = PathFormat::new("YYYY-MM-dd", tz("America/Los_Angeles"), "en_US").unwrap();
        assert_eq!(f.format(1_700_000_000_000), "2023-11-14");
        let f = PathFormat::new("YYYY-MM-dd", tz("Asia/Tokyo"), "US").unwrap();
        assert_eq!(f.format(1_700_000_000_000), "2023-11-15");
    }

    #[test]
    fn text_fields_literals_and_quotes() {
        let f = PathFormat::new(
            "EEE EEEE MMM MMMM a h k K yy D e '''x''' SSS ZZ",
            tz("Europe/Paris"),
            "en",
        )
        .unwrap();
        // 2023-11-14T22:13:20.123Z is 23:13:20.123 on Tuesday in Paris (UTC+1).
        assert_eq!(
            f.format(1_700_000_000_123),
            "Tue Tuesday Nov November PM 11 23 11 23 318 2 'x' 123 +01:00"
        );
    }

    #[test]
    fn unsupported_letters_and_non_english_text_are_refused() {
        let e = PathFormat::new("xxxx-ww", tz("UTC"), "en").unwrap_err();
        assert!(e.contains("'x'"), "{e}");
        let e = PathFormat::new("MMMM", tz("UTC"), "de_DE").unwrap_err();
        assert!(e.contains("de_DE"), "{e}");
        assert!(PathFormat::new("YYYY/MM", tz("UTC"), "de_DE").is_ok());
        assert!(PathFormat::new("'open", tz("UTC"), "en").is_err());
    }

    #[test]
    fn buckets_align_to_local_time() {
        let hour = 3_600_000;
        let day = 24 * hour;
        // 2023-11-14T22:13:20Z
        let t = 1_700_000_000_000;
        assert_eq!(bucket_start(hour, t, &tz("UTC")), 1_699_999_200_000);
        assert_eq!(bucket_start(day, t, &tz("UTC")), 1_699_920_000_000);
        // Local midnight in Los Angeles (UTC-8 in November) is 08:00Z.
        assert_eq!(
            bucket_start(day, t, &tz("America/Los_Angeles")),
            1_699_920_000_000 + 8 * hour
        );
    }
}
