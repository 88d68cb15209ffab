//! The outbox side of a replica: the root's acknowledgements, relay copies, superseded
//! replicas, recovery, and the salvage of an earlier history (see the
//! [module documentation](super#superseded-replicas-and-recovery)).

use std::collections::HashMap;
use std::sync::Arc;

use super::ledger::Ledger;
use super::{Attachments, Commit, OpError, Replica, Superseded};
use crate::auth::Tag;
use crate::ids::{Entropy, IdError, TxnId};
use crate::message::{Acks, Refusal};
use crate::state::VersionVector;
use crate::txn::{HoldOp, LotKey, Txn};

impl Replica {
    /// Marks this replica superseded (the first reason found is kept).
    pub(crate) fn supersede(&mut self, why: Superseded) -> Superseded {
        *self.superseded.get_or_insert(why)
    }

    /// A peer holds `seen` of this replica's transactions: more than this replica itself
    /// means its storage went back in time.
    pub(crate) fn check_seen(&mut self, seen: u64) -> Result<(), Superseded> {
        let have = self.state.vv().get(&self.me);
        if seen > have {
            return Err(self.supersede(Superseded::Behind { have, seen }));
        }
        Ok(())
    }

    /// Takes the root's acknowledgements. An acknowledgement of this terminal's own
    /// replicas counts only with the root's seal under this terminal's key (anything else is
    /// ignored: a member may have made it up); another terminal's cannot be checked here and
    /// only drops relayed copies, whose origin still holds them. Transactions leave a queue
    /// when the acknowledged digest matches that queue's own copy at that sequence number
    /// (by the chain it vouches for every earlier one), or, for the outbox, this state's
    /// head there (the outbox's transactions are in this state's history; a salvage is
    /// another history and needs its own copy matched). A sealed acknowledgement beyond this
    /// replica's own history, or with another digest for one of its transactions, supersedes
    /// it.
    pub(crate) fn apply_acks(&mut self, acks: &Acks) -> Result<(), Superseded> {
        let store = self.store();
        for (r, ack) in acks {
            let own_terminal = r.terminal == self.me.terminal;
            if own_terminal && !ack.is_sealed_by(&self.key, store) {
                continue;
            }
            if *r == self.me {
                self.check_seen(ack.seq)?;
            }
            let id = TxnId {
                replica: *r,
                seq: ack.seq,
            };
            let in_history = self.ledger.get(&id).map(|t| t.digest).or_else(|| {
                self.state
                    .head(r)
                    .filter(|h| h.id.seq == ack.seq)
                    .map(|h| h.digest)
            });
            match in_history {
                Some(digest) if digest == ack.digest => {
                    self.ledger.take_range(*r, ack.from, ack.seq);
                }
                Some(_) if *r == self.me => {
                    return Err(self.supersede(Superseded::Forked { seq: ack.seq }));
                }
                // Another history of a relayed replica: the root judges those copies when
                // they are uploaded.
                _ => {}
            }
            if self
                .salvage
                .get(&id)
                .is_some_and(|t| t.digest == ack.digest)
            {
                self.salvage.take_range(*r, ack.from, ack.seq);
            }
            let known = self.acks.entry(*r).or_insert(*ack);
            if ack.seq > known.seq {
                *known = *ack;
            }
        }
        Ok(())
    }

    /// The upstream refused these transactions (and every later one of the same replica):
    /// as another history of their replica, or, for relayed copies, because their seal is
    /// wrong. A refusal counts only with the root's seal over this very copy (under this
    /// terminal's key). Of its own transaction: then this replica is superseded, or an
    /// earlier incarnation's transactions wait in [`forked`](Replica::forked) to be issued
    /// again under the current id; anything else about its own transactions is ignored
    /// (they stay for the root to judge). Relayed copies of other terminals are dropped
    /// (their origin still holds them); when the root's seal shows it refused a copy this
    /// replica took, this replica is superseded ([`Superseded::Took`]): its state may count
    /// a transaction that does not exist.
    pub(crate) fn refused(&mut self, refused: &[Refusal]) -> Result<(), Superseded> {
        let store = self.store();
        for r in refused {
            let id = r.id;
            if id.replica.terminal != self.me.terminal {
                let took = self
                    .ledger
                    .get(&id)
                    .is_some_and(|t| r.is_sealed_for(t, &self.key, store));
                self.ledger.take_range(id.replica, id.seq, u64::MAX);
                if took {
                    return Err(self.supersede(Superseded::Took { txn: id }));
                }
                continue;
            }
            let copy = self.ledger.get(&id).or_else(|| self.salvage.get(&id));
            if !copy.is_some_and(|t| r.is_sealed_for(t, &self.key, store)) {
                continue;
            }
            if id.replica == self.me {
                return Err(self.supersede(Superseded::Forked { seq: id.seq }));
            }
            let mut moved = self.ledger.take_range(id.replica, id.seq, u64::MAX);
            moved.extend(self.salvage.take_range(id.replica, id.seq, u64::MAX));
            moved.into_iter().for_each(|t| self.forked.insert(t, None));
        }
        Ok(())
    }

    /// This replica's version vector, except that the replicas of `terminal` count only as
    /// far as this replica holds their transactions *as transactions* it can pass on to
    /// the root: the segment the root acknowledged (as known here), extended by the
    /// consecutive transactions of the outbox after it, and never beyond the state. A
    /// replica known further only as state (a delta from a member that had it from an
    /// earlier store leader) stops where its transactions stop, so `terminal` uploads the
    /// rest again (see [`protocol`](crate::protocol#trust)).
    pub(crate) fn relayable_for(&self, terminal: u16) -> VersionVector {
        self.state
            .vv()
            .iter()
            .map(|(r, seq)| {
                if r.terminal != terminal {
                    return (r, seq);
                }
                // Only an acknowledgement of a prefix (from 1) says the root holds everything
                // up to it: after a gap, the terminal may still hold the transactions below
                // the acknowledged segment, and uploads them again.
                let acked = self
                    .acks
                    .get(&r)
                    .filter(|a| a.from <= 1)
                    .map_or(0, |a| a.seq);
                let held = self
                    .ledger
                    .queue(&r)
                    .map_or(acked, |q| q.consecutive_from(acked));
                (r, held.min(seq))
            })
            .collect()
    }

    /// Keeps a transaction received from another replica for relaying to the root, with
    /// its origin seal if it came with one.
    pub(crate) fn keep_for_relay(&mut self, txn: Arc<Txn>, seal: Option<Tag>) {
        let s = txn.id.seq;
        let acked = self
            .acks
            .get(&txn.id.replica)
            .is_some_and(|a| a.from <= s && s <= a.seq);
        if !acked {
            self.ledger.insert(txn, seal);
        }
    }

    /// Transactions of an earlier history of this terminal awaiting the root's judgement
    /// (after [`recover`](Replica::recover)); they travel only to the root.
    pub fn salvage(&self) -> impl Iterator<Item = &Txn> + '_ {
        self.salvage.iter().map(|t| &**t)
    }

    /// Transactions of an earlier history that the root refused as forked, waiting to be
    /// issued again under this replica's id (as soon as every lot they name is known).
    pub fn forked(&self) -> impl Iterator<Item = &Txn> + '_ {
        self.forked.iter().map(|t| &**t)
    }

    /// A fresh replica for this terminal after it was superseded or its storage failed: a
    /// new incarnation drawn from `entropy`, an empty state (the next sync brings the
    /// store's state from the leader or the cloud), the claim and PMP queues, and this
    /// terminal's unconfirmed transactions as [`salvage`](Replica::salvage) for the root to
    /// judge. Relayed copies of other terminals' transactions are left behind: their origins
    /// hold them.
    pub fn recover(&self, entropy: &mut dyn Entropy) -> Result<Replica, IdError> {
        let me = self.fresh_id(entropy)?;
        let mut fresh = Replica::new(self.store(), me, self.key.clone());
        fresh.hlc = self.hlc;
        let own = |t: &&Arc<Txn>| t.id.replica.terminal == me.terminal;
        fresh.salvage = Ledger::from_txns(
            self.ledger
                .iter()
                .chain(self.salvage.iter())
                .filter(own)
                .map(Arc::clone),
        );
        fresh.forked = self.forked.clone();
        fresh.claims = self.claims.clone();
        fresh.pmp_reports = self.pmp_reports.clone();
        Ok(fresh)
    }

    /// Issues again, under this replica's id, the forked transactions of earlier histories
    /// (same kind, lines, holds, metadata and reference; lots and holds they created get new
    /// keys). All of them or none: when a lot they name is not known yet, nothing is issued
    /// and the next call tries again.
    pub(crate) fn reissue_forked(&mut self, now_ms: u64) -> Result<Vec<Commit>, OpError> {
        if self.forked.is_empty() || self.superseded.is_some() {
            return Ok(Vec::new());
        }
        let created: Vec<LotKey> = self
            .forked
            .iter()
            .flat_map(|t| t.new_lots.iter().map(|l| l.key))
            .collect();
        let ready = self.forked.iter().all(|t| {
            self.state
                .missing_lot(t)
                .is_none_or(|lot| created.contains(&lot))
        });
        if !ready {
            return Ok(Vec::new());
        }
        let mut copy = self.clone();
        let mut lots: HashMap<LotKey, LotKey> = HashMap::new();
        let mut holds: HashMap<TxnId, TxnId> = HashMap::new();
        let mut commits = Vec::new();
        for old in copy.forked.drain_all().collect::<Vec<_>>() {
            let mut t = copy.txn(now_ms, old.kind, old.reason, old.reference.clone())?;
            for info in &old.new_lots {
                let mut info = info.clone();
                let fresh = copy.next_lot_no.saturating_add(t.new_lots.len() as u32);
                let key = LotKey {
                    origin: copy.me,
                    local_no: fresh,
                };
                lots.insert(info.key, key);
                info.key = key;
                info.created_seq = t.id.seq;
                t.new_lots.push(info);
            }
            let lot = |k: &LotKey| *lots.get(k).unwrap_or(k);
            t.lines = old
                .lines
                .iter()
                .map(|l| crate::txn::Line {
                    lot: lot(&l.lot),
                    delta: l.delta,
                })
                .collect();
            t.holds = old
                .holds
                .iter()
                .map(|h| match h {
                    HoldOp::Place { lot: l, reference } => HoldOp::Place {
                        lot: lot(l),
                        reference: reference.clone(),
                    },
                    HoldOp::Release { hold } => HoldOp::Release {
                        hold: *holds.get(hold).unwrap_or(hold),
                    },
                })
                .collect();
            t.transfer = old.transfer;
            t.meta = old.meta.iter().map(|(l, v)| (lot(l), v.clone())).collect();
            t.compensates = old.compensates.map(|mut c| {
                c.lot = lot(&c.lot);
                c
            });
            if old.holds.iter().any(|h| matches!(h, HoldOp::Place { .. })) {
                holds.insert(old.id, t.id);
            }
            commits.push(copy.commit(t, Attachments::default())?);
        }
        *self = copy;
        Ok(commits)
    }
}
