//! One entry of the controlled-substance log, its canonical bytes and digest, and the link
//! a restored incarnation records.

use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Digest};
use crate::ids::{ReplicaId, TxnId};
use crate::txn::{Line, LotKey, Reason, Txn, TxnKind};

/// Domain label of an entry's digest ("C", format 2).
const ENTRY_DOMAIN: &[u8] = b"C\x02";
/// Domain label of a terminal's genesis digest ("G", format 2).
const GENESIS_DOMAIN: &[u8] = b"G\x02";
/// The prefix of a restore transaction's reference.
const RESTORE_PREFIX: &str = "restore";

/// What a controlled event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum CsKind {
    /// Dispensed or sold.
    Dispense = 1,
    /// Received from a supplier.
    Receipt = 2,
    /// Sent to another store.
    TransferOut = 3,
    /// Received from another store.
    TransferIn = 4,
    /// Adjusted, counted or written off (the entry's reason says which).
    Adjustment = 5,
    /// The store server's compensation of a discrepancy.
    Reconciliation = 6,
    /// The start of a restored incarnation's segment ([`CsEntry::link`] names its
    /// predecessor).
    SegmentStart = 7,
}

impl CsKind {
    /// The kind of entry a transaction of `kind` makes, if it makes one.
    fn of(kind: TxnKind) -> Option<CsKind> {
        Some(match kind {
            TxnKind::Dispense => CsKind::Dispense,
            TxnKind::Receive => CsKind::Receipt,
            TxnKind::TransferOut => CsKind::TransferOut,
            TxnKind::TransferIn => CsKind::TransferIn,
            TxnKind::Adjust | TxnKind::StockCount | TxnKind::WriteOff => CsKind::Adjustment,
            TxnKind::Compensation => CsKind::Reconciliation,
            TxnKind::Restore => CsKind::SegmentStart,
            TxnKind::Hold => return None,
        })
    }
}

/// The old incarnation a restored one continues: its replica, and the sequence number and
/// digest of its head in the backup the new incarnation was restored from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsLink {
    /// The old incarnation.
    pub from: ReplicaId,
    /// Its head's sequence number in the backup.
    pub seq: u64,
    /// Its head's transaction digest.
    pub txn_digest: Digest,
}

impl CsLink {
    /// The reference of the [`TxnKind::Restore`] transaction that records this link:
    /// `restore <replica> <seq> <digest>` (the replica as `T<terminal>.<incarnation>`, the
    /// digest as 32 lowercase hex digits).
    pub fn reference(&self) -> String {
        format!(
            "{RESTORE_PREFIX} {} {} {}",
            self.from, self.seq, self.txn_digest
        )
    }

    /// Reads [`reference`](Self::reference) back; `None` for anything else.
    pub fn parse(reference: &str) -> Option<CsLink> {
        let mut parts = reference.split(' ');
        if parts.next() != Some(RESTORE_PREFIX) {
            return None;
        }
        let from = parts.next()?.parse().ok()?;
        let seq_text = parts.next()?;
        if seq_text.is_empty() || !seq_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seq: u64 = seq_text.parse().ok()?;
        let txn_digest = parts.next()?.parse().ok()?;
        let link = CsLink {
            from,
            seq,
            txn_digest,
        };
        // Canonical only: one spelling per link.
        (parts.next().is_none() && link.reference() == reference && seq > 0).then_some(link)
    }

    /// The link a restore transaction `t` records, if it is a well-formed one: the first
    /// transaction of its replica, naming another incarnation of the same terminal.
    pub fn of(t: &Txn) -> Option<CsLink> {
        if t.kind != TxnKind::Restore || t.id.seq != 1 {
            return None;
        }
        CsLink::parse(&t.reference).filter(|l| {
            l.from.terminal == t.id.replica.terminal
                && l.from.incarnation != t.id.replica.incarnation
        })
    }
}

/// One controlled event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsEntry {
    /// The transaction that recorded the event.
    pub txn: TxnId,
    /// That transaction's digest (which its origin sealed).
    pub txn_digest: Digest,
    /// What happened.
    pub kind: CsKind,
    /// Why (adjustments: damage, theft, count, expired...).
    pub reason: Reason,
    /// The controlled lines of the transaction (lot, signed change).
    pub lines: Vec<Line>,
    /// The business reference (prescription, invoice, DEA form, count sheet).
    pub reference: String,
    /// For [`CsKind::SegmentStart`] only: the old incarnation the segment continues.
    pub link: Option<CsLink>,
    /// The previous entry's digest in this chain (or the genesis digest, or for a segment
    /// start the old segment's entry it links to).
    pub prev: Digest,
    /// SHA-256 (128 bits) over the label `"C"`, `0x02`, the store and everything above.
    pub digest: Digest,
}

/// An entry before it is chained: what a transaction contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    pub(crate) kind: CsKind,
    pub(crate) lines: Vec<Line>,
    pub(crate) link: Option<CsLink>,
}

impl Draft {
    /// What `t` contributes to the log, if anything: its lines on controlled lots (a restore
    /// transaction contributes its link).
    pub(crate) fn of(t: &Txn, controlled: &dyn Fn(&LotKey) -> bool) -> Option<Draft> {
        let kind = CsKind::of(t.kind)?;
        if kind == CsKind::SegmentStart {
            return CsLink::of(t).map(|link| Draft {
                kind,
                lines: Vec::new(),
                link: Some(link),
            });
        }
        let lines: Vec<Line> = t
            .lines
            .iter()
            .filter(|l| controlled(&l.lot))
            .copied()
            .collect();
        (!lines.is_empty()).then_some(Draft {
            kind,
            lines,
            link: None,
        })
    }

    /// The entry, chained to `prev`.
    pub(crate) fn chain(self, store: PharmacyId, t: &Txn, prev: Digest) -> CsEntry {
        let mut e = CsEntry {
            txn: t.id,
            txn_digest: t.digest,
            kind: self.kind,
            reason: t.reason,
            lines: self.lines,
            reference: t.reference.clone(),
            link: self.link,
            prev,
            digest: Digest::default(),
        };
        e.digest = e.computed_digest(store);
        e
    }
}

fn put_replica(out: &mut Vec<u8>, r: &ReplicaId) {
    out.extend_from_slice(&r.terminal.to_le_bytes());
    out.extend_from_slice(&r.incarnation.to_le_bytes());
}

impl CsEntry {
    /// The digest of the entry's contents as they are now, in `store`.
    pub fn computed_digest(&self, store: PharmacyId) -> Digest {
        let mut b = Vec::with_capacity(96 + self.reference.len() + 22 * self.lines.len());
        b.extend_from_slice(ENTRY_DOMAIN);
        b.extend_from_slice(&store.get().to_le_bytes());
        b.extend_from_slice(&self.prev.0);
        put_replica(&mut b, &self.txn.replica);
        b.extend_from_slice(&self.txn.seq.to_le_bytes());
        b.extend_from_slice(&self.txn_digest.0);
        b.push(self.kind as u8);
        b.push(self.reason as u8);
        b.extend_from_slice(&(self.lines.len() as u64).to_le_bytes());
        for l in &self.lines {
            put_replica(&mut b, &l.lot.origin);
            b.extend_from_slice(&l.lot.local_no.to_le_bytes());
            b.extend_from_slice(&l.delta.to_le_bytes());
        }
        b.extend_from_slice(&(self.reference.len() as u64).to_le_bytes());
        b.extend_from_slice(self.reference.as_bytes());
        match &self.link {
            None => b.push(0),
            Some(l) => {
                b.push(1);
                put_replica(&mut b, &l.from);
                b.extend_from_slice(&l.seq.to_le_bytes());
                b.extend_from_slice(&l.txn_digest.0);
            }
        }
        auth::digest(&b)
    }
}

/// The digest a terminal's first segment starts from.
pub fn genesis(store: PharmacyId, terminal: u16) -> Digest {
    let mut b = Vec::with_capacity(8);
    b.extend_from_slice(GENESIS_DOMAIN);
    b.extend_from_slice(&store.get().to_le_bytes());
    b.extend_from_slice(&terminal.to_le_bytes());
    auth::digest(&b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_link_reads_back_only_from_its_canonical_reference() {
        let link = CsLink {
            from: ReplicaId::new(3, 77),
            seq: 12,
            txn_digest: Digest([7; 16]),
        };
        let text = link.reference();
        assert_eq!(CsLink::parse(&text), Some(link));
        for bad in [
            text.replace("restore", "Restore"),
            format!("{text} "),
            text.replace(" 12 ", " +12 "),
            text.replace(" 12 ", " 012 "),
            text.replace(" 12 ", " 0 ").replace("12", "0"),
            "restore".into(),
            String::new(),
        ] {
            assert_eq!(CsLink::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_field_is_covered_by_the_digest() {
        let store = PharmacyId::new(1);
        let r = ReplicaId::new(1, 2);
        let lot = LotKey {
            origin: r,
            local_no: 1,
        };
        let base = CsEntry {
            txn: TxnId { replica: r, seq: 4 },
            txn_digest: Digest([1; 16]),
            kind: CsKind::Dispense,
            reason: Reason::None,
            lines: vec![Line { lot, delta: -3 }],
            reference: "rx".into(),
            link: None,
            prev: genesis(store, 1),
            digest: Digest::default(),
        };
        let d = base.computed_digest(store);
        let mut edits: Vec<CsEntry> = Vec::new();
        let mut e = base.clone();
        e.txn.seq = 5;
        edits.push(e);
        let mut e = base.clone();
        e.lines[0].delta = -4;
        edits.push(e);
        let mut e = base.clone();
        e.kind = CsKind::Adjustment;
        edits.push(e);
        let mut e = base.clone();
        e.reason = Reason::Theft;
        edits.push(e);
        let mut e = base.clone();
        e.reference = "rx2".into();
        edits.push(e);
        let mut e = base.clone();
        e.prev = Digest::default();
        edits.push(e);
        let mut e = base.clone();
        e.txn_digest = Digest([2; 16]);
        edits.push(e);
        for e in edits {
            assert_ne!(e.computed_digest(store), d, "{e:?}");
        }
        assert_ne!(base.computed_digest(PharmacyId::new(2)), d);
        assert_ne!(genesis(store, 1), genesis(store, 2));
    }
}
