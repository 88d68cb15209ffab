//! Transactions: the unit of the outbox, of upload and of exactly-once application.
//!
//! Every inventory change is a delta (never an assignment): a stock count or write-off is
//! turned into `counted − observed value` when it is recorded, so concurrent dispenses on
//! other terminals still apply on top.

use pharm_core::ids::Ndc;
use pharm_core::time::Date;
use serde::{Deserialize, Serialize};

use crate::auth::{MacKey, TXN_DOMAIN, Tag};
use crate::codec::{self, EncodeError};
use crate::hlc::Hlc;
use crate::ids::{ReplicaId, StoreId, TxnId};

/// A lot, identified without coordination: the replica that first received it and a local
/// number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LotKey {
    /// Replica that created the lot.
    pub origin: ReplicaId,
    /// Number local to that replica.
    pub local_no: u32,
}

/// Immutable facts about a lot, fixed at receipt (from the GS1 DataMatrix scan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
            _ => return None,
        })
    }
}

/// One quantity change on one lot, in integer base units (+ adds stock, − removes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
pub struct TransferId {
    /// Sending store.
    pub from: StoreId,
    /// Number at the sending store.
    pub number: u64,
}

/// A discrepancy found by reconciliation (deterministic id: lot and the version at which it
/// was found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DiscrepancyId {
    /// The lot.
    pub lot: LotKey,
    /// Fingerprint of the version vector of the state it was computed from.
    pub version: u64,
}

/// A committed local transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Origin tag of the same replica's previous transaction (all zeros for sequence
    /// number 1): the chain that makes a forked history visible.
    pub prev: Tag,
    /// Origin tag: HMAC under the origin terminal's key over the store and the canonical
    /// bytes of everything above ([`codec::txn_signing_bytes`]).
    pub tag: Tag,
}

impl Txn {
    /// Computes [`Txn::tag`] with the origin terminal's key; `scratch` is reused for the
    /// canonical bytes. Fails when the transaction cannot be encoded (a string longer than
    /// the wire format allows, too many lines...), which is why every local operation
    /// seals before it changes anything.
    pub fn seal(
        &mut self,
        key: &MacKey,
        store: StoreId,
        scratch: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        Self::tagged_input(self, store, scratch)?;
        self.tag = key.tag(scratch);
        Ok(())
    }

    /// Whether [`Txn::tag`] is the origin tag of this transaction under `key` in `store`.
    pub fn verify(&self, key: &MacKey, store: StoreId, scratch: &mut Vec<u8>) -> bool {
        Self::tagged_input(self, store, scratch).is_ok() && key.verify(scratch, &self.tag)
    }

    /// The whole input of the origin tag into `out`: the domain label, the store and the
    /// signing bytes, so the MAC is fed in one call.
    fn tagged_input(&self, store: StoreId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.clear();
        out.extend_from_slice(TXN_DOMAIN);
        out.extend_from_slice(&store.0.to_le_bytes());
        codec::append_txn_signing_bytes(self, out)
    }
}
