//! Replica lag in PostgreSQL: log sequence numbers, lag samples and a lag estimator.
//!
//! # Why not `now() − pg_last_xact_replay_timestamp()`
//!
//! The usual lag query measures the time since the replica last replayed a commit. On an
//! idle primary (a pharmacy chain at night) that number grows without bound although the
//! replica is fully caught up, and every read would move to the primary. The common
//! workaround (`receive_lsn = replay_lsn → 0`) hides lag when the WAL receiver is
//! disconnected. This module therefore compares the replica's replay LSN with the
//! **primary's** current LSN (reference §3.7):
//!
//! 1. `pg_current_wal_lsn()` on the primary ≤ `pg_last_wal_replay_lsn()` on the replica →
//!    the replica has everything: lag is **zero**, whatever the last replay timestamp says.
//! 2. Otherwise two estimates may be available, and when both are, the **larger** one is
//!    used (clock skew between primary and replica can hide lag in the heartbeat, and the
//!    history is only as fine as the sampling):
//!    - a heartbeat row (`UPDATE pharm_shard_heartbeat SET ts = now()` on the primary
//!      every second, read back on the replica): the replica's clock at reading minus the
//!      primary's `ts` ([`LagSource::Heartbeat`]);
//!    - the [`LagTracker`]'s history of when the primary was at which LSN: the time the
//!      primary **passed the replica's replay LSN** is estimated by linear interpolation on
//!      LSN between the last remembered primary position at or below the replay LSN and
//!      the first one above it ([`LagSource::PrimaryLsnHistory`]). Every WAL byte the
//!      replica still misses was written after that moment. A replica whose replay is
//!      paused or whose receiver is disconnected while the primary advances thus shows a
//!      lag that grows in real time.
//! 3. With neither (the first sample after start, no heartbeat), the replay timestamp is
//!    used **only while replay is paused** ([`LagSource::ReplayTimestamp`]): on a streaming
//!    replica the last replayed commit may be an hour old simply because the primary was
//!    idle for an hour before the write the replica is now replaying, which is the
//!    idle-primary false lag again. Otherwise the lag is only known as a lower bound
//!    ([`LagSource::LowerBound`]); the [`ReadRouter`](crate::reads::ReadRouter) keeps such a
//!    replica on the primary until a better estimate arrives.
//!
//! # Accuracy of the history estimate
//!
//! The interpolation assumes the primary wrote WAL at a steady rate between the two
//! samples around the replay LSN, so it is an **estimate**: exact for a steady write rate,
//! and otherwise off by less than the time between those two samples (the true moment lies
//! between them), in either direction. Without a remembered position above the replay LSN
//! it falls back to the time the primary was last seen at or below it, an upper bound.
//! Sample more often than the lag limit (a sampling interval of at least the limit makes
//! the estimate meaningless for routing; the PostgreSQL adapter's `spawn_lag_monitor`
//! refuses one).
//!
//! Times are milliseconds on the caller's clock (`*_ms: u64`); durations are
//! [`Duration`]s. Nothing here reads a clock or does I/O.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A PostgreSQL WAL position (`pg_lsn`), a 64-bit byte offset into the write-ahead log.
///
/// Its text form is PostgreSQL's: the upper and lower 32 bits in hexadecimal separated by
/// a slash, for example `16/B374D848` ([`fmt::Display`] writes upper-case hexadecimal
/// without leading zeros, as PostgreSQL does; [`FromStr`] accepts either case).
/// Serialized with serde as that string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `0/0`, PostgreSQL's `InvalidXLogRecPtr`.
    pub const INVALID: Lsn = Lsn(0);

    /// Bytes by which `self` is ahead of `other` (`pg_wal_lsn_diff(self, other)` clamped at
    /// zero).
    #[must_use]
    pub const fn bytes_ahead_of(self, other: Lsn) -> u64 {
        self.0.saturating_sub(other.0)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// A string that is not a PostgreSQL LSN.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid LSN {input:?}: expected two hexadecimal numbers of 1 to 8 digits separated by '/', like 16/B374D848"
)]
pub struct LsnParseError {
    /// The rejected text.
    pub input: String,
}

impl FromStr for Lsn {
    type Err = LsnParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || LsnParseError {
            input: s.to_owned(),
        };
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let half = |part: &str| -> Result<u64, LsnParseError> {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err());
            }
            u32::from_str_radix(part, 16)
                .map(u64::from)
                .map_err(|_| err())
        };
        Ok(Lsn((half(hi)? << 32) | half(lo)?))
    }
}

impl Serialize for Lsn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lsn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One read of the heartbeat row on a replica.
///
/// The primary (or a sidecar) writes its clock into the row every second; the replica
/// reads the replayed value back together with its own clock, for example
/// `SELECT ts, now() FROM pharm_shard_heartbeat`. The difference over-states the lag by
/// up to the heartbeat interval and is distorted by clock skew between the two servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The timestamp the primary wrote (ms, primary clock).
    pub written_at_ms: u64,
    /// When the replica read it (ms, replica clock).
    pub observed_at_ms: u64,
}

impl Heartbeat {
    /// `observed_at − written_at`, zero if the clocks make it negative.
    #[must_use]
    pub const fn lag(&self) -> Duration {
        Duration::from_millis(self.observed_at_ms.saturating_sub(self.written_at_ms))
    }
}

/// One measurement of a replica against its primary, as the PostgreSQL adapter reads it.
///
/// Read `primary_lsn` **before** (or at the same moment as) the replica's positions, so
/// that a replica that caught up in between is never reported behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LagSample {
    /// `pg_current_wal_lsn()` on the primary.
    pub primary_lsn: Lsn,
    /// `pg_last_wal_replay_lsn()` on the replica.
    pub replay_lsn: Lsn,
    /// `pg_last_wal_receive_lsn()` on the replica, when known (diagnostics only: a
    /// disconnected receiver makes it equal to the replay LSN while the primary moves on).
    pub receive_lsn: Option<Lsn>,
    /// `pg_is_wal_replay_paused()` on the replica.
    pub replay_paused: bool,
    /// `pg_last_xact_replay_timestamp()` on the replica (ms, primary clock). Used only
    /// when WAL is known to be outstanding, replay is paused and nothing better is
    /// available; never alone.
    pub replay_timestamp_ms: Option<u64>,
    /// The heartbeat row read on the replica, when the deployment has one.
    pub heartbeat: Option<Heartbeat>,
    /// When the sample was taken (ms, router clock).
    pub measured_at_ms: u64,
}

/// How a [`LagEstimate`] was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LagSource {
    /// The replica has replayed everything the primary had written: lag is zero.
    CaughtUp,
    /// From the heartbeat row (replica clock minus primary clock), used when it is at
    /// least the history estimate (or there is none).
    Heartbeat,
    /// Estimated time since the primary passed the replica's replay LSN, interpolated
    /// linearly on LSN between the remembered primary positions around it (see the module
    /// documentation: off by less than the sampling interval; an upper bound when no
    /// position above the replay LSN is remembered). Used when it is larger than the
    /// heartbeat estimate (or there is none).
    PrimaryLsnHistory,
    /// Time since the last replayed commit, used because WAL is outstanding, replay is
    /// **paused** and there is neither a heartbeat nor history yet (an upper bound, subject
    /// to clock skew).
    ReplayTimestamp,
    /// WAL is outstanding but the replica is behind every primary position remembered and
    /// there is no other estimate: the true lag is at least this (zero on the very first
    /// sample) and may be far more. Not enough to let the replica serve reads.
    LowerBound,
}

/// The estimated lag of one replica at one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LagEstimate {
    /// Estimated age of the oldest WAL the replica has not replayed yet (how stale a read
    /// on the replica can be); zero when caught up.
    pub lag: Duration,
    /// How `lag` was obtained.
    pub source: LagSource,
    /// `pg_wal_lsn_diff(primary_lsn, replay_lsn)`, clamped at zero.
    pub bytes_behind: u64,
    /// Received but not yet replayed bytes (`receive_lsn − replay_lsn`), when known.
    pub replay_pending_bytes: Option<u64>,
    /// The primary's LSN in the sample.
    pub primary_lsn: Lsn,
    /// The replica's replay LSN in the sample.
    pub replay_lsn: Lsn,
    /// Whether replay was paused.
    pub replay_paused: bool,
    /// When the sample was taken (ms).
    pub measured_at_ms: u64,
}

/// Default number of distinct primary positions a [`LagTracker`] remembers.
pub const DEFAULT_HISTORY_CAPACITY: usize = 1024;

/// The most distinct primary positions a [`LagTracker`] may remember: 65,536 (about 18 h
/// of one sample a second while a replica is stuck; 1.5 MB). Every sample scans the
/// history, so the capacity bounds both memory and the work per sample.
pub const MAX_HISTORY_CAPACITY: usize = 65_536;

/// A [`LagTracker`] history capacity outside `1..=MAX_HISTORY_CAPACITY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lag history capacity must be in 1..={MAX_HISTORY_CAPACITY}, got {0}")]
pub struct HistoryCapacityError(pub usize);

/// Estimates the lag of **one** replica from successive [`LagSample`]s (see the module
/// documentation for the rules).
///
/// It remembers each distinct primary LSN with the first and the last time it was seen,
/// and drops positions older than the latest one at or below the replica's replay LSN, so
/// the history stays short while the replica keeps up. Feed samples in time order; a
/// primary LSN lower than the previous one (a new primary after failover) clears the
/// history.
#[derive(Clone, Debug)]
pub struct LagTracker {
    history: VecDeque<Seen>,
    capacity: usize,
}

/// A primary position and when it was first and last seen there (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    lsn: Lsn,
    first_ms: u64,
    last_ms: u64,
}

impl Default for LagTracker {
    fn default() -> Self {
        Self::with_valid_capacity(DEFAULT_HISTORY_CAPACITY)
    }
}

impl LagTracker {
    /// A tracker remembering at most `capacity` distinct primary positions. When a
    /// replica falls behind every remembered position the estimate becomes a
    /// [`LagSource::LowerBound`].
    ///
    /// # Errors
    ///
    /// [`HistoryCapacityError`] unless `1 ≤ capacity ≤ MAX_HISTORY_CAPACITY`.
    pub fn new(capacity: usize) -> Result<Self, HistoryCapacityError> {
        check_history_capacity(capacity)?;
        Ok(Self::with_valid_capacity(capacity))
    }

    /// A tracker whose `capacity` has been checked by [`check_history_capacity`].
    pub(crate) fn with_valid_capacity(capacity: usize) -> Self {
        Self {
            history: VecDeque::new(),
            capacity,
        }
    }

    /// Forgets all history (for example after the replica was rebuilt).
    pub fn reset(&mut self) {
        self.history.clear();
    }

    /// Records `sample` and returns the lag estimate for it.
    pub fn observe(&mut self, sample: &LagSample) -> LagEstimate {
        let now = sample.measured_at_ms;
        self.record_primary(sample.primary_lsn, now);

        let bytes_behind = sample.primary_lsn.bytes_ahead_of(sample.replay_lsn);
        // Always called: it also prunes the history.
        let from_history = self
            .passed_replay_at(sample.replay_lsn)
            .map(|at| ms(now.saturating_sub(at)));
        let from_heartbeat = sample.heartbeat.map(|heartbeat| heartbeat.lag());
        let (lag, source) = if bytes_behind == 0 {
            (Duration::ZERO, LagSource::CaughtUp)
        } else {
            match (from_heartbeat, from_history) {
                (Some(heartbeat), Some(history)) if history > heartbeat => {
                    (history, LagSource::PrimaryLsnHistory)
                }
                (Some(heartbeat), _) => (heartbeat, LagSource::Heartbeat),
                (None, Some(history)) => (history, LagSource::PrimaryLsnHistory),
                (None, None) => match sample.replay_timestamp_ms {
                    Some(replayed) if sample.replay_paused => {
                        (ms(now.saturating_sub(replayed)), LagSource::ReplayTimestamp)
                    }
                    _ => {
                        // Behind every remembered position: the primary passed the replay
                        // LSN before it was first seen at the oldest one.
                        let oldest = self.history.front().map_or(now, |seen| seen.first_ms);
                        (ms(now.saturating_sub(oldest)), LagSource::LowerBound)
                    }
                },
            }
        };

        LagEstimate {
            lag,
            source,
            bytes_behind,
            replay_pending_bytes: sample
                .receive_lsn
                .map(|received| received.bytes_ahead_of(sample.replay_lsn)),
            primary_lsn: sample.primary_lsn,
            replay_lsn: sample.replay_lsn,
            replay_paused: sample.replay_paused,
            measured_at_ms: now,
        }
    }

    fn record_primary(&mut self, lsn: Lsn, at: u64) {
        match self.history.back_mut() {
            Some(last) if last.lsn == lsn => last.last_ms = last.last_ms.max(at),
            Some(last) if last.lsn > lsn => {
                self.history.clear();
                self.history.push_back(Seen::new(lsn, at));
            }
            _ => self.history.push_back(Seen::new(lsn, at)),
        }
        while self.history.len() > self.capacity {
            self.history.pop_front();
        }
    }

    /// The estimated time (ms) the primary passed `replay`, or `None` when the replica is
    /// behind every remembered position. Prunes the positions before the latest one at or
    /// below `replay`.
    ///
    /// The primary was still at `below.lsn ≤ replay` at `below.last_ms` and already at
    /// `above.lsn > replay` at `above.first_ms`, so it passed `replay` in between; linear
    /// interpolation on LSN picks the moment (rounded down, so the lag rounds up). Without
    /// a position above, `below.last_ms` (an upper bound of the lag).
    fn passed_replay_at(&mut self, replay: Lsn) -> Option<u64> {
        let index = self.history.iter().rposition(|seen| seen.lsn <= replay)?;
        self.history.drain(..index);
        let below = *self.history.front()?;
        let Some(above) = self.history.get(1).copied() else {
            return Some(below.last_ms);
        };
        let span_ms = above.first_ms.saturating_sub(below.last_ms);
        let span_bytes = above.lsn.bytes_ahead_of(below.lsn);
        let into = replay.bytes_ahead_of(below.lsn);
        if span_ms == 0 || span_bytes == 0 {
            return Some(below.last_ms);
        }
        let offset = u128::from(into) * u128::from(span_ms) / u128::from(span_bytes);
        // `into < span_bytes`, so `offset < span_ms` and fits.
        Some(
            below
                .last_ms
                .saturating_add(u64::try_from(offset).unwrap_or(span_ms)),
        )
    }
}

impl Seen {
    const fn new(lsn: Lsn, at: u64) -> Self {
        Self {
            lsn,
            first_ms: at,
            last_ms: at,
        }
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Estimates the lag of a single sample without history: zero when caught up, else the
/// heartbeat, else the replay timestamp when replay is paused, else a lower bound of zero.
#[must_use]
pub fn estimate_once(sample: &LagSample) -> LagEstimate {
    LagTracker::with_valid_capacity(1).observe(sample)
}

/// `Ok` if `capacity` is in `1..=MAX_HISTORY_CAPACITY`.
pub(crate) fn check_history_capacity(capacity: usize) -> Result<(), HistoryCapacityError> {
    if (1..=MAX_HISTORY_CAPACITY).contains(&capacity) {
        Ok(())
    } else {
        Err(HistoryCapacityError(capacity))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample(primary: u64, replay: u64, at: u64) -> LagSample {
        LagSample {
            primary_lsn: Lsn(primary),
            replay_lsn: Lsn(replay),
            receive_lsn: None,
            replay_paused: false,
            replay_timestamp_ms: None,
            heartbeat: None,
            measured_at_ms: at,
        }
    }

    #[test]
    fn lsn_text_round_trip() {
        for (text, value) in [
            ("0/0", 0),
            ("0/16B3748", 0x16B_3748),
            ("16/B374D848", 0x16_B374_D848),
            ("FFFFFFFF/FFFFFFFF", u64::MAX),
        ] {
            let lsn: Lsn = text.parse().unwrap();
            assert_eq!(lsn, Lsn(value));
            assert_eq!(lsn.to_string(), text);
        }
        assert_eq!("16/b374d848".parse::<Lsn>().unwrap(), Lsn(0x16_B374_D848));
        assert_eq!(
            "00000016/0000000A".parse::<Lsn>().unwrap().to_string(),
            "16/A"
        );
        for bad in [
            "",
            "/",
            "0/",
            "/0",
            "0",
            "0/0/0",
            "+1/0",
            "1/-0",
            "123456789/0",
            "0/x",
            " 0/0",
            "0 /0",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lsn_serde_is_text() {
        let json = serde_json::to_string(&Lsn(0x16_B374_D848)).unwrap();
        assert_eq!(json, "\"16/B374D848\"");
        assert_eq!(
            serde_json::from_str::<Lsn>(&json).unwrap(),
            Lsn(0x16_B374_D848)
        );
        assert!(serde_json::from_str::<Lsn>("\"nope\"").is_err());
    }

    #[test]
    fn history_is_pruned_and_bounded() {
        let mut tracker = LagTracker::new(4).unwrap();
        for i in 0..10 {
            tracker.observe(&sample(100 + i, 100 + i, i * 1000));
        }
        assert_eq!(tracker.history.len(), 1);
        // Replica stuck at 0 while the primary moves: capacity bounds the history and the
        // estimate becomes a lower bound.
        let mut tracker = LagTracker::new(4).unwrap();
        tracker.observe(&sample(10, 0, 0));
        for i in 1..10 {
            let estimate = tracker.observe(&sample(10 + i, 0, i * 1000));
            assert_eq!(estimate.source, LagSource::LowerBound);
        }
        assert_eq!(tracker.history.len(), 4);
        let estimate = tracker.observe(&sample(30, 0, 10_000));
        assert_eq!(estimate.lag, Duration::from_secs(3));
    }

    #[test]
    fn primary_going_backwards_clears_history() {
        let mut tracker = LagTracker::default();
        tracker.observe(&sample(1000, 1000, 0));
        let estimate = tracker.observe(&sample(500, 400, 1000));
        assert_eq!(estimate.source, LagSource::LowerBound);
        assert_eq!(estimate.lag, Duration::ZERO);
    }

    /// A busy primary sampled every 6 s, a replica 50 ms behind: the lag is 50 ms, not the
    /// sampling interval.
    #[test]
    fn history_lag_is_interpolated_not_quantized() {
        const RATE: u64 = 1_000; // bytes per ms
        const EVERY: u64 = 6_000;
        let mut tracker = LagTracker::default();
        for k in 1..20u64 {
            let now = k * EVERY;
            let estimate = tracker.observe(&sample(RATE * now, RATE * (now - 50), now));
            if k > 1 {
                assert_eq!(estimate.source, LagSource::PrimaryLsnHistory, "sample {k}");
                assert_eq!(estimate.lag, Duration::from_millis(50), "sample {k}");
            }
        }
        // Uneven WAL rate: the estimate stays between the two samples around the replay
        // LSN, and rounds the lag up.
        let mut tracker = LagTracker::default();
        tracker.observe(&sample(0, 0, 0));
        tracker.observe(&sample(3, 0, 1_000));
        let estimate = tracker.observe(&sample(9, 1, 2_000));
        // The primary passed LSN 1 a third of the way from 0 ms (LSN 0) to 1000 ms (LSN 3).
        assert_eq!(estimate.lag, Duration::from_millis(2_000 - 333));
    }

    /// Without a position above the replay LSN the history is an upper bound; an idle
    /// primary seen at the same LSN for long interpolates from when it was *first* seen
    /// there.
    #[test]
    fn interpolation_uses_first_sight_of_the_position_above() {
        let mut tracker = LagTracker::default();
        tracker.observe(&sample(1_000, 1_000, 0));
        // One write at ~1 s, then the primary idles at 2_000; replay stays paused at 1_500.
        for at in (1_000..=100_000).step_by(1_000) {
            let mut s = sample(2_000, 1_500, at);
            s.replay_paused = true;
            tracker.observe(&s);
        }
        let estimate = tracker.observe(&sample(2_000, 1_500, 101_000));
        // Passed 1_500 half-way between 0 ms and 1_000 ms.
        assert_eq!(estimate.lag, Duration::from_millis(101_000 - 500));
    }

    /// The replay timestamp is trusted only while replay is paused: an hour-idle primary
    /// followed by one fresh write is not an hour of lag on a streaming replica.
    #[test]
    fn replay_timestamp_only_when_paused() {
        const HOUR: u64 = 3_600_000;
        let mut s = sample(2_000, 1_000, 10 * HOUR);
        s.replay_timestamp_ms = Some(9 * HOUR);
        let estimate = estimate_once(&s);
        assert_eq!(estimate.source, LagSource::LowerBound);
        assert_eq!(estimate.lag, Duration::ZERO);
        s.replay_paused = true;
        let estimate = estimate_once(&s);
        assert_eq!(estimate.source, LagSource::ReplayTimestamp);
        assert_eq!(estimate.lag, Duration::from_millis(HOUR));
    }

    /// With both a heartbeat and a history estimate, the larger wins (skew can hide lag in
    /// the heartbeat).
    #[test]
    fn larger_of_heartbeat_and_history() {
        let mut tracker = LagTracker::default();
        tracker.observe(&sample(1_000, 1_000, 0));
        let mut s = sample(2_000, 1_000, 8_000);
        // The replica's clock is 7 s behind the primary's: the heartbeat says 1 s.
        s.heartbeat = Some(Heartbeat {
            written_at_ms: 7_000,
            observed_at_ms: 8_000,
        });
        let estimate = tracker.observe(&s);
        assert_eq!(estimate.source, LagSource::PrimaryLsnHistory);
        assert_eq!(estimate.lag, Duration::from_secs(8));

        let mut tracker = LagTracker::default();
        tracker.observe(&sample(1_000, 1_000, 0));
        let mut s = sample(2_000, 1_000, 1_000);
        s.heartbeat = Some(Heartbeat {
            written_at_ms: 0,
            observed_at_ms: 3_000,
        });
        let estimate = tracker.observe(&s);
        assert_eq!(estimate.source, LagSource::Heartbeat);
        assert_eq!(estimate.lag, Duration::from_secs(3));
    }
}
