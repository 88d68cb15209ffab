//! Latency over wall time: one small histogram per fixed-width bucket.

use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::errors::{AdditionError, CreationError};

/// Significant figures of the per-bucket histograms: 1 % is enough for a plot. The
/// histograms grow with the highest latency recorded, so each bucket stays a few kilobytes.
const SIGFIG: u8 = 2;

/// The last bucket: a record later than `MAX_BUCKETS` buckets lands in it, which bounds
/// the memory a stray offset can claim (about 28 hours of 1 s buckets).
const MAX_BUCKETS: usize = 100_000;

/// Why a [`Timeline`] could not be built or merged.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// A zero-width bucket.
    #[error("the timeline's bucket width must be positive")]
    ZeroBucket,
    /// The per-bucket histogram could not be created.
    #[error("creating a bucket histogram: {0}")]
    Histogram(#[from] CreationError),
    /// Two timelines with different bucket widths.
    #[error("merging a timeline of {theirs:?} buckets into one of {ours:?} buckets")]
    BucketMismatch {
        /// This timeline's bucket width.
        ours: Duration,
        /// The other timeline's bucket width.
        theirs: Duration,
    },
    /// A bucket of the other timeline could not be added.
    #[error("merging a bucket: {0}")]
    Merge(#[from] AdditionError),
}

/// One bucket of a timeline, as the plot draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelinePoint {
    /// The bucket's start, in seconds of wall time since the run started.
    pub t_s: f64,
    /// Transactions that completed in the bucket.
    pub count: u64,
    /// Median latency in the bucket, µs (0 when the bucket is empty).
    pub p50_us: u64,
    /// 99th-percentile latency in the bucket, µs (0 when the bucket is empty).
    pub p99_us: u64,
    /// Highest latency in the bucket, µs (0 when the bucket is empty).
    pub max_us: u64,
}

/// Latencies recorded by wall-time offset into fixed-width buckets, one histogram each.
///
/// Each driver thread keeps its own and the binary merges them at the end.
#[derive(Debug, Clone)]
pub struct Timeline {
    bucket: Duration,
    /// An empty histogram with the buckets' configuration, cloned for each new bucket.
    empty: Histogram<u64>,
    buckets: Vec<Option<Histogram<u64>>>,
}

impl Timeline {
    /// An empty timeline of `bucket`-wide buckets.
    ///
    /// # Errors
    /// [`TimelineError::ZeroBucket`] when `bucket` is zero.
    pub fn new(bucket: Duration) -> Result<Self, TimelineError> {
        if bucket.is_zero() {
            return Err(TimelineError::ZeroBucket);
        }
        Ok(Self {
            bucket,
            empty: Histogram::new(SIGFIG)?,
            buckets: Vec::new(),
        })
    }

    /// The bucket width.
    #[must_use]
    pub fn bucket(&self) -> Duration {
        self.bucket
    }

    /// Records one transaction that completed `at` after the run started, with latency
    /// `us` µs.
    pub fn record(&mut self, at: Duration, us: u64) {
        let index = at.as_nanos() / self.bucket.as_nanos();
        let index = usize::try_from(index).map_or(MAX_BUCKETS - 1, |i| i.min(MAX_BUCKETS - 1));
        let histogram = self.bucket_mut(index);
        // The histogram grows to fit; only a value past what it can ever track is clamped.
        if histogram.record(us).is_err() {
            histogram.saturating_record(us);
        }
    }

    /// Adds every bucket of `other` into this timeline.
    ///
    /// # Errors
    /// [`TimelineError::BucketMismatch`] when the bucket widths differ;
    /// [`TimelineError::Merge`] when a bucket cannot be added.
    pub fn merge(&mut self, other: &Timeline) -> Result<(), TimelineError> {
        if other.bucket != self.bucket {
            return Err(TimelineError::BucketMismatch {
                ours: self.bucket,
                theirs: other.bucket,
            });
        }
        for (index, theirs) in other.buckets.iter().enumerate() {
            if let Some(theirs) = theirs {
                self.bucket_mut(index).add(theirs)?;
            }
        }
        Ok(())
    }

    /// One point per bucket from the start to the last non-empty bucket, empty buckets
    /// included, so the points are evenly spaced by [`Timeline::bucket`].
    #[must_use]
    pub fn points(&self) -> Vec<TimelinePoint> {
        let width = self.bucket.as_secs_f64();
        let last = self
            .buckets
            .iter()
            .rposition(|b| b.as_ref().is_some_and(|h| !h.is_empty()));
        let Some(last) = last else {
            return Vec::new();
        };
        self.buckets[..=last]
            .iter()
            .enumerate()
            .map(|(index, bucket)| {
                let t_s = index as f64 * width;
                match bucket {
                    Some(h) if !h.is_empty() => TimelinePoint {
                        t_s,
                        count: h.len(),
                        p50_us: h.value_at_quantile(0.5),
                        p99_us: h.value_at_quantile(0.99),
                        max_us: h.max(),
                    },
                    _ => TimelinePoint {
                        t_s,
                        count: 0,
                        p50_us: 0,
                        p99_us: 0,
                        max_us: 0,
                    },
                }
            })
            .collect()
    }

    /// The histogram of bucket `index`, created (with the buckets before it) on first use.
    fn bucket_mut(&mut self, index: usize) -> &mut Histogram<u64> {
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, None);
        }
        self.buckets[index].get_or_insert_with(|| Histogram::new_from(&self.empty))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        Timeline::new(Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn zero_bucket_is_an_error() {
        assert!(matches!(
            Timeline::new(Duration::ZERO),
            Err(TimelineError::ZeroBucket)
        ));
    }

    #[test]
    fn empty_timeline_has_no_points() {
        assert!(timeline().points().is_empty());
    }

    #[test]
    fn points_are_dense_and_per_bucket() {
        let mut t = timeline();
        for us in 1..=100 {
            t.record(Duration::from_millis(500), us * 10);
        }
        t.record(Duration::from_millis(2_900), 7_000);
        let points = t.points();
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].count, 100);
        assert_eq!(points[0].t_s, 0.0);
        assert!(points[0].p50_us.abs_diff(500) <= 5, "{:?}", points[0]);
        assert!(points[0].p99_us.abs_diff(990) <= 10, "{:?}", points[0]);
        assert!(points[0].max_us.abs_diff(1_000) <= 10, "{:?}", points[0]);
        assert_eq!(
            points[1],
            TimelinePoint {
                t_s: 1.0,
                count: 0,
                p50_us: 0,
                p99_us: 0,
                max_us: 0
            }
        );
        assert_eq!(points[2].t_s, 2.0);
        assert_eq!(points[2].count, 1);
        assert!(points[2].max_us.abs_diff(7_000) <= 70);
    }

    #[test]
    fn merge_adds_bucket_by_bucket() {
        let mut a = timeline();
        let mut b = timeline();
        a.record(Duration::from_millis(100), 100);
        b.record(Duration::from_millis(200), 300);
        b.record(Duration::from_millis(3_100), 50_000);
        a.merge(&b).unwrap();
        let points = a.points();
        assert_eq!(points.len(), 4);
        assert_eq!(points[0].count, 2);
        assert!(points[0].max_us.abs_diff(300) <= 3);
        assert_eq!(points[3].count, 1);
        assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 3);
    }

    #[test]
    fn merge_rejects_other_bucket_widths() {
        let mut a = timeline();
        let b = Timeline::new(Duration::from_millis(500)).unwrap();
        assert!(matches!(
            a.merge(&b),
            Err(TimelineError::BucketMismatch { .. })
        ));
    }

    #[test]
    fn far_offsets_land_in_the_last_bucket() {
        let mut t = timeline();
        t.record(Duration::MAX, 1);
        let points = t.points();
        assert_eq!(points.len(), MAX_BUCKETS);
        assert_eq!(points[MAX_BUCKETS - 1].count, 1);
    }
}
