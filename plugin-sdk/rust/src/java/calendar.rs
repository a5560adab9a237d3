//! Java's calendar arithmetic in UTC: day numbers (days since 1970-01-01) to dates and
//! back, and the two fixed date renderings Kafka's plugins expose.
//!
//! Two calendars, because Java has both: [`gregorian_from_days`] is the proleptic Gregorian
//! calendar (`java.time`, and what Sluice's renderings have always used), while
//! [`java_calendar_from_days`] is `java.util.GregorianCalendar`'s default, Julian before
//! 1582-10-15 (what `SimpleDateFormat` shows).

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;
/// Day number of 1582-10-15, the first Gregorian day of Java's default calendar.
const GREGORIAN_CUTOVER_DAY: i64 = -141_427;

/// Day number to proleptic Gregorian (year, month 1..=12, day) — Howard Hinnant's
/// `civil_from_days`.
pub fn gregorian_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since the epoch, proleptic Gregorian; month may be any value
/// in 1..=12, day any value (lenient: it is simply added).
pub fn days_from_gregorian(y: i64, m: u32, d: i64) -> i64 {
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

/// Day number to (year, month, day) in Java's default calendar: Julian before the
/// cutover, Gregorian from it.
pub fn java_calendar_from_days(days: i64) -> (i64, u32, u32) {
    if days >= GREGORIAN_CUTOVER_DAY {
        gregorian_from_days(days)
    } else {
        julian_from_days(days)
    }
}

/// (year, month, day) to day number in Java's default calendar; as lenient as
/// [`days_from_gregorian`].
pub fn days_from_java_calendar(y: i64, m: u32, d: i64) -> i64 {
    let g = days_from_gregorian(y, m, d);
    if g >= GREGORIAN_CUTOVER_DAY {
        g
    } else {
        days_from_julian(y, m, d)
    }
}

/// `java.util.Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`
/// (`Tue Nov 14 22:13:20 UTC 2023`).
pub fn date_to_string(epoch_millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = gregorian_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        year
    )
}

/// Connect's `Values.dateFormatFor(date).format(date)`, in UTC: time-of-day for values under
/// a day, a date for whole days, a full timestamp otherwise.
pub fn values_date_string(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let of_day = ms.rem_euclid(MS_PER_DAY);
    let time = format!(
        "{:02}:{:02}:{:02}.{:03}",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    );
    let (y, m, d) = gregorian_from_days(days);
    let date = format!("{y:04}-{m:02}-{d:02}");
    if ms < MS_PER_DAY {
        format!("{time}Z")
    } else if ms % MS_PER_DAY == 0 {
        date
    } else {
        format!("{date}T{time}Z")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_in_both_calendars() {
        assert_eq!(gregorian_from_days(0), (1970, 1, 1));
        assert_eq!(gregorian_from_days(19_675), (2023, 11, 14));
        assert_eq!(gregorian_from_days(-1), (1969, 12, 31));
        for days in [-800_000, -141_428, -141_427, -1, 0, 59, 19_675, 2_932_896] {
            let (y, m, d) = gregorian_from_days(days);
            assert_eq!(days_from_gregorian(y, m, i64::from(d)), days);
            let (y, m, d) = java_calendar_from_days(days);
            assert_eq!(days_from_java_calendar(y, m, i64::from(d)), days);
        }
        // The day before the cutover is 1582-10-04 in Java, 1582-10-14 proleptic.
        assert_eq!(java_calendar_from_days(-141_428), (1582, 10, 4));
        assert_eq!(gregorian_from_days(-141_428), (1582, 10, 14));
    }

    #[test]
    fn dates_print_like_java() {
        assert_eq!(
            date_to_string(1_700_000_000_000),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(date_to_string(-1), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(values_date_string(0), "00:00:00.000Z");
        assert_eq!(values_date_string(86_400_000), "1970-01-02");
        assert_eq!(
            values_date_string(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
