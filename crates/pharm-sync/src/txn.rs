//! Transactions: the unit of the outbox, of upload and of exactly-once application.
//!
//! Every inventory change is a delta (never an assignment): a stock count or write-off is
//! turned into `counted − observed value` when it is recorded, so concurrent dispenses on
//! other terminals still apply on top.

use pharm_core::ids::PharmacyId;
use std::sync::Arc;

use pharm_core::ids::Ndc;
use pharm_core::time::Date;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Digest, HEAD_DOMAIN, MacKey, SEAL_DOMAIN, TXN_DOMAIN, Tag};
use crate::codec::{self, EncodeError};
use crate::hlc::Hlc;
use crate::ids::{ReplicaId, TxnId};

/// A lot, identified without coordination: the replica that first received it and a local
/// number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotKey {
    /// Replica that created the lot.
    pub origin: ReplicaId,
    /// Number local to that replica.
    pub local_no: u32,
}

/// Immutable facts about a lot, fixed at receipt (from the GS1 DataMatrix scan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotInfo {
    /// Key.
    pub key: LotKey,
    /// Sequence number of the creating transaction at `key.origin`.
    pub created_seq: u64,
    /// Dense SKU id from the catalog.
    pub sku: u32,
    /// Package NDC.
    pub ndc: Ndc,
    /// Manufacturer lot number.
    pub lot_number: String,
    /// Expiry (last day in date).
    pub expiry: Date,
    /// Controlled substance: discrepancies become pharmacist tasks, never automatic fixes.
    pub controlled: bool,
}

/// Why stock changed outside a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Reason {
    /// Ordinary receipt or dispense.
    None = 0,
    /// Damaged.
    Damage = 1,
    /// Theft or loss.
    Theft = 2,
    /// Found stock.
    Found = 3,
    /// Data correction.
    Correction = 4,
    /// Physical count.
    Count = 5,
    /// Expired stock written off.
    Expired = 6,
    /// Recalled stock written off.
    Recalled = 7,
    /// Destroyed (reverse distributor, DEA 41).
    Destroyed = 8,
    /// Server reconciliation of a discrepancy.
    Reconciliation = 9,
}

impl Reason {
    /// From the wire byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        use Reason::*;
        Some(match v {
            0 => None,
            1 => Damage,
            2 => Theft,
            3 => Found,
            4 => Correction,
            5 => Count,
            6 => Expired,
            7 => Recalled,
            8 => Destroyed,
            9 => Reconciliation,
            _ => return Option::None,
        })
    }
}

/// What kind of business event a transaction records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum TxnKind {
    /// Goods received (possibly creating lots).
    Receive = 0,
    /// Dispensed or sold.
    Dispense = 1,
    /// Adjustment with a reason.
    Adjust = 2,
    /// Physical count, recorded as the difference to the observed value.
    StockCount = 3,
    /// Sent to another store.
    TransferOut = 4,
    /// Received from another store (idempotent by transfer id).
    TransferIn = 5,
    /// Lot hold (recall, quarantine) or release.
    Hold = 6,
    /// Write-off (expired, recalled, destroyed): the observed value to zero.
    WriteOff = 7,
    /// Server compensation of a discrepancy.
    Compensation = 8,
    /// The first transaction of a terminal restored from a backup as a new incarnation: no
    /// lines; its reference names the old incarnation's head the backup held
    /// ([`CsLink::reference`](crate::cs_log::CsLink::reference)), so the
    /// controlled-substance log links the new segment to the old one.
    Restore = 9,
}

impl TxnKind {
    /// From the wire byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        use TxnKind::*;
        Some(match v {
            0 => Receive,
            1 => Dispense,
            2 => Adjust,
            3 => StockCount,
            4 => TransferOut,
            5 => TransferIn,
            6 => Hold,
            7 => WriteOff,
            8 => Compensation,
            9 => Restore,
            _ => return None,
        })
    }
}

/// One quantity change on one lot, in integer base units (+ adds stock, − removes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// The lot.
    pub lot: LotKey,
    /// Signed change.
    pub delta: i64,
}

/// Identity of a hold (the transaction that placed it).
pub type HoldId = TxnId;

/// Hold placed on or released from a lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum HoldOp {
    /// Place a hold (recall, quarantine); the hold's id is the transaction id.
    Place {
        /// Lot held.
        lot: LotKey,
        /// Recall or quarantine reference.
        reference: String,
    },
    /// Release an earlier hold.
    Release {
        /// The hold.
        hold: HoldId,
    },
}

/// An inter-store transfer: the sending store and its transfer number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferId {
    /// Sending store.
    pub from: PharmacyId,
    /// Number at the sending store.
    pub number: u64,
}

/// A discrepancy found by reconciliation (deterministic id: lot and the version at which it
/// was found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscrepancyId {
    /// The lot.
    pub lot: LotKey,
    /// Fingerprint of the version vector of the state it was computed from.
    pub version: u64,
}

/// A committed local transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Txn {
    /// Replica and sequence number.
    pub id: TxnId,
    /// When (hybrid logical time).
    pub hlc: Hlc,
    /// Kind.
    pub kind: TxnKind,
    /// Reason code.
    pub reason: Reason,
    /// Quantity changes.
    pub lines: Vec<Line>,
    /// Lots created by this transaction.
    pub new_lots: Vec<LotInfo>,
    /// Holds placed or released.
    pub holds: Vec<HoldOp>,
    /// Transfer this transaction belongs to.
    pub transfer: Option<TransferId>,
    /// Lot metadata written (shelf location), last writer wins.
    pub meta: Vec<(LotKey, String)>,
    /// Discrepancy this transaction compensates (server only).
    pub compensates: Option<DiscrepancyId>,
    /// Business reference (Rx number, invoice, count sheet).
    pub reference: String,
    /// Digest of the same replica's previous transaction (all zeros for sequence number 1):
    /// the chain that makes a forked history visible.
    pub prev: Digest,
    /// This transaction's digest: SHA-256 over the label `"T"`, `0x02` and the canonical
    /// bytes of everything above, prev included ([`codec::txn_signing_bytes`]). Computed by
    /// [`Txn::link`] when the transaction is made and by the decoder when it is read.
    pub digest: Digest,
}

impl Txn {
    /// Computes [`Txn::digest`]; `scratch` is reused for the canonical bytes. Fails when the
    /// transaction cannot be encoded (a string longer than the wire format allows, too many
    /// lines...), which is why every local operation links its transaction before it
    /// changes anything.
    pub fn link(&mut self, scratch: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.digest = self.computed_digest(scratch)?;
        Ok(())
    }

    /// The digest of the transaction's contents as they are now.
    pub fn computed_digest(&self, scratch: &mut Vec<u8>) -> Result<Digest, EncodeError> {
        scratch.clear();
        scratch.extend_from_slice(TXN_DOMAIN);
        codec::append_txn_signing_bytes(self, scratch)?;
        Ok(auth::digest(scratch))
    }

    /// Whether this transaction directly continues `before` in its replica's history: the
    /// same replica, the next sequence number, and chained to its digest.
    pub fn follows(&self, before: &Txn) -> bool {
        self.id.replica == before.id.replica
            && before.id.seq.checked_add(1) == Some(self.id.seq)
            && self.prev == before.digest
    }

    /// The origin seal of this transaction (and, by the chain, of its replica's history up
    /// to it): HMAC under the origin terminal's key over the label `"S"`, `0x02`, the store
    /// (4 bytes little-endian) and [`Txn::digest`].
    pub fn seal(&self, key: &MacKey, store: PharmacyId) -> Tag {
        key.tag(&auth::over_digest(SEAL_DOMAIN, store, &self.digest))
    }

    /// Whether `seal` is this transaction's origin seal under `key` in `store`.
    pub fn seal_is_valid(&self, key: &MacKey, store: PharmacyId, seal: &Tag) -> bool {
        key.verify(&auth::over_digest(SEAL_DOMAIN, store, &self.digest), seal)
    }

    /// The seal its origin puts on this transaction as the head of its state in a delta:
    /// HMAC under the origin terminal's key over the label `"H"`, `0x02`, the store (4
    /// bytes little-endian), [`Txn::digest`] and the digest of its replica's effects up to
    /// it ([`InventoryState::effects_digest`](crate::state::InventoryState::effects_digest)).
    /// It vouches for the version and for the totals.
    pub fn head_seal(&self, key: &MacKey, store: PharmacyId, effects: &Digest) -> Tag {
        key.tag(&Self::head_input(store, &self.digest, effects))
    }

    /// Whether `seal` is this head's seal under `key` in `store` with these `effects`.
    pub fn head_seal_is_valid(
        &self,
        key: &MacKey,
        store: PharmacyId,
        effects: &Digest,
        seal: &Tag,
    ) -> bool {
        key.verify(&Self::head_input(store, &self.digest, effects), seal)
    }

    /// The bytes a head seal covers: the label, the store, a head's digest and its effects.
    pub(crate) fn head_input(store: PharmacyId, digest: &Digest, effects: &Digest) -> [u8; 38] {
        let mut input = [0u8; 38];
        input[..22].copy_from_slice(&auth::over_digest(HEAD_DOMAIN, store, digest));
        input[22..].copy_from_slice(&effects.0);
        input
    }
}

/// A transaction as one peer passes it to another: shared, with its origin's seal where
/// the sender holds one. In an upload, the last transaction of every run (one replica's
/// consecutive, chained transactions) carries a seal ([`Txn::seal`]); a delta's heads carry
/// their origin's head seal ([`Txn::head_seal`]) where the sender has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedTxn {
    /// The transaction.
    pub txn: Arc<Txn>,
    /// Its origin seal ([`Txn::seal`]), if the sender holds it.
    pub seal: Option<Tag>,
}

impl SealedTxn {
    /// A transaction without a seal.
    pub fn unsealed(txn: Arc<Txn>) -> Self {
        SealedTxn { txn, seal: None }
    }
}
