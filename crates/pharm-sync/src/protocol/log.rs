//! The root's transaction log: the digest of every transaction it holds *as a
//! transaction* (verified and stored), per replica, contiguous from sequence number 1.
//!
//! The root's inventory state may know a replica further, from a member's delta (the
//! transactions themselves may have been lost with the devices that held them); its
//! acknowledgements count only what the log holds, so no terminal drops a transaction from
//! its outbox before the root holds that very transaction.

use std::collections::HashMap;

use crate::auth::Digest;
use crate::ids::{ReplicaId, TxnId};
use crate::message::{Ack, Acks};
use crate::txn::Txn;

/// What the log says about a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logged {
    /// The log holds this very transaction.
    Same,
    /// The log holds another transaction at this sequence number, or the transaction does
    /// not chain onto the log's last one.
    Forked,
    /// It is the next one and chains onto the log.
    Next,
    /// An earlier one is missing.
    Gap,
}

/// Digests by replica; `digests[r][s - 1]` is the digest of `(r, s)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TxnLog {
    digests: HashMap<ReplicaId, Vec<Digest>>,
}

impl TxnLog {
    /// How many transactions of `r` the log holds (its frontier).
    pub(crate) fn len(&self, r: &ReplicaId) -> u64 {
        self.digests.get(r).map_or(0, |v| v.len() as u64)
    }

    /// The digest of `id`, if held.
    pub(crate) fn digest(&self, id: &TxnId) -> Option<Digest> {
        let i = usize::try_from(id.seq.checked_sub(1)?).ok()?;
        self.digests.get(&id.replica)?.get(i).copied()
    }

    /// Where `t` stands against the log.
    pub(crate) fn classify(&self, t: &Txn) -> Logged {
        let len = self.len(&t.id.replica);
        if t.id.seq <= len {
            return match self.digest(&t.id) {
                Some(d) if d == t.digest => Logged::Same,
                _ => Logged::Forked,
            };
        }
        if t.id.seq > len + 1 {
            return Logged::Gap;
        }
        let link = self
            .digest(&TxnId {
                replica: t.id.replica,
                seq: len,
            })
            .unwrap_or_default();
        if t.prev == link {
            Logged::Next
        } else {
            Logged::Forked
        }
    }

    /// Appends `t` (its caller checked it is [`Logged::Next`]).
    pub(crate) fn push(&mut self, t: &Txn) {
        self.digests.entry(t.id.replica).or_default().push(t.digest);
    }

    /// The acknowledgement of every replica the log holds.
    pub(crate) fn acks(&self) -> Acks {
        self.digests
            .iter()
            .filter_map(|(r, v)| {
                v.last().map(|d| {
                    (
                        *r,
                        Ack {
                            seq: v.len() as u64,
                            digest: *d,
                        },
                    )
                })
            })
            .collect()
    }

    /// Acknowledgements for the replicas of an upload: for each, the highest uploaded
    /// sequence number the log holds, with its digest (the uploader holds that very
    /// transaction, so it can confirm the whole prefix by the chain).
    pub(crate) fn acks_for(&self, ids: &[TxnId]) -> Acks {
        let mut out = Acks::new();
        for id in ids {
            if let Some(digest) = self.digest(id) {
                let ack = Ack {
                    seq: id.seq,
                    digest,
                };
                let e = out.entry(id.replica).or_insert(ack);
                if id.seq > e.seq {
                    *e = ack;
                }
            }
        }
        out
    }
}
