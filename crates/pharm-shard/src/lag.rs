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
//! 2. Otherwise, if a heartbeat row is available (`UPDATE pharm_shard_heartbeat SET ts =
//!    now()` on the primary every second, read back on the replica), the lag is the
//!    replica's clock at reading minus the primary's `ts` ([`LagSource::Heartbeat`]).
//! 3. Otherwise the [`LagTracker`] remembers when the primary was at which LSN. The lag is
//!    the time since the primary was last seen at or below the replica's replay LSN:
//!    every WAL byte the replica still misses was written after that moment
//!    ([`LagSource::PrimaryLsnHistory`]). A replica whose replay is paused or whose
//!    receiver is disconnected while the primary advances thus shows a lag that grows in
//!    real time.
//! 4. With no usable history (the first sample after start), the replay timestamp is used,
//!    but only because step 1 already proved that WAL is outstanding
//!    ([`LagSource::ReplayTimestamp`]); without one the lag is a lower bound of zero
//!    ([`LagSource::LowerBound`]).
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
    /// when WAL is known to be outstanding and nothing better is available; never alone.
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
    /// From the heartbeat row (replica clock minus primary clock).
    Heartbeat,
    /// Time since the primary was last seen at or below the replica's replay LSN (an upper
    /// bound, exact to the sampling interval).
    PrimaryLsnHistory,
    /// Time since the last replayed commit, used because WAL is outstanding and there is
    /// neither a heartbeat nor history yet (an upper bound, subject to clock skew).
    ReplayTimestamp,
    /// The replica is behind every primary position remembered; the true lag is at least
    /// this (zero on the very first sample).
    LowerBound,
}

/// The estimated lag of one replica at one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Estimates the lag of **one** replica from successive [`LagSample`]s (see the module
/// documentation for the rules).
///
/// It remembers `(primary LSN, time)` pairs; for each distinct primary LSN only the latest
/// time is kept, and pairs older than the latest one at or below the replica's replay LSN
/// are dropped, so the history stays short while the replica keeps up. Feed samples in time
/// order; a primary LSN lower than the previous one (a new primary after failover) clears
/// the history.
#[derive(Clone, Debug)]
pub struct LagTracker {
    history: VecDeque<(Lsn, u64)>,
    capacity: usize,
}

impl Default for LagTracker {
    fn default() -> Self {
        Self::new(DEFAULT_HISTORY_CAPACITY)
    }
}

impl LagTracker {
    /// A tracker remembering at most `capacity` (at least 1) distinct primary positions.
    /// When a replica falls behind every remembered position the estimate becomes a
    /// [`LagSource::LowerBound`].
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            history: VecDeque::new(),
            capacity: capacity.max(1),
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
        let caught_up_at = self.caught_up_at(sample.replay_lsn);
        let (lag, source) = if bytes_behind == 0 {
            (Duration::ZERO, LagSource::CaughtUp)
        } else if let Some(heartbeat) = sample.heartbeat {
            (heartbeat.lag(), LagSource::Heartbeat)
        } else if let Some(at) = caught_up_at {
            (ms(now.saturating_sub(at)), LagSource::PrimaryLsnHistory)
        } else if let Some(replayed) = sample.replay_timestamp_ms {
            (ms(now.saturating_sub(replayed)), LagSource::ReplayTimestamp)
        } else {
            let oldest = self.history.front().map_or(now, |&(_, at)| at);
            (ms(now.saturating_sub(oldest)), LagSource::LowerBound)
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
            Some(last) if last.0 == lsn => last.1 = last.1.max(at),
            Some(last) if last.0 > lsn => {
                self.history.clear();
                self.history.push_back((lsn, at));
            }
            _ => self.history.push_back((lsn, at)),
        }
        while self.history.len() > self.capacity {
            self.history.pop_front();
        }
    }

    /// The latest time the primary was seen at or below `replay`; prunes older entries.
    fn caught_up_at(&mut self, replay: Lsn) -> Option<u64> {
        let index = self.history.iter().rposition(|&(lsn, _)| lsn <= replay)?;
        self.history.drain(..index);
        self.history.front().map(|&(_, at)| at)
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Estimates the lag of a single sample without history: zero when caught up, else the
/// heartbeat, else the replay timestamp, else a lower bound of zero.
#[must_use]
pub fn estimate_once(sample: &LagSample) -> LagEstimate {
    LagTracker::new(1).observe(sample)
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
        let mut tracker = LagTracker::new(4);
        for i in 0..10 {
            tracker.observe(&sample(100 + i, 100 + i, i * 1000));
        }
        assert_eq!(tracker.history.len(), 1);
        // Replica stuck at 0 while the primary moves: capacity bounds the history and the
        // estimate becomes a lower bound.
        let mut tracker = LagTracker::new(4);
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
}
