//! Auditing an exported log: every digest and link recomputed, the first bad entry named.

use std::collections::{BTreeMap, HashSet};

use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use super::entry::{CsEntry, CsKind, genesis};
use crate::auth::Digest;
use crate::ids::{ReplicaId, TxnId};

/// Entries [`verify`] takes at most (a bound on its memory and time).
pub const MAX_VERIFY_ENTRIES: usize = 4_000_000;

/// Why a log (or one restore link) is not intact. Every variant names the entry (its index
/// in the list and its transaction) where the problem shows first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsLogError {
    /// The entry's digest does not match its contents: it was edited.
    #[error("entry {index} ({txn:?}) was edited: its digest does not match its contents")]
    Edited {
        /// Index in the list.
        index: usize,
        /// Its transaction.
        txn: TxnId,
    },
    /// The entry is out of order: before an earlier entry of its chain, its chain's
    /// terminal or segment out of place, or chained to an entry that comes after it.
    #[error("entry {index} ({txn:?}) is out of order")]
    Reordered {
        /// Index in the list.
        index: usize,
        /// Its transaction.
        txn: TxnId,
    },
    /// The entry chains to an entry that is not in the list: one before it was deleted.
    #[error("an entry before entry {index} ({txn:?}) is missing: its link names no entry")]
    Missing {
        /// Index in the list.
        index: usize,
        /// Its transaction.
        txn: TxnId,
    },
    /// A restored segment's start does not link to its predecessor's chain as it claims.
    #[error("entry {index} ({txn:?}) does not link to its predecessor {predecessor}")]
    BrokenLink {
        /// Index in the list.
        index: usize,
        /// Its transaction.
        txn: TxnId,
        /// The old incarnation it claims to continue.
        predecessor: ReplicaId,
    },
    /// The entry is not well formed (a segment start without a link, or a link elsewhere).
    #[error("entry {index} ({txn:?}) is malformed: {why}")]
    Malformed {
        /// Index in the list.
        index: usize,
        /// Its transaction.
        txn: TxnId,
        /// What is wrong.
        why: &'static str,
    },
    /// More entries than [`MAX_VERIFY_ENTRIES`].
    #[error("{count} entries exceed the limit of {max}")]
    TooMany {
        /// Entries given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A restored incarnation claims a head of its old incarnation other than the one the
    /// holder holds at that sequence number.
    #[error(
        "{restored} claims {predecessor:?} with digest {claimed}, but this holder holds {held}"
    )]
    LinkMismatch {
        /// The restored incarnation.
        restored: ReplicaId,
        /// The old incarnation's transaction it names.
        predecessor: TxnId,
        /// The digest it claims.
        claimed: Digest,
        /// The digest held.
        held: Digest,
    },
}

/// The last entry of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsSegmentHead {
    /// The segment's replica.
    pub replica: ReplicaId,
    /// Its entries.
    pub entries: u64,
    /// The last entry's transaction.
    pub seq: u64,
    /// The last entry's digest.
    pub digest: Digest,
}

/// What an intact log ends with: its entry count and every segment's last entry. Compared
/// with the holder's ([`CsLog::head`](super::CsLog::head)), it shows a truncated or
/// extended copy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsHead {
    /// Entries in all.
    pub entries: u64,
    /// Every segment with entries, by replica.
    pub segments: Vec<CsSegmentHead>,
}

impl CsHead {
    pub(crate) fn of<'a>(segments: impl Iterator<Item = (ReplicaId, &'a [CsEntry])>) -> Self {
        let mut head = CsHead::default();
        for (replica, entries) in segments {
            let Some(last) = entries.last() else {
                continue;
            };
            head.entries += entries.len() as u64;
            head.segments.push(CsSegmentHead {
                replica,
                entries: entries.len() as u64,
                seq: last.txn.seq,
                digest: last.digest,
            });
        }
        head.segments.sort_by_key(|s| s.replica);
        head
    }
}

/// What the audit has seen of one segment: (sequence number, transaction digest, entry
/// digest) of each entry.
type Seen = Vec<(u64, Digest, Digest)>;

/// Checks an exported log of `store` ([`CsLog::export`](super::CsLog::export) order):
/// recomputes every entry's digest and every chain link, and names the first bad entry.
/// Returns the log's head, to compare with the holder's.
pub fn verify(store: PharmacyId, entries: &[CsEntry]) -> Result<CsHead, CsLogError> {
    if entries.len() > MAX_VERIFY_ENTRIES {
        return Err(CsLogError::TooMany {
            count: entries.len(),
            max: MAX_VERIFY_ENTRIES,
        });
    }
    let present: HashSet<ReplicaId> = entries.iter().map(|e| e.txn.replica).collect();
    let mut seen: BTreeMap<ReplicaId, Seen> = BTreeMap::new();
    let mut current: Option<ReplicaId> = None;
    for (index, e) in entries.iter().enumerate() {
        let txn = e.txn;
        let r = txn.replica;
        if e.computed_digest(store) != e.digest {
            return Err(CsLogError::Edited { index, txn });
        }
        if (e.kind == CsKind::SegmentStart) != e.link.is_some() {
            return Err(CsLogError::Malformed {
                index,
                txn,
                why: "a segment start, and only a segment start, names a predecessor",
            });
        }
        let reordered = CsLogError::Reordered { index, txn };
        if current.is_some_and(|c| r.terminal < c.terminal) {
            return Err(reordered);
        }
        let expected = if current == Some(r) {
            let Some(&(seq, _, digest)) = seen.get(&r).and_then(|s| s.last()) else {
                return Err(reordered);
            };
            if txn.seq <= seq || e.kind == CsKind::SegmentStart {
                return Err(reordered);
            }
            digest
        } else if seen.contains_key(&r) {
            // Its segment was left already: entries of one segment stay together.
            return Err(reordered);
        } else {
            start_of(store, entries, index, &seen, &present)?
        };
        if e.prev != expected {
            if e.kind == CsKind::SegmentStart {
                let predecessor = e.link.map_or(r, |l| l.from);
                return Err(CsLogError::BrokenLink {
                    index,
                    txn,
                    predecessor,
                });
            }
            let later = entries[index + 1..].iter().any(|x| x.digest == e.prev);
            return Err(if later {
                reordered
            } else {
                CsLogError::Missing { index, txn }
            });
        }
        seen.entry(r)
            .or_default()
            .push((txn.seq, e.txn_digest, e.digest));
        current = Some(r);
    }
    let mut head = CsHead::default();
    for (replica, s) in &seen {
        if let Some(&(seq, _, digest)) = s.last() {
            head.entries += s.len() as u64;
            head.segments.push(CsSegmentHead {
                replica: *replica,
                entries: s.len() as u64,
                seq,
                digest,
            });
        }
    }
    Ok(head)
}

/// What the first entry of a segment must chain to: the genesis, or for a restored
/// segment's start its predecessor's last entry at or before the link (the genesis when
/// the predecessor has none).
fn start_of(
    store: PharmacyId,
    entries: &[CsEntry],
    index: usize,
    seen: &BTreeMap<ReplicaId, Seen>,
    present: &HashSet<ReplicaId>,
) -> Result<Digest, CsLogError> {
    let e = &entries[index];
    let txn = e.txn;
    let Some(link) = e.link else {
        return Ok(genesis(store, txn.replica.terminal));
    };
    let broken = CsLogError::BrokenLink {
        index,
        txn,
        predecessor: link.from,
    };
    if link.from.terminal != txn.replica.terminal || link.from == txn.replica || txn.seq != 1 {
        return Err(broken);
    }
    match seen.get(&link.from) {
        Some(pred) => {
            if pred
                .iter()
                .any(|(seq, d, _)| *seq == link.seq && *d != link.txn_digest)
            {
                return Err(broken);
            }
            Ok(pred
                .iter()
                .rev()
                .find(|(seq, _, _)| *seq <= link.seq)
                .map_or_else(|| genesis(store, link.from.terminal), |p| p.2))
        }
        // The predecessor's segment comes later: out of order.
        None if present.contains(&link.from) => Err(CsLogError::Reordered { index, txn }),
        None => Ok(genesis(store, link.from.terminal)),
    }
}
