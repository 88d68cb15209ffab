//! Identities: stores (tenants), replicas (terminal + incarnation), transaction ids.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A pharmacy (the tenant). Every sync message names one; a message for another pharmacy is
/// rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoreId(pub u32);

/// A replica: one terminal (or the store server, or the cloud) in one incarnation.
///
/// A terminal reinstalled or restored from a backup gets a new incarnation, so its new
/// counter totals start from zero under a new identity instead of being swallowed by the
/// per-replica maximum of its old totals.
///
/// Serialized as its packed `u32`, so it can key JSON maps (version vectors); deserialized
/// from that number or from its decimal text (how JSON map keys arrive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplicaId {
    /// Terminal number within the store (0 is conventionally the store server, `u16::MAX`
    /// the cloud).
    pub terminal: u16,
    /// Incarnation of that terminal.
    pub incarnation: u16,
}

impl ReplicaId {
    /// A replica id.
    pub const fn new(terminal: u16, incarnation: u16) -> Self {
        ReplicaId {
            terminal,
            incarnation,
        }
    }

    /// Packed into 32 bits (terminal in the high half).
    pub const fn packed(self) -> u32 {
        (self.terminal as u32) << 16 | self.incarnation as u32
    }

    /// From the packed form.
    pub const fn from_packed(v: u32) -> Self {
        ReplicaId {
            terminal: (v >> 16) as u16,
            incarnation: v as u16,
        }
    }

    /// The same terminal in its next incarnation (after a restore or reinstall).
    pub const fn next_incarnation(self) -> Self {
        ReplicaId {
            terminal: self.terminal,
            incarnation: self.incarnation.wrapping_add(1),
        }
    }
}

impl Serialize for ReplicaId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.packed())
    }
}

impl<'de> Deserialize<'de> for ReplicaId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ReplicaId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a packed replica id (u32) or its decimal text")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ReplicaId, E> {
                u32::try_from(v)
                    .map(ReplicaId::from_packed)
                    .map_err(|_| E::custom(format!("replica id {v} exceeds u32")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ReplicaId, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("negative replica id {v}")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ReplicaId, E> {
                v.parse::<u32>()
                    .map(ReplicaId::from_packed)
                    .map_err(|_| E::custom(format!("{v:?} is not a packed replica id")))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl From<u32> for ReplicaId {
    fn from(v: u32) -> Self {
        ReplicaId::from_packed(v)
    }
}

impl From<ReplicaId> for u32 {
    fn from(r: ReplicaId) -> u32 {
        r.packed()
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}.{}", self.terminal, self.incarnation)
    }
}

/// A transaction's identity: its replica and its contiguous sequence number there (1, 2, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TxnId {
    /// Origin replica.
    pub replica: ReplicaId,
    /// Sequence number at that replica, starting at 1.
    pub seq: u64,
}
