//! Mergeable partial aggregates.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// An exact set of distinct values (for `count(DISTINCT key)` across shards).
///
/// Merging is set union, so it is exact, associative, commutative and idempotent; the cost
/// is memory proportional to the number of distinct values (a `BTreeSet<i64>`, a few tens
/// of bytes per value). That suits the distinct counts the dashboards need (pharmacies,
/// prescribers, products in a period); for millions of distinct values a HyperLogLog
/// sketch (same precision and hash on every shard, register-wise max) would be the
/// approximate alternative (not implemented).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DistinctSet(BTreeSet<i64>);

impl DistinctSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value.
    pub fn insert(&mut self, value: i64) {
        self.0.insert(value);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &DistinctSet) {
        self.0.extend(other.0.iter().copied());
    }

    /// Number of distinct values.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.0.len() as u64
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<i64> for DistinctSet {
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Extend<i64> for DistinctSet {
    fn extend<I: IntoIterator<Item = i64>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// One shard's partial aggregate over a value column (and a distinct-key column), merged
/// on the coordinator the Citus way: count and sum add, min and max take the extreme,
/// distinct sets unite, and the average is computed only at the end as `Σsum / Σcount`
/// (never an average of averages).
///
/// Values are integers in base units (cents for money): sums are exact `i128`, never
/// floats. `count` counts the rows that contributed a value (`count(x)`), and a shard with
/// no rows is [`PartialAggregate::default`] (`min`/`max` `None`), the identity of
/// [`merge`](PartialAggregate::merge).
///
/// `count` and `sum` add with wraparound so that merging stays associative and
/// commutative for any input; sums of `i64` values cannot wrap an `i128` before 2⁶⁴ rows,
/// so on real data the result is exact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialAggregate {
    /// Rows with a value.
    pub count: u64,
    /// Sum of the values, in base units.
    pub sum: i128,
    /// Smallest value, `None` without rows.
    pub min: Option<i64>,
    /// Largest value, `None` without rows.
    pub max: Option<i64>,
    /// Distinct keys seen (may be left empty when not requested).
    pub distinct: DistinctSet,
}

impl PartialAggregate {
    /// The aggregate of no rows.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one row: its value and, optionally, its distinct key.
    pub fn push(&mut self, value: i64, distinct_key: Option<i64>) {
        self.count = self.count.wrapping_add(1);
        self.sum = self.sum.wrapping_add(i128::from(value));
        self.min = Some(self.min.map_or(value, |m| m.min(value)));
        self.max = Some(self.max.map_or(value, |m| m.max(value)));
        if let Some(key) = distinct_key {
            self.distinct.insert(key);
        }
    }

    /// The aggregate of `rows` of `(value, distinct key)`.
    #[must_use]
    pub fn from_rows<I: IntoIterator<Item = (i64, Option<i64>)>>(rows: I) -> Self {
        let mut aggregate = Self::new();
        for (value, key) in rows {
            aggregate.push(value, key);
        }
        aggregate
    }

    /// Folds `other` into `self`.
    pub fn merge(&mut self, other: &PartialAggregate) {
        self.count = self.count.wrapping_add(other.count);
        self.sum = self.sum.wrapping_add(other.sum);
        self.min = extreme(self.min, other.min, std::cmp::min);
        self.max = extreme(self.max, other.max, std::cmp::max);
        self.distinct.merge(&other.distinct);
    }

    /// `self` merged with `other`.
    #[must_use]
    pub fn merged(mut self, other: &PartialAggregate) -> PartialAggregate {
        self.merge(other);
        self
    }

    /// Number of distinct keys.
    #[must_use]
    pub fn distinct_count(&self) -> u64 {
        self.distinct.len()
    }

    /// `sum / count` as a float (for display), `None` without rows.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // display value; the exact parts stay available
    pub fn average(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// `sum / count` rounded to the nearest base unit, halves away from zero, computed
    /// exactly in integers; `None` without rows.
    #[must_use]
    pub fn average_rounded(&self) -> Option<i128> {
        if self.count == 0 {
            return None;
        }
        let count = i128::from(self.count);
        let quotient = self.sum / count;
        let remainder = self.sum % count;
        // |remainder| < count ≤ u64::MAX, so doubling it cannot overflow an i128.
        if remainder.unsigned_abs() * 2 >= count.unsigned_abs() {
            Some(quotient + self.sum.signum())
        } else {
            Some(quotient)
        }
    }
}

fn extreme(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_rounding() {
        let avg = |values: &[i64]| {
            PartialAggregate::from_rows(values.iter().map(|v| (*v, None))).average_rounded()
        };
        assert_eq!(avg(&[]), None);
        assert_eq!(avg(&[1, 2]), Some(2));
        assert_eq!(avg(&[-1, -2]), Some(-2));
        assert_eq!(avg(&[1, 1, 2]), Some(1));
        assert_eq!(avg(&[-1, -1, -2]), Some(-1));
        assert_eq!(avg(&[i64::MAX, i64::MAX]), Some(i128::from(i64::MAX)));
        assert_eq!(
            avg(&[i64::MIN, i64::MIN, i64::MAX]),
            Some(-3_074_457_345_618_258_603)
        );
    }
}
