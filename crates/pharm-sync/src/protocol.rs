//! The sync protocol, sans-IO: messages are values, the caller moves them.
//!
//! ```text
//! client → server  Hello      { store, from, vv, hlc }
//! server → client  Welcome    { store, from, vv, root_vv, hlc }   + Delta (what the client lacks)
//! client → server  Upload     { store, txns with seq > server.vv[replica] }   (chunked)
//! server → client  UploadAck  { store, vv, root_vv }              (client drops what the root has)
//! server → client  Delta      { store, state delta since the client's vv }
//! ```
//!
//! Every step is idempotent and resumable: a lost, duplicated or reordered message changes
//! nothing that re-running the exchange does not fix. The server applies transactions in
//! each replica's sequence order, drops duplicates and buffers gaps. A server that has an
//! upstream itself (the store leader while the cloud is unreachable) keeps the transactions
//! it receives and relays them upstream later with their original ids, so the cloud
//! de-duplicates them exactly as if the terminals had uploaded directly. Transactions leave
//! a client's outbox only when the **root** (the cloud) is known to have them.

use std::collections::BTreeMap;

use crdts::CvRDT;
use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;
use crate::ids::{ReplicaId, StoreId};
use crate::replica::Replica;
use crate::state::{Applied, StateDelta, VersionVector};
use crate::txn::Txn;

/// Protocol version carried by the wire encoding.
pub const PROTOCOL_VERSION: u8 = 1;

/// A sync message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Opens a sync: the client's version vector.
    Hello {
        /// Pharmacy.
        store: StoreId,
        /// Client replica.
        from: ReplicaId,
        /// Client version vector.
        vv: VersionVector,
        /// Client clock.
        hlc: Hlc,
    },
    /// The server's version vector and what it knows the root has.
    Welcome {
        /// Pharmacy.
        store: StoreId,
        /// Server replica.
        from: ReplicaId,
        /// Server version vector.
        vv: VersionVector,
        /// What the root (cloud) has, as far as the server knows.
        root_vv: VersionVector,
        /// Server clock.
        hlc: Hlc,
    },
    /// Transactions the server lacks, in (replica, seq) order.
    Upload {
        /// Pharmacy.
        store: StoreId,
        /// The transactions.
        txns: Vec<Txn>,
    },
    /// What the server now has.
    UploadAck {
        /// Pharmacy.
        store: StoreId,
        /// Server version vector after applying.
        vv: VersionVector,
        /// What the root has.
        root_vv: VersionVector,
    },
    /// State the client lacks.
    Delta {
        /// Pharmacy.
        store: StoreId,
        /// The delta.
        delta: StateDelta,
    },
}

impl Message {
    /// The pharmacy the message belongs to.
    pub fn store(&self) -> StoreId {
        match self {
            Message::Hello { store, .. }
            | Message::Welcome { store, .. }
            | Message::Upload { store, .. }
            | Message::UploadAck { store, .. }
            | Message::Delta { store, .. } => *store,
        }
    }
}

/// A message that cannot be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message is for another pharmacy (tenant isolation).
    #[error("message for store {got:?} received by store {expected:?}")]
    WrongStore {
        /// This store.
        expected: StoreId,
        /// The message's store.
        got: StoreId,
    },
    /// A transaction or delta with impossible contents.
    #[error("invalid sync data: {0}")]
    Invalid(String),
    /// An upload carries more transactions than allowed.
    #[error("upload of {0} transactions exceeds the limit")]
    TooManyTransactions(usize),
}

/// Largest sequence number accepted (stored as a signed 64-bit integer by the SQLite store).
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// Checks a transaction received from another replica before anything is applied.
fn validate(t: &Txn) -> Result<(), ProtocolError> {
    use crate::replica::MAX_LINE_QTY;
    use crate::txn::TxnKind;
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
    if t.new_lots
        .iter()
        .any(|l| l.key.origin != t.id.replica || l.created_seq != t.id.seq)
    {
        return bad("a new lot must be created by this transaction's replica and sequence");
    }
    Ok(())
}

/// Limits for one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// Transactions per upload message.
    pub max_txns_per_upload: usize,
    /// Out-of-order transactions buffered per replica before further ones are dropped (the
    /// client resends them).
    pub max_buffered_per_replica: usize,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            max_txns_per_upload: 512,
            max_buffered_per_replica: 4096,
        }
    }
}

/// A replica speaking the protocol, as client (towards its upstream) and/or server (for
/// replicas below it).
#[derive(Debug, Clone)]
pub struct Peer {
    replica: Replica,
    limits: SyncLimits,
    /// Whether this peer is the root (the cloud): then what it has, the root has.
    is_root: bool,
    gaps: BTreeMap<ReplicaId, BTreeMap<u64, Txn>>,
    upstream_vv: VersionVector,
}

impl Peer {
    /// Wraps a replica. `is_root` marks the cloud (the top of the relay chain).
    pub fn new(replica: Replica, is_root: bool) -> Self {
        Peer {
            replica,
            limits: SyncLimits::default(),
            is_root,
            gaps: BTreeMap::new(),
            upstream_vv: VersionVector::new(),
        }
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: SyncLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The replica.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The replica, mutable (for local operations).
    pub fn replica_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }

    fn check(&self, m: &Message) -> Result<(), ProtocolError> {
        let expected = self.replica.store();
        if m.store() != expected {
            return Err(ProtocolError::WrongStore {
                expected,
                got: m.store(),
            });
        }
        Ok(())
    }

    fn root_vv(&self) -> VersionVector {
        if self.is_root {
            self.replica.state().vv().clone()
        } else {
            self.replica.root_vv().clone()
        }
    }

    /// Starts a sync with the upstream.
    pub fn hello(&mut self, now_ms: u64) -> Message {
        let hlc = self.replica.hlc().tick(now_ms);
        Message::Hello {
            store: self.replica.store(),
            from: self.replica.id(),
            vv: self.replica.state().vv().clone(),
            hlc,
        }
    }

    /// Handles one message (as client or server, by its type) and returns the replies.
    pub fn handle(&mut self, now_ms: u64, message: Message) -> Result<Vec<Message>, ProtocolError> {
        self.check(&message)?;
        let store = self.replica.store();
        match message {
            Message::Hello { vv, hlc, .. } => {
                self.replica.observe_clock(hlc, now_ms);
                let delta = self.replica.state().delta_since(&vv);
                Ok(vec![
                    Message::Welcome {
                        store,
                        from: self.replica.id(),
                        vv: self.replica.state().vv().clone(),
                        root_vv: self.root_vv(),
                        hlc: self.replica.hlc(),
                    },
                    Message::Delta { store, delta },
                ])
            }
            Message::Welcome {
                vv, root_vv, hlc, ..
            } => {
                self.replica.observe_clock(hlc, now_ms);
                // A new session (possibly with a new leader): trust only this upstream's view.
                self.replica.root_has(&root_vv);
                // State the upstream lacks (learned from a leader whose own disk may since
                // have been lost): anti-entropy both ways. This replica's own effects travel
                // as transactions when the outbox continues exactly where the upstream is;
                // otherwise (a new leader that missed earlier syncs, while the outbox has
                // already dropped what the root acknowledged) they travel as state too.
                let me = self.replica.id();
                let have = vv.get(&me);
                let own_contiguous = match self.replica.outbox().find(|t| t.id.replica == me) {
                    Some(t) => t.id.seq <= have + 1,
                    None => have >= self.replica.state().vv().get(&me),
                };
                let delta = self
                    .replica
                    .state()
                    .delta_skipping(&vv, own_contiguous.then_some(me));
                self.upstream_vv = vv;
                let mut out = self.uploads();
                if !delta.is_empty() {
                    out.push(Message::Delta { store, delta });
                }
                Ok(out)
            }
            Message::Upload { txns, .. } => {
                if txns.len() > self.limits.max_txns_per_upload {
                    return Err(ProtocolError::TooManyTransactions(txns.len()));
                }
                for t in &txns {
                    validate(t)?;
                }
                for t in txns {
                    self.accept(t);
                }
                if self.is_root {
                    let vv = self.replica.state().vv().clone();
                    self.replica.root_has(&vv);
                }
                Ok(vec![Message::UploadAck {
                    store,
                    vv: self.replica.state().vv().clone(),
                    root_vv: self.root_vv(),
                }])
            }
            Message::UploadAck { vv, root_vv, .. } => {
                self.upstream_vv.merge(vv);
                self.replica.root_has(&root_vv);
                Ok(self.uploads())
            }
            Message::Delta { delta, .. } => {
                if delta.vv.iter().any(|d| d.counter > MAX_SEQ) {
                    return Err(ProtocolError::Invalid(
                        "version vector entry beyond the sequence range".into(),
                    ));
                }
                // A delta computed for another version is ignored (`join` refuses it); the
                // next session brings a correct one.
                if self.replica.state_mut().join(&delta) {
                    // Buffered transactions the join made redundant, or now contiguous.
                    let replicas: Vec<ReplicaId> = self.gaps.keys().copied().collect();
                    for r in replicas {
                        self.drain(r);
                    }
                }
                Ok(Vec::new())
            }
        }
    }

    /// The next upload chunk: ledger entries the upstream lacks (empty when none).
    ///
    /// Only runs that continue exactly where the upstream is are sent: a transaction after a
    /// gap could only sit in the upstream's buffer (the state delta covers that case).
    fn uploads(&self) -> Vec<Message> {
        let up = &self.upstream_vv;
        let mut next: BTreeMap<ReplicaId, u64> = BTreeMap::new();
        let mut txns: Vec<Txn> = Vec::new();
        for t in self.replica.outbox() {
            if txns.len() >= self.limits.max_txns_per_upload {
                break;
            }
            let expected = next
                .entry(t.id.replica)
                .or_insert_with(|| up.get(&t.id.replica) + 1);
            if t.id.seq == *expected {
                txns.push(t.clone());
                *expected += 1;
            }
        }
        if txns.is_empty() {
            Vec::new()
        } else {
            vec![Message::Upload {
                store: self.replica.store(),
                txns,
            }]
        }
    }

    /// Applies a transaction received from below, buffering gaps and draining them.
    fn accept(&mut self, txn: Txn) {
        let r = txn.id.replica;
        match self.replica.state_mut().apply(&txn) {
            // Already known (perhaps as state through a delta): still keep it for the root's
            // audit trail when relaying.
            Applied::Duplicate if !self.is_root => self.replica.keep_for_relay(txn),
            Applied::Duplicate => {}
            Applied::Applied => {
                self.replica.keep_for_relay(txn);
                self.drain(r);
            }
            Applied::Gap { .. } => {
                let buffer = self.gaps.entry(r).or_default();
                if buffer.len() < self.limits.max_buffered_per_replica {
                    buffer.insert(txn.id.seq, txn);
                }
            }
        }
    }

    fn drain(&mut self, r: ReplicaId) {
        loop {
            let next = self.replica.state().vv().get(&r) + 1;
            let Some(t) = self.gaps.get_mut(&r).and_then(|b| b.remove(&next)) else {
                break;
            };
            if self.replica.state_mut().apply(&t) == Applied::Applied {
                self.replica.keep_for_relay(t);
            }
        }
        if let Some(b) = self.gaps.get_mut(&r) {
            let have = self.replica.state().vv().get(&r);
            b.retain(|&s, _| s > have);
        }
    }

    /// Transactions buffered out of order (for monitoring).
    pub fn buffered(&self) -> usize {
        self.gaps.values().map(BTreeMap::len).sum()
    }
}
