//! The server side of an upload: checks every transaction before anything changes, then
//! applies each replica's transactions once, in order, buffering gaps within the limits.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::log::Logged;
use super::{MAX_SEQ, Peer, ProtocolError, Role};
use crate::cs_log::CsLink;
use crate::ids::{ReplicaId, TxnId};
use crate::message::Message;
use crate::message::{Body, Refusal};
use crate::replica::{MAX_LINE_QTY, Superseded};
use crate::state::Applied;
use crate::txn::{SealedTxn, Txn, TxnKind};

/// What to do with one uploaded transaction.
enum Verdict {
    /// Apply now (state and, at the root, the log).
    Apply,
    /// Held already (at the root: log it, the state has its effects from a delta).
    Log,
    /// Held already, nothing to do (members keep a copy for the root).
    Duplicate,
    /// Wait for an earlier one or for a lot.
    Buffer,
    /// Another history of its replica.
    Forked,
}

/// Checks a transaction received from another replica before anything is applied.
pub(super) fn validate(t: &Txn, scratch: &mut Vec<u8>) -> Result<(), ProtocolError> {
    let bad = |why: &str| {
        Err(ProtocolError::Invalid(format!(
            "transaction {:?}: {why}",
            t.id
        )))
    };
    if t.id.seq == 0 || t.id.seq > MAX_SEQ {
        return bad("sequence number out of range");
    }
    if t.lines
        .iter()
        .any(|l| l.delta == 0 || l.delta.unsigned_abs() > MAX_LINE_QTY)
    {
        return bad("line quantity out of range");
    }
    if t.kind == TxnKind::TransferIn
        && (t.transfer.is_none() || t.lines.len() != 1 || t.lines[0].delta <= 0)
    {
        return bad("a transfer receipt has one positive line and a transfer id");
    }
    if t.kind == TxnKind::Restore
        && (CsLink::of(t).is_none()
            || !t.lines.is_empty()
            || !t.new_lots.is_empty()
            || !t.holds.is_empty()
            || !t.meta.is_empty()
            || t.transfer.is_some()
            || t.compensates.is_some())
    {
        return bad(
            "a restore is its replica's first transaction and only links to another incarnation of its terminal",
        );
    }
    if t.new_lots
        .iter()
        .any(|l| l.key.origin != t.id.replica || l.created_seq != t.id.seq)
    {
        return bad("a new lot must be created by this transaction's replica and sequence");
    }
    match t.computed_digest(scratch) {
        Err(e) => bad(&format!("cannot be encoded: {e}")),
        Ok(d) if d != t.digest => bad("its digest does not match its contents"),
        Ok(_) => Ok(()),
    }
}

/// The runs of an upload: index ranges of one replica's consecutive, chained transactions
/// (each one [`follows`](Txn::follows) the one before it).
fn runs(txns: &[SealedTxn]) -> Vec<std::ops::RangeInclusive<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..txns.len() {
        let last = txns
            .get(i + 1)
            .is_none_or(|next| !next.txn.follows(&txns[i].txn));
        if last {
            out.push(start..=i);
            start = i + 1;
        }
    }
    out
}

impl Peer {
    /// How far this peer holds `r` as transactions (the log at the root, the state
    /// elsewhere): buffered transactions drain from the next one.
    fn frontier(&self, r: &ReplicaId) -> u64 {
        match self.role {
            Role::Root => self.log.prefix(r),
            Role::Member => self.replica.state().vv().get(r),
        }
    }

    fn verdict(&self, t: &Txn) -> Verdict {
        let state = self.replica.state().check(t);
        match (self.role, state) {
            (_, Applied::Forked { .. }) => Verdict::Forked,
            (Role::Member, Applied::Applied) => Verdict::Apply,
            (Role::Member, Applied::Duplicate) => Verdict::Duplicate,
            (Role::Member, Applied::Gap { .. } | Applied::MissingLot { .. }) => Verdict::Buffer,
            (Role::Root, _) => match (self.log.classify(t), state) {
                (Logged::Forked, _) => Verdict::Forked,
                (Logged::Same, _) => Verdict::Duplicate,
                (Logged::Gap, _) => Verdict::Buffer,
                (Logged::Next, Applied::Applied) => Verdict::Apply,
                (Logged::Next, Applied::Duplicate) => Verdict::Log,
                (Logged::Next, _) => Verdict::Buffer,
            },
        }
    }

    /// Checks every transaction of an upload (nothing changes on error), then takes them.
    pub(super) fn accept_upload(
        &mut self,
        from: ReplicaId,
        txns: Vec<SealedTxn>,
    ) -> Result<Vec<Message>, ProtocolError> {
        if txns.len() > self.limits.max_txns_per_upload {
            return Err(ProtocolError::TooManyTransactions(txns.len()));
        }
        let store = self.replica.store();
        let me = self.replica.id();
        for t in txns.iter().map(|s| &*s.txn) {
            validate(t, &mut self.scratch)?;
            let origin = t.id.replica.terminal;
            if !self.keys.is_member(store, origin) {
                return Err(ProtocolError::UnknownOrigin(t.id));
            }
            if self.role == Role::Member && origin != from.terminal {
                return Err(ProtocolError::RelayRefused { from, txn: t.id });
            }
            if let Some(link) = CsLink::of(t) {
                self.check_cs_link(t.id.replica, &link)?;
            }
        }
        // Refused per replica: the first transaction of a relayed run whose seal is wrong
        // (the relay may not be at fault), then the first of another history.
        let mut refused: BTreeMap<ReplicaId, Arc<Txn>> = BTreeMap::new();
        for run in runs(&txns) {
            let last = &txns[*run.end()];
            let Some(seal) = last.seal else {
                // A run that ends just below a transaction the root holds, which chains to
                // it, is vouched for by that one (a relay whose seal went with the copies the
                // root already acknowledged).
                if self.role == Role::Root && self.log.chains_into_held(&last.txn) {
                    continue;
                }
                if last.txn.id.replica.terminal == from.terminal {
                    return Err(ProtocolError::Unsealed(last.txn.id));
                }
                // A relay may have been misled about what the root holds: refused alone.
                refused
                    .entry(last.txn.id.replica)
                    .or_insert_with(|| Arc::clone(&txns[*run.start()].txn));
                continue;
            };
            let origin = last.txn.id.replica;
            let valid = match self.keys.origin_key(store, origin.terminal) {
                Some(k) => {
                    last.txn.seal_is_valid(k, store, &seal)
                        && txns[run.clone()].iter().all(|s| {
                            s.seal
                                .is_none_or(|seal| s.txn.seal_is_valid(k, store, &seal))
                        })
                }
                None if self.role == Role::Root => {
                    return Err(ProtocolError::MissingKey("a member's origin key"));
                }
                // A member cannot check other terminals' seals; it takes only the sender's.
                None => true,
            };
            if !valid {
                if origin.terminal == from.terminal {
                    return Err(ProtocolError::BadSeal(last.txn.id));
                }
                refused
                    .entry(origin)
                    .or_insert_with(|| Arc::clone(&txns[*run.start()].txn));
            }
        }
        // Transactions of this very replica beyond what it holds, in runs sealed with its
        // own key (checked above: every peer holds its own terminal's key): another copy of
        // it went further, so its storage went back in time.
        let have = self.replica.state().vv().get(&me);
        if let Some(t) = txns
            .iter()
            .map(|s| &s.txn)
            .find(|t| t.id.replica == me && t.id.seq > have && !refused.contains_key(&me))
        {
            let why = self.replica.supersede(Superseded::Behind {
                have,
                seen: t.id.seq,
            });
            return Err(ProtocolError::Superseded(why));
        }
        self.check_capacity(&txns)?;

        for s in &txns {
            let t = &s.txn;
            if refused.contains_key(&t.id.replica) {
                continue;
            }
            if let Verdict::Forked = self.verdict(t) {
                refused.insert(t.id.replica, Arc::clone(t));
            }
        }
        let ids: Vec<TxnId> = txns.iter().map(|s| s.txn.id).collect();
        self.forks.clear();
        for s in txns {
            if !refused.contains_key(&s.txn.id.replica) {
                self.take(s);
            }
        }
        self.drain_all();
        // Found another history only once earlier ones were applied, here or in the buffer.
        for t in std::mem::take(&mut self.forks) {
            refused.entry(t.id.replica).or_insert(t);
        }
        let acks = match self.role {
            // The highest uploaded transaction of each replica the root now holds.
            Role::Root => self.sealed_acks(self.log.held_of(&ids)),
            Role::Member => self.replica.acks().clone(),
        };
        let refused = refused
            .into_values()
            .map(|t| match self.keys.origin_key(store, from.terminal) {
                Some(key) if self.role == Role::Root => Refusal::sealed(&t, key, store),
                _ => Refusal {
                    id: t.id,
                    seal: None,
                },
            })
            .collect();
        Ok(vec![self.seal(Body::UploadAck {
            vv: self.txn_vv(from),
            acks,
            refused,
        })?])
    }

    /// Refuses a restore whose link names a transaction of the old incarnation that this
    /// peer holds with another digest (the backup came from another history).
    fn check_cs_link(&self, restored: ReplicaId, link: &CsLink) -> Result<(), ProtocolError> {
        let at = TxnId {
            replica: link.from,
            seq: link.seq,
        };
        let held = match self.role {
            Role::Root => self.log.digest_at(&at),
            Role::Member => None,
        }
        .or_else(|| {
            self.replica
                .state()
                .head(&link.from)
                .filter(|h| h.id.seq == link.seq)
                .map(|h| h.digest)
        });
        match held {
            Some(held) if held != link.txn_digest => Err(ProtocolError::CsLink(
                crate::cs_log::CsLogError::LinkMismatch {
                    restored,
                    predecessor: at,
                    claimed: link.txn_digest,
                    held,
                },
            )),
            _ => self
                .replica
                .cs_log()
                .check_link(restored, link)
                .map_err(ProtocolError::CsLink),
        }
    }

    /// Refuses an upload that would buffer more than the limits or track too many
    /// replicas (counted before anything changes).
    fn check_capacity(&self, txns: &[SealedTxn]) -> Result<(), ProtocolError> {
        let mut by_replica: BTreeMap<ReplicaId, BTreeSet<u64>> = BTreeMap::new();
        for t in txns.iter().map(|s| &s.txn) {
            by_replica.entry(t.id.replica).or_default().insert(t.id.seq);
        }
        let state = self.replica.state();
        let new_replicas = by_replica
            .keys()
            .filter(|r| state.vv().get(r) == 0 && state.head(r).is_none())
            .count();
        self.check_replicas(new_replicas)?;
        let mut total = self.buffered();
        for (r, seqs) in &by_replica {
            let buffer = self.gaps.get(r);
            let mut next = self.frontier(r) + 1;
            while seqs.contains(&next) || buffer.is_some_and(|b| b.contains_key(&next)) {
                next += 1;
            }
            let added = seqs
                .iter()
                .filter(|&&s| s > next && !buffer.is_some_and(|b| b.contains_key(&s)))
                .count();
            let per = buffer.map_or(0, BTreeMap::len) + added;
            total += added;
            if per > self.limits.max_buffered_per_replica {
                return Err(ProtocolError::BufferFull {
                    buffered: per,
                    max: self.limits.max_buffered_per_replica,
                });
            }
        }
        if total > self.limits.max_buffered_total {
            return Err(ProtocolError::BufferFull {
                buffered: total,
                max: self.limits.max_buffered_total,
            });
        }
        Ok(())
    }

    /// Applies, logs, keeps or buffers one checked transaction; `false` when it must wait.
    pub(super) fn take(&mut self, s: SealedTxn) -> bool {
        let SealedTxn { txn: t, seal } = s;
        match self.verdict(&t) {
            Verdict::Apply => {
                // The seal stays with the relay copy only: a leader cannot check it, so it
                // does not pass it on as evidence for its state.
                self.replica.state_mut().apply(Arc::clone(&t));
                self.replica.cs_observe(&t);
                if self.role == Role::Root {
                    // The root checks seals and needs no evidence: it passes on only head
                    // seals of its own heads' (a carried one would mislead the members).
                    self.replica.state_mut().unseal_head(&t.id.replica);
                    self.log_txn(t);
                } else {
                    self.replica.keep_for_relay(t, seal);
                }
                true
            }
            Verdict::Log => {
                self.log_txn(t);
                true
            }
            Verdict::Duplicate => {
                if self.role == Role::Member {
                    // Known (perhaps as state through a delta): keep it for the root's audit
                    // trail, and the controlled-substance log's.
                    self.replica.cs_observe(&t);
                    self.replica.keep_for_relay(t, seal);
                }
                true
            }
            Verdict::Buffer => {
                self.gaps
                    .entry(t.id.replica)
                    .or_default()
                    .insert(t.id.seq, SealedTxn { txn: t, seal });
                false
            }
            // Refused (reported to the uploader); its replica's later transactions wait in
            // vain and are dropped by the frontier check in `drain`.
            Verdict::Forked => {
                self.forks.push(t);
                true
            }
        }
    }

    pub(super) fn log_txn(&mut self, t: Arc<Txn>) {
        self.log.push(&t);
        self.replica.cs_observe(&t);
        if let Some(sink) = &mut self.logged {
            sink.push(t);
        }
    }

    /// Applies buffered transactions that became applicable (every replica: a lot one of
    /// them waited for may just have arrived).
    pub(super) fn drain_all(&mut self) {
        loop {
            let mut progressed = false;
            let replicas: Vec<ReplicaId> = self.gaps.keys().copied().collect();
            for r in replicas {
                progressed |= self.drain(r);
            }
            if !progressed {
                break;
            }
        }
    }

    fn drain(&mut self, r: ReplicaId) -> bool {
        match self.role {
            Role::Member => self.drain_up(r),
            Role::Root => self.drain_around(r),
        }
    }

    /// Root: takes every buffered transaction of `r` that now chains onto a held neighbour
    /// (either side: the log may have holes), until none does.
    fn drain_around(&mut self, r: ReplicaId) -> bool {
        let mut progressed = false;
        loop {
            let seqs: Vec<u64> = self
                .gaps
                .get(&r)
                .map(|b| b.keys().copied().collect())
                .unwrap_or_default();
            let mut step = false;
            // Upwards then downwards, so a chain is taken in one pass either way.
            for seq in seqs.iter().chain(seqs.iter().rev()).copied() {
                let Some(t) = self.gaps.get_mut(&r).and_then(|b| b.remove(&seq)) else {
                    continue;
                };
                if matches!(self.verdict(&t.txn), Verdict::Buffer) {
                    self.gaps.entry(r).or_default().insert(seq, t);
                    continue;
                }
                self.take(t);
                step = true;
            }
            if !step {
                break;
            }
            progressed = true;
        }
        if self.gaps.get(&r).is_some_and(BTreeMap::is_empty) {
            self.gaps.remove(&r);
        }
        progressed
    }

    /// Member: applies buffered transactions of `r` from its next sequence number on.
    fn drain_up(&mut self, r: ReplicaId) -> bool {
        let mut progressed = false;
        loop {
            let next = self.frontier(&r) + 1;
            let Some(t) = self.gaps.get_mut(&r).and_then(|b| b.remove(&next)) else {
                break;
            };
            if matches!(self.verdict(&t.txn), Verdict::Buffer) {
                // Still waiting (for a lot): put it back.
                self.gaps.entry(r).or_default().insert(next, t);
                break;
            }
            self.take(t);
            progressed = true;
        }
        let have = self.frontier(&r);
        if let Some(b) = self.gaps.get_mut(&r) {
            b.retain(|&s, _| s > have);
            if b.is_empty() {
                self.gaps.remove(&r);
            }
        }
        progressed
    }
}
