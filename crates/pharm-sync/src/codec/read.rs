//! The decoder (see the format in the [module documentation](super)). It accepts only
//! canonical encodings.

use pharm_core::ids::PharmacyId;
use std::sync::Arc;

use pharm_core::ids::{Ndc, NdcLayout};
use pharm_core::time::{Date, MAX_YEAR, MIN_YEAR};

use super::write::{ListContext, implied_prev};
use super::*;
use crate::auth::{Digest, TAG_BYTES, Tag};
use crate::hlc::Hlc;
use crate::ids::TxnId;
use crate::message::{Ack, Acks, Refusal};
use crate::state::{Lww, StateDelta, VersionVector};
use crate::txn::{
    DiscrepancyId, HoldOp, Line, LotInfo, LotKey, Reason, SealedTxn, TransferId, TxnKind,
};

// Smallest encodings in bytes, used to check counts against the bytes left.
const MIN_REPLICA: usize = 2;
const MIN_VV_ENTRY: usize = 2;
const MIN_ACK: usize = 3 + 2 * TAG_BYTES;
const MIN_LOT_INFO: usize = 11;
const MIN_GROUP: usize = 2;
const MIN_RUN: usize = 2;
const MIN_CELL: usize = 3;
const MIN_HOLD: usize = 5;
const MIN_RELEASE: usize = 4;
const MIN_TRANSFER: usize = 7;
const MIN_COMPENSATION: usize = 12;
const MIN_DELTA_META: usize = 13;
const MIN_TXN: usize = 6;
const MIN_LINE: usize = 3;
const MIN_HOLD_OP: usize = 3;
const MIN_TXN_META: usize = 3;

fn layout_from_byte(b: u8) -> Option<NdcLayout> {
    Some(match b {
        0 => NdcLayout::L442,
        1 => NdcLayout::L532,
        2 => NdcLayout::L541,
        3 => NdcLayout::L542,
        4 => NdcLayout::L642,
        _ => return None,
    })
}

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a DecodeLimits,
    /// The message's replica table and which entries the body used; `None` in standalone
    /// form (replicas written out).
    table: Option<(Vec<ReplicaId>, Vec<bool>)>,
    /// Reused for the canonical bytes each transaction's digest is computed over.
    scratch: Vec<u8>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8], limits: &'a DecodeLimits) -> Self {
        Reader {
            buf,
            pos: 0,
            limits,
            table: None,
            scratch: Vec::new(),
        }
    }

    pub(super) fn message(mut self) -> Result<Message, DecodeError> {
        let (ty, store) = self.message_header()?;
        let from = self.direct_replica("from")?;
        let n = self.count("replica table", self.limits.max_replicas, MIN_REPLICA)?;
        let mut table: Vec<ReplicaId> = Vec::with_capacity(n);
        for _ in 0..n {
            let at = self.pos;
            let r = self.direct_replica("replica table")?;
            if table.last().is_some_and(|&l| l >= r) {
                return Err(Self::invalid(at, "replica table"));
            }
            table.push(r);
        }
        self.table = Some((table, vec![false; n]));
        let table_end = self.pos;
        let body = match ty {
            TYPE_HELLO => Body::Hello {
                vv: self.vv("hello.vv")?,
                hlc: self.hlc("hello.hlc")?,
            },
            TYPE_WELCOME => Body::Welcome {
                vv: self.vv("welcome.vv")?,
                acks: self.acks("welcome.acks")?,
                hlc: self.hlc("welcome.hlc")?,
                root: self.bool("welcome.root")?,
            },
            TYPE_UPLOAD => Body::Upload {
                txns: self.txn_list("upload.txns", self.limits.max_txns)?,
            },
            TYPE_UPLOAD_ACK => {
                let vv = self.vv("upload_ack.vv")?;
                let acks = self.acks("upload_ack.acks")?;
                let n = self.count("upload_ack.refused", self.limits.max_replicas, 3)?;
                let mut refused: Vec<Refusal> = Vec::with_capacity(n);
                for _ in 0..n {
                    let at = self.pos;
                    let id = self.txn_id("upload_ack.refused")?;
                    if id.seq == 0 || refused.last().is_some_and(|l| l.id.replica >= id.replica) {
                        return Err(Self::invalid(at, "upload_ack.refused"));
                    }
                    let seal = if self.bool("upload_ack.refused.sealed")? {
                        Some(Tag(self.bytes16("upload_ack.refused.seal")?))
                    } else {
                        None
                    };
                    refused.push(Refusal { id, seal });
                }
                Body::UploadAck { vv, acks, refused }
            }
            // `message_header` accepts only the five known types.
            _ => Body::Delta {
                delta: self.delta()?,
            },
        };
        if let Some((_, used)) = &self.table
            && used.iter().any(|u| !u)
        {
            return Err(Self::invalid(table_end, "replica table (unused entry)"));
        }
        let tag = Tag(self.bytes16("message tag")?);
        self.finish()?;
        Ok(Message {
            store,
            from,
            body,
            tag,
        })
    }

    pub(super) fn outbox_blob(mut self) -> Result<Txn, DecodeError> {
        self.magic(TXN_MAGIC)?;
        self.version()?;
        let t = self.txn(None)?;
        self.finish()?;
        Ok(t)
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn truncated(&self, field: &'static str) -> DecodeError {
        DecodeError::Truncated {
            offset: self.pos,
            field,
        }
    }

    fn invalid(offset: usize, field: &'static str) -> DecodeError {
        DecodeError::InvalidValue { offset, field }
    }

    fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            remaining => Err(DecodeError::TrailingBytes {
                offset: self.pos,
                remaining,
            }),
        }
    }

    fn magic(&mut self, expected: [u8; 3]) -> Result<(), DecodeError> {
        let have = self.buf.get(..3).unwrap_or(self.buf);
        if expected.get(..have.len()) != Some(have) {
            return Err(DecodeError::BadMagic {
                offset: 0,
                expected,
            });
        }
        if have.len() < 3 {
            return Err(DecodeError::Truncated {
                offset: have.len(),
                field: "magic",
            });
        }
        self.pos = 3;
        Ok(())
    }

    fn version(&mut self) -> Result<(), DecodeError> {
        let at = self.pos;
        let version = self.byte("version")?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                offset: at,
                version,
            });
        }
        Ok(())
    }

    pub(super) fn message_header(&mut self) -> Result<(u8, PharmacyId), DecodeError> {
        self.magic(MAGIC)?;
        self.version()?;
        let at = self.pos;
        let ty = self.byte("message type")?;
        if !(TYPE_HELLO..=TYPE_DELTA).contains(&ty) {
            return Err(DecodeError::UnknownMessageType {
                offset: at,
                type_byte: ty,
            });
        }
        let store = PharmacyId::new(self.u32("store")?);
        Ok((ty, store))
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.truncated(field))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let buf: &'a [u8] = self.buf;
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| buf.get(self.pos..end))
            .ok_or_else(|| self.truncated(field))?;
        self.pos += n;
        Ok(s)
    }

    fn u(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let at = self.pos;
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte(field)?;
            if shift == 63 && b > 1 {
                return Err(DecodeError::VarintOverflow { offset: at, field });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    return Err(DecodeError::OverlongVarint { offset: at, field });
                }
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let at = self.pos;
        u32::try_from(self.u(field)?).map_err(|_| DecodeError::VarintOverflow { offset: at, field })
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let at = self.pos;
        u16::try_from(self.u(field)?).map_err(|_| DecodeError::VarintOverflow { offset: at, field })
    }

    fn i(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let z = self.u(field)?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    fn fix64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let s = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes16(&mut self, field: &'static str) -> Result<[u8; TAG_BYTES], DecodeError> {
        let s = self.take(TAG_BYTES, field)?;
        let mut a = [0u8; TAG_BYTES];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.byte(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Self::invalid(at, field)),
        }
    }

    fn hlc(&mut self, field: &'static str) -> Result<Hlc, DecodeError> {
        self.fix64(field).map(Hlc)
    }

    fn direct_replica(&mut self, field: &'static str) -> Result<ReplicaId, DecodeError> {
        let terminal = self.u16(field)?;
        let incarnation = self.u(field)?;
        Ok(ReplicaId::new(terminal, incarnation))
    }

    /// A replica: an index into the table inside a message body, written out in standalone
    /// form.
    fn replica(&mut self, field: &'static str) -> Result<ReplicaId, DecodeError> {
        let at = self.pos;
        if self.table.is_none() {
            return self.direct_replica(field);
        }
        let i = self.u(field)?;
        let Some((table, used)) = &mut self.table else {
            return Err(Self::invalid(at, field));
        };
        let i = usize::try_from(i)
            .ok()
            .filter(|&i| i < table.len())
            .ok_or_else(|| Self::invalid(at, field))?;
        used[i] = true;
        Ok(table[i])
    }

    fn txn_id(&mut self, field: &'static str) -> Result<TxnId, DecodeError> {
        let replica = self.replica(field)?;
        let seq = self.u(field)?;
        Ok(TxnId { replica, seq })
    }

    /// A count, checked against its limit and against the bytes left (`min_size` bytes per
    /// element at least), so that reserving `count` elements is justified by the input.
    fn count(
        &mut self,
        what: &'static str,
        max: usize,
        min_size: usize,
    ) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.u(what)?;
        if n > max as u64 {
            return Err(DecodeError::LimitExceeded {
                offset: at,
                what,
                count: n,
                max,
            });
        }
        if n > (self.remaining() / min_size.max(1)) as u64 {
            return Err(DecodeError::Truncated {
                offset: at,
                field: what,
            });
        }
        Ok(n as usize)
    }

    /// A non-empty count (for lists announced by a flag, groups and runs).
    fn nonzero_count(
        &mut self,
        what: &'static str,
        max: usize,
        min_size: usize,
    ) -> Result<usize, DecodeError> {
        let at = self.pos;
        match self.count(what, max, min_size)? {
            0 => Err(Self::invalid(at, what)),
            n => Ok(n),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let at = self.pos;
        let len = self.u(field)?;
        if len > self.limits.max_string as u64 {
            return Err(DecodeError::LimitExceeded {
                offset: at,
                what: field,
                count: len,
                max: self.limits.max_string,
            });
        }
        let start = self.pos;
        let bytes = self.take(len as usize, field)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(DecodeError::InvalidUtf8 {
                offset: start + e.valid_up_to(),
                field,
            }),
        }
    }

    /// `(replica, seq)` entries with strictly ascending replicas and seq ≥ 1, each followed
    /// by what `extra` reads.
    fn entries<E>(
        &mut self,
        field: &'static str,
        min_size: usize,
        mut extra: impl FnMut(&mut Self) -> Result<E, DecodeError>,
    ) -> Result<Vec<(ReplicaId, u64, E)>, DecodeError> {
        let n = self.count(field, self.limits.max_replicas, min_size)?;
        let mut out: Vec<(ReplicaId, u64, E)> = Vec::with_capacity(n);
        for _ in 0..n {
            let at = self.pos;
            let r = self.replica(field)?;
            let seq = self.u(field)?;
            if seq == 0 || out.last().is_some_and(|l| l.0 >= r) {
                return Err(Self::invalid(at, field));
            }
            let e = extra(self)?;
            out.push((r, seq, e));
        }
        Ok(out)
    }

    fn vv(&mut self, field: &'static str) -> Result<VersionVector, DecodeError> {
        let mut vv = VersionVector::new();
        for (r, seq, ()) in self.entries(field, MIN_VV_ENTRY, |_| Ok(()))? {
            vv.raise(r, seq);
        }
        Ok(vv)
    }

    fn acks(&mut self, field: &'static str) -> Result<Acks, DecodeError> {
        self.entries(field, MIN_ACK, |r| {
            let at = r.pos;
            let from = r.u(field)?;
            Ok((at, from, Digest(r.bytes16(field)?), Tag(r.bytes16(field)?)))
        })?
        .into_iter()
        .map(|(r, seq, (at, from, digest, seal))| {
            if from == 0 || from > seq {
                return Err(Self::invalid(at, "acks.from"));
            }
            Ok((
                r,
                Ack {
                    from,
                    seq,
                    digest,
                    seal,
                },
            ))
        })
        .collect()
    }

    fn key(&mut self, field: &'static str) -> Result<LotKey, DecodeError> {
        let origin = self.replica(field)?;
        let local_no = self.u32(field)?;
        Ok(LotKey { origin, local_no })
    }

    fn date(&mut self, field: &'static str) -> Result<Date, DecodeError> {
        let at = self.pos;
        let days = self.i(field)?;
        let bound = |y, m, d| {
            Date::from_ymd(y, m, d)
                .map(|d| i64::from(d.days_since_epoch()))
                .map_err(|_| Self::invalid(at, field))
        };
        let (lo, hi) = (bound(MIN_YEAR, 1, 1)?, bound(MAX_YEAR, 12, 31)?);
        if !(lo..=hi).contains(&days) {
            return Err(Self::invalid(at, field));
        }
        let epoch = Date::from_ymd(1970, 1, 1).map_err(|_| Self::invalid(at, field))?;
        Ok(epoch.add_days(days))
    }

    fn lot_info(&mut self) -> Result<LotInfo, DecodeError> {
        let key = self.key("lot.key")?;
        let created_seq = self.u("lot.created_seq")?;
        let sku = self.u32("lot.sku")?;
        let at = self.pos;
        let labeler = self.u32("lot.ndc.labeler")?;
        let product = self.u16("lot.ndc.product")?;
        let package = self.byte("lot.ndc.package")?;
        let layout_at = self.pos;
        let layout = layout_from_byte(self.byte("lot.ndc.layout")?)
            .ok_or_else(|| Self::invalid(layout_at, "lot.ndc.layout"))?;
        let ndc = Ndc::new(labeler, product, package, layout)
            .map_err(|_| Self::invalid(at, "lot.ndc"))?;
        let lot_number = self.string("lot.lot_number")?;
        let expiry = self.date("lot.expiry")?;
        let controlled = self.bool("lot.controlled")?;
        Ok(LotInfo {
            key,
            created_seq,
            sku,
            ndc,
            lot_number,
            expiry,
            controlled,
        })
    }

    fn txn_list(&mut self, field: &'static str, max: usize) -> Result<Vec<SealedTxn>, DecodeError> {
        let n = self.count(field, max, MIN_TXN)?;
        let mut txns = Vec::with_capacity(n);
        let mut ctx = ListContext::default();
        for _ in 0..n {
            let (t, sealed) = self.txn_with_flags(Some(&mut ctx))?;
            let seal = if sealed {
                Some(Tag(self.bytes16("txn.seal")?))
            } else {
                None
            };
            ctx.last = Some((t.id, t.digest));
            txns.push(SealedTxn {
                txn: Arc::new(t),
                seal,
            });
        }
        Ok(txns)
    }

    /// A transaction in standalone form.
    fn txn(&mut self, ctx: Option<&mut ListContext>) -> Result<Txn, DecodeError> {
        self.txn_with_flags(ctx).map(|(t, _)| t)
    }

    /// A transaction (in message form with a list context, else standalone) with its
    /// digest computed, and whether a seal follows it.
    fn txn_with_flags(
        &mut self,
        ctx: Option<&mut ListContext>,
    ) -> Result<(Txn, bool), DecodeError> {
        let start = self.pos;
        let max = self.limits.max_lines_per_txn.min(MAX_TXN_ITEMS);
        let id = self.txn_id("txn.id")?;
        let (hlc, implied, known_flags) = match ctx {
            Some(ctx) => {
                let diff = self.i("txn.hlc")?;
                let hlc = ctx.hlc.wrapping_add(diff as u64);
                let implied = implied_prev(id, ctx.last);
                ctx.hlc = hlc;
                (Hlc(hlc), implied, FLAGS_MESSAGE)
            }
            None => (self.hlc("txn.hlc")?, None, FLAGS_STANDALONE),
        };
        let in_message = known_flags == FLAGS_MESSAGE;
        let at = self.pos;
        let kr = self.byte("txn.kind")?;
        let kind = TxnKind::from_u8(kr & 0x0f).ok_or_else(|| Self::invalid(at, "txn.kind"))?;
        let reason = Reason::from_u8(kr >> 4).ok_or_else(|| Self::invalid(at, "txn.reason"))?;
        let flags_at = self.pos;
        let flags = self.byte("txn.flags")?;
        if flags & !known_flags != 0 {
            return Err(Self::invalid(flags_at, "txn.flags"));
        }
        let n = self.count("txn.lines", max, MIN_LINE)?;
        let mut lines = Vec::with_capacity(n);
        for _ in 0..n {
            let lot = self.key("line.lot")?;
            let delta = self.i("line.delta")?;
            lines.push(Line { lot, delta });
        }
        let mut new_lots = Vec::new();
        if flags & FLAG_NEW_LOTS != 0 {
            let n = self.nonzero_count("txn.new_lots", max, MIN_LOT_INFO)?;
            new_lots.reserve_exact(n);
            for _ in 0..n {
                new_lots.push(self.lot_info()?);
            }
        }
        let mut holds = Vec::new();
        if flags & FLAG_HOLDS != 0 {
            let n = self.nonzero_count("txn.holds", max, MIN_HOLD_OP)?;
            holds.reserve_exact(n);
            for _ in 0..n {
                let at = self.pos;
                holds.push(match self.byte("hold.op")? {
                    HOLD_PLACE => {
                        let lot = self.key("hold.lot")?;
                        let reference = self.string("hold.reference")?;
                        HoldOp::Place { lot, reference }
                    }
                    HOLD_RELEASE => HoldOp::Release {
                        hold: self.txn_id("hold.release")?,
                    },
                    _ => return Err(Self::invalid(at, "hold.op")),
                });
            }
        }
        let transfer = if flags & FLAG_TRANSFER != 0 {
            let from = PharmacyId::new(self.u32("txn.transfer.from")?);
            let number = self.u("txn.transfer.number")?;
            Some(TransferId { from, number })
        } else {
            None
        };
        let mut meta = Vec::new();
        if flags & FLAG_META != 0 {
            let n = self.nonzero_count("txn.meta", max, MIN_TXN_META)?;
            meta.reserve_exact(n);
            for _ in 0..n {
                let lot = self.key("txn.meta.lot")?;
                let value = self.string("txn.meta.value")?;
                meta.push((lot, value));
            }
        }
        let compensates = if flags & FLAG_COMPENSATES != 0 {
            let lot = self.key("txn.compensates.lot")?;
            let version = self.fix64("txn.compensates.version")?;
            Some(DiscrepancyId { lot, version })
        } else {
            None
        };
        let reference = if flags & FLAG_REFERENCE != 0 {
            let at = self.pos;
            let s = self.string("txn.reference")?;
            if s.is_empty() {
                return Err(Self::invalid(at, "txn.reference"));
            }
            s
        } else {
            String::new()
        };
        let prev = if !in_message || flags & FLAG_PREV != 0 {
            let at = self.pos;
            let prev = Digest(self.bytes16("txn.prev")?);
            if in_message && implied == Some(prev) {
                // The link is implied by the neighbour: writing it out is not canonical.
                return Err(Self::invalid(at, "txn.prev"));
            }
            prev
        } else {
            implied.ok_or_else(|| Self::invalid(flags_at, "txn.prev"))?
        };
        let mut txn = Txn {
            id,
            hlc,
            kind,
            reason,
            lines,
            new_lots,
            holds,
            transfer,
            meta,
            compensates,
            reference,
            prev,
            digest: Digest::default(),
        };
        // Only a string beyond what the encoder writes (a caller's raised
        // `DecodeLimits::max_string`) fails here.
        txn.link(&mut self.scratch)
            .map_err(|_| Self::invalid(start, "txn (cannot be re-encoded)"))?;
        Ok((txn, flags & FLAG_SEALED != 0))
    }

    fn delta(&mut self) -> Result<StateDelta, DecodeError> {
        let max = self.limits.max_cells;
        let vv = self.vv("delta.vv")?;
        let base = self.vv("delta.base")?;

        let n = self.count("delta.lots", max, MIN_LOT_INFO)?;
        let mut lots = Vec::with_capacity(n);
        for _ in 0..n {
            lots.push(self.lot_info()?);
        }

        let groups = self.count("delta.cell_groups", max, MIN_GROUP + MIN_RUN + MIN_CELL)?;
        let mut cells: Vec<(LotKey, ReplicaId, u64, u64)> = Vec::new();
        let mut last_group: Option<ReplicaId> = None;
        for _ in 0..groups {
            let at = self.pos;
            let replica = self.replica("cell_group.replica")?;
            if last_group == Some(replica) {
                return Err(Self::invalid(at, "cell_group.replica"));
            }
            last_group = Some(replica);
            let runs = self.nonzero_count("cell_group.runs", max, MIN_RUN + MIN_CELL)?;
            // (origin, last local number) of the previous run of this group.
            let mut last_run: Option<(ReplicaId, u32)> = None;
            for _ in 0..runs {
                let run_at = self.pos;
                let origin = self.replica("cell_run.origin")?;
                let at = self.pos;
                let n = self.nonzero_count("delta.cells", max, MIN_CELL)?;
                if cells.len().saturating_add(n) > max {
                    return Err(DecodeError::LimitExceeded {
                        offset: at,
                        what: "delta.cells",
                        count: (cells.len() as u64).saturating_add(n as u64),
                        max,
                    });
                }
                cells.reserve(n);
                let mut prev: Option<u32> = None;
                for _ in 0..n {
                    let at = self.pos;
                    let gap = self.u("cell.gap")?;
                    let local = match prev {
                        None => Some(gap),
                        Some(q) => u64::from(q).checked_add(1).and_then(|v| v.checked_add(gap)),
                    };
                    let local_no = local
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| Self::invalid(at, "cell.gap"))?;
                    if prev.is_none()
                        && last_run.is_some_and(|(o, last)| o == origin && local_no > last)
                    {
                        // The encoder would have continued the previous run.
                        return Err(Self::invalid(run_at, "cell_run.origin"));
                    }
                    prev = Some(local_no);
                    let p = self.u("cell.p")?;
                    let n = self.u("cell.n")?;
                    cells.push((LotKey { origin, local_no }, replica, p, n));
                }
                last_run = prev.map(|p| (origin, p));
            }
        }

        let n = self.count("delta.holds", max, MIN_HOLD)?;
        let mut holds = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.txn_id("hold.id")?;
            let lot = self.key("hold.lot")?;
            let reference = self.string("hold.reference")?;
            holds.push((id, lot, reference));
        }

        let n = self.count("delta.releases", max, MIN_RELEASE)?;
        let mut releases = Vec::with_capacity(n);
        for _ in 0..n {
            let hold = self.txn_id("release.hold")?;
            let by = self.txn_id("release.by")?;
            releases.push((hold, by));
        }

        let n = self.count("delta.transfers", max, MIN_TRANSFER)?;
        let mut transfers = Vec::with_capacity(n);
        for _ in 0..n {
            let from = PharmacyId::new(self.u32("transfer.from")?);
            let number = self.u("transfer.number")?;
            let by = self.txn_id("transfer.by")?;
            let lot = self.key("transfer.lot")?;
            let units = self.u("transfer.units")?;
            transfers.push((TransferId { from, number }, by, lot, units));
        }

        let n = self.count("delta.compensations", max, MIN_COMPENSATION)?;
        let mut compensations = Vec::with_capacity(n);
        for _ in 0..n {
            let lot = self.key("compensation.lot")?;
            let version = self.fix64("compensation.version")?;
            let by = self.txn_id("compensation.by")?;
            compensations.push((DiscrepancyId { lot, version }, by));
        }

        let n = self.count("delta.meta", max, MIN_DELTA_META)?;
        let mut meta = Vec::with_capacity(n);
        for _ in 0..n {
            let lot = self.key("meta.lot")?;
            let value = self.string("meta.value")?;
            let hlc = self.hlc("meta.hlc")?;
            let by = self.txn_id("meta.by")?;
            meta.push((lot, Lww { value, hlc, by }));
        }

        let heads = self.txn_list("delta.heads", self.limits.max_replicas)?;

        Ok(StateDelta {
            vv,
            base,
            lots,
            cells,
            holds,
            releases,
            transfers,
            compensations,
            meta,
            heads,
        })
    }
}
