//! The root's transaction log: the transactions it holds *as transactions* (verified and
//! stored), per replica, by sequence number, each with its digest and the digest it chains
//! to.
//!
//! Mostly a replica's log is one segment from sequence number 1. It can have holes: when a
//! terminal's disk died after some of its transactions reached a leader only as state, the
//! root learns that state with the terminal's sealed head transaction as evidence and holds
//! that head; the leader's relayed copies of the transactions after it then chain onto it
//! (and earlier copies that turn up later chain onto their held successors). The root's
//! inventory state may know a replica further still; its acknowledgements name only a
//! segment the log holds, so no terminal drops a transaction from its outbox before the
//! root holds that very transaction.

use std::collections::{BTreeMap, HashMap};

use crate::auth::Digest;
use crate::ids::{ReplicaId, TxnId};
use crate::txn::Txn;

/// What the log says about a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logged {
    /// The log holds this very transaction.
    Same,
    /// The log holds another transaction at this sequence number, or the transaction does
    /// not chain onto a held neighbour.
    Forked,
    /// It chains onto a held neighbour (or is sequence number 1): the log can take it.
    Next,
    /// Neither neighbour is held.
    Gap,
}

/// A held transaction: its digest and the digest it chains to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    digest: Digest,
    prev: Digest,
}

/// Held transactions by replica and sequence number.
#[derive(Debug, Clone, Default)]
pub(crate) struct TxnLog {
    held: HashMap<ReplicaId, BTreeMap<u64, Held>>,
}

impl TxnLog {
    /// The end of the held segment that starts at sequence number 1 (0 when 1 is not held).
    pub(crate) fn prefix(&self, r: &ReplicaId) -> u64 {
        let Some(m) = self.held.get(r) else {
            return 0;
        };
        let mut end = 0;
        for s in m.keys() {
            if *s != end + 1 {
                break;
            }
            end = *s;
        }
        end
    }

    /// The digest of the held transaction `id`, if held.
    pub(crate) fn digest_at(&self, id: &TxnId) -> Option<Digest> {
        self.get(id).map(|h| h.digest)
    }

    fn get(&self, id: &TxnId) -> Option<Held> {
        self.held.get(&id.replica)?.get(&id.seq).copied()
    }

    fn neighbour(&self, t: &Txn, seq: Option<u64>) -> Option<Held> {
        seq.and_then(|seq| {
            self.get(&TxnId {
                replica: t.id.replica,
                seq,
            })
        })
    }

    /// Where `t` stands against the log.
    pub(crate) fn classify(&self, t: &Txn) -> Logged {
        if let Some(h) = self.get(&t.id) {
            return if h.digest == t.digest {
                Logged::Same
            } else {
                Logged::Forked
            };
        }
        let before = if t.id.seq == 1 {
            Some(Digest::default())
        } else {
            self.neighbour(t, t.id.seq.checked_sub(1)).map(|h| h.digest)
        };
        let after = self.neighbour(t, t.id.seq.checked_add(1)).map(|h| h.prev);
        match (before, after) {
            (None, None) => Logged::Gap,
            (b, a) if b.is_none_or(|d| d == t.prev) && a.is_none_or(|p| p == t.digest) => {
                Logged::Next
            }
            _ => Logged::Forked,
        }
    }

    /// Whether the log holds the transaction after `t` and it chains to `t`.
    pub(crate) fn chains_into_held(&self, t: &Txn) -> bool {
        self.neighbour(t, t.id.seq.checked_add(1))
            .is_some_and(|next| next.prev == t.digest)
    }

    /// Records `t` (its caller checked it is [`Logged::Next`], or it is evidence the root
    /// verified: a sealed head).
    pub(crate) fn push(&mut self, t: &Txn) {
        self.held.entry(t.id.replica).or_default().insert(
            t.id.seq,
            Held {
                digest: t.digest,
                prev: t.prev,
            },
        );
    }

    /// The held segment that ends at `top`: its first sequence number.
    fn segment_start(m: &BTreeMap<u64, Held>, top: u64) -> u64 {
        let mut start = top;
        for (s, _) in m.range(..top).rev() {
            if *s + 1 != start {
                break;
            }
            start = *s;
        }
        start
    }

    /// The top segment of every replica the log holds: its first and last sequence numbers
    /// and the last one's digest (the root seals them into [`Ack`](crate::message::Ack)s).
    pub(crate) fn frontiers(&self) -> BTreeMap<ReplicaId, (u64, u64, Digest)> {
        self.held
            .iter()
            .filter_map(|(r, m)| {
                let (top, h) = m.last_key_value()?;
                Some((*r, (Self::segment_start(m, *top), *top, h.digest)))
            })
            .collect()
    }

    /// For the replicas of an upload: the held segment ending at the highest uploaded
    /// sequence number the log holds (the uploader holds that very transaction, so it can
    /// confirm the segment by the chain).
    pub(crate) fn held_of(&self, ids: &[TxnId]) -> BTreeMap<ReplicaId, (u64, u64, Digest)> {
        let mut top: BTreeMap<ReplicaId, u64> = BTreeMap::new();
        for id in ids {
            if self.get(id).is_some() {
                let e = top.entry(id.replica).or_insert(id.seq);
                *e = (*e).max(id.seq);
            }
        }
        top.into_iter()
            .filter_map(|(r, seq)| {
                let m = self.held.get(&r)?;
                let h = m.get(&seq)?;
                Some((r, (Self::segment_start(m, seq), seq, h.digest)))
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::txn::{Reason, TxnKind};

    fn chain(n: u64) -> Vec<Txn> {
        let r = ReplicaId::new(2, 0);
        let mut prev = Digest::default();
        (1..=n)
            .map(|seq| {
                let mut t = Txn {
                    id: TxnId { replica: r, seq },
                    hlc: Hlc::new(seq, 0),
                    kind: TxnKind::Dispense,
                    reason: Reason::None,
                    lines: Vec::new(),
                    new_lots: Vec::new(),
                    holds: Vec::new(),
                    transfer: None,
                    meta: Vec::new(),
                    compensates: None,
                    reference: String::new(),
                    prev,
                    digest: Digest::default(),
                };
                t.link(&mut Vec::new()).unwrap();
                prev = t.digest;
                t
            })
            .collect()
    }

    #[test]
    fn holes_fill_from_both_sides_and_acks_name_the_segment() {
        let t = chain(8);
        let mut log = TxnLog::default();
        log.push(&t[0]);
        // Seq 5 held as evidence (a sealed head); 2..4 missing.
        log.push(&t[4]);
        assert_eq!(log.classify(&t[2]), Logged::Gap);
        assert_eq!(log.classify(&t[5]), Logged::Next, "chains onto 5");
        assert_eq!(log.classify(&t[3]), Logged::Next, "5 chains onto it");
        assert_eq!(log.classify(&t[1]), Logged::Next, "chains onto 1");
        assert_eq!(log.classify(&t[4]), Logged::Same);
        let r = t[0].id.replica;
        assert_eq!(log.frontiers()[&r], (5, 5, t[4].digest));
        log.push(&t[5]);
        log.push(&t[3]);
        assert_eq!(log.frontiers()[&r], (4, 6, t[5].digest));
        // Another history under one of the held neighbours.
        let mut other = t[2].clone();
        other.reference = "other".into();
        other.link(&mut Vec::new()).unwrap();
        assert_eq!(log.classify(&other), Logged::Forked);
        log.push(&t[1]);
        log.push(&t[2]);
        assert_eq!(log.frontiers()[&r], (1, 6, t[5].digest));
        assert_eq!(log.held_of(&[t[3].id])[&r], (1, 4, t[3].digest));
    }
}
