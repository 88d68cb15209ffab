//! The root's transaction log: the origin tag of every transaction it holds *as a
//! transaction* (verified and stored), per replica, contiguous from sequence number 1.
//!
//! The root's inventory state may know a replica further, from a member's delta (the
//! transactions themselves may have been lost with the devices that held them); its
//! acknowledgements count only what the log holds, so no terminal drops a transaction from
//! its outbox before the root holds that very transaction.

use std::collections::HashMap;

use crate::auth::Tag;
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

/// Tags by replica; `tags[r][s - 1]` is the tag of `(r, s)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TxnLog {
    tags: HashMap<ReplicaId, Vec<Tag>>,
}

impl TxnLog {
    /// How many transactions of `r` the log holds (its frontier).
    pub(crate) fn len(&self, r: &ReplicaId) -> u64 {
        self.tags.get(r).map_or(0, |v| v.len() as u64)
    }

    /// The tag of `id`, if held.
    pub(crate) fn tag(&self, id: &TxnId) -> Option<Tag> {
        let i = usize::try_from(id.seq.checked_sub(1)?).ok()?;
        self.tags.get(&id.replica)?.get(i).copied()
    }

    /// Where `t` stands against the log.
    pub(crate) fn classify(&self, t: &Txn) -> Logged {
        let len = self.len(&t.id.replica);
        if t.id.seq <= len {
            return match self.tag(&t.id) {
                Some(tag) if tag == t.tag => Logged::Same,
                _ => Logged::Forked,
            };
        }
        if t.id.seq > len + 1 {
            return Logged::Gap;
        }
        let link = self
            .tag(&TxnId {
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
        self.tags.entry(t.id.replica).or_default().push(t.tag);
    }

    /// The acknowledgement of every replica the log holds.
    pub(crate) fn acks(&self) -> Acks {
        self.tags
            .iter()
            .filter_map(|(r, v)| {
                v.last().map(|tag| {
                    (
                        *r,
                        Ack {
                            seq: v.len() as u64,
                            tag: *tag,
                        },
                    )
                })
            })
            .collect()
    }

    /// Acknowledgements for the replicas of an upload: for each, the highest uploaded
    /// sequence number the log holds, with its tag (the uploader holds that very
    /// transaction, so it can confirm the whole prefix by the chain).
    pub(crate) fn acks_for(&self, ids: &[TxnId]) -> Acks {
        let mut out = Acks::new();
        for id in ids {
            if let Some(tag) = self.tag(id) {
                let e = out.entry(id.replica).or_insert(Ack { seq: id.seq, tag });
                if id.seq > e.seq {
                    *e = Ack { seq: id.seq, tag };
                }
            }
        }
        out
    }
}
