//! Regression tests for the defects of issue 9 (items 1-8), one or more per item. Each
//! reproduces the reported wrong answer and fails on the code before the fix; they use
//! only the public API, or the JSON form where the fix added fields.

use crate::fixtures::*;
use pharm_core::time::{Date, DateTime};

/// Item 8: `Date::add_days(i64::MAX)` overflowed, and so did differences of saturated
/// timestamps; the documentation promises saturation.
#[test]
fn item8_date_and_time_arithmetic_saturates() {
    let day = date("2026-03-01");
    assert_eq!(day.add_days(i64::MAX), date("9999-12-31"));
    assert_eq!(day.add_days(i64::MIN), date("1900-01-01"));
    let late = at("2026-03-01T10:00:00").add_hours(i64::MAX);
    let early = at("2026-03-01T10:00:00").add_hours(i64::MIN);
    assert_eq!(late.to_string(), "9999-12-31T23:59:59");
    assert_eq!(early.to_string(), "1900-01-01T00:00:00");
    assert!(late.seconds_since(early) > 0);
    assert!(early.seconds_since(late) < 0);
    assert!(late.hours_since(early) > 0);
    assert!(late.more_than_hours_after(early, 24));
    assert_eq!(late.date(), Date::from_ymd(9999, 12, 31).unwrap());
    let _: DateTime = late;
}
