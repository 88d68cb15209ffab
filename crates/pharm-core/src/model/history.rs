//! A prescription's fills in chronological order, whatever order the caller gave them in.
//!
//! Decisions must not depend on the order of the fill history (a POS may list fills newest
//! first, or in the order terminals synced them), so every rule that asks "the first
//! portion", "the last completed fill" or "the fills of the current refill" reads them
//! through [`FillHistory`]. The order is total ([`Fill::chronological_cmp`]), so any
//! permutation of the same fills gives the same sequence.

use std::cmp::Ordering;
use std::slice;

use crate::model::Fill;

impl Fill {
    /// Chronological order: by time, then recorded fill number, quantity, days supply, NDC
    /// and partial pathway, so fills recorded at the same second still sort the same way
    /// whatever order they were given in.
    pub fn chronological_cmp(&self, other: &Fill) -> Ordering {
        self.at
            .cmp(&other.at)
            .then_with(|| self.fill_number.cmp(&other.fill_number))
            .then_with(|| self.quantity.cmp(&other.quantity))
            .then_with(|| self.days_supply.cmp(&other.days_supply))
            .then_with(|| self.ndc.cmp(&other.ndc))
            .then_with(|| self.partial.cmp(&other.partial))
    }
}

/// Fills in chronological order ([`Fill::chronological_cmp`]). Borrows the caller's slice
/// when it is already in order (the usual case), and sorts references to it otherwise.
#[derive(Debug, Clone)]
pub struct FillHistory<'a>(Order<'a>);

#[derive(Debug, Clone)]
enum Order<'a> {
    AsGiven(&'a [Fill]),
    Sorted(Vec<&'a Fill>),
}

impl<'a> FillHistory<'a> {
    /// The fills of `fills` in chronological order.
    pub fn new(fills: &'a [Fill]) -> Self {
        let ordered = fills
            .windows(2)
            .all(|w| w[0].chronological_cmp(&w[1]) != Ordering::Greater);
        if ordered {
            return FillHistory(Order::AsGiven(fills));
        }
        let mut sorted: Vec<&Fill> = fills.iter().collect();
        sorted.sort_by(|a, b| a.chronological_cmp(b));
        FillHistory(Order::Sorted(sorted))
    }

    /// The fills, oldest first.
    pub fn iter(&self) -> Fills<'_, 'a> {
        Fills(match &self.0 {
            Order::AsGiven(fills) => FillsInner::AsGiven(fills.iter()),
            Order::Sorted(fills) => FillsInner::Sorted(fills.iter()),
        })
    }

    /// Number of fills.
    pub fn len(&self) -> usize {
        match &self.0 {
            Order::AsGiven(fills) => fills.len(),
            Order::Sorted(fills) => fills.len(),
        }
    }

    /// No fills recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The earliest fill.
    pub fn first(&self) -> Option<&'a Fill> {
        self.iter().next()
    }

    /// The most recent fill.
    pub fn last(&self) -> Option<&'a Fill> {
        self.iter().next_back()
    }

    /// The first portion of the fill in progress when `quantity` units make a whole fill:
    /// the fill after the last point where the running total was a multiple of `quantity`.
    /// `None` when the last fill is complete (or `quantity` is 0).
    pub fn open_partial_start(&self, quantity: u32) -> Option<&'a Fill> {
        match &self.0 {
            Order::AsGiven(fills) => open_partial_start(fills.iter(), quantity),
            Order::Sorted(fills) => open_partial_start(fills.iter().copied(), quantity),
        }
    }

    /// Start (first portion) and total days supply of the most recent completed fill when
    /// `quantity` units make a whole fill, partial portions of one fill taken together.
    /// With `quantity` 0 every fill counts as complete.
    pub fn last_completed_fill(&self, quantity: u32) -> Option<(&'a Fill, u32)> {
        match &self.0 {
            Order::AsGiven(fills) => last_completed_fill(fills.iter(), quantity),
            Order::Sorted(fills) => last_completed_fill(fills.iter().copied(), quantity),
        }
    }
}

// The walks below take the fills already in time order, as a plain iterator of each
// representation (one loop per representation, no per-item dispatch).

fn open_partial_start<'a>(
    fills: impl Iterator<Item = &'a Fill>,
    quantity: u32,
) -> Option<&'a Fill> {
    let q = u64::from(quantity);
    if q == 0 {
        return None;
    }
    let mut total = 0u64;
    let mut start = None;
    for f in fills {
        if total.is_multiple_of(q) {
            start = Some(f);
        }
        total = total.saturating_add(u64::from(f.quantity));
    }
    if total.is_multiple_of(q) { None } else { start }
}

fn last_completed_fill<'a>(
    fills: impl DoubleEndedIterator<Item = &'a Fill>,
    quantity: u32,
) -> Option<(&'a Fill, u32)> {
    let q = u64::from(quantity);
    if q == 0 {
        return fills.last().map(|f| (f, f.days_supply));
    }
    let (mut total, mut start, mut days) = (0u64, None, 0u32);
    let mut last = None;
    for f in fills {
        if start.is_none() {
            start = Some(f);
            days = 0;
        }
        total = total.saturating_add(u64::from(f.quantity));
        days = days.saturating_add(f.days_supply);
        if total.is_multiple_of(q) {
            last = start.take().map(|s| (s, days));
        }
    }
    last
}

/// Iterator over a [`FillHistory`], oldest first (double-ended: `.rev()` is newest first).
#[derive(Debug, Clone)]
pub struct Fills<'h, 'a>(FillsInner<'h, 'a>);

#[derive(Debug, Clone)]
enum FillsInner<'h, 'a> {
    AsGiven(slice::Iter<'a, Fill>),
    Sorted(slice::Iter<'h, &'a Fill>),
}

impl<'a> Iterator for Fills<'_, 'a> {
    type Item = &'a Fill;

    fn next(&mut self) -> Option<&'a Fill> {
        match &mut self.0 {
            FillsInner::AsGiven(it) => it.next(),
            FillsInner::Sorted(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            FillsInner::AsGiven(it) => it.size_hint(),
            FillsInner::Sorted(it) => it.size_hint(),
        }
    }
}

impl<'a> DoubleEndedIterator for Fills<'_, 'a> {
    fn next_back(&mut self) -> Option<&'a Fill> {
        match &mut self.0 {
            FillsInner::AsGiven(it) => it.next_back(),
            FillsInner::Sorted(it) => it.next_back().copied(),
        }
    }
}

impl ExactSizeIterator for Fills<'_, '_> {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fill(at: &str, quantity: u32) -> Fill {
        Fill {
            at: at.parse().unwrap(),
            quantity,
            days_supply: quantity,
            ndc: "0093-7146-56".parse().unwrap(),
            partial: None,
            fill_number: None,
        }
    }

    #[test]
    fn any_order_reads_oldest_first() {
        let a = fill("2026-03-01T10:00:00", 10);
        let b = fill("2026-03-02T10:00:00", 20);
        let c = fill("2026-03-02T10:00:00", 30);
        let given = [c.clone(), a.clone(), b.clone()];
        let history = FillHistory::new(&given);
        let order: Vec<u32> = history.iter().map(|f| f.quantity).collect();
        assert_eq!(order, [10, 20, 30]);
        assert_eq!(history.first().unwrap().quantity, 10);
        assert_eq!(history.last().unwrap().quantity, 30);
        let newest_first: Vec<u32> = history.iter().rev().map(|f| f.quantity).collect();
        assert_eq!(newest_first, [30, 20, 10]);
        assert_eq!(history.len(), 3);
        assert!(FillHistory::new(&[]).is_empty());
    }

    #[test]
    fn partial_portions_group_into_fills() {
        // 30 per fill: 10 + 20 complete fill 0 (started 03-01); 15 opens fill 1.
        let fills = [
            fill("2026-03-20T10:00:00", 15),
            fill("2026-03-03T10:00:00", 20),
            fill("2026-03-01T10:00:00", 10),
        ];
        let history = FillHistory::new(&fills);
        let (start, days) = history.last_completed_fill(30).unwrap();
        assert_eq!(
            (start.at.to_string().as_str(), days),
            ("2026-03-01T10:00:00", 30)
        );
        assert_eq!(history.open_partial_start(30).unwrap().quantity, 15);
        assert_eq!(history.open_partial_start(0), None);
        assert_eq!(FillHistory::new(&fills[1..]).open_partial_start(30), None);
        assert_eq!(history.last_completed_fill(0).unwrap().0.quantity, 15);
    }
}
