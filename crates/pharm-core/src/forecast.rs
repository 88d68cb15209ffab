//! Historical-average demand forecast: the fallback used when the forecasting service is
//! down (see [`crate::offline::Feature::DemandForecast`]).
//!
//! The forecast is the average daily usage over the last `window_days` complete days
//! (`[today - window_days, today - 1]`; today is still in progress and is not counted),
//! and the reorder point is the usage expected over the replenishment lead time plus a
//! safety margin. All arithmetic is exact integer or decimal arithmetic; no floats.

use std::collections::BTreeSet;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::time::Date;

/// Units of one product used (dispensed or sold) on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyUsage {
    /// Store-local date.
    pub date: Date,
    /// Units used that day.
    pub units: u64,
}

/// Parameters of [`historical_average`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct ForecastParams {
    /// Number of complete days averaged over (default 28).
    pub window_days: u32,
    /// Days between placing an order and receiving it (default 2).
    pub lead_time_days: u32,
    /// Extra days of cover kept as safety stock (default 3).
    pub safety_days: u32,
}

impl Default for ForecastParams {
    fn default() -> Self {
        ForecastParams {
            window_days: 28,
            lead_time_days: 2,
            safety_days: 3,
        }
    }
}

/// Where a forecast came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ForecastSource {
    /// [`historical_average`] over local dispensing history.
    HistoricalAverage,
}

/// A demand forecast for one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forecast {
    /// Average units per day, rounded to 2 decimal places (half away from zero).
    pub daily_usage: Decimal,
    /// Reorder when on hand falls to this many units: `ceil(average × (lead + safety))`,
    /// computed from the exact (unrounded) average.
    pub reorder_point: u64,
    /// Days averaged over.
    pub window_days: u32,
    /// Days in the window that had at least one usage record.
    pub days_with_data: u32,
    /// How the forecast was made.
    pub source: ForecastSource,
}

/// Why a forecast could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ForecastError {
    /// `window_days` is zero, so there is nothing to average over.
    #[error("window_days is 0: the historical average needs a window of at least one day")]
    ZeroWindow,
}

/// Average daily usage over the `params.window_days` days before `today`, and the
/// resulting reorder point.
///
/// Days in the window with no record count as zero usage; several records for one date
/// are summed; records dated `today` or later, or before the window, are ignored. The
/// total saturates at `u64::MAX` units, and the reorder point at `u64::MAX`.
///
/// # Errors
///
/// [`ForecastError::ZeroWindow`] when `params.window_days` is zero.
pub fn historical_average(
    history: &[DailyUsage],
    today: Date,
    params: &ForecastParams,
) -> Result<Forecast, ForecastError> {
    if params.window_days == 0 {
        return Err(ForecastError::ZeroWindow);
    }
    let first = today.add_days(-i64::from(params.window_days));
    let mut total: u64 = 0;
    let mut dates = BTreeSet::new();
    for usage in history.iter().filter(|u| first <= u.date && u.date < today) {
        total = total.saturating_add(usage.units);
        dates.insert(usage.date);
    }
    let window = u64::from(params.window_days);
    let cover = u128::from(params.lead_time_days) + u128::from(params.safety_days);
    let numerator = u128::from(total) * cover;
    let reorder_point = u64::try_from(numerator.div_ceil(u128::from(window))).unwrap_or(u64::MAX);
    let daily_usage = Decimal::from(total)
        .checked_div(Decimal::from(window))
        .unwrap_or(Decimal::MAX)
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    Ok(Forecast {
        daily_usage,
        reorder_point,
        window_days: params.window_days,
        days_with_data: u32::try_from(dates.len()).unwrap_or(u32::MAX),
        source: ForecastSource::HistoricalAverage,
    })
}

/// True when stock should be reordered: `on_hand <= forecast.reorder_point`.
pub fn reorder_needed(on_hand: i64, forecast: &Forecast) -> bool {
    i128::from(on_hand) <= i128::from(forecast.reorder_point)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn usage(date: &str, units: u64) -> DailyUsage {
        DailyUsage {
            date: d(date),
            units,
        }
    }

    const TODAY: &str = "2026-11-27";

    #[test]
    fn exact_values_on_a_small_table() {
        let params = ForecastParams {
            window_days: 7,
            lead_time_days: 2,
            safety_days: 3,
        };
        // Window: 2026-11-20 ..= 2026-11-26.
        let history = [
            usage("2026-11-19", 1000), // one day too far back: ignored
            usage("2026-11-20", 4),    // exactly window_days ago: counted
            usage("2026-11-22", 3),
            usage("2026-11-22", 2), // same date: summed
            usage("2026-11-26", 1),
            usage("2026-11-27", 500), // today: ignored
            usage("2026-12-01", 500), // future: ignored
        ];
        let f = historical_average(&history, d(TODAY), &params).unwrap();
        // 10 units / 7 days = 1.428571... -> 1.43; reorder ceil(10 × 5 / 7) = ceil(7.14) = 8.
        assert_eq!(f.daily_usage, dec("1.43"));
        assert_eq!(f.reorder_point, 8);
        assert_eq!(f.window_days, 7);
        assert_eq!(f.days_with_data, 3);
        assert_eq!(f.source, ForecastSource::HistoricalAverage);
        assert!(reorder_needed(8, &f));
        assert!(!reorder_needed(9, &f));
        assert!(reorder_needed(-3, &f));
    }

    #[test]
    fn reorder_point_uses_the_exact_average() {
        // 2 units over 3 days: 0.666... displayed 0.67; × 3 cover days = exactly 2 (not 2.01 -> 3).
        let params = ForecastParams {
            window_days: 3,
            lead_time_days: 1,
            safety_days: 2,
        };
        let f = historical_average(&[usage("2026-11-25", 2)], d(TODAY), &params).unwrap();
        assert_eq!(f.daily_usage, dec("0.67"));
        assert_eq!(f.reorder_point, 2);
        // Midpoint rounds away from zero: 1 unit / 8 days = 0.125 -> 0.13.
        let params = ForecastParams {
            window_days: 8,
            ..ForecastParams::default()
        };
        let f = historical_average(&[usage("2026-11-26", 1)], d(TODAY), &params).unwrap();
        assert_eq!(f.daily_usage, dec("0.13"));
        assert_eq!(f.reorder_point, 1);
    }

    #[test]
    fn default_params_and_window_boundary() {
        let p = ForecastParams::default();
        assert_eq!((p.window_days, p.lead_time_days, p.safety_days), (28, 2, 3));
        let in_window = [usage("2026-10-30", 28)]; // 28 days before 2026-11-27
        let f = historical_average(&in_window, d(TODAY), &p).unwrap();
        assert_eq!(f.daily_usage, dec("1"));
        assert_eq!(f.reorder_point, 5);
        assert_eq!(f.days_with_data, 1);
        let outside = [usage("2026-10-29", 28)];
        let f = historical_average(&outside, d(TODAY), &p).unwrap();
        assert_eq!(f.daily_usage, Decimal::ZERO);
        assert_eq!(f.days_with_data, 0);
    }

    #[test]
    fn empty_history_is_zero() {
        let f = historical_average(&[], d(TODAY), &ForecastParams::default()).unwrap();
        assert_eq!(f.daily_usage, Decimal::ZERO);
        assert_eq!(f.reorder_point, 0);
        assert_eq!(f.days_with_data, 0);
        assert!(reorder_needed(0, &f));
        assert!(!reorder_needed(1, &f));
    }

    #[test]
    fn zero_window_is_an_error() {
        let params = ForecastParams {
            window_days: 0,
            ..ForecastParams::default()
        };
        let e = historical_average(&[], d(TODAY), &params).unwrap_err();
        assert_eq!(e, ForecastError::ZeroWindow);
        assert!(e.to_string().contains("window_days"));
    }

    #[test]
    fn huge_values_saturate() {
        let history = [usage("2026-11-26", u64::MAX), usage("2026-11-25", u64::MAX)];
        let params = ForecastParams {
            window_days: 1,
            lead_time_days: u32::MAX,
            safety_days: u32::MAX,
        };
        let f = historical_average(&history, d(TODAY), &params).unwrap();
        assert_eq!(f.reorder_point, u64::MAX);
        assert_eq!(f.daily_usage, Decimal::from(u64::MAX));
    }

    #[test]
    fn serde_round_trip() {
        let f = historical_average(
            &[usage("2026-11-26", 3)],
            d(TODAY),
            &ForecastParams::default(),
        )
        .unwrap();
        let json = serde_json::to_value(f).unwrap();
        assert_eq!(json["source"], "historical_average");
        assert_eq!(json["daily_usage"], "0.11");
        let back: Forecast = serde_json::from_value(json).unwrap();
        assert_eq!(back, f);
        let p: ForecastParams = serde_json::from_str(r#"{"window_days": 14}"#).unwrap();
        assert_eq!(p.window_days, 14);
        assert_eq!(p.safety_days, 3);
    }

    fn history() -> impl Strategy<Value = Vec<DailyUsage>> {
        prop::collection::vec((-40i64..5, 0u64..1_000), 0..40).prop_map(|raw| {
            raw.into_iter()
                .map(|(offset, units)| DailyUsage {
                    date: d(TODAY).add_days(offset),
                    units,
                })
                .collect()
        })
    }

    fn params() -> impl Strategy<Value = ForecastParams> {
        (1u32..60, 0u32..15, 0u32..15).prop_map(|(window_days, lead_time_days, safety_days)| {
            ForecastParams {
                window_days,
                lead_time_days,
                safety_days,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn reorder_point_monotone_in_usage(
            history in history(),
            params in params(),
            extra in 0u64..1_000,
            pick in any::<prop::sample::Index>(),
            offset in 1i64..60,
        ) {
            let today = d(TODAY);
            let base = historical_average(&history, today, &params).unwrap();
            // More units on an existing record.
            if !history.is_empty() {
                let mut more = history.clone();
                let i = pick.index(more.len());
                more[i].units += extra;
                let f = historical_average(&more, today, &params).unwrap();
                prop_assert!(f.reorder_point >= base.reorder_point);
                prop_assert!(f.daily_usage >= base.daily_usage);
            }
            // An extra record anywhere.
            let mut more = history.clone();
            more.push(DailyUsage { date: today.add_days(-offset), units: extra });
            let f = historical_average(&more, today, &params).unwrap();
            prop_assert!(f.reorder_point >= base.reorder_point);
            prop_assert!(f.daily_usage >= base.daily_usage);
            prop_assert!(f.days_with_data >= base.days_with_data);
            prop_assert!(base.days_with_data <= params.window_days);
        }

        #[test]
        fn never_panics(
            raw in prop::collection::vec((-5_000_000i64..5_000_000, any::<u64>()), 0..20),
            today_offset in -5_000_000i64..5_000_000,
            window_days in any::<u32>(),
            lead_time_days in any::<u32>(),
            safety_days in any::<u32>(),
            on_hand in any::<i64>(),
        ) {
            let base = d(TODAY);
            let history: Vec<DailyUsage> = raw
                .into_iter()
                .map(|(o, units)| DailyUsage { date: base.add_days(o), units })
                .collect();
            let params = ForecastParams { window_days, lead_time_days, safety_days };
            match historical_average(&history, base.add_days(today_offset), &params) {
                Ok(f) => {
                    prop_assert!(f.daily_usage >= Decimal::ZERO);
                    let _ = reorder_needed(on_hand, &f);
                }
                Err(e) => prop_assert_eq!(e, ForecastError::ZeroWindow),
            }
        }
    }
}
