//! Building the log as a holder accepts transactions, one replica's in its order.

use std::collections::BTreeMap;
use std::sync::Arc;

use pharm_core::ids::PharmacyId;

use super::entry::{CsEntry, CsLink, Draft, genesis};
use super::verify::{CsHead, CsLogError};
use crate::auth::Digest;
use crate::ids::{ReplicaId, TxnId};
use crate::txn::{LotKey, Txn};

/// Transactions held back at most (received before an earlier one of their replica, or a
/// restore before the holder reached its link): beyond it, a transaction received out of
/// order is not kept, and its replica's chain stops there (see [`CsLog::waiting`]).
pub const MAX_PENDING: usize = 16_384;

/// One replica's segment as built so far.
#[derive(Debug, Clone, Default)]
struct Chain {
    /// Sequence number of the last transaction taken (0: none yet).
    seq: u64,
    /// Its digest.
    txn_digest: Digest,
    /// The entries, in sequence order.
    entries: Vec<CsEntry>,
    /// The old incarnation this one continues, for a restored one.
    link: Option<CsLink>,
    /// Its restore link contradicts the old incarnation: nothing more is taken.
    refused: bool,
}

/// A transaction waiting for an earlier one, with what it contributes.
#[derive(Debug, Clone)]
struct Pending {
    txn: Arc<Txn>,
    draft: Option<Draft>,
}

/// A holder's controlled-substance log (see the [module documentation](super)): fed every
/// transaction the holder holds ([`observe`](Self::observe)), in any order.
#[derive(Debug, Clone)]
pub struct CsLog {
    store: PharmacyId,
    chains: BTreeMap<ReplicaId, Chain>,
    pending: BTreeMap<ReplicaId, BTreeMap<u64, Pending>>,
    pending_len: usize,
    conflicts: Vec<CsLogError>,
}

impl CsLog {
    /// An empty log of `store`.
    pub fn new(store: PharmacyId) -> Self {
        CsLog {
            store,
            chains: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_len: 0,
            conflicts: Vec::new(),
        }
    }

    /// The store.
    pub fn store(&self) -> PharmacyId {
        self.store
    }

    /// Takes a transaction this holder holds (checked, chained and applied or logged), with
    /// `controlled` telling which lots are controlled substances. A transaction taken
    /// already is ignored; one after a gap waits for the ones before it.
    pub fn observe(&mut self, t: &Arc<Txn>, controlled: &dyn Fn(&LotKey) -> bool) {
        let r = t.id.replica;
        let chain = self.chains.get(&r);
        if chain.is_some_and(|c| c.refused || t.id.seq <= c.seq) {
            return;
        }
        let w = Pending {
            txn: Arc::clone(t),
            draft: Draft::of(t, controlled),
        };
        if self.can_take(&r, &w) {
            self.take(w);
            self.drain();
            return;
        }
        let waiting = self.pending.entry(r).or_default();
        if self.pending_len < MAX_PENDING && !waiting.contains_key(&t.id.seq) {
            waiting.insert(t.id.seq, w);
            self.pending_len += 1;
        }
        if waiting.is_empty() {
            self.pending.remove(&r);
        }
    }

    /// Takes every waiting transaction that can be taken now.
    fn drain(&mut self) {
        loop {
            let ready: Vec<ReplicaId> = self
                .pending
                .iter()
                .filter(|(r, p)| {
                    p.first_key_value()
                        .is_some_and(|(_, w)| self.can_take(r, w))
                })
                .map(|(r, _)| *r)
                .collect();
            if ready.is_empty() {
                break;
            }
            for r in ready {
                let Some((_, w)) = self.pending.get_mut(&r).and_then(BTreeMap::pop_first) else {
                    continue;
                };
                self.pending_len = self.pending_len.saturating_sub(1);
                if self.pending.get(&r).is_some_and(BTreeMap::is_empty) {
                    self.pending.remove(&r);
                }
                self.take(w);
            }
        }
    }

    /// Whether `w` continues its replica's chain now (a restore also needs the holder to
    /// have reached its link in the old incarnation).
    fn can_take(&self, r: &ReplicaId, w: &Pending) -> bool {
        let chain = self.chains.get(r);
        let (seq, digest) = chain.map_or((0, Digest::default()), |c| (c.seq, c.txn_digest));
        if chain.is_some_and(|c| c.refused) {
            return true; // dropped by `take`
        }
        if w.txn.id.seq <= seq {
            return true; // a duplicate, dropped by `take`
        }
        if w.txn.id.seq != seq + 1 || w.txn.prev != digest {
            return false;
        }
        match w.draft.as_ref().and_then(|d| d.link) {
            Some(link) => self
                .chains
                .get(&link.from)
                .is_some_and(|c| c.seq >= link.seq),
            None => true,
        }
    }

    fn take(&mut self, w: Pending) {
        let t = &w.txn;
        let r = t.id.replica;
        let chain = self.chains.get(&r);
        if chain.is_some_and(|c| c.refused || t.id.seq <= c.seq) {
            return;
        }
        let mut link = None;
        let prev = match w.draft.as_ref().and_then(|d| d.link) {
            Some(l) => {
                if let Err(e) = self.check_link(r, &l) {
                    self.conflicts.push(e);
                    self.chains.entry(r).or_default().refused = true;
                    return;
                }
                link = Some(l);
                self.link_target(&l)
            }
            None => chain
                .and_then(|c| c.entries.last())
                .map_or_else(|| genesis(self.store, r.terminal), |e| e.digest),
        };
        let store = self.store;
        let chain = self.chains.entry(r).or_default();
        chain.seq = t.id.seq;
        chain.txn_digest = t.digest;
        if link.is_some() {
            chain.link = link;
        }
        if let Some(d) = w.draft {
            chain.entries.push(d.chain(store, t, prev));
        }
    }

    /// The digest this holder holds for the old incarnation's transaction at the link's
    /// sequence number, where it still knows it (the last one taken, or an entry's).
    pub fn txn_digest_at(&self, id: &TxnId) -> Option<Digest> {
        let c = self.chains.get(&id.replica)?;
        if c.seq == id.seq {
            return Some(c.txn_digest);
        }
        c.entries
            .iter()
            .find(|e| e.txn.seq == id.seq)
            .map(|e| e.txn_digest)
    }

    /// Checks a restore link of `restored` against what this log holds of the old
    /// incarnation.
    pub fn check_link(&self, restored: ReplicaId, link: &CsLink) -> Result<(), CsLogError> {
        let at = TxnId {
            replica: link.from,
            seq: link.seq,
        };
        match self.txn_digest_at(&at) {
            Some(held) if held != link.txn_digest => Err(CsLogError::LinkMismatch {
                restored,
                predecessor: at,
                claimed: link.txn_digest,
                held,
            }),
            _ => Ok(()),
        }
    }

    /// The entry a restored segment links to: the old segment's last entry at or before
    /// the link, else the terminal's genesis.
    fn link_target(&self, link: &CsLink) -> Digest {
        self.chains
            .get(&link.from)
            .and_then(|c| c.entries.iter().rev().find(|e| e.txn.seq <= link.seq))
            .map_or_else(|| genesis(self.store, link.from.terminal), |e| e.digest)
    }

    /// The entries of one replica's segment, in sequence order.
    pub fn segment(&self, replica: &ReplicaId) -> &[CsEntry] {
        self.chains.get(replica).map_or(&[], |c| &c.entries)
    }

    /// Every entry, in export order: by terminal, each terminal's segments in link order
    /// (predecessors first, then by incarnation), each segment in sequence order.
    pub fn export(&self) -> Vec<CsEntry> {
        let mut out = Vec::new();
        let mut children: BTreeMap<ReplicaId, Vec<ReplicaId>> = BTreeMap::new();
        let mut roots: Vec<ReplicaId> = Vec::new();
        for (r, c) in &self.chains {
            match c.link {
                Some(l) if self.chains.contains_key(&l.from) => {
                    children.entry(l.from).or_default().push(*r)
                }
                _ => roots.push(*r),
            }
        }
        // `chains` iterates in (terminal, incarnation) order, so roots and children do too.
        let mut stack: Vec<ReplicaId> = roots.into_iter().rev().collect();
        while let Some(r) = stack.pop() {
            out.extend(self.segment(&r).iter().cloned());
            if let Some(kids) = children.get(&r) {
                stack.extend(kids.iter().rev().copied());
            }
        }
        out
    }

    /// The head of the log: what [`verify`](super::verify) returns for its export.
    pub fn head(&self) -> CsHead {
        CsHead::of(self.chains.iter().map(|(r, c)| (*r, &c.entries[..])))
    }

    /// Replicas whose chain waits for a transaction this holder does not hold yet, with the
    /// sequence number it waits after.
    pub fn waiting(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.pending
            .keys()
            .map(|r| (*r, self.chains.get(r).map_or(0, |c| c.seq)))
    }

    /// Restore links found to contradict the old incarnation (their segments are not
    /// taken).
    pub fn conflicts(&self) -> &[CsLogError] {
        &self.conflicts
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::txn::{Line, Reason, TxnKind};

    fn lot(n: u32) -> LotKey {
        LotKey {
            origin: ReplicaId::new(9, 9),
            local_no: n,
        }
    }

    fn txn(r: ReplicaId, seq: u64, prev: Digest, kind: TxnKind, lot_no: u32) -> Arc<Txn> {
        let mut t = Txn {
            id: TxnId { replica: r, seq },
            hlc: Hlc::new(seq, 0),
            kind,
            reason: Reason::None,
            lines: vec![Line {
                lot: lot(lot_no),
                delta: -1,
            }],
            new_lots: Vec::new(),
            holds: Vec::new(),
            transfer: None,
            meta: Vec::new(),
            compensates: None,
            reference: format!("rx{seq}"),
            prev,
            digest: Digest::default(),
        };
        t.link(&mut Vec::new()).unwrap();
        Arc::new(t)
    }

    /// Lot 1 is controlled, lot 2 is not.
    fn chain_of(r: ReplicaId, lots: &[u32]) -> Vec<Arc<Txn>> {
        let mut prev = Digest::default();
        lots.iter()
            .enumerate()
            .map(|(i, l)| {
                let t = txn(r, i as u64 + 1, prev, TxnKind::Dispense, *l);
                prev = t.digest;
                t
            })
            .collect()
    }

    fn controlled(k: &LotKey) -> bool {
        k.local_no == 1
    }

    #[test]
    fn any_arrival_order_builds_the_same_chain() {
        let r = ReplicaId::new(1, 5);
        let txns = chain_of(r, &[1, 2, 1, 1, 2, 1]);
        let mut in_order = CsLog::new(PharmacyId::new(3));
        for t in &txns {
            in_order.observe(t, &controlled);
        }
        assert_eq!(in_order.segment(&r).len(), 4);
        let mut shuffled = CsLog::new(PharmacyId::new(3));
        for i in [5, 2, 0, 4, 1, 3, 2] {
            shuffled.observe(&txns[i], &controlled);
        }
        assert_eq!(shuffled.export(), in_order.export());
        assert_eq!(shuffled.waiting().count(), 0);
        assert_eq!(
            super::super::verify(PharmacyId::new(3), &in_order.export()),
            Ok(in_order.head())
        );
    }

    #[test]
    fn a_restore_links_to_the_old_segment_and_a_wrong_link_is_refused() {
        let store = PharmacyId::new(3);
        let old = ReplicaId::new(1, 5);
        let txns = chain_of(old, &[1, 2, 1, 2]);
        let restore = |new: ReplicaId, seq: u64, d: Digest| {
            let mut t = (*txn(new, 1, Digest::default(), TxnKind::Restore, 1)).clone();
            t.lines.clear();
            t.reference = CsLink {
                from: old,
                seq,
                txn_digest: d,
            }
            .reference();
            t.link(&mut Vec::new()).unwrap();
            Arc::new(t)
        };
        let mut log = CsLog::new(store);
        let new = ReplicaId::new(1, 6);
        let r = restore(new, 2, txns[1].digest);
        // The restore waits until the holder reaches seq 2 of the old incarnation.
        log.observe(&r, &controlled);
        log.observe(&txns[0], &controlled);
        assert!(log.segment(&new).is_empty());
        for t in &txns[1..] {
            log.observe(t, &controlled);
        }
        let start = &log.segment(&new)[0];
        assert_eq!(
            start.prev,
            log.segment(&old)[0].digest,
            "entry at or before seq 2"
        );
        assert_eq!(super::super::verify(store, &log.export()), Ok(log.head()));

        let liar = ReplicaId::new(1, 7);
        let bad = restore(liar, 3, Digest([9; 16]));
        assert!(log.check_link(liar, &CsLink::of(&bad).unwrap()).is_err());
        log.observe(&bad, &controlled);
        assert!(log.segment(&liar).is_empty());
        assert!(matches!(
            log.conflicts(),
            [CsLogError::LinkMismatch { restored, .. }] if *restored == liar
        ));
    }
}
