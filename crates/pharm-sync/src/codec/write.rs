//! The encoder (see the format in the [module documentation](super)).

use pharm_core::ids::PharmacyId;
use std::collections::{BTreeMap, BTreeSet};

use pharm_core::ids::NdcLayout;

use super::*;
use crate::auth::{Digest, Tag};
use crate::hlc::Hlc;
use crate::ids::TxnId;
use crate::message::Acks;
use crate::state::{StateDelta, VersionVector};
use crate::txn::{HoldOp, LotInfo, LotKey};

/// Position in a list of transactions in message form: the clock and identity of the
/// preceding transaction, against which the next one is coded.
#[derive(Default)]
pub(super) struct ListContext {
    pub(super) hlc: u64,
    pub(super) last: Option<(TxnId, Digest)>,
}

/// The chain link a decoder can infer for `t` from its neighbour (see "Prev in message
/// form").
pub(super) fn implied_prev(id: TxnId, last: Option<(TxnId, Digest)>) -> Option<Digest> {
    if id.seq == 1 {
        return Some(Digest::default());
    }
    match last {
        Some((l, d)) if l.replica == id.replica && l.seq.checked_add(1) == Some(id.seq) => Some(d),
        _ => None,
    }
}

pub(super) fn layout_byte(l: NdcLayout) -> u8 {
    match l {
        NdcLayout::L442 => 0,
        NdcLayout::L532 => 1,
        NdcLayout::L541 => 2,
        NdcLayout::L542 => 3,
        NdcLayout::L642 => 4,
    }
}

pub(super) struct Writer<'a> {
    buf: &'a mut Vec<u8>,
    /// Index of each replica in the message's table; `None` in standalone form.
    table: Option<BTreeMap<ReplicaId, u64>>,
}

impl<'a> Writer<'a> {
    /// Header, sender, replica table and body (everything the hop tag covers).
    pub(super) fn message(
        buf: &'a mut Vec<u8>,
        store: PharmacyId,
        from: ReplicaId,
        body: &Body,
    ) -> Result<(), EncodeError> {
        let mut w = Writer { buf, table: None };
        w.buf.extend_from_slice(&MAGIC);
        w.byte(FORMAT_VERSION);
        w.byte(match body {
            Body::Hello { .. } => TYPE_HELLO,
            Body::Welcome { .. } => TYPE_WELCOME,
            Body::Upload { .. } => TYPE_UPLOAD,
            Body::UploadAck { .. } => TYPE_UPLOAD_ACK,
            Body::Delta { .. } => TYPE_DELTA,
        });
        w.u(u64::from(store.get()));
        w.replica(from);
        let replicas = replicas_of(body);
        w.count(replicas.len());
        for r in &replicas {
            w.replica(*r);
        }
        w.table = Some(replicas.into_iter().zip(0..).collect());
        match body {
            Body::Hello { vv, hlc } => {
                w.vv(vv);
                w.hlc(*hlc);
            }
            Body::Welcome {
                vv,
                acks,
                hlc,
                root,
            } => {
                w.vv(vv);
                w.acks(acks);
                w.hlc(*hlc);
                w.byte(u8::from(*root));
            }
            Body::Upload { txns } => w.txn_list(txns)?,
            Body::UploadAck { vv, acks, refused } => {
                w.vv(vv);
                w.acks(acks);
                w.count(refused.len());
                for r in refused {
                    w.txn_id(r.id);
                    w.byte(u8::from(r.seal.is_some()));
                    if let Some(seal) = &r.seal {
                        w.bytes16(&seal.0);
                    }
                }
            }
            Body::Delta { delta } => w.delta(delta)?,
        }
        Ok(())
    }

    /// The standalone form of a transaction.
    pub(super) fn standalone_txn(buf: &'a mut Vec<u8>, txn: &Txn) -> Result<(), EncodeError> {
        Writer { buf, table: None }.txn(txn, None, None)
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn count(&mut self, n: usize) {
        self.u(n as u64);
    }

    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }

    fn fix64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn hlc(&mut self, h: Hlc) {
        self.fix64(h.0);
    }

    fn bytes16(&mut self, b: &[u8; 16]) {
        self.buf.extend_from_slice(b);
    }

    /// A replica: its index in the table, or itself in standalone form.
    fn replica(&mut self, r: ReplicaId) {
        match &self.table {
            // Every replica of the body was collected into the table before writing.
            Some(t) => {
                let i = t.get(&r).copied().unwrap_or(u64::MAX);
                self.u(i);
            }
            None => {
                self.u(u64::from(r.terminal));
                self.u(r.incarnation);
            }
        }
    }

    fn txn_id(&mut self, id: TxnId) {
        self.replica(id.replica);
        self.u(id.seq);
    }

    fn key(&mut self, k: LotKey) {
        self.replica(k.origin);
        self.u(u64::from(k.local_no));
    }

    fn string(&mut self, field: &'static str, s: &str) -> Result<(), EncodeError> {
        if s.len() > MAX_STRING_BYTES {
            return Err(EncodeError::StringTooLong {
                field,
                len: s.len(),
                max: MAX_STRING_BYTES,
            });
        }
        self.count(s.len());
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn vv(&mut self, vv: &VersionVector) {
        self.count(vv.len());
        for (r, s) in vv.iter() {
            self.replica(r);
            self.u(s);
        }
    }

    fn acks(&mut self, acks: &Acks) {
        self.count(acks.len());
        for (r, a) in acks {
            self.replica(*r);
            self.u(a.seq);
            self.u(a.from);
            self.bytes16(&a.digest.0);
            self.bytes16(&a.seal.0);
        }
    }

    fn lot_info(&mut self, l: &LotInfo) -> Result<(), EncodeError> {
        self.key(l.key);
        self.u(l.created_seq);
        self.u(u64::from(l.sku));
        self.u(u64::from(l.ndc.labeler()));
        self.u(u64::from(l.ndc.product_code()));
        self.byte(l.ndc.package_code());
        self.byte(layout_byte(l.ndc.layout()));
        self.string("lot.lot_number", &l.lot_number)?;
        self.i(i64::from(l.expiry.days_since_epoch()));
        self.byte(u8::from(l.controlled));
        Ok(())
    }

    fn items(&mut self, field: &'static str, n: usize) -> Result<(), EncodeError> {
        if n > MAX_TXN_ITEMS {
            return Err(EncodeError::TooMany {
                field,
                count: n,
                max: MAX_TXN_ITEMS,
            });
        }
        self.count(n);
        Ok(())
    }

    fn txn_list(&mut self, txns: &[SealedTxn]) -> Result<(), EncodeError> {
        self.count(txns.len());
        let mut ctx = ListContext::default();
        for t in txns {
            self.txn(&t.txn, Some(&mut ctx), t.seal.as_ref())?;
        }
        Ok(())
    }

    /// A transaction: in message form (with its seal, if any) with a list context, else
    /// standalone.
    fn txn(
        &mut self,
        t: &Txn,
        ctx: Option<&mut ListContext>,
        seal: Option<&Tag>,
    ) -> Result<(), EncodeError> {
        self.txn_id(t.id);
        let explicit_prev = match ctx {
            Some(ctx) => {
                self.i(t.hlc.0.wrapping_sub(ctx.hlc) as i64);
                let implied = implied_prev(t.id, ctx.last);
                ctx.hlc = t.hlc.0;
                ctx.last = Some((t.id, t.digest));
                implied != Some(t.prev)
            }
            None => {
                self.hlc(t.hlc);
                true
            }
        };
        self.byte(t.kind as u8 | (t.reason as u8) << 4);
        let mut flags = 0;
        for (set, bit) in [
            (!t.new_lots.is_empty(), FLAG_NEW_LOTS),
            (!t.holds.is_empty(), FLAG_HOLDS),
            (t.transfer.is_some(), FLAG_TRANSFER),
            (!t.meta.is_empty(), FLAG_META),
            (t.compensates.is_some(), FLAG_COMPENSATES),
            (!t.reference.is_empty(), FLAG_REFERENCE),
            (explicit_prev && self.table.is_some(), FLAG_PREV),
            (seal.is_some() && self.table.is_some(), FLAG_SEALED),
        ] {
            if set {
                flags |= bit;
            }
        }
        self.byte(flags);
        self.items("txn.lines", t.lines.len())?;
        for l in &t.lines {
            self.key(l.lot);
            self.i(l.delta);
        }
        if !t.new_lots.is_empty() {
            self.items("txn.new_lots", t.new_lots.len())?;
            for l in &t.new_lots {
                self.lot_info(l)?;
            }
        }
        if !t.holds.is_empty() {
            self.items("txn.holds", t.holds.len())?;
            for h in &t.holds {
                match h {
                    HoldOp::Place { lot, reference } => {
                        self.byte(HOLD_PLACE);
                        self.key(*lot);
                        self.string("hold.reference", reference)?;
                    }
                    HoldOp::Release { hold } => {
                        self.byte(HOLD_RELEASE);
                        self.txn_id(*hold);
                    }
                }
            }
        }
        if let Some(tr) = t.transfer {
            self.u(u64::from(tr.from.get()));
            self.u(tr.number);
        }
        if !t.meta.is_empty() {
            self.items("txn.meta", t.meta.len())?;
            for (lot, value) in &t.meta {
                self.key(*lot);
                self.string("txn.meta", value)?;
            }
        }
        if let Some(d) = t.compensates {
            self.key(d.lot);
            self.fix64(d.version);
        }
        if !t.reference.is_empty() {
            self.string("txn.reference", &t.reference)?;
        }
        if explicit_prev {
            self.bytes16(&t.prev.0);
        }
        if let Some(seal) = seal.filter(|_| self.table.is_some()) {
            self.bytes16(&seal.0);
        }
        Ok(())
    }

    fn delta(&mut self, d: &StateDelta) -> Result<(), EncodeError> {
        self.vv(&d.vv);
        self.vv(&d.base);
        self.count(d.lots.len());
        for l in &d.lots {
            self.lot_info(l)?;
        }
        let groups: Vec<_> = d.cells.chunk_by(|a, b| a.1 == b.1).collect();
        self.count(groups.len());
        for g in groups {
            let runs: Vec<_> = g
                .chunk_by(|a, b| a.0.origin == b.0.origin && b.0.local_no > a.0.local_no)
                .collect();
            if let Some(first) = g.first() {
                self.replica(first.1);
            }
            self.count(runs.len());
            for run in runs {
                if let Some(first) = run.first() {
                    self.replica(first.0.origin);
                }
                self.count(run.len());
                let mut prev: Option<u32> = None;
                for &(lot, _, p, n) in run {
                    let gap = match prev {
                        None => u64::from(lot.local_no),
                        Some(q) => u64::from(lot.local_no) - u64::from(q) - 1,
                    };
                    prev = Some(lot.local_no);
                    self.u(gap);
                    self.u(p);
                    self.u(n);
                }
            }
        }
        self.count(d.holds.len());
        for (id, lot, reference) in &d.holds {
            self.txn_id(*id);
            self.key(*lot);
            self.string("hold.reference", reference)?;
        }
        self.count(d.releases.len());
        for (hold, by) in &d.releases {
            self.txn_id(*hold);
            self.txn_id(*by);
        }
        self.count(d.transfers.len());
        for (t, by, lot, units) in &d.transfers {
            self.u(u64::from(t.from.get()));
            self.u(t.number);
            self.txn_id(*by);
            self.key(*lot);
            self.u(*units);
        }
        self.count(d.compensations.len());
        for (disc, by) in &d.compensations {
            self.key(disc.lot);
            self.fix64(disc.version);
            self.txn_id(*by);
        }
        self.count(d.meta.len());
        for (lot, m) in &d.meta {
            self.key(*lot);
            self.string("meta.value", &m.value)?;
            self.hlc(m.hlc);
            self.txn_id(m.by);
        }
        self.txn_list(&d.heads)
    }
}

/// Every replica a body mentions (the message's replica table).
fn replicas_of(body: &Body) -> BTreeSet<ReplicaId> {
    let mut s = BTreeSet::new();
    let vv = |s: &mut BTreeSet<ReplicaId>, vv: &VersionVector| {
        s.extend(vv.iter().map(|(r, _)| r));
    };
    match body {
        Body::Hello { vv: v, .. } => vv(&mut s, v),
        Body::Welcome { vv: v, acks, .. } => {
            vv(&mut s, v);
            s.extend(acks.keys().copied());
        }
        Body::Upload { txns } => txns.iter().for_each(|t| txn_replicas(&mut s, &t.txn)),
        Body::UploadAck {
            vv: v,
            acks,
            refused,
        } => {
            vv(&mut s, v);
            s.extend(acks.keys().copied());
            s.extend(refused.iter().map(|r| r.id.replica));
        }
        Body::Delta { delta: d } => {
            vv(&mut s, &d.vv);
            vv(&mut s, &d.base);
            s.extend(d.lots.iter().map(|l| l.key.origin));
            s.extend(d.cells.iter().flat_map(|c| [c.0.origin, c.1]));
            s.extend(d.holds.iter().flat_map(|h| [h.0.replica, h.1.origin]));
            s.extend(d.releases.iter().flat_map(|r| [r.0.replica, r.1.replica]));
            s.extend(d.transfers.iter().flat_map(|t| [t.1.replica, t.2.origin]));
            s.extend(
                d.compensations
                    .iter()
                    .flat_map(|c| [c.0.lot.origin, c.1.replica]),
            );
            s.extend(d.meta.iter().flat_map(|m| [m.0.origin, m.1.by.replica]));
            d.heads.iter().for_each(|t| txn_replicas(&mut s, &t.txn));
        }
    }
    s
}

fn txn_replicas(s: &mut BTreeSet<ReplicaId>, t: &Txn) {
    s.insert(t.id.replica);
    s.extend(t.lines.iter().map(|l| l.lot.origin));
    s.extend(t.new_lots.iter().map(|l| l.key.origin));
    s.extend(t.holds.iter().map(|h| match h {
        HoldOp::Place { lot, .. } => lot.origin,
        HoldOp::Release { hold } => hold.replica,
    }));
    s.extend(t.meta.iter().map(|m| m.0.origin));
    s.extend(t.compensates.iter().map(|c| c.lot.origin));
}
