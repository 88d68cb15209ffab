//! Identities: stores (tenants), replicas (terminal + incarnation), transaction ids, and the
//! drawing of fresh incarnations from caller-supplied randomness.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A replica: one terminal (or the store server, or the cloud) in one incarnation.
///
/// Sequence numbers and counter totals belong to a replica, so two copies of a terminal
/// must never share one: a restored, reinstalled or re-provisioned terminal takes a new
/// incarnation ([`ReplicaId::reincarnate`]). Incarnations are 64-bit values drawn at random
/// from caller-supplied randomness, so two copies that re-incarnate independently (the same
/// backup restored twice while offline) get different ones without talking to anybody: the
/// chance that two given copies collide is 2⁻⁶⁴, and across a chain of 500,000 terminals
/// each restored a hundred times it stays below 10⁻⁹.
///
/// Serialized as its [`Display`](fmt::Display) text `T<terminal>.<incarnation>` (e.g.
/// `"T3.0"`), so it can key JSON maps (version vectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplicaId {
    /// Terminal number within the store (0 is conventionally the store server, `u16::MAX`
    /// the cloud). Keys are issued per terminal: every incarnation of a terminal signs with
    /// that terminal's key.
    pub terminal: u16,
    /// Incarnation of that terminal.
    pub incarnation: u64,
}

/// A source of random 64-bit values (sans-IO: the caller supplies it, e.g. from the OS
/// random number generator; tests use a seeded generator).
pub trait Entropy {
    /// The next random value.
    fn next_u64(&mut self) -> u64;
}

impl<F: FnMut() -> u64> Entropy for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

/// Random bytes supplied by a caller (for example from its operating system's random number
/// generator, across a language binding) as an [`Entropy`]: each 8 bytes are one draw,
/// little-endian. Once they run out (or for a last chunk shorter than 8 bytes) every draw is
/// 0, which [`ReplicaId::reincarnate`] never takes as an incarnation, so a short supply ends
/// in [`IdError::IncarnationsExhausted`] rather than a made-up value.
#[derive(Debug, Clone)]
pub struct EntropyBytes<'a>(std::slice::ChunksExact<'a, u8>);

impl<'a> EntropyBytes<'a> {
    /// The draws of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        EntropyBytes(bytes.chunks_exact(8))
    }
}

impl Entropy for EntropyBytes<'_> {
    fn next_u64(&mut self) -> u64 {
        self.0.next().map_or(0, |chunk| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            u64::from_le_bytes(bytes)
        })
    }
}

/// How many draws [`ReplicaId::reincarnate`] makes before it reports a broken source.
pub const INCARNATION_DRAWS: usize = 64;

/// A replica id that cannot be used or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The randomness source kept returning incarnations that are zero or already taken: it
    /// is broken (a working source repeats a 64-bit value with probability 2⁻⁶⁴).
    #[error(
        "terminal {terminal}: no fresh incarnation in {attempts} random draws (the randomness source repeats itself)"
    )]
    IncarnationsExhausted {
        /// The terminal.
        terminal: u16,
        /// Draws made.
        attempts: usize,
    },
    /// Text that is not a replica id (`T<terminal>.<incarnation>`).
    #[error("{0:?} is not a replica id (expected T<terminal>.<incarnation>)")]
    Parse(String),
}

impl ReplicaId {
    /// A replica id.
    pub const fn new(terminal: u16, incarnation: u64) -> Self {
        ReplicaId {
            terminal,
            incarnation,
        }
    }

    /// The same terminal in a fresh incarnation drawn from `entropy`: never zero, never one
    /// for which `taken` answers `true` (pass the incarnations of this terminal you know of),
    /// never `self`. Exhaustion (a source that keeps repeating) is an error, never a
    /// wrap-around.
    pub fn reincarnate(
        self,
        entropy: &mut dyn Entropy,
        taken: &dyn Fn(u64) -> bool,
    ) -> Result<ReplicaId, IdError> {
        for _ in 0..INCARNATION_DRAWS {
            let v = entropy.next_u64();
            if v != 0 && v != self.incarnation && !taken(v) {
                return Ok(ReplicaId::new(self.terminal, v));
            }
        }
        Err(IdError::IncarnationsExhausted {
            terminal: self.terminal,
            attempts: INCARNATION_DRAWS,
        })
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}.{}", self.terminal, self.incarnation)
    }
}

impl FromStr for ReplicaId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = || IdError::Parse(s.chars().take(64).collect());
        let (t, i) = s
            .strip_prefix('T')
            .and_then(|rest| rest.split_once('.'))
            .ok_or_else(bad)?;
        // `u16::from_str` accepts a leading `+`: only plain digits are an id.
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(t) || !digits(i) || (t.len() > 1 && t.starts_with('0')) {
            return Err(bad());
        }
        if i.len() > 1 && i.starts_with('0') {
            return Err(bad());
        }
        Ok(ReplicaId::new(
            t.parse().map_err(|_| bad())?,
            i.parse().map_err(|_| bad())?,
        ))
    }
}

impl Serialize for ReplicaId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReplicaId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A transaction's identity: its replica and its contiguous sequence number there (1, 2, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnId {
    /// Origin replica.
    pub replica: ReplicaId,
    /// Sequence number at that replica, starting at 1.
    pub seq: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_strict_parsing() {
        let r = ReplicaId::new(3, 0x0123_4567_89ab_cdef);
        assert_eq!(r.to_string().parse::<ReplicaId>(), Ok(r));
        for bad in [
            "",
            "T",
            "T1",
            "T1.",
            "T.1",
            "3.0",
            "T+1.0",
            "T01.0",
            "T1.00",
            "T65536.0",
            "T1.18446744073709551616",
            "T1.0 ",
        ] {
            assert!(bad.parse::<ReplicaId>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            serde_json::to_string(&ReplicaId::new(3, 7)).unwrap(),
            "\"T3.7\""
        );
    }

    #[test]
    fn reincarnation_draws_fresh_values_and_never_wraps() {
        let me = ReplicaId::new(4, 9);
        let mut seq = [0u64, 9, 5, 77].into_iter();
        let mut source = move || seq.next().unwrap_or(0);
        // 0 is refused, 9 is `me`, 5 is taken: 77 is the first fresh one.
        let next = me.reincarnate(&mut source, &|v| v == 5).unwrap();
        assert_eq!(next, ReplicaId::new(4, 77));
        let mut stuck = || 5u64;
        assert_eq!(
            me.reincarnate(&mut stuck, &|v| v == 5),
            Err(IdError::IncarnationsExhausted {
                terminal: 4,
                attempts: INCARNATION_DRAWS
            })
        );
    }
}
