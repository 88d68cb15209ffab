//! A replica: its inventory state, its outbox (ledger of transactions not yet held by the
//! root), the insurance-claim and PMP-report queues, and the local operations that create
//! transactions.
//!
//! Every operation returns a [`Commit`]: the transaction (chained to this replica's
//! previous one by its digest) and the queue rows it adds. A durable store writes a commit in one database
//! transaction, so a transaction and its outbox rows are never separated (see the `sqlite`
//! feature). An operation validates everything first, including that its transaction can
//! be encoded, and changes nothing when it fails.
//!
//! # Superseded replicas and recovery
//!
//! Sequence numbers belong to a replica id, so two copies of a terminal must never issue
//! transactions under one id. When a sync shows that the store or the root holds more of
//! this replica's transactions than it does (a rolled-back disk, a file copied from another
//! day) or a different history of them, the replica is **superseded**: it refuses every
//! local operation ([`OpError::Superseded`]) until the POS calls [`Replica::recover`], which
//! starts a fresh replica under a new random incarnation, takes the state from the store
//! leader or the cloud at the next sync, and hands this replica's unconfirmed transactions
//! to the root for judgement ([`Replica::salvage`]): the ones the root holds identically are
//! dropped, the ones it lacks are applied under their old id, and the ones that conflict
//! with a different history are issued again under the new id ([`Replica::forked`]).
//! Nothing acknowledged by the old replica is lost, and nothing is counted twice.

mod ledger;
mod op;
mod ops;
mod outbox;

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::sync::Arc;

use pharm_core::time::Date;
use serde::{Deserialize, Serialize};

use crate::auth::{Digest, MacKey, Tag};
use crate::codec::EncodeError;
use crate::cs_log::{CsLink, CsLog};
use crate::hlc::Hlc;
use crate::ids::{IdError, ReplicaId, TxnId};
use crate::message::Acks;
use crate::state::{Applied, InventoryState};
use crate::txn::{HoldId, LotKey, Reason, SealedTxn, TransferId, Txn, TxnKind};

use ledger::Ledger;
pub(crate) use ledger::Queue;
pub use op::Op;

/// Facts of a lot received for the first time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLot {
    /// Dense SKU id.
    pub sku: u32,
    /// Package NDC.
    pub ndc: pharm_core::ids::Ndc,
    /// Lot number (at most [`MAX_STRING_BYTES`](crate::codec::MAX_STRING_BYTES) bytes).
    pub lot_number: String,
    /// Expiry.
    pub expiry: Date,
    /// Controlled substance.
    pub controlled: bool,
}

/// A row queued with a transaction for later delivery (an insurance claim to adjudicate, a
/// PMP report to send). The payload is opaque to this crate (e.g. the claim as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuedItem {
    /// The transaction it belongs to.
    pub txn: TxnId,
    /// Opaque payload.
    pub payload: String,
}

/// Extra rows to commit with a dispense.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachments {
    /// Insurance claim to adjudicate later (offline sale).
    pub claim: Option<String>,
    /// PMP report to send.
    pub pmp_report: Option<String>,
}

/// One committed local transaction and the queue rows that go with it.
///
/// Its JSON form is an object with the transaction (`txn`, the serde form of [`Txn`]), the
/// queued `claim` and `pmp_report` rows (or `null`) and the `negative` lots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// The transaction (shared with the outbox).
    pub txn: Arc<Txn>,
    /// Insurance claim queued with it.
    pub claim: Option<QueuedItem>,
    /// PMP report queued with it.
    pub pmp_report: Option<QueuedItem>,
    /// Lots whose value went below zero (offline oversell): flagged for reconciliation.
    pub negative: Vec<LotKey>,
}

impl Commit {
    /// The lot this commit created ([`Op::ReceiveNew`], [`Op::TransferIn`]).
    pub fn new_lot(&self) -> Option<LotKey> {
        self.txn.new_lots.first().map(|l| l.key)
    }

    /// The hold this commit placed ([`Op::Hold`]): its id is the transaction's.
    pub fn hold(&self) -> Option<HoldId> {
        self.txn
            .holds
            .iter()
            .any(|h| matches!(h, crate::txn::HoldOp::Place { .. }))
            .then_some(self.txn.id)
    }

    /// The transfer this commit sent or received ([`Op::TransferOut`], [`Op::TransferIn`]).
    pub fn transfer(&self) -> Option<TransferId> {
        self.txn.transfer
    }
}

/// Why a replica may no longer issue transactions under its id (see the
/// [module documentation](self#superseded-replicas-and-recovery)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Superseded {
    /// The store or the root holds more of this replica's transactions than it does: its
    /// storage was rolled back or copied from an older day.
    Behind {
        /// This replica's own version.
        have: u64,
        /// The version seen elsewhere.
        seen: u64,
    },
    /// Another history of this replica exists (a copy issued different transactions under
    /// the same sequence numbers).
    Forked {
        /// A sequence number at which the histories differ.
        seq: u64,
    },
    /// The root refused a transaction of another terminal that this replica took as a relay
    /// (a forged one, or another history of that terminal): its state may count it, and
    /// only a fresh state from upstream is sure not to.
    Took {
        /// The refused transaction.
        txn: TxnId,
    },
}

/// A local operation that cannot be recorded. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// Quantity zero or too large.
    #[error("quantity {0} is not a positive quantity that fits in a transaction")]
    Quantity(u64),
    /// The lot is not known at this replica.
    #[error("lot {0:?} is not known at this replica")]
    UnknownLot(LotKey),
    /// The SKU has no lot at all to charge.
    #[error("SKU {0} has no lot at this store")]
    NoLots(u32),
    /// A scanned lot is held (recall, quarantine).
    #[error("lot {0:?} is on hold (recall or quarantine)")]
    Held(LotKey),
    /// The scanned lot belongs to another SKU.
    #[error("lot {lot:?} is SKU {actual}, not SKU {expected}")]
    WrongSku {
        /// Lot scanned.
        lot: LotKey,
        /// SKU asked for.
        expected: u32,
        /// The lot's SKU.
        actual: u32,
    },
    /// The transfer was already received here.
    #[error("transfer {0:?} was already received")]
    AlreadyReceived(TransferId),
    /// The hold does not exist or is already released.
    #[error("hold {0:?} is not active")]
    NoSuchHold(HoldId),
    /// The transaction could not be uploaded (a string longer than the wire format
    /// allows, too many lines...): refused now rather than wedging the outbox later.
    #[error("the transaction cannot be encoded: {0}")]
    Unencodable(#[from] EncodeError),
    /// This replica must not issue transactions any more: recover it first
    /// ([`Replica::recover`]).
    #[error("replica is superseded ({0:?}): recover it before recording anything")]
    Superseded(Superseded),
    /// The replica has created 2³² lots: no local lot number is left.
    #[error("no local lot number left")]
    LotNumbersExhausted,
    /// The operation would record nothing: a count that matches the observed value, or a
    /// write-off of a lot with nothing on hand.
    #[error("nothing to record: the lot already has the counted value or nothing on hand")]
    NothingToRecord,
    /// The state refused the transaction (a bug: operations check everything first).
    #[error("the state refused the transaction: {0:?}")]
    Refused(Applied),
    /// No fresh incarnation could be drawn for a restored replica.
    #[error("no fresh incarnation: {0}")]
    Incarnation(#[from] IdError),
}

/// Everything a durable store persists about a replica, for [`Replica::restore`].
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct ReplicaParts {
    /// Replica id.
    pub me: ReplicaId,
    /// Inventory state (rebuilt by replaying the stored transactions and deltas).
    pub state: InventoryState,
    /// Last clock reading.
    pub hlc: Hlc,
    /// Next local lot number.
    pub next_lot_no: u32,
    /// Transactions not yet held by the root, with the origin seals held for relayed ones.
    pub ledger: Vec<SealedTxn>,
    /// The root's acknowledgements known here.
    pub acks: Acks,
    /// Queued claims.
    pub claims: Vec<QueuedItem>,
    /// Queued PMP reports.
    pub pmp_reports: Vec<QueuedItem>,
    /// Why the replica is superseded, if it is.
    pub superseded: Option<Superseded>,
    /// Transactions of an earlier history awaiting the root's judgement.
    pub salvage: Vec<Arc<Txn>>,
    /// Transactions the root refused as forked, awaiting re-issue.
    pub forked: Vec<Arc<Txn>>,
}

/// Where a transaction that is not yet held by the root waits.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// The outbox.
    Outbox,
    /// Salvaged from an earlier history, for the root to judge.
    Salvage,
    /// Refused by the root as forked, to be issued again.
    Forked,
}

/// Largest quantity in one line (keeps every total far from overflow).
pub const MAX_LINE_QTY: u64 = 1 << 40;

/// A replica of one store's inventory.
#[derive(Debug, Clone)]
pub struct Replica {
    me: ReplicaId,
    key: MacKey,
    state: InventoryState,
    hlc: Hlc,
    next_lot_no: u32,
    ledger: Ledger,
    acks: Acks,
    claims: BTreeMap<TxnId, QueuedItem>,
    pmp_reports: BTreeMap<TxnId, QueuedItem>,
    superseded: Option<Superseded>,
    salvage: Ledger,
    forked: Ledger,
    /// The controlled-substance log of every transaction this replica holds.
    cs_log: CsLog,
    /// Reused buffer for the bytes a transaction's digest covers.
    scratch: Vec<u8>,
}

impl Replica {
    /// A new, empty replica that seals with `key` (its terminal's origin key).
    pub fn new(store: PharmacyId, me: ReplicaId, key: MacKey) -> Self {
        Replica {
            me,
            key,
            state: InventoryState::new(store),
            hlc: Hlc::default(),
            next_lot_no: 1,
            ledger: Ledger::default(),
            acks: Acks::new(),
            claims: BTreeMap::new(),
            pmp_reports: BTreeMap::new(),
            superseded: None,
            salvage: Ledger::default(),
            forked: Ledger::default(),
            cs_log: CsLog::new(store),
            scratch: Vec::with_capacity(128),
        }
    }

    /// Rebuilds a replica from persisted parts (the durable store's reopen path).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn restore(parts: ReplicaParts, key: MacKey) -> Self {
        Replica {
            me: parts.me,
            cs_log: CsLog::new(parts.state.store()),
            key,
            state: parts.state,
            hlc: parts.hlc,
            next_lot_no: parts.next_lot_no,
            ledger: {
                let mut l = Ledger::default();
                for s in parts.ledger {
                    l.insert(s.txn, s.seal);
                }
                l
            },
            acks: parts.acks,
            claims: parts.claims.into_iter().map(|q| (q.txn, q)).collect(),
            pmp_reports: parts.pmp_reports.into_iter().map(|q| (q.txn, q)).collect(),
            superseded: parts.superseded,
            salvage: Ledger::from_txns(parts.salvage),
            forked: Ledger::from_txns(parts.forked),
            scratch: Vec::with_capacity(128),
        }
    }

    /// A copy of this replica (a backup) restored as a fresh incarnation of the terminal:
    /// the same state, outbox and queues under a new identity drawn from `entropy`, so its
    /// new counter totals and sequence numbers cannot collide with any other copy's.
    ///
    /// When the backup holds transactions of its own, the new incarnation's first
    /// transaction is a [`TxnKind::Restore`] naming the backup's head (its replica, sequence
    /// number and digest): the controlled-substance log ([`cs_log`](crate::cs_log)) links
    /// the new incarnation's segment to the old one there.
    pub fn reincarnated(&self, entropy: &mut dyn crate::ids::Entropy) -> Result<Replica, OpError> {
        let me = self.fresh_id(entropy)?;
        let mut restored = Replica {
            me,
            next_lot_no: 1,
            superseded: None,
            ..self.clone()
        };
        restored.link_restore(self.me)?;
        Ok(restored)
    }

    /// Commits the [`TxnKind::Restore`] record naming `old`'s head (its replica, sequence
    /// number and digest) as this incarnation's transaction, when this replica holds
    /// transactions of `old`; `None` otherwise. Called once, right after a restore.
    pub(crate) fn link_restore(&mut self, old: ReplicaId) -> Result<Option<Commit>, OpError> {
        let Some(head) = self.state.head(&old) else {
            return Ok(None);
        };
        let link = CsLink {
            from: old,
            seq: head.id.seq,
            txn_digest: head.digest,
        };
        let t = self.txn(
            self.hlc.ms(),
            TxnKind::Restore,
            Reason::None,
            link.reference(),
        )?;
        self.commit(t, Attachments::default()).map(Some)
    }

    /// The controlled-substance log of the transactions this replica holds (its own and
    /// those it accepted from others).
    pub fn cs_log(&self) -> &CsLog {
        &self.cs_log
    }

    /// Feeds a transaction this replica now holds (applied, or known as state) to its
    /// controlled-substance log.
    pub(crate) fn cs_observe(&mut self, t: &Arc<Txn>) {
        let state = &self.state;
        self.cs_log
            .observe(t, &|lot| state.lot(lot).is_some_and(|l| l.controlled));
    }

    /// A new id for this terminal that no incarnation known here has.
    fn fresh_id(&self, entropy: &mut dyn crate::ids::Entropy) -> Result<ReplicaId, IdError> {
        let terminal = self.me.terminal;
        let state = &self.state;
        let taken = |inc: u64| {
            let r = ReplicaId::new(terminal, inc);
            state.vv().get(&r) > 0 || state.head(&r).is_some()
        };
        self.me.reincarnate(entropy, &taken)
    }

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.me
    }

    /// The store.
    pub fn store(&self) -> PharmacyId {
        self.state.store()
    }

    /// The inventory state.
    pub fn state(&self) -> &InventoryState {
        &self.state
    }

    /// The state, mutable (the protocol's joins and applies).
    pub(crate) fn state_mut(&mut self) -> &mut InventoryState {
        &mut self.state
    }

    /// A replica that starts from a copy of a store's state (as after a full sync), with
    /// an empty outbox.
    pub fn with_state(me: ReplicaId, key: MacKey, state: InventoryState) -> Self {
        Replica {
            cs_log: CsLog::new(state.store()),
            state,
            ..Replica::new(PharmacyId::new(0), me, key)
        }
    }

    /// The hybrid clock's last value.
    pub fn hlc(&self) -> Hlc {
        self.hlc
    }

    /// Next local lot number.
    pub fn next_lot_no(&self) -> u32 {
        self.next_lot_no
    }

    /// The root's acknowledgements known here (what the root holds as transactions).
    pub fn acks(&self) -> &Acks {
        &self.acks
    }

    /// Why this replica is superseded, if it is (see the
    /// [module documentation](self#superseded-replicas-and-recovery)).
    pub fn superseded(&self) -> Option<Superseded> {
        self.superseded
    }

    /// Transactions not yet held by the root (own and relayed), in id order.
    pub fn outbox(&self) -> impl Iterator<Item = &Txn> + '_ {
        self.ledger.iter().map(|t| &**t)
    }

    /// The outbox, one queue per replica (by replica).
    pub(crate) fn outbox_queues(&self) -> impl Iterator<Item = (&ReplicaId, &Queue)> + '_ {
        self.ledger.queues()
    }

    /// The salvage, one queue per replica (by replica).
    pub(crate) fn salvage_queues(&self) -> impl Iterator<Item = (&ReplicaId, &Queue)> + '_ {
        self.salvage.queues()
    }

    /// Where a transaction waits, if it does: the outbox, the salvage, or the forked ones.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn waiting(&self, id: &TxnId) -> Option<(Waiting, &Txn)> {
        self.ledger
            .get(id)
            .map(|t| (Waiting::Outbox, &**t))
            .or_else(|| self.salvage.get(id).map(|t| (Waiting::Salvage, &**t)))
            .or_else(|| self.forked.get(id).map(|t| (Waiting::Forked, &**t)))
    }

    /// The ids of every waiting transaction, with where it waits and the seal held for it.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn waiting_ids(&self) -> impl Iterator<Item = (TxnId, (Waiting, Option<Tag>))> + '_ {
        fn ids(
            ledger: &Ledger,
            w: Waiting,
        ) -> impl Iterator<Item = (TxnId, (Waiting, Option<Tag>))> + '_ {
            ledger
                .queues()
                .flat_map(move |(_, q)| q.txns().map(move |t| (t.id, (w, q.seal(t.id.seq)))))
        }
        ids(&self.ledger, Waiting::Outbox)
            .chain(ids(&self.salvage, Waiting::Salvage))
            .chain(ids(&self.forked, Waiting::Forked))
    }

    /// The origin seal held for a relayed copy of `t` (the one its origin sent with it).
    pub(crate) fn relay_seal(&self, t: &Txn) -> Option<Tag> {
        self.ledger
            .get(&t.id)
            .filter(|held| held.digest == t.digest)
            .and_then(|_| self.ledger.seal(&t.id))
    }

    /// This terminal's seal on the head `t` of one of its incarnations, over that incarnation's
    /// effects in this state ([`Txn::head_seal`]).
    pub(crate) fn seal_own_head(&self, t: &Txn) -> Tag {
        let effects = self.state.effects_digest(&t.id.replica, None);
        t.head_seal(&self.key, self.store(), &effects)
    }

    /// This terminal's seal on one of its own transactions (any incarnation: the origin key
    /// is the terminal's); `None` for another terminal's.
    pub(crate) fn seal_own(&self, t: &Txn) -> Option<Tag> {
        (t.id.replica.terminal == self.me.terminal).then(|| t.seal(&self.key, self.store()))
    }

    /// Queued insurance claims.
    pub fn pending_claims(&self) -> impl Iterator<Item = &QueuedItem> + '_ {
        self.claims.values()
    }

    /// Queued PMP reports.
    pub fn pending_pmp_reports(&self) -> impl Iterator<Item = &QueuedItem> + '_ {
        self.pmp_reports.values()
    }

    /// Queued claims and PMP reports recorded by an earlier incarnation of this terminal
    /// (after a restore from backup or a recovery). The lost device may already have sent
    /// them, so a POS should check their status with the payer or PMP before sending them
    /// again.
    pub fn queued_by_earlier_incarnation(&self) -> impl Iterator<Item = &QueuedItem> + '_ {
        let me = self.me;
        self.claims
            .values()
            .chain(self.pmp_reports.values())
            .filter(move |q| q.txn.replica.terminal == me.terminal && q.txn.replica != me)
    }

    /// Marks a queued claim as delivered.
    pub fn claim_sent(&mut self, txn: &TxnId) -> bool {
        self.claims.remove(txn).is_some()
    }

    /// Marks a queued PMP report as delivered.
    pub fn pmp_report_sent(&mut self, txn: &TxnId) -> bool {
        self.pmp_reports.remove(txn).is_some()
    }

    /// Observes a remote clock reading (from a sync message).
    pub(crate) fn observe_clock(&mut self, remote: Hlc, now_ms: u64) {
        self.hlc = self.hlc.observe(remote, now_ms);
    }

    fn next_id(&self) -> TxnId {
        TxnId {
            replica: self.me,
            seq: self.state.vv().get(&self.me) + 1,
        }
    }

    /// A new transaction of this replica (not yet linked or applied).
    fn txn(
        &self,
        now_ms: u64,
        kind: TxnKind,
        reason: Reason,
        reference: String,
    ) -> Result<Txn, OpError> {
        if let Some(s) = self.superseded {
            return Err(OpError::Superseded(s));
        }
        Ok(Txn {
            id: self.next_id(),
            hlc: self.hlc.tick(now_ms),
            kind,
            reason,
            lines: Vec::new(),
            new_lots: Vec::new(),
            holds: Vec::new(),
            transfer: None,
            meta: Vec::new(),
            compensates: None,
            reference,
            prev: self
                .state
                .head(&self.me)
                .map_or(Digest::default(), |h| h.digest),
            digest: Digest::default(),
        })
    }

    /// Links a locally built transaction (its digest), applies it and records it in the
    /// outbox. Fails (changing nothing) when it cannot be encoded.
    fn commit(&mut self, mut txn: Txn, attachments: Attachments) -> Result<Commit, OpError> {
        txn.link(&mut self.scratch)?;
        let txn = Arc::new(txn);
        match self.state.apply(Arc::clone(&txn)) {
            Applied::Applied => {}
            other => return Err(OpError::Refused(other)),
        }
        self.hlc = txn.hlc;
        if let Some(last) = txn
            .new_lots
            .iter()
            .filter(|l| l.key.origin == self.me)
            .map(|l| l.key.local_no)
            .max()
        {
            self.next_lot_no = self.next_lot_no.max(last.saturating_add(1));
        }
        let negative = txn
            .lines
            .iter()
            .filter(|l| l.delta < 0 && self.state.value(&l.lot) < 0)
            .map(|l| l.lot)
            .collect();
        let queued = |payload| QueuedItem {
            txn: txn.id,
            payload,
        };
        let claim = attachments.claim.map(queued);
        let pmp_report = attachments.pmp_report.map(queued);
        if let Some(c) = &claim {
            self.claims.insert(txn.id, c.clone());
        }
        if let Some(r) = &pmp_report {
            self.pmp_reports.insert(txn.id, r.clone());
        }
        self.ledger.insert(Arc::clone(&txn), None);
        self.cs_observe(&txn);
        Ok(Commit {
            txn,
            claim,
            pmp_report,
            negative,
        })
    }
}
