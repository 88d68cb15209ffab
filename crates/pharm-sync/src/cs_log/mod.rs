//! The tamper-evident controlled-substance log: every controlled dispense, receipt,
//! transfer, adjustment (count and write-off included) and reconciliation, as a hash chain
//! that the holders of a store's transactions (the root and a store leader) build as they
//! accept transactions, and that an auditor can check on an exported copy ([`verify`]).
//!
//! Why: 21 CFR 1304.21 and 1304.22 require a complete and accurate record of every
//! controlled substance received, dispensed or otherwise disposed of. The transaction chain
//! of each replica already makes a changed transaction visible to the next holder; this log
//! keeps the controlled events by themselves, in an order and form an inspector can read,
//! and makes an edited, reordered or deleted entry of an exported copy detectable and
//! named.
//!
//! # The chain
//!
//! One [`CsEntry`] per transaction that touches a controlled lot (the lot's
//! [`controlled`](crate::txn::LotInfo::controlled) fact decides; only its controlled lines
//! are recorded). Each entry's [`digest`](CsEntry::digest) is SHA-256 (truncated to 128 bits,
//! as every digest of this crate) over the label `"C"`, `0x02`, the store and the canonical
//! bytes of the entry, its `prev` included. Entries chain per replica (a *segment*):
//!
//! * a terminal's first incarnation starts from the genesis digest (label `"G"`, `0x02`,
//!   the store, the terminal);
//! * a terminal restored from a backup as a new incarnation
//!   ([`Replica::reincarnated`](crate::replica::Replica::reincarnated)) records, as its
//!   first transaction, a [`TxnKind::Restore`](crate::txn::TxnKind::Restore) naming the old
//!   incarnation and the sequence number and digest of the old incarnation's head the backup
//!   held ([`CsLink`]). Its segment starts with a [`CsKind::SegmentStart`] entry linked
//!   (`prev`) to the old segment's last entry at or before that sequence number (or to the
//!   genesis when there is none), so the terminal's chain runs across its incarnations.
//!
//! A holder feeds every transaction it holds, in each replica's order ([`CsLog`]); one it
//! receives out of order waits (bounded) until the ones before it arrive. The link of a
//! restored segment is checked against what the holder holds of the old incarnation: a
//! contradiction is [`CsLogError::LinkMismatch`] (and, in an upload, the protocol's
//! [`ProtocolError::CsLink`](crate::protocol::ProtocolError::CsLink)).
//!
//! # Export and audit
//!
//! [`CsLog::export`] lists the entries grouped by terminal (ascending), each terminal's
//! segments in link order (a predecessor before its successors), each segment in sequence
//! order; [`CsExport`] is that list with its store, as JSON. [`verify`] recomputes every
//! digest and link of such a list and names the first bad entry; it returns the log's head
//! ([`CsHead`]), which an auditor compares with the head the holder reports
//! ([`CsLog::head`]): a deleted last entry leaves every link intact, but not the head.

mod build;
mod entry;
mod export;
mod verify;

pub use build::{CsLog, MAX_PENDING};
pub use entry::{CsEntry, CsKind, CsLink, genesis};
pub use export::{CsExport, MAX_CS_JSON_BYTES};
pub use verify::{CsHead, CsLogError, CsSegmentHead, MAX_VERIFY_ENTRIES, verify};
