//! The sync protocol, sans-IO: messages are values, the caller moves them.
//!
//! ```text
//! client → server  Hello      { vv }                          (every message: store, from, hop tag)
//! server → client  Welcome    { vv, acks, root }   + Delta (what the client lacks, with heads)
//! client → server  Upload     { runs of txns with seq > server.vv[replica], each sealed }
//! server → client  UploadAck  { vv, acks, refused }           (client drops what the root holds)
//! client → server  Delta      { state the server lacks, with heads }
//! ```
//!
//! The version vectors of `Welcome` and `UploadAck` say what the server holds *as
//! transactions* of the client's terminal: the root's log, or what a store leader can
//! relay or knows the root holds (see *Trust*); the client uploads from there and computes
//! its delta from the whole vector.
//!
//! Every step is idempotent and resumable: a lost, duplicated, reordered or replayed message
//! changes nothing that re-running the exchange does not fix. The server applies
//! transactions in each replica's sequence order, drops duplicates and buffers gaps (within
//! [`SyncLimits`]).
//!
//! # Trust
//!
//! Every message is checked before anything changes: its store must be this peer's, its
//! sender a member of the store ([`KeyRing::is_member`]) and its hop tag valid under the
//! store's link key. Any failure is a typed [`ProtocolError`] and nothing changes. Then:
//!
//! * **Transactions.** Every transaction's digest is recomputed from its contents. An
//!   upload is a list of runs (one replica's consecutive transactions, each chained to the
//!   one before by its digest), and the last transaction of every run carries its origin's
//!   seal. The root verifies every seal with the origin terminal's key: by the chain, the
//!   seal vouches for the whole run, so a relayed transaction is as good as one uploaded by
//!   its origin, and a transaction claiming another replica than its origin fails. A store
//!   leader (a member serving other terminals) cannot verify other terminals' seals, so it
//!   takes from each sender only the sender's own terminal's transactions, keeps their
//!   seals, and relays them to the root in runs that end at a seal. A transaction that
//!   does not chain onto the history held for its replica is refused as forked, and so is a
//!   relayed run with a wrong seal ([`Body::UploadAck`] lists them).
//! * **Relay path.** A leader's version vector in its `Welcome` and `UploadAck` counts the
//!   client's own terminal's replicas only as far as the root acknowledged them (as the
//!   leader knows) and the leader's outbox continues from there without a gap, never
//!   beyond its state (every other replica at its state's value). State it
//!   learned through a delta (from a member that had it from an earlier leader, say after
//!   the leader changed while the store was offline) does not count: the origin terminal
//!   uploads those transactions again from its outbox, and the leader, whose state already
//!   holds them, keeps the copies with their seals for the root. Otherwise nothing would
//!   carry them up: the terminal uploads to a leader only above what the leader claims,
//!   the ex-leader holding the relayed copies uploads only its own to its new leader, and
//!   the root takes a head it learns as state only with evidence it can check.
//! * **State.** A delta may raise what the receiver knows of a replica only with that
//!   replica's head transaction as evidence ([`InventoryState::check_delta`](crate::state::InventoryState::check_delta)); the
//!   root also requires the head to be one it holds, or to carry its origin's head seal
//!   ([`Txn::head_seal`]: over the head and its replica's effects, recomputed by the root over
//!   its state joined with the delta, or over an ancestor's effects when the root buffers the
//!   transactions since), or to be the replica's next transaction with its origin seal
//!   (taken as a transaction); from then on it holds a head whose seal it verified as a
//!   transaction of its log. A bad or
//!   unverifiable head is an error when it is the sender's own terminal's; otherwise the
//!   receiver leaves the delta alone (a member may pass on what it cannot check).
//! * **Acknowledgements and refusals.** The root acknowledges a segment its log holds
//!   ([`Ack`]: from, to, the last digest), sealed with the origin key of the terminal it
//!   concerns, and seals each refusal with the uploader's origin key. A transaction leaves
//!   an outbox only when the seal verifies and the acknowledged digest equals the copy held
//!   at that sequence number (chained digests vouch for the whole segment). A sealed
//!   refusal of a relay a leader took supersedes the leader ([`Superseded::Took`]). A
//!   store leader's refusals are unsealed: they only drop relayed copies, never a
//!   terminal's own history, and the sender holds that replica back for the session.
//! * **Own identity.** A peer never accepts state or transactions about its own replica
//!   from others. It is superseded ([`Replica::superseded`]) and must be recovered only on
//!   evidence sealed with its own origin key: the root's acknowledgement or refusal of its
//!   own transaction, or its own sealed head in a delta holding more of it than it has. A
//!   version vector claim alone proves nothing and changes nothing.

mod log;
mod upload;

use pharm_core::error_code::ErrorCode;
use pharm_core::ids::PharmacyId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::auth::{Digest, KeyRing, MESSAGE_DOMAIN, MacKey, Tag, tagged};
use crate::codec::{self, DecodeError, DecodeLimits, EncodeError, MESSAGE_TAG_BYTES};
use crate::ids::{ReplicaId, TxnId};
use crate::message::{Ack, Acks, Body, Message};
use crate::replica::{OpError, Queue, Replica, Superseded};
use crate::state::{DeltaError, StateDelta, VersionVector};
use crate::txn::{SealedTxn, Txn};

use log::Logged;
pub(crate) use log::TxnLog;

/// Protocol version carried by the wire encoding.
pub const PROTOCOL_VERSION: u8 = codec::FORMAT_VERSION;

/// Largest sequence number accepted (stored as a signed 64-bit integer by the SQLite store).
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// What a head's seal proves to the root ([`Peer::head_evidence`]).
enum Evidence {
    /// The origin's head seal, over this head or an ancestor whose successors it buffers.
    HeadSeal,
    /// The origin seal of the replica's next transaction: the root takes it as one.
    NextTxn,
}

/// A peer's place in the relay chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The root (the cloud): holds every member's origin key, verifies every transaction,
    /// and is the only one whose acknowledgements let transactions leave outboxes.
    Root,
    /// A terminal or store server: syncs with an upstream, and serves other terminals of
    /// its store while it is their leader.
    Member,
}

/// A message that cannot be processed. Nothing was changed, except that
/// [`ProtocolError::Superseded`] marks the replica superseded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message is for another pharmacy (tenant isolation).
    #[error("message for store {got:?} received by store {expected:?}")]
    WrongStore {
        /// This store.
        expected: PharmacyId,
        /// The message's store.
        got: PharmacyId,
    },
    /// The sender is not a member of the store.
    #[error("sender {0} is not a member of this store")]
    UnknownSender(ReplicaId),
    /// The message claims to come from this very replica.
    #[error("message claims to come from this replica ({0})")]
    FromSelf(ReplicaId),
    /// The hop tag is wrong: the message was altered, or not sealed with this store's link
    /// key.
    #[error("bad message tag from {0}")]
    BadTag(ReplicaId),
    /// This peer has no key it needs (its key ring lacks the store's link key, or the
    /// root lacks a member's origin key).
    #[error("no key for {0}")]
    MissingKey(&'static str),
    /// A transaction claims a terminal that is not a member of the store.
    #[error("transaction {0:?} claims a replica outside the store")]
    UnknownOrigin(TxnId),
    /// A transaction's origin seal is wrong (the transaction or a run it ends was altered,
    /// or it claims a replica other than its origin) in an upload from its own terminal, or
    /// on a delta's head.
    #[error("transaction {0:?} has a bad origin seal")]
    BadSeal(TxnId),
    /// A run of an upload ends without an origin seal, or a delta raises the root's
    /// knowledge of a replica with a head it neither holds nor has a seal for.
    #[error("transaction {0:?} ends a run without an origin seal")]
    Unsealed(TxnId),
    /// A store leader was given another terminal's transaction: only the root takes relays.
    #[error("{from} may upload only its own terminal's transactions here, not {txn:?}")]
    RelayRefused {
        /// The sender.
        from: ReplicaId,
        /// The transaction.
        txn: TxnId,
    },
    /// A transaction or delta with impossible contents.
    #[error("invalid sync data: {0}")]
    Invalid(String),
    /// A delta contradicts itself or this state.
    #[error("delta refused: {0}")]
    Delta(#[from] DeltaError),
    /// An upload carries more transactions than allowed.
    #[error("upload of {0} transactions exceeds the limit")]
    TooManyTransactions(usize),
    /// Accepting the message would buffer more out-of-order transactions than allowed.
    #[error("{buffered} transactions would be buffered out of order; the limit is {max}")]
    BufferFull {
        /// Buffered after the message.
        buffered: usize,
        /// The limit.
        max: usize,
    },
    /// Accepting the message would make the state track more replicas than allowed.
    #[error("{replicas} replicas would be tracked; the limit is {max}")]
    TooManyReplicas {
        /// Replicas after the message.
        replicas: usize,
        /// The limit.
        max: usize,
    },
    /// Another peer holds more of this replica's transactions, or another history of them:
    /// the replica is now superseded and must be recovered ([`Replica::recover`]).
    #[error("this replica is superseded: {0:?}")]
    Superseded(Superseded),
    /// The bytes are not a valid message.
    #[error("undecodable message: {0}")]
    Decode(#[from] DecodeError),
    /// A reply could not be encoded.
    #[error("reply cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// Issuing forked transactions again failed.
    #[error("re-issuing forked transactions failed: {0}")]
    Reissue(#[from] OpError),
    /// A restored incarnation's first transaction links to a head of its old incarnation
    /// that this peer holds with another digest
    /// ([`CsLogError::LinkMismatch`](crate::cs_log::CsLogError::LinkMismatch), naming both).
    #[error("restore link refused: {0}")]
    CsLink(crate::cs_log::CsLogError),
}

impl ProtocolError {
    /// The error whose stable code tells most precisely what went wrong: for a variant that
    /// wraps another error (the decoder's, the encoder's, a delta's, a re-issued
    /// operation's) that error, else this one. A binding reports this code with the whole
    /// chain ([`Display`](std::fmt::Display) of `self`) as the message.
    pub fn most_specific(&self) -> &dyn ErrorCode {
        match self {
            ProtocolError::Decode(e) => e,
            ProtocolError::Encode(e) => e,
            ProtocolError::Delta(e) => e,
            ProtocolError::Reissue(e) => e,
            ProtocolError::CsLink(e) => e,
            other => other,
        }
    }
}

/// Limits for one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncLimits {
    /// Transactions per upload message (sending and receiving).
    pub max_txns_per_upload: usize,
    /// Out-of-order transactions buffered per replica.
    pub max_buffered_per_replica: usize,
    /// Out-of-order transactions buffered in all. A message that would go beyond either
    /// limit is refused ([`ProtocolError::BufferFull`]); transactions deferred because a
    /// lot they name is not known yet can exceed it by at most one message.
    pub max_buffered_total: usize,
    /// Replicas (terminal incarnations) the state tracks.
    pub max_replicas: usize,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            max_txns_per_upload: 512,
            max_buffered_per_replica: 4096,
            max_buffered_total: 16_384,
            max_replicas: 1024,
        }
    }
}

/// A replica speaking the protocol, as client (towards its upstream) and/or server (for
/// replicas below it).
#[derive(Clone)]
pub struct Peer {
    replica: Replica,
    keys: Arc<dyn KeyRing>,
    role: Role,
    limits: SyncLimits,
    gaps: BTreeMap<ReplicaId, BTreeMap<u64, SealedTxn>>,
    upstream_vv: VersionVector,
    upstream_is_root: bool,
    /// Root only: the transactions it holds.
    log: TxnLog,
    /// Root only, when a durable store asks: transactions logged since it last took them.
    logged: Option<Vec<Arc<Txn>>>,
    scratch: Vec<u8>,
    /// Transactions found to be another history while being taken (reported as refused).
    forks: Vec<Arc<Txn>>,
    /// Which outbox queue leads the next upload chunk (turns rotate, so one replica's
    /// transactions waiting at the upstream for a lot another replica creates cannot starve
    /// that other replica's chunk).
    upload_turn: usize,
    /// Replicas whose transactions the upstream refused in this session and this replica
    /// kept (a refusal without the root's seal over its copy, such as a store leader's that
    /// holds another history of this terminal): not sent again until the next session, so
    /// the session ends and the root judges them later.
    held_back: BTreeSet<ReplicaId>,
    /// The highest sequence number of each replica uploaded in this session: the root
    /// buffers a run after a gap without moving its version, so the next chunk goes on
    /// after it rather than sending it again.
    sent: BTreeMap<ReplicaId, u64>,
    /// Test only: [`Peer::handle`] skips the hop tag check.
    #[cfg(feature = "test-breaks")]
    skip_mac_check: bool,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("replica", &self.replica.id())
            .field("role", &self.role)
            .field("buffered", &self.buffered())
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// Wraps a replica with the key ring of its store and its role.
    pub fn new(replica: Replica, keys: Arc<dyn KeyRing>, role: Role) -> Self {
        Peer {
            replica,
            keys,
            role,
            limits: SyncLimits::default(),
            gaps: BTreeMap::new(),
            upstream_vv: VersionVector::new(),
            upstream_is_root: false,
            log: TxnLog::default(),
            logged: None,
            scratch: Vec::with_capacity(256),
            upload_turn: 0,
            forks: Vec::new(),
            held_back: BTreeSet::new(),
            sent: BTreeMap::new(),
            #[cfg(feature = "test-breaks")]
            skip_mac_check: false,
        }
    }

    /// Test only (feature `test-breaks`): from now on [`Peer::handle`] does not check the
    /// hop tag of a message, so a damaged or forged message is taken as sent. For showing
    /// that a checker catches it; never in production.
    #[cfg(feature = "test-breaks")]
    pub fn break_skip_mac_check(&mut self) {
        self.skip_mac_check = true;
    }

    #[cfg(feature = "test-breaks")]
    fn skips_mac_check(&self) -> bool {
        self.skip_mac_check
    }

    #[cfg(not(feature = "test-breaks"))]
    fn skips_mac_check(&self) -> bool {
        false
    }

    /// Sets the limits.
    #[must_use]
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

    /// Replaces the replica (after [`Replica::recover`]); buffers and what was known of
    /// the upstream are reset.
    pub fn replace_replica(&mut self, replica: Replica) {
        self.replica = replica;
        self.gaps.clear();
        self.upstream_vv = VersionVector::new();
        self.upstream_is_root = false;
    }

    /// The controlled-substance log of the transactions this peer holds
    /// ([`Replica::cs_log`]).
    pub fn cs_log(&self) -> &crate::cs_log::CsLog {
        self.replica.cs_log()
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Transactions buffered out of order (for monitoring).
    pub fn buffered(&self) -> usize {
        self.gaps.values().map(BTreeMap::len).sum()
    }

    /// Root only: records a transaction it holds (the durable store's reload).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn log_mut(&mut self) -> &mut TxnLog {
        &mut self.log
    }

    /// Root only: from now on, keep every transaction it logs (verified and held as a
    /// transaction, from an upload or as a sealed head) until [`take_logged`] hands them
    /// over. A cloud store that persists the root's log calls this once, then
    /// [`take_logged`] after each exchange and writes what it gets.
    ///
    /// [`take_logged`]: Self::take_logged
    pub fn record_logged(&mut self) {
        self.logged.get_or_insert_with(Vec::new);
    }

    /// The transactions logged since the last call, in the order they were logged (empty
    /// unless [`record_logged`](Self::record_logged) was called).
    pub fn take_logged(&mut self) -> Vec<Arc<Txn>> {
        self.logged.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn link_key(&self) -> Result<&MacKey, ProtocolError> {
        self.keys
            .link_key(self.replica.store())
            .ok_or(ProtocolError::MissingKey("the store's link key"))
    }

    fn seal(&self, body: Body) -> Result<Message, ProtocolError> {
        let r = &self.replica;
        Ok(Message::seal(r.store(), r.id(), body, self.link_key()?)?)
    }

    /// What this peer holds as transactions, as told to `client`: the log at the root (plus
    /// its own history); elsewhere the state's version vector, except for `client`'s own
    /// terminal, counted only as far as this peer can relay it or knows the root holds it
    /// ([`Replica::relayable_for`]), so a terminal whose transactions a store leader knows only
    /// as state uploads them again. (Only a client's own entries decide what it uploads to a
    /// leader; the others keep the deltas it computes from this vector small.)
    fn txn_vv(&self, client: ReplicaId) -> VersionVector {
        match self.role {
            Role::Member => self.replica.relayable_for(client.terminal),
            Role::Root => {
                let mut vv: VersionVector = self
                    .log
                    .frontiers()
                    .into_iter()
                    .map(|(r, (_, seq, _))| (r, seq))
                    .collect();
                let me = self.replica.id();
                vv.raise(me, self.replica.state().vv().get(&me));
                vv
            }
        }
    }

    /// The root's acknowledgements as this peer knows them.
    fn acks(&self) -> Acks {
        match self.role {
            Role::Member => self.replica.acks().clone(),
            Role::Root => {
                let mut held = self.log.frontiers();
                if let Some(h) = self.replica.state().head(&self.replica.id()) {
                    held.insert(h.id.replica, (1, h.id.seq, h.digest));
                }
                self.sealed_acks(held)
            }
        }
    }

    /// Root only: acknowledgements of what it holds, each sealed with the origin key of its
    /// replica's terminal (a terminal without a key here gets none).
    fn sealed_acks(&self, held: BTreeMap<ReplicaId, (u64, u64, Digest)>) -> Acks {
        let store = self.replica.store();
        held.into_iter()
            .filter_map(|(r, (from, seq, digest))| {
                let key = self.keys.origin_key(store, r.terminal)?;
                Some((r, Ack::sealed(from, seq, digest, key, store)))
            })
            .collect()
    }

    /// Starts a sync with the upstream.
    pub fn hello(&self, now_ms: u64) -> Result<Message, ProtocolError> {
        let r = &self.replica;
        self.seal(Body::Hello {
            vv: r.state().vv().clone(),
            hlc: r.hlc().tick(now_ms),
        })
    }

    /// Checks the envelope of a message: store, sender membership, not from this replica.
    fn check_envelope(&self, m: &Message) -> Result<(), ProtocolError> {
        let expected = self.replica.store();
        if m.store != expected {
            return Err(ProtocolError::WrongStore {
                expected,
                got: m.store,
            });
        }
        if m.from == self.replica.id() {
            return Err(ProtocolError::FromSelf(m.from));
        }
        if !self.keys.is_member(expected, m.from.terminal) {
            return Err(ProtocolError::UnknownSender(m.from));
        }
        Ok(())
    }

    /// Handles one message (as client or server, by its type) after checking its store,
    /// sender and hop tag, and returns the replies.
    pub fn handle(&mut self, now_ms: u64, message: Message) -> Result<Vec<Message>, ProtocolError> {
        self.check_envelope(&message)?;
        if !self.skips_mac_check() && !message.verify(self.link_key()?) {
            return Err(ProtocolError::BadTag(message.from));
        }
        self.handle_verified(now_ms, message)
    }

    /// [`handle`](Self::handle) on the encoded bytes (decoded with `limits`; the hop tag is
    /// checked on the bytes received); returns the encoded replies.
    pub fn handle_bytes(
        &mut self,
        now_ms: u64,
        bytes: &[u8],
        limits: &DecodeLimits,
    ) -> Result<Vec<Vec<u8>>, ProtocolError> {
        let message = codec::decode(bytes, limits)?;
        self.check_envelope(&message)?;
        let signed = &bytes[..bytes.len().saturating_sub(MESSAGE_TAG_BYTES)];
        if !self
            .link_key()?
            .verify(&tagged(MESSAGE_DOMAIN, message.store, signed), &message.tag)
        {
            return Err(ProtocolError::BadTag(message.from));
        }
        self.handle_verified(now_ms, message)?
            .iter()
            .map(|m| codec::encode(m).map_err(ProtocolError::from))
            .collect()
    }

    fn handle_verified(
        &mut self,
        now_ms: u64,
        message: Message,
    ) -> Result<Vec<Message>, ProtocolError> {
        let from = message.from;
        let me = self.replica.id();
        if self.role == Role::Root {
            // The root holds its own transactions: nothing of its own waits for a relay.
            let own = self.acks().remove(&me);
            if let Some(a) = own {
                let _ = self.replica.apply_acks(&Acks::from([(me, a)]));
            }
        }
        match message.body {
            // A version vector is a claim: it supersedes nobody. Only this terminal's own
            // sealed transactions, or the root's sealed acknowledgement, show that another
            // copy of this replica went further.
            Body::Hello { vv, hlc } => {
                self.replica.observe_clock(hlc, now_ms);
                let mut delta = self.replica.state().delta_since(&vv);
                self.seal_heads(&mut delta);
                Ok(vec![
                    self.seal(Body::Welcome {
                        vv: self.txn_vv(from),
                        acks: self.acks(),
                        hlc: self.replica.hlc(),
                        root: self.role == Role::Root,
                    })?,
                    self.seal(Body::Delta { delta })?,
                ])
            }
            Body::Welcome {
                vv,
                acks,
                hlc,
                root,
            } => {
                self.replica.observe_clock(hlc, now_ms);
                self.replica
                    .apply_acks(&acks)
                    .map_err(ProtocolError::Superseded)?;
                // A new session (possibly with a new leader): trust only this upstream's view.
                self.upstream_vv = vv;
                self.upstream_is_root = root;
                self.held_back.clear();
                self.sent.clear();
                let mut out = self.uploads()?;
                if let Some(delta) = self.upward_delta() {
                    out.push(self.seal(Body::Delta { delta })?);
                }
                Ok(out)
            }
            Body::Upload { txns } => self.accept_upload(from, txns),
            Body::UploadAck { vv, acks, refused } => {
                self.upstream_vv.merge(&vv);
                self.replica
                    .apply_acks(&acks)
                    .map_err(ProtocolError::Superseded)?;
                self.replica
                    .refused(&refused)
                    .map_err(ProtocolError::Superseded)?;
                self.held_back.extend(refused.iter().map(|r| r.id.replica));
                self.replica.reissue_forked(now_ms)?;
                self.uploads()
            }
            Body::Delta { delta } => {
                self.accept_delta(from, &delta)?;
                Ok(Vec::new())
            }
        }
    }

    /// State the upstream lacks (a leader that missed earlier syncs, whose own disk may
    /// since have been lost). This replica's own effects travel as transactions when the
    /// outbox continues exactly where the upstream is; otherwise (the outbox already dropped
    /// what the root acknowledged) they travel as state too. To the root, a replica whose
    /// head has no seal is left out (the root takes no head it does not hold without one;
    /// its transactions travel as relays, and a later session sends its state).
    fn upward_delta(&self) -> Option<StateDelta> {
        let me = self.replica.id();
        let have = self.upstream_vv.get(&me);
        let own_contiguous = match self.replica.outbox().find(|t| t.id.replica == me) {
            Some(t) => t.id.seq <= have + 1,
            None => have >= self.replica.state().vv().get(&me),
        };
        let mut skip: Vec<ReplicaId> = own_contiguous.then_some(me).into_iter().collect();
        let state = self.replica.state();
        let mut delta = state.delta_skipping(&self.upstream_vv, &skip);
        if self.upstream_is_root {
            let unsealed: Vec<ReplicaId> = delta
                .heads
                .iter()
                .filter(|h| !self.can_seal(h))
                .map(|h| h.txn.id.replica)
                .collect();
            if !unsealed.is_empty() {
                skip.extend(unsealed);
                delta = state.delta_skipping(&self.upstream_vv, &skip);
                if !delta.heads.iter().all(|h| self.can_seal(h)) {
                    return None;
                }
            }
        }
        self.seal_heads(&mut delta);
        (!delta.is_empty()).then_some(delta)
    }

    /// Seals the heads of an outgoing delta: this terminal's (any incarnation: a restored
    /// terminal passes on its earlier incarnation's state, which it has from its backup)
    /// with their effects ([`Txn::head_seal`]); another replica's keeps the head seal its
    /// origin sent (state keeps it) or else takes the origin seal of the relayed copy held
    /// of it ([`Txn::seal`]: the root takes such a head as a transaction when it continues
    /// what the root holds), so the evidence travels on with the state, whoever passes it
    /// to the root.
    fn seal_heads(&self, delta: &mut StateDelta) {
        for h in &mut delta.heads {
            h.seal = if self.is_own(h) {
                Some(self.replica.seal_own_head(&h.txn))
            } else {
                h.seal.or_else(|| self.replica.relay_seal(&h.txn))
            };
        }
    }

    /// Whether [`seal_heads`](Self::seal_heads) gives `h` a seal.
    fn can_seal(&self, h: &SealedTxn) -> bool {
        self.is_own(h) || h.seal.is_some() || self.replica.relay_seal(&h.txn).is_some()
    }

    fn is_own(&self, h: &SealedTxn) -> bool {
        h.txn.id.replica.terminal == self.replica.id().terminal
    }

    /// The next upload chunk, each transaction at most once per session. To the root: every
    /// outbox transaction it has not confirmed — this terminal's own across the gaps the
    /// root's acknowledgements left, relayed ones at or below what the root holds of their
    /// replica (it holds *a* transaction there; it confirms this one by digest or refuses it
    /// as forked), the run that continues exactly where it is, and relayed runs after a gap
    /// — then salvaged transactions. To a leader: only this terminal's own transactions
    /// beyond what the leader holds of it (a run after a gap waits in the leader's buffer;
    /// the state delta carries the effects meanwhile). Every run ends sealed: this terminal
    /// seals its own; a relayed run is sent up to the last transaction whose seal came with
    /// it, and a relayed run with no seal yet is left for a later upload. Empty when there
    /// is nothing to send.
    fn uploads(&mut self) -> Result<Vec<Message>, ProtocolError> {
        let up = &self.upstream_vv;
        let me = self.replica.id();
        let to_root = self.upstream_is_root;
        let max = self.limits.max_txns_per_upload;
        let mut txns: Vec<SealedTxn> = Vec::new();
        let queues: Vec<_> = self.replica.outbox_queues().collect();
        let turn = self.upload_turn % queues.len().max(1);
        self.upload_turn = self.upload_turn.wrapping_add(1);
        for (r, q) in queues[turn..].iter().chain(&queues[..turn]).copied() {
            let own = r.terminal == me.terminal;
            if (!to_root && !own) || self.held_back.contains(r) {
                continue;
            }
            let held = up.get(r);
            let sent = self.sent.get(r).copied().unwrap_or(0);
            let mut expected = held + 1;
            let picked: Vec<&Arc<Txn>> = q
                .txns()
                .filter(|t| {
                    let s = t.id.seq;
                    if own {
                        // Its own outbox holds exactly what the root has not acknowledged:
                        // all of it the upstream lacks goes, across the gaps the root's
                        // acknowledgements left (the root also takes what lies below its
                        // top), once per session.
                        return s > sent && (s > held || to_root);
                    }
                    if s == expected {
                        expected += 1;
                        true
                    } else {
                        // The root also takes runs after a gap into its buffer: a relayed
                        // run there lets it check the ancestor's head seal a leader passes
                        // on with its newer head (the transactions between travelled as
                        // state).
                        to_root && (s <= held || s > sent)
                    }
                })
                .collect();
            let sealer = if own {
                Sealer::Own(&self.replica)
            } else {
                Sealer::Held(q, self.replica.acks().get(r).copied())
            };
            add_runs(&mut txns, &picked, &sealer, max);
        }
        if to_root {
            for (r, q) in self.replica.salvage_queues() {
                if self.held_back.contains(r) {
                    continue;
                }
                let picked: Vec<&Arc<Txn>> = q.txns().collect();
                add_runs(&mut txns, &picked, &Sealer::Own(&self.replica), max);
            }
        }
        if txns.is_empty() {
            return Ok(Vec::new());
        }
        for t in &txns {
            let top = self.sent.entry(t.txn.id.replica).or_default();
            *top = (*top).max(t.txn.id.seq);
        }
        Ok(vec![self.seal(Body::Upload { txns })?])
    }

    /// Joins a delta after checking it: never one about this replica itself, within the
    /// replica limit, and with every head the receiver can check checked. A head checked and
    /// found wrong, or a head the root neither holds nor has a seal for, is an error when it
    /// is the sender's own terminal's (the sender is at fault), and otherwise makes the
    /// receiver leave the delta alone (a member may pass on a head it cannot check; the
    /// transactions travel as relays, and a later session brings a fitting delta).
    fn accept_delta(&mut self, from: ReplicaId, delta: &StateDelta) -> Result<(), ProtocolError> {
        if delta.vv.iter().any(|(_, seq)| seq > MAX_SEQ) {
            return Err(ProtocolError::Invalid(
                "version vector entry beyond the sequence range".into(),
            ));
        }
        if !self.own_history_claim_is_verified(delta)? {
            return Ok(());
        }
        if !self.replica.state().has_base(delta) {
            // Computed for a version this replica does not have yet (a late or replayed
            // message): the next session brings a fitting one.
            return Ok(());
        }
        let store = self.replica.store();
        let mut verified: Vec<&Arc<Txn>> = Vec::new();
        let mut as_txns: Vec<SealedTxn> = Vec::new();
        for SealedTxn { txn: h, seal } in &delta.heads {
            upload::validate(h, &mut self.scratch)?;
            let origin = h.id.replica.terminal;
            if !self.keys.is_member(store, origin) {
                return Err(ProtocolError::UnknownOrigin(h.id));
            }
            if h.id.seq <= self.replica.state().vv().get(&h.id.replica) {
                // Raises nothing here: it vouches for nothing.
                continue;
            }
            // Only the root checks head seals: a member holds no other terminal's key, and a
            // seal a leader passes on may be an ancestor's, which takes the root's buffered
            // transactions to check.
            let key = match self.role {
                Role::Root => self.keys.origin_key(store, origin),
                Role::Member => None,
            };
            let fault = match (key, seal) {
                (Some(k), Some(seal)) => match self.head_evidence(h, k, seal, delta) {
                    Some(Evidence::HeadSeal) => {
                        verified.push(h);
                        None
                    }
                    Some(Evidence::NextTxn) => {
                        // Taken as a transaction, after which the head raises nothing.
                        as_txns.push(SealedTxn {
                            txn: Arc::clone(h),
                            seal: Some(*seal),
                        });
                        None
                    }
                    None => Some(ProtocolError::BadSeal(h.id)),
                },
                // A head it raises is one the root does not hold (its log holds only what
                // its version covers): it needs a seal.
                (_, None) if self.role == Role::Root => Some(ProtocolError::Unsealed(h.id)),
                _ => None,
            };
            match fault {
                Some(e) if origin == from.terminal => return Err(e),
                Some(_) => return Ok(()),
                None => {}
            }
        }
        for t in as_txns {
            self.take(t);
        }
        let new_replicas = delta
            .vv
            .iter()
            .filter(|(r, _)| self.replica.state().vv().get(r) == 0)
            .count();
        self.check_replicas(new_replicas)?;
        if !self.replica.state_mut().join(delta)? {
            return Ok(());
        }
        if self.role == Role::Root {
            // A head whose seal it verified is a transaction the log holds from now on, so
            // relayed copies of later ones chain onto it even when the ones in between were
            // lost with a device.
            for h in verified {
                if matches!(self.log.classify(h), Logged::Next | Logged::Gap) {
                    self.log_txn(Arc::clone(h));
                }
            }
        }
        self.drain_all();
        // No acknowledgement goes back for a delta: a transaction found forked while
        // draining is refused when its sender uploads it again.
        self.forks.clear();
        Ok(())
    }

    /// A delta that holds more of this replica than it has itself: with this replica's own
    /// head, head-sealed with its own key over the effects the delta shows, as evidence, the
    /// replica is superseded (its storage went back in time); without such a seal the claim
    /// proves nothing and the delta is left alone (`Ok(false)`). `Ok(true)`: no such claim.
    fn own_history_claim_is_verified(&mut self, delta: &StateDelta) -> Result<bool, ProtocolError> {
        let me = self.replica.id();
        let have = self.replica.state().vv().get(&me);
        let claimed = delta.vv.get(&me);
        if claimed <= have {
            return Ok(true);
        }
        let head = delta.heads.iter().find(|h| h.txn.id.replica == me);
        let store = self.replica.store();
        match head {
            Some(SealedTxn {
                txn,
                seal: Some(seal),
            }) if txn.id.seq == claimed => {
                let key = self
                    .keys
                    .origin_key(store, me.terminal)
                    .ok_or(ProtocolError::MissingKey("this terminal's origin key"))?;
                let effects = self.replica.state().effects_digest(&me, Some(delta));
                let genuine = upload::validate(txn, &mut self.scratch).is_ok()
                    && txn.head_seal_is_valid(key, store, &effects, seal);
                if !genuine {
                    // Not this head's own seal (an ancestor's, carried along by a leader,
                    // or garbage): no evidence, so the delta is left alone.
                    return Ok(false);
                }
                let why = self.replica.supersede(Superseded::Behind {
                    have,
                    seen: claimed,
                });
                Err(ProtocolError::Superseded(why))
            }
            _ => Ok(false),
        }
    }

    /// Root only: what `seal`, under the origin key `key`, proves about head `h`, which
    /// `delta` raises: the origin's head seal over `h` and its replica's effects here joined
    /// with the delta; or over an ancestor whose successors up to `h` this root buffers (a
    /// leader learned the replica's state up to the ancestor with that seal, then took the
    /// later transactions as relays, and passes the seal on with its newer head; those
    /// transactions were verified when they arrived, so the effects at the ancestor are the
    /// joined effects without theirs: one digest per buffered transaction, at most the
    /// per-replica buffer limit); or the origin seal of a relayed copy of the replica's very
    /// next transaction.
    fn head_evidence(
        &self,
        h: &Txn,
        key: &MacKey,
        seal: &Tag,
        delta: &StateDelta,
    ) -> Option<Evidence> {
        let r = h.id.replica;
        let store = self.replica.store();
        let mut effects = self.replica.state().effects(&r, Some(delta));
        if h.head_seal_is_valid(key, store, &effects.digest(store, &r), seal) {
            return Some(Evidence::HeadSeal);
        }
        if let Some(buffered) = self.gaps.get(&r) {
            let (mut seq, mut digest) = (h.id.seq, h.digest);
            while let Some(t) = buffered.get(&seq).map(|s| &s.txn) {
                let Some(before) = effects.without(t).filter(|_| t.digest == digest) else {
                    break;
                };
                effects = before;
                (seq, digest) = (seq.saturating_sub(1), t.prev);
                let at = effects.digest(store, &r);
                if key.verify(&Txn::head_input(store, &digest, &at), seal) {
                    return Some(Evidence::HeadSeal);
                }
            }
        }
        let next = self.log.classify(h) == Logged::Next
            && self.replica.state().check(h) == crate::state::Applied::Applied;
        (next && h.seal_is_valid(key, store, seal)).then_some(Evidence::NextTxn)
    }

    fn check_replicas(&self, new: usize) -> Result<(), ProtocolError> {
        let replicas = self.replica.state().vv().len().saturating_add(new);
        if new > 0 && replicas > self.limits.max_replicas {
            return Err(ProtocolError::TooManyReplicas {
                replicas,
                max: self.limits.max_replicas,
            });
        }
        Ok(())
    }
}

/// Where the seals of a run in an outgoing upload come from.
enum Sealer<'a> {
    /// This terminal's own transactions: sealed now with its origin key.
    Own(&'a Replica),
    /// Relayed transactions: the seals they came with, and the root's acknowledgement of
    /// their replica (a run that ends just below the segment the root holds needs no seal:
    /// the root's next transaction chains to it).
    Held(&'a Queue, Option<Ack>),
}

impl Sealer<'_> {
    fn seal(&self, t: &Txn) -> Option<Tag> {
        match self {
            Sealer::Own(r) => r.seal_own(t),
            Sealer::Held(q, _) => q.seal(t.id.seq),
        }
    }

    fn can_end_run(&self, t: &Txn) -> bool {
        match self {
            Sealer::Own(_) => true,
            Sealer::Held(q, ack) => {
                q.seal(t.id.seq).is_some()
                    || ack.is_some_and(|a| (a.from..=a.seq).contains(&t.id.seq.saturating_add(1)))
            }
        }
    }
}

/// Appends one replica's `picked` transactions (by sequence number) to `out` in runs that
/// each end sealed, up to `max` transactions in all. A run is cut after its last
/// transaction that can be sealed (within the room left), and what follows waits for a later
/// upload; a run none of whose transactions can be sealed is left out, and the runs after
/// it still go.
fn add_runs(out: &mut Vec<SealedTxn>, picked: &[&Arc<Txn>], sealer: &Sealer<'_>, max: usize) {
    let mut i = 0;
    while i < picked.len() && out.len() < max {
        let mut end = i;
        while end + 1 < picked.len() && picked[end + 1].follows(picked[end]) {
            end += 1;
        }
        let room_end = i + (max - out.len()) - 1;
        let Some(cut) = (i..=end.min(room_end))
            .rev()
            .find(|&k| sealer.can_end_run(picked[k]))
        else {
            // No seal for this run yet (relayed copies whose seal went with a later copy the
            // root acknowledged after a gap): the runs after it still go, into the root's
            // buffer if need be.
            i = end + 1;
            continue;
        };
        for (k, t) in picked.iter().enumerate().take(cut + 1).skip(i) {
            out.push(SealedTxn {
                txn: Arc::clone(t),
                seal: if k == cut { sealer.seal(t) } else { None },
            });
        }
        if cut < end {
            return;
        }
        i = end + 1;
    }
}
