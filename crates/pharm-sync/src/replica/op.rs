//! The local inventory operations, as one value: what [`Replica::apply`](super::Replica::apply)
//! and the durable store's `apply` take.

use pharm_core::time::Date;
use serde::{Deserialize, Serialize};

use super::{Attachments, NewLot};
use crate::txn::{DiscrepancyId, HoldId, Line, LotKey, Reason, TransferId};

/// One local inventory operation. Applying it builds one transaction, checks it completely,
/// then commits it ([`Replica::apply`](super::Replica::apply)); a failed operation changes
/// nothing.
///
/// `reference` is the business reference recorded with the transaction (an invoice, a
/// prescription number, a recall notice), at most
/// [`MAX_STRING_BYTES`](crate::codec::MAX_STRING_BYTES) bytes.
///
/// The serde form is internally tagged by `op` in snake case, e.g.
/// `{"op":"receive","lot":{...},"qty":5,"reference":"PO-1"}`; unknown fields are refused
/// (in the operation and every object in it). [`Op::from_json`] reads it with a size limit
/// and stable error codes; `testdata/golden/sync/ops.json` has one of each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Op {
    /// Receives stock of a lot seen for the first time; the commit creates the lot
    /// ([`Commit::new_lot`](super::Commit::new_lot)).
    ReceiveNew {
        /// The lot's facts.
        lot: NewLot,
        /// Units received.
        qty: u64,
        /// Business reference (purchase order, invoice).
        reference: String,
    },
    /// Receives more stock of a known lot.
    Receive {
        /// The lot.
        lot: LotKey,
        /// Units received.
        qty: u64,
        /// Business reference.
        reference: String,
    },
    /// Dispenses `qty` units of a SKU: from the scanned lot when one was scanned (it is
    /// authoritative), otherwise by FEFO (pharm-core) over unheld, unexpired lots with
    /// stock, spilling across lots. When no eligible stock covers the quantity, the rest is
    /// charged to the earliest-expiring unheld lot, which goes negative and is flagged
    /// ([`Commit::negative`](super::Commit::negative)).
    Dispense {
        /// The pharmacy's calendar day (expiry is judged against it).
        today: Date,
        /// Dense SKU id.
        sku: u32,
        /// Units dispensed.
        qty: u64,
        /// The lot scanned at the counter, if any.
        scanned: Option<LotKey>,
        /// Business reference (prescription number).
        reference: String,
        /// Claim and PMP report rows committed with the dispense.
        attachments: Attachments,
    },
    /// Adjusts a lot by a signed quantity with a reason (damage, theft, found, correction).
    Adjust {
        /// The lot.
        lot: LotKey,
        /// Signed change.
        delta: i64,
        /// Why.
        reason: Reason,
        /// Business reference.
        reference: String,
    },
    /// Records a physical count: the difference between `counted` and the value this
    /// replica observes now. Transactions this replica has not seen still apply on top, so
    /// the final value is `counted + Σ unseen transactions`. Counting an already matching
    /// lot records nothing ([`OpError::NothingToRecord`](super::OpError::NothingToRecord)).
    StockCount {
        /// The lot.
        lot: LotKey,
        /// Units counted on the shelf.
        counted: u64,
        /// Business reference (count sheet).
        reference: String,
    },
    /// Writes off the observed value of a lot (expired, recalled, destroyed); a lot with
    /// nothing on hand records nothing
    /// ([`OpError::NothingToRecord`](super::OpError::NothingToRecord)).
    WriteOff {
        /// The lot.
        lot: LotKey,
        /// Why.
        reason: Reason,
        /// Business reference.
        reference: String,
    },
    /// Sends units to another store ([`Commit::transfer`](super::Commit::transfer)).
    TransferOut {
        /// The lot.
        lot: LotKey,
        /// Units sent.
        qty: u64,
        /// This store's transfer number.
        number: u64,
        /// Business reference.
        reference: String,
    },
    /// Receives a transfer from another store into a new lot here
    /// ([`Commit::new_lot`](super::Commit::new_lot)). Idempotent by transfer id: a second
    /// receipt here is refused, and concurrent receipts on two terminals count once.
    TransferIn {
        /// The sending store's transfer.
        transfer: TransferId,
        /// The lot's facts.
        lot: NewLot,
        /// Units received.
        qty: u64,
        /// Business reference.
        reference: String,
    },
    /// Places a hold (recall, quarantine) on a lot; the hold's id is the transaction id
    /// ([`Commit::hold`](super::Commit::hold)).
    Hold {
        /// The lot.
        lot: LotKey,
        /// Business reference (recall notice).
        reference: String,
    },
    /// Releases an active hold.
    Release {
        /// The hold.
        hold: HoldId,
        /// Business reference.
        reference: String,
    },
    /// Sets a lot's shelf location (last writer wins).
    SetLocation {
        /// The lot.
        lot: LotKey,
        /// Shelf location.
        location: String,
    },
    /// Records a compensation of a discrepancy (the store server's reconciliation,
    /// [`reconcile`](crate::reconcile)).
    Compensate {
        /// The discrepancy compensated.
        discrepancy: DiscrepancyId,
        /// The compensating lines.
        lines: Vec<Line>,
        /// Business reference.
        reference: String,
    },
}
