//! Calendar dates and store-local timestamps.
//!
//! The engine never reads a clock: callers pass `today` and `now` in. Dates are the
//! store's local civil dates (21 CFR limits are counted in local days); timestamps are
//! store-local wall-clock seconds. Both serialize as ISO 8601 text (`2026-03-01`,
//! `2026-03-01T14:30:00`), which is the form the C and Python bindings exchange.
//!
//! Intervals (waits, back-off, lag, deadlines) are measured on a monotonic [`Clock`], read
//! as a [`std::time::Duration`] since the clock's epoch and injected by the caller; the
//! family has this one clock trait. Sync timestamps are Unix milliseconds:
//! [`DateTime::from_unix_ms`] and [`DateTime::to_unix_ms`] convert with the store's UTC
//! offset.

use std::fmt;
use std::str::FromStr;

mod clock;

#[cfg(feature = "system-clock")]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock, duration_to_nanos};

/// Why a date or timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// The text is not `YYYY-MM-DD` / `YYYY-MM-DDTHH:MM:SS`.
    #[error("{input:?} is not a date in YYYY-MM-DD form (or YYYY-MM-DDTHH:MM:SS for a timestamp)")]
    Syntax {
        /// The rejected text (truncated to 64 characters).
        input: String,
    },
    /// A field is out of range (month 13, 31 April, hour 24...).
    #[error("{year:04}-{month:02}-{day:02} is not a calendar date")]
    OutOfRange {
        /// Year as given.
        year: i32,
        /// Month as given.
        month: u32,
        /// Day as given.
        day: u32,
    },
    /// A time of day is out of range.
    #[error("{hour:02}:{minute:02}:{second:02} is not a time of day")]
    BadTime {
        /// Hour as given.
        hour: u32,
        /// Minute as given.
        minute: u32,
        /// Second as given.
        second: u32,
    },
}

/// Smallest supported year (dates before it are rejected to keep arithmetic exact).
pub const MIN_YEAR: i32 = 1900;
/// Largest supported year.
pub const MAX_YEAR: i32 = 9999;

/// A proleptic Gregorian calendar date (the store's local date).
///
/// Stored as days since 1970-01-01, so comparisons and day arithmetic are integer ops.
/// Every value lies in [`Date::MIN`]..=[`Date::MAX`] (years [`MIN_YEAR`]..=[`MAX_YEAR`]):
/// the constructors reject dates outside that range and the arithmetic saturates at its
/// ends, so no operation on a `Date` overflows or panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// Days from 1970-01-01 to the given civil date (H. Hinnant's `days_from_civil`).
const fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`).
const fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Number of days in `month` of `year` (0 for an invalid month).
pub const fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The earliest supported date, 1900-01-01.
    pub const MIN: Date = Date(days_from_civil(MIN_YEAR, 1, 1));
    /// The latest supported date, 9999-12-31.
    pub const MAX: Date = Date(days_from_civil(MAX_YEAR, 12, 31));

    /// Builds a date, rejecting impossible ones (31 April, 29 February 2027, month 0...).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Self, DateError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) || day == 0 || day > days_in_month(year, month) {
            return Err(DateError::OutOfRange { year, month, day });
        }
        Ok(Date(days_from_civil(year, month, day)))
    }

    /// The last day of the given month (used for month-only expiries and GS1 day `00`).
    pub fn end_of_month(year: i32, month: u32) -> Result<Self, DateError> {
        Self::from_ymd(year, month, days_in_month(year, month))
    }

    /// Year, month (1-12) and day (1-31).
    pub const fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Days since 1970-01-01 (negative before).
    pub const fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// The date `n` days later (earlier when negative), saturating at [`Date::MIN`] and
    /// [`Date::MAX`] for any `n`, `i64::MIN` and `i64::MAX` included.
    pub fn add_days(self, n: i64) -> Self {
        let v = i64::from(self.0)
            .saturating_add(n)
            .clamp(i64::from(Date::MIN.0), i64::from(Date::MAX.0));
        // In range of i32: the clamp bounds are i32 values.
        Date(v as i32)
    }

    /// Calendar-month arithmetic with month-end clamping: 31 Aug + 6 months = 28/29 Feb.
    /// Saturates at January [`MIN_YEAR`] and December [`MAX_YEAR`] (keeping the day of month,
    /// clamped to the month's length), so it never goes backwards for a positive `months`.
    ///
    /// This is how "six months after the date of issue" (21 CFR 1306.22(a)) is counted.
    pub fn add_months(self, months: i32) -> Self {
        let (y, m, d) = self.ymd();
        let first = i64::from(MIN_YEAR) * 12;
        let last = i64::from(MAX_YEAR) * 12 + 11;
        let total = (i64::from(y) * 12 + i64::from(m) - 1 + i64::from(months)).clamp(first, last);
        // total / 12 is within MIN_YEAR..=MAX_YEAR after the clamp.
        let ny = total.div_euclid(12) as i32;
        let nm = total.rem_euclid(12) as u32 + 1;
        let nd = d.min(days_in_month(ny, nm));
        Date(days_from_civil(ny, nm, nd))
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub const fn days_until(self, later: Date) -> i32 {
        later.0 - self.0
    }

    /// Midnight at the start of this date.
    pub const fn start(self) -> DateTime {
        DateTime(self.0 as i64 * SECONDS_PER_DAY)
    }

    /// The last second of this date (23:59:59): a deadline "by the end of the day".
    pub const fn end(self) -> DateTime {
        DateTime(self.0 as i64 * SECONDS_PER_DAY + SECONDS_PER_DAY - 1)
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn syntax(input: &str) -> DateError {
    DateError::Syntax {
        input: input.chars().take(64).collect(),
    }
}

fn digits(s: &str, input: &str) -> Result<u32, DateError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(input));
    }
    s.parse().map_err(|_| syntax(input))
}

fn parse_date(s: &str, input: &str) -> Result<Date, DateError> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(syntax(input));
    }
    let year = digits(&s[0..4], input)? as i32;
    let month = digits(&s[5..7], input)?;
    let day = digits(&s[8..10], input)?;
    Date::from_ymd(year, month, day)
}

impl FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_ascii() {
            return Err(syntax(s));
        }
        parse_date(s, s)
    }
}

/// A store-local wall-clock timestamp with one-second resolution.
///
/// Durations such as the 72-hour CII partial-fill window are measured on this clock.
/// Every value lies in [`DateTime::MIN`]..=[`DateTime::MAX`] (the first second of
/// [`Date::MIN`] to the last second of [`Date::MAX`]): arithmetic saturates at those ends,
/// so [`DateTime::date`] is always a supported [`Date`] and differences never overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(i64);

impl DateTime {
    /// The earliest supported timestamp, 1900-01-01T00:00:00.
    pub const MIN: DateTime = Date::MIN.start();
    /// The latest supported timestamp, 9999-12-31T23:59:59.
    pub const MAX: DateTime = Date::MAX.end();

    /// Builds a timestamp from a date and a time of day.
    pub fn new(date: Date, hour: u32, minute: u32, second: u32) -> Result<Self, DateError> {
        if hour > 23 || minute > 59 || second > 59 {
            return Err(DateError::BadTime {
                hour,
                minute,
                second,
            });
        }
        Ok(DateTime(
            date.start().0 + i64::from(hour * 3600 + minute * 60 + second),
        ))
    }

    /// The local date of this timestamp.
    pub const fn date(self) -> Date {
        // Within Date::MIN..=Date::MAX, so the day count fits an i32.
        Date(self.0.div_euclid(SECONDS_PER_DAY) as i32)
    }

    /// Seconds since 1970-01-01T00:00:00 local.
    pub const fn seconds_since_epoch(self) -> i64 {
        self.0
    }

    /// The timestamp `h` hours later (earlier when negative), saturating at
    /// [`DateTime::MIN`] and [`DateTime::MAX`] for any `h`.
    pub const fn add_hours(self, h: i64) -> Self {
        self.add_seconds(h.saturating_mul(3600))
    }

    /// The timestamp `s` seconds later (earlier when negative), saturating at
    /// [`DateTime::MIN`] and [`DateTime::MAX`] for any `s`.
    pub const fn add_seconds(self, s: i64) -> Self {
        let v = self.0.saturating_add(s);
        DateTime(if v < DateTime::MIN.0 {
            DateTime::MIN.0
        } else if v > DateTime::MAX.0 {
            DateTime::MAX.0
        } else {
            v
        })
    }

    /// Whole seconds elapsed from `earlier` to `self` (negative if `earlier` is later).
    /// Exact for every pair of timestamps (the supported range spans about 2.6 × 10¹¹ s).
    pub const fn seconds_since(self, earlier: DateTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// True when more than `hours` hours have passed from `earlier` to `self` (exact to the
    /// second: 24 h 0 min 1 s is more than 24 hours). Any `hours` is accepted: a negative
    /// one asks whether `self` is later than `hours` hours *before* `earlier`.
    pub const fn more_than_hours_after(self, earlier: DateTime, hours: i64) -> bool {
        self.seconds_since(earlier) > hours.saturating_mul(3600)
    }

    /// Hours elapsed from `earlier` to `self`, rounded down (toward earlier times).
    pub const fn hours_since(self, earlier: DateTime) -> i64 {
        self.seconds_since(earlier).div_euclid(3600)
    }

    /// The store-local timestamp of a Unix time in milliseconds (the form pharm-sync's
    /// hybrid logical clocks and the bindings carry), for a store `utc_offset_s` seconds
    /// ahead of UTC (negative west of Greenwich), rounded down to the second and saturating
    /// at [`DateTime::MIN`] and [`DateTime::MAX`].
    pub const fn from_unix_ms(unix_ms: i64, utc_offset_s: i32) -> Self {
        DateTime(0).add_seconds(unix_ms.div_euclid(1000) + utc_offset_s as i64)
    }

    /// The Unix time in milliseconds of this store-local timestamp, for a store
    /// `utc_offset_s` seconds ahead of UTC: the inverse of [`DateTime::from_unix_ms`] on
    /// whole seconds.
    pub const fn to_unix_ms(self, utc_offset_s: i32) -> i64 {
        (self.0 - utc_offset_s as i64) * 1000
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.rem_euclid(86_400);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl FromStr for DateTime {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if !s.is_ascii() || b.len() != 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(syntax(s));
        }
        let date = parse_date(&s[0..10], s)?;
        DateTime::new(
            date,
            digits(&s[11..13], s)?,
            digits(&s[14..16], s)?,
            digits(&s[17..19], s)?,
        )
    }
}

crate::serde_text::text_serde!(Date);
crate::serde_text::text_serde!(DateTime);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn month_end_clamping() {
        assert_eq!(d("2026-08-31").add_months(6), d("2027-02-28"));
        assert_eq!(d("2027-08-31").add_months(6), d("2028-02-29"));
        assert_eq!(d("2026-03-31").add_months(-1), d("2026-02-28"));
        assert_eq!(d("2026-01-15").add_months(6), d("2026-07-15"));
        assert_eq!(d("2026-11-30").add_months(3), d("2027-02-28"));
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2026-02-29",
            "2026-04-31",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "20260101",
            "",
            "２０２６-01-01",
            "1899-12-31",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!("2028-02-29".parse::<Date>().is_ok());
    }

    #[test]
    fn datetime_text_and_hours() {
        let t: DateTime = "2026-03-01T23:30:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-03-01T23:30:00");
        assert_eq!(t.add_hours(72).to_string(), "2026-03-04T23:30:00");
        assert_eq!(t.add_hours(1).date(), d("2026-03-02"));
        assert!("2026-03-01T24:00:00".parse::<DateTime>().is_err());
        assert!("2026-03-01 10:00:00".parse::<DateTime>().is_err());
    }

    #[test]
    fn arithmetic_saturates_at_the_supported_range() {
        let day = d("2026-03-01");
        assert_eq!(day.add_days(i64::MAX), Date::MAX);
        assert_eq!(day.add_days(i64::MIN), Date::MIN);
        assert_eq!(Date::MAX.add_days(1), Date::MAX);
        assert_eq!(Date::MIN.add_days(-1), Date::MIN);
        assert_eq!(Date::MAX.add_months(1), Date::MAX);
        assert_eq!(d("9999-11-30").add_months(i32::MAX), d("9999-12-30"));
        assert_eq!(Date::MIN.add_months(i32::MIN), Date::MIN);
        let t = day.start();
        assert_eq!(t.add_hours(i64::MAX), DateTime::MAX);
        assert_eq!(t.add_hours(i64::MIN), DateTime::MIN);
        assert_eq!(DateTime::MAX.to_string(), "9999-12-31T23:59:59");
        assert_eq!(DateTime::MIN.to_string(), "1900-01-01T00:00:00");
        let span = DateTime::MAX.seconds_since(DateTime::MIN);
        assert_eq!(
            span,
            (Date::MAX.days_since_epoch() - Date::MIN.days_since_epoch() + 1) as i64 * 86_400 - 1
        );
        assert_eq!(DateTime::MIN.seconds_since(DateTime::MAX), -span);
        assert_eq!(DateTime::MAX.hours_since(DateTime::MIN), span / 3600);
        assert!(DateTime::MAX.more_than_hours_after(DateTime::MIN, i64::MIN));
        assert!(!DateTime::MAX.more_than_hours_after(DateTime::MIN, i64::MAX));
        assert_eq!(d("2026-03-01").end().to_string(), "2026-03-01T23:59:59");
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (Date::MIN.0..=Date::MAX.0).prop_map(Date)
    }

    fn any_timestamp() -> impl Strategy<Value = DateTime> {
        prop_oneof![
            Just(DateTime::MIN),
            Just(DateTime::MAX),
            (DateTime::MIN.0..=DateTime::MAX.0).prop_map(DateTime),
        ]
    }

    /// Offsets at and near the extremes of `i64`, and ordinary ones.
    fn any_offset() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(i64::MIN + 1),
            Just(i64::MAX - 1),
            any::<i64>(),
            -4_000_000i64..4_000_000,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn add_days_is_exact_or_saturates(date in any_date(), n in any_offset()) {
            let exact = i128::from(date.0) + i128::from(n);
            let expected = exact.clamp(i128::from(Date::MIN.0), i128::from(Date::MAX.0));
            prop_assert_eq!(i128::from(date.add_days(n).0), expected);
        }

        #[test]
        fn add_months_stays_in_range_and_keeps_direction(
            date in any_date(),
            months in prop_oneof![Just(i32::MIN), Just(i32::MAX), any::<i32>(), -200i32..200],
        ) {
            let later = date.add_months(months);
            prop_assert!((Date::MIN..=Date::MAX).contains(&later));
            if months >= 0 {
                prop_assert!(later >= date);
            } else {
                prop_assert!(later <= date);
            }
            prop_assert!(later.ymd().2 <= date.ymd().2);
        }

        #[test]
        fn timestamp_arithmetic_is_exact_or_saturates(
            t in any_timestamp(),
            u in any_timestamp(),
            n in any_offset(),
        ) {
            let clamp = |v: i128| v.clamp(i128::from(DateTime::MIN.0), i128::from(DateTime::MAX.0));
            prop_assert_eq!(i128::from(t.add_seconds(n).0), clamp(i128::from(t.0) + i128::from(n)));
            prop_assert_eq!(
                i128::from(t.add_hours(n).0),
                clamp(i128::from(t.0) + i128::from(n) * 3600)
            );
            let diff = i128::from(t.0) - i128::from(u.0);
            prop_assert_eq!(i128::from(t.seconds_since(u)), diff);
            prop_assert_eq!(i128::from(t.hours_since(u)), diff.div_euclid(3600));
            prop_assert_eq!(t.more_than_hours_after(u, n), diff > i128::from(n) * 3600);
            let date = t.date();
            prop_assert!((Date::MIN..=Date::MAX).contains(&date));
            prop_assert!(date.start() <= t && t <= date.end());
            prop_assert_eq!(t.to_string().parse::<DateTime>().unwrap(), t);
        }

        #[test]
        fn text_round_trip(days in -25_000i32..2_900_000) {
            let date = Date(days);
            let (y, ..) = date.ymd();
            prop_assume!((MIN_YEAR..=MAX_YEAR).contains(&y));
            prop_assert_eq!(date.to_string().parse::<Date>().unwrap(), date);
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Date>();
            let _ = s.parse::<DateTime>();
        }
    }
}
