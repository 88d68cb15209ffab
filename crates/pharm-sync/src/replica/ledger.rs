//! Transactions held by a replica, by replica then sequence number: a sorted queue per
//! replica, so appending the next transaction (the common case: local commits and relayed
//! runs arrive in order) and dropping an acknowledged prefix cost O(1).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::ids::{ReplicaId, TxnId};
use crate::txn::Txn;

/// Transactions by replica, each replica's sorted by sequence number.
#[derive(Debug, Clone, Default)]
pub(super) struct Ledger(BTreeMap<ReplicaId, VecDeque<Arc<Txn>>>);

impl Ledger {
    /// From transactions in any order (duplicates keep the first).
    pub(super) fn from_txns(txns: impl IntoIterator<Item = Arc<Txn>>) -> Self {
        let mut l = Ledger::default();
        for t in txns {
            l.insert(t);
        }
        l
    }

    /// Adds a transaction unless one with its id is held.
    pub(super) fn insert(&mut self, t: Arc<Txn>) {
        let q = self.0.entry(t.id.replica).or_default();
        match q.back() {
            None => q.push_back(t),
            Some(last) if last.id.seq < t.id.seq => q.push_back(t),
            Some(_) => {
                if let Err(at) = q.binary_search_by_key(&t.id.seq, |x| x.id.seq) {
                    q.insert(at, t);
                }
            }
        }
    }

    /// The transaction with this id.
    pub(super) fn get(&self, id: &TxnId) -> Option<&Arc<Txn>> {
        let q = self.0.get(&id.replica)?;
        let at = q.binary_search_by_key(&id.seq, |x| x.id.seq).ok()?;
        q.get(at)
    }

    /// Removes the transactions of `r` with a sequence number in `from..=to`.
    pub(super) fn take_range(&mut self, r: ReplicaId, from: u64, to: u64) -> Vec<Arc<Txn>> {
        let Some(q) = self.0.get_mut(&r) else {
            return Vec::new();
        };
        let start = q.partition_point(|x| x.id.seq < from);
        let end = q.partition_point(|x| x.id.seq <= to);
        let taken: Vec<Arc<Txn>> = q.drain(start..end).collect();
        if q.is_empty() {
            self.0.remove(&r);
        }
        taken
    }

    /// Every transaction, by replica then sequence number.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Arc<Txn>> + '_ {
        self.0.values().flatten()
    }

    /// Whether it holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes everything out.
    pub(super) fn drain_all(&mut self) -> impl Iterator<Item = Arc<Txn>> {
        std::mem::take(&mut self.0).into_values().flatten()
    }
}
