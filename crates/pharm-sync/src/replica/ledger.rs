//! Transactions held by a replica, by replica then sequence number: a sorted queue per
//! replica, so appending the next transaction (the common case: local commits and relayed
//! runs arrive in order) and dropping an acknowledged prefix cost O(1). Relayed
//! transactions keep the origin seals they came with: a relay can pass on only runs that
//! end at one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::auth::Tag;
use crate::ids::{ReplicaId, TxnId};
use crate::txn::Txn;

/// One replica's transactions, sorted by sequence number, and the seals held for some.
#[derive(Debug, Clone, Default)]
pub(crate) struct Queue {
    txns: VecDeque<Arc<Txn>>,
    seals: BTreeMap<u64, Tag>,
}

impl Queue {
    /// The transactions, by sequence number.
    pub(crate) fn txns(&self) -> impl Iterator<Item = &Arc<Txn>> + '_ {
        self.txns.iter()
    }

    /// The origin seal held for the transaction at `seq`.
    pub(crate) fn seal(&self, seq: u64) -> Option<Tag> {
        self.seals.get(&seq).copied()
    }

    /// The last of the consecutive transactions held from `after + 1` on; `after` when the
    /// queue does not hold `after + 1`.
    pub(crate) fn consecutive_from(&self, after: u64) -> u64 {
        let start = self.txns.partition_point(|t| t.id.seq <= after);
        // Sequence numbers are sorted and distinct, so the run from `start` is the prefix of
        // indices whose distance from `start` equals their sequence number's from `after`.
        let in_run = |k: usize| {
            self.txns
                .get(k)
                .is_some_and(|t| t.id.seq - after == (k - start) as u64 + 1)
        };
        let (mut lo, mut hi) = (start, self.txns.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if in_run(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match lo.checked_sub(1).filter(|&k| k >= start) {
            Some(k) => self.txns.get(k).map_or(after, |t| t.id.seq),
            None => after,
        }
    }
}

/// Transactions by replica, each replica's sorted by sequence number.
#[derive(Debug, Clone, Default)]
pub(super) struct Ledger(BTreeMap<ReplicaId, Queue>);

impl Ledger {
    /// From transactions in any order (duplicates keep the first).
    pub(super) fn from_txns(txns: impl IntoIterator<Item = Arc<Txn>>) -> Self {
        let mut l = Ledger::default();
        for t in txns {
            l.insert(t, None);
        }
        l
    }

    /// Adds a transaction unless one with its id is held, and its seal if one is given.
    pub(super) fn insert(&mut self, t: Arc<Txn>, seal: Option<Tag>) {
        let id = t.id;
        let q = self.0.entry(id.replica).or_default();
        let held = match q.txns.back() {
            None => {
                q.txns.push_back(t);
                true
            }
            Some(last) if last.id.seq < id.seq => {
                q.txns.push_back(t);
                true
            }
            Some(_) => match q.txns.binary_search_by_key(&id.seq, |x| x.id.seq) {
                Err(at) => {
                    q.txns.insert(at, t);
                    true
                }
                // The copy held already is the one a seal for this id must vouch for.
                Ok(at) => q.txns.get(at).is_some_and(|x| x.digest == t.digest),
            },
        };
        if let (true, Some(seal)) = (held, seal) {
            // The first seal held stays: a replayed copy cannot swap it for another.
            q.seals.entry(id.seq).or_insert(seal);
        }
    }

    /// The seal held for this id.
    pub(super) fn seal(&self, id: &TxnId) -> Option<Tag> {
        self.0.get(&id.replica)?.seal(id.seq)
    }

    /// The transaction with this id.
    pub(super) fn get(&self, id: &TxnId) -> Option<&Arc<Txn>> {
        let q = self.0.get(&id.replica)?;
        let at = q.txns.binary_search_by_key(&id.seq, |x| x.id.seq).ok()?;
        q.txns.get(at)
    }

    /// Removes the transactions of `r` with a sequence number in `from..=to`.
    pub(super) fn take_range(&mut self, r: ReplicaId, from: u64, to: u64) -> Vec<Arc<Txn>> {
        let Some(q) = self.0.get_mut(&r) else {
            return Vec::new();
        };
        let start = q.txns.partition_point(|x| x.id.seq < from);
        let end = q.txns.partition_point(|x| x.id.seq <= to);
        let taken: Vec<Arc<Txn>> = q.txns.drain(start..end).collect();
        q.seals.retain(|s, _| !(from..=to).contains(s));
        if q.txns.is_empty() {
            self.0.remove(&r);
        }
        taken
    }

    /// Every transaction, by replica then sequence number.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Arc<Txn>> + '_ {
        self.0.values().flat_map(|q| q.txns.iter())
    }

    /// The queue of `r`, if it holds any of its transactions.
    pub(super) fn queue(&self, r: &ReplicaId) -> Option<&Queue> {
        self.0.get(r)
    }

    /// Every replica's queue, by replica.
    pub(super) fn queues(&self) -> impl Iterator<Item = (&ReplicaId, &Queue)> + '_ {
        self.0.iter()
    }

    /// Whether it holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes everything out.
    pub(super) fn drain_all(&mut self) -> impl Iterator<Item = Arc<Txn>> {
        std::mem::take(&mut self.0)
            .into_values()
            .flat_map(|q| q.txns.into_iter())
    }
}
