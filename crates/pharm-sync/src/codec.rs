//! Wire and outbox encoding: a versioned, compact, hand-written binary format.
//!
//! One format serves the sync messages ([`encode`] / [`decode`]) and the outbox blobs of the
//! durable store ([`encode_txn`] / [`decode_txn`]). It is specified here precisely enough for
//! an independent C or Python implementation; the golden vectors in
//! `testdata/golden/sync/*.hex` (with the same message as JSON next to each) are normative
//! examples.
//!
//! # Primitives
//!
//! | name | encoding |
//! |---|---|
//! | `byte` | one byte |
//! | `uv` | unsigned LEB128: 7 bits per byte, least significant group first, high bit set on every byte but the last. At most 10 bytes for 64 bits. Decoders reject *overlong* forms (a last byte of `0x00` after at least one other byte) and values above the field's range (`uv32`, `uv16`: above `u32::MAX` / `u16::MAX`; 10th byte above `0x01`). |
//! | `sv` | signed: zigzag (`(v << 1) ^ (v >> 63)`, so 0, −1, 1, −2 … → 0, 1, 2, 3 …) then `uv` |
//! | `fix64` | 8 bytes, little-endian `u64` |
//! | `bool` | one byte, `0x00` or `0x01` (anything else is rejected) |
//! | `str` | `uv` byte length, then that many bytes of UTF-8 (no terminator). Every string (business reference, lot number, hold reference, metadata value) is at most [`MAX_STRING_BYTES`] = 256 bytes; [`encode`] refuses longer ones. |
//! | `replica` | `uv32` of [`ReplicaId::packed`] (`terminal << 16 \| incarnation`) |
//! | `hlc` | `fix64` of the [`Hlc`] |
//! | `txn_id` | `replica`, `uv` seq |
//! | `vv` | `uv` entry count, then per entry `replica`, `uv` seq; replicas strictly ascending (by packed value). Entries with seq 0 are kept as they are. |
//! | `key_d` | lot key, direct: `replica` origin, `uv32` local number |
//! | `key_t` | lot key in a delta: `uv` index into the delta's origin table, `uv32` local number |
//! | `date` | `sv` days since 1970-01-01 (proleptic Gregorian); must be within 1900-01-01 ..= 9999-12-31 |
//!
//! Counts are `uv`. Collections are encoded in the order of the value (nothing is sorted on
//! the way), so `decode(encode(m)) == m` for every message, including unsorted ones.
//!
//! # Message header
//!
//! | offset | field | encoding |
//! |---|---|---|
//! | 0 | magic | the 3 bytes `"PHS"` (`50 48 53`) |
//! | 3 | format version | `byte`, currently [`FORMAT_VERSION`] = 1 |
//! | 4 | message type | `byte`: 1 Hello, 2 Welcome, 3 Upload, 4 UploadAck, 5 Delta |
//! | 5 | store | `uv32` [`StoreId`] |
//!
//! The body follows; nothing may follow the body. [`peek_store`] reads only the header, so a
//! server can reject another pharmacy's message before decoding it.
//!
//! # Message bodies
//!
//! | type | body |
//! |---|---|
//! | 1 Hello | `replica` from, `vv` vv, `hlc` hlc |
//! | 2 Welcome | `replica` from, `vv` vv, `vv` root_vv, `hlc` hlc |
//! | 3 Upload | `uv` txn count, then each transaction's *txn body* (below) |
//! | 4 UploadAck | `vv` vv, `vv` root_vv |
//! | 5 Delta | the *delta body* (below) |
//!
//! # Transaction body (`Txn`)
//!
//! | field | encoding |
//! |---|---|
//! | id | `txn_id` |
//! | hlc | `hlc` |
//! | kind and reason | `byte`: low nibble [`TxnKind`] (0 Receive … 8 Compensation), high nibble [`Reason`] (0 None … 9 Reconciliation) |
//! | flags | `byte`: bit 0 new lots, bit 1 holds, bit 2 transfer, bit 3 meta, bit 4 compensates, bit 5 reference; bits 6–7 must be 0 |
//! | lines | `uv` count, then per line `key_d` lot, `sv` delta |
//! | new lots (bit 0) | `uv` count (≥ 1), then *lot info* with `key_d` per lot |
//! | holds (bit 1) | `uv` count (≥ 1), then per hold op a tag `byte`: `0` Place: `key_d` lot, `str` reference; `1` Release: `txn_id` hold |
//! | transfer (bit 2) | `uv32` sending store, `uv` transfer number |
//! | meta (bit 3) | `uv` count (≥ 1), then per entry `key_d` lot, `str` value |
//! | compensates (bit 4) | `key_d` lot, `fix64` version fingerprint |
//! | reference (bit 5) | `str` (non-empty) |
//!
//! A flag that is clear means the empty list / `None` / empty string; a set flag with an
//! empty list or string is rejected, so every transaction has exactly one encoding.
//!
//! *Lot info* (`LotInfo`): key (`key_d` in a transaction, `key_t` in a delta), `uv` created
//! seq, `uv32` SKU, NDC as `uv32` labeler, `uv16` product code, `byte` package code, `byte`
//! layout (0 = 4-4-2, 1 = 5-3-2, 2 = 5-4-1, 3 = 5-4-2, 4 = 6-4-2; the codes must fit the
//! layout), `str` lot number, `date` expiry, `bool` controlled.
//!
//! An outbox blob ([`encode_txn`]) is the 3 bytes `"PHT"` (`50 48 54`), the format version
//! `byte`, then one transaction body.
//!
//! # Delta body (`StateDelta`)
//!
//! | field | encoding |
//! |---|---|
//! | vv | `vv` |
//! | base | `vv`: the version the delta was computed against; a receiver with less must not join it |
//! | origin table | `uv` count, then `replica` each, strictly ascending: every lot key in the delta is `key_t`, an index into this table |
//! | lots | `uv` count, then *lot info* (with `key_t`) each |
//! | cells | `uv` group count, then the groups (below) |
//! | holds | `uv` count, then per hold `txn_id` hold, `key_t` lot, `str` reference |
//! | releases | `uv` count, then per release `txn_id` hold, `txn_id` releasing transaction |
//! | transfers | `uv` count, then per receipt `uv32` sending store, `uv` transfer number, `txn_id` recording transaction, `key_t` lot, `uv` units |
//! | compensations | `uv` count, then per entry `key_t` lot, `fix64` version, `txn_id` compensating transaction |
//! | meta | `uv` count, then per entry `key_t` lot, `str` value, `hlc` written at, `txn_id` written by |
//!
//! **Cells** are the bulk of a delta and are packed so that a sorted delta (as
//! [`InventoryState::delta_since`](crate::state::InventoryState::delta_since) produces: by
//! replica, then lot) costs about 3 bytes per touched lot:
//!
//! | level | encoding |
//! |---|---|
//! | group | `replica` (the cells' replica), `uv` run count (≥ 1) |
//! | run | `uv` origin index, `uv` cell count (≥ 1) |
//! | cell | `uv` gap, `uv` p, `uv` n |
//!
//! A group holds consecutive cells of one replica; a run holds consecutive cells of one lot
//! origin whose local numbers strictly increase. The first cell of a run has local number
//! `gap`, each further one `previous + 1 + gap`. An encoder starts a new group whenever the
//! replica changes and a new run whenever the origin changes or the local number does not
//! increase, so any order is representable and a sorted one is compact. Decoding appends the
//! cells in order, giving `(lot, group replica, p, n)` tuples. There is no per-cell sequence
//! number: the receiver bounds a cell's version by the delta's `vv` entry for its replica.
//!
//! # Decoding safety
//!
//! [`decode`] and [`decode_txn`] never panic, check the input length against
//! [`DecodeLimits::max_message_bytes`] first, and check every count against both its limit and
//! the bytes left (each element needs at least one byte per field) before reserving memory, so
//! memory use is proportional to the input. Errors name the byte offset and the field.

use std::collections::BTreeMap;

use pharm_core::ids::{Ndc, NdcLayout};
use pharm_core::time::Date;

use crate::hlc::Hlc;
use crate::ids::{ReplicaId, StoreId, TxnId};
use crate::protocol::{Message, PROTOCOL_VERSION};
use crate::state::{Lww, StateDelta, VersionVector};
use crate::txn::{DiscrepancyId, HoldOp, Line, LotInfo, LotKey, Reason, TransferId, Txn, TxnKind};

/// Magic bytes opening every sync message.
pub const MAGIC: [u8; 3] = *b"PHS";
/// Magic bytes opening every outbox transaction blob.
pub const TXN_MAGIC: [u8; 3] = *b"PHT";
/// Format version written after the magic (the protocol version).
pub const FORMAT_VERSION: u8 = PROTOCOL_VERSION;
/// Longest string (reference, lot number, hold reference, metadata value) in bytes.
pub const MAX_STRING_BYTES: usize = 256;

const TYPE_HELLO: u8 = 1;
const TYPE_WELCOME: u8 = 2;
const TYPE_UPLOAD: u8 = 3;
const TYPE_UPLOAD_ACK: u8 = 4;
const TYPE_DELTA: u8 = 5;

const FLAG_NEW_LOTS: u8 = 1 << 0;
const FLAG_HOLDS: u8 = 1 << 1;
const FLAG_TRANSFER: u8 = 1 << 2;
const FLAG_META: u8 = 1 << 3;
const FLAG_COMPENSATES: u8 = 1 << 4;
const FLAG_REFERENCE: u8 = 1 << 5;
const FLAGS_KNOWN: u8 = (1 << 6) - 1;

const HOLD_PLACE: u8 = 0;
const HOLD_RELEASE: u8 = 1;

// Smallest encodings in bytes, used to check counts against the bytes left.
const MIN_VV_ENTRY: usize = 2;
const MIN_LOT_INFO: usize = 11;
const MIN_GROUP: usize = 2;
const MIN_RUN: usize = 2;
const MIN_CELL: usize = 3;
const MIN_HOLD: usize = 5;
const MIN_RELEASE: usize = 4;
const MIN_TRANSFER: usize = 7;
const MIN_COMPENSATION: usize = 12;
const MIN_DELTA_META: usize = 13;
const MIN_TXN: usize = 13;
const MIN_LINE: usize = 3;
const MIN_HOLD_OP: usize = 3;
const MIN_TXN_META: usize = 3;

/// Bounds applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted input in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// Most transactions in one upload (default 4,096).
    pub max_txns: usize,
    /// Most lines in one transaction; also bounds its new lots, hold ops and metadata entries
    /// (default 1,024).
    pub max_lines_per_txn: usize,
    /// Most cells in one delta; also bounds each of its other lists (lots, holds, releases,
    /// transfers, compensations, metadata) and its cell groups and runs (default 1,000,000).
    pub max_cells: usize,
    /// Longest string in bytes (default [`MAX_STRING_BYTES`]).
    pub max_string: usize,
    /// Most entries in a version vector or a delta's origin table (default 4,096).
    pub max_replicas: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_message_bytes: 16 << 20,
            max_txns: 4096,
            max_lines_per_txn: 1024,
            max_cells: 1_000_000,
            max_string: MAX_STRING_BYTES,
            max_replicas: 4096,
        }
    }
}

/// A value that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string is longer than [`MAX_STRING_BYTES`].
    #[error("{field} is {len} bytes long; at most {max} bytes can be encoded")]
    StringTooLong {
        /// Which string.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

/// Why bytes could not be decoded. Every variant names the byte offset where the problem was
/// found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends (or a count claims more elements than the bytes left can hold).
    #[error("input truncated at byte {offset} while reading {field}")]
    Truncated {
        /// Byte offset.
        offset: usize,
        /// Field being read.
        field: &'static str,
    },
    /// The input does not start with the expected magic bytes.
    #[error("bad magic bytes at offset 0 (expected {expected:?})")]
    BadMagic {
        /// Byte offset (always 0).
        offset: usize,
        /// The magic expected.
        expected: [u8; 3],
    },
    /// The format version is not one this decoder knows.
    #[error("unsupported format version {version} at byte {offset}")]
    UnsupportedVersion {
        /// Byte offset.
        offset: usize,
        /// The version found.
        version: u8,
    },
    /// The message type byte is unknown.
    #[error("unknown message type {type_byte} at byte {offset}")]
    UnknownMessageType {
        /// Byte offset.
        offset: usize,
        /// The type byte found.
        type_byte: u8,
    },
    /// The input is longer than [`DecodeLimits::max_message_bytes`].
    #[error("input of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Byte offset (always 0).
        offset: usize,
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A varint has a redundant trailing zero group.
    #[error("overlong varint at byte {offset} in {field}")]
    OverlongVarint {
        /// Byte offset of the varint.
        offset: usize,
        /// Field being read.
        field: &'static str,
    },
    /// A varint is too large for 64 bits or for its field.
    #[error("varint at byte {offset} overflows {field}")]
    VarintOverflow {
        /// Byte offset of the varint.
        offset: usize,
        /// Field being read.
        field: &'static str,
    },
    /// A string is not UTF-8.
    #[error("invalid UTF-8 at byte {offset} in {field}")]
    InvalidUtf8 {
        /// Byte offset of the string bytes.
        offset: usize,
        /// Field being read.
        field: &'static str,
    },
    /// A value is out of its domain (unknown enum byte, bad NDC, date out of range, unsorted
    /// version vector, bad index, empty group...).
    #[error("invalid value at byte {offset} in {field}")]
    InvalidValue {
        /// Byte offset.
        offset: usize,
        /// Field being read.
        field: &'static str,
    },
    /// A count or length exceeds a [`DecodeLimits`] bound.
    #[error("{what} count {count} at byte {offset} exceeds the limit of {max}")]
    LimitExceeded {
        /// Byte offset of the count.
        offset: usize,
        /// What was counted.
        what: &'static str,
        /// The count found.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// Bytes remain after the message.
    #[error("{remaining} trailing bytes after the message end at byte {offset}")]
    TrailingBytes {
        /// Where the message ended.
        offset: usize,
        /// How many bytes follow.
        remaining: usize,
    },
}

impl DecodeError {
    /// Byte offset at which the problem was found.
    pub fn offset(&self) -> usize {
        match self {
            DecodeError::Truncated { offset, .. }
            | DecodeError::BadMagic { offset, .. }
            | DecodeError::UnsupportedVersion { offset, .. }
            | DecodeError::UnknownMessageType { offset, .. }
            | DecodeError::TooLarge { offset, .. }
            | DecodeError::OverlongVarint { offset, .. }
            | DecodeError::VarintOverflow { offset, .. }
            | DecodeError::InvalidUtf8 { offset, .. }
            | DecodeError::InvalidValue { offset, .. }
            | DecodeError::LimitExceeded { offset, .. }
            | DecodeError::TrailingBytes { offset, .. } => *offset,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Encodes a sync message.
///
/// Fails only when a string is longer than [`MAX_STRING_BYTES`].
pub fn encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer {
        buf: Vec::with_capacity(64),
    };
    w.buf.extend_from_slice(&MAGIC);
    w.byte(FORMAT_VERSION);
    let ty = match msg {
        Message::Hello { .. } => TYPE_HELLO,
        Message::Welcome { .. } => TYPE_WELCOME,
        Message::Upload { .. } => TYPE_UPLOAD,
        Message::UploadAck { .. } => TYPE_UPLOAD_ACK,
        Message::Delta { .. } => TYPE_DELTA,
    };
    w.byte(ty);
    w.u(u64::from(msg.store().0));
    match msg {
        Message::Hello {
            store: _,
            from,
            vv,
            hlc,
        } => {
            w.replica(*from);
            w.vv(vv);
            w.hlc(*hlc);
        }
        Message::Welcome {
            store: _,
            from,
            vv,
            root_vv,
            hlc,
        } => {
            w.replica(*from);
            w.vv(vv);
            w.vv(root_vv);
            w.hlc(*hlc);
        }
        Message::Upload { store: _, txns } => {
            w.count(txns.len());
            for t in txns {
                w.txn(t)?;
            }
        }
        Message::UploadAck {
            store: _,
            vv,
            root_vv,
        } => {
            w.vv(vv);
            w.vv(root_vv);
        }
        Message::Delta { store: _, delta } => w.delta(delta)?,
    }
    Ok(w.buf)
}

/// Encodes one transaction as an outbox blob (`"PHT"`, format version, transaction body).
///
/// Fails only when a string is longer than [`MAX_STRING_BYTES`].
pub fn encode_txn(txn: &Txn) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer {
        buf: Vec::with_capacity(48),
    };
    w.buf.extend_from_slice(&TXN_MAGIC);
    w.byte(FORMAT_VERSION);
    w.txn(txn)?;
    Ok(w.buf)
}

/// How lot keys are written: directly (transactions) or through an origin table (deltas).
enum KeyEnc {
    Direct,
    Table(BTreeMap<ReplicaId, u64>),
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
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

    fn replica(&mut self, r: ReplicaId) {
        self.u(u64::from(r.packed()));
    }

    fn txn_id(&mut self, id: TxnId) {
        self.replica(id.replica);
        self.u(id.seq);
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
        self.count(vv.dots.len());
        for (r, s) in &vv.dots {
            self.replica(*r);
            self.u(*s);
        }
    }

    fn key(&mut self, keys: &KeyEnc, k: LotKey) {
        match keys {
            KeyEnc::Direct => self.replica(k.origin),
            // Every origin of the delta is in the table (collected before writing).
            KeyEnc::Table(t) => self.u(t.get(&k.origin).copied().unwrap_or(0)),
        }
        self.u(u64::from(k.local_no));
    }

    fn lot_info(&mut self, keys: &KeyEnc, l: &LotInfo) -> Result<(), EncodeError> {
        self.key(keys, l.key);
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

    fn txn(&mut self, t: &Txn) -> Result<(), EncodeError> {
        self.txn_id(t.id);
        self.hlc(t.hlc);
        self.byte(t.kind as u8 | (t.reason as u8) << 4);
        let mut flags = 0;
        for (set, bit) in [
            (!t.new_lots.is_empty(), FLAG_NEW_LOTS),
            (!t.holds.is_empty(), FLAG_HOLDS),
            (t.transfer.is_some(), FLAG_TRANSFER),
            (!t.meta.is_empty(), FLAG_META),
            (t.compensates.is_some(), FLAG_COMPENSATES),
            (!t.reference.is_empty(), FLAG_REFERENCE),
        ] {
            if set {
                flags |= bit;
            }
        }
        self.byte(flags);
        self.count(t.lines.len());
        for l in &t.lines {
            self.key(&KeyEnc::Direct, l.lot);
            self.i(l.delta);
        }
        if !t.new_lots.is_empty() {
            self.count(t.new_lots.len());
            for l in &t.new_lots {
                self.lot_info(&KeyEnc::Direct, l)?;
            }
        }
        if !t.holds.is_empty() {
            self.count(t.holds.len());
            for h in &t.holds {
                match h {
                    HoldOp::Place { lot, reference } => {
                        self.byte(HOLD_PLACE);
                        self.key(&KeyEnc::Direct, *lot);
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
            self.u(u64::from(tr.from.0));
            self.u(tr.number);
        }
        if !t.meta.is_empty() {
            self.count(t.meta.len());
            for (lot, value) in &t.meta {
                self.key(&KeyEnc::Direct, *lot);
                self.string("txn.meta", value)?;
            }
        }
        if let Some(d) = t.compensates {
            self.key(&KeyEnc::Direct, d.lot);
            self.fix64(d.version);
        }
        if !t.reference.is_empty() {
            self.string("txn.reference", &t.reference)?;
        }
        Ok(())
    }

    fn delta(&mut self, d: &StateDelta) -> Result<(), EncodeError> {
        self.vv(&d.vv);
        self.vv(&d.base);
        let mut origins: BTreeMap<ReplicaId, u64> = BTreeMap::new();
        let all_keys = d
            .lots
            .iter()
            .map(|l| l.key)
            .chain(d.cells.iter().map(|c| c.0))
            .chain(d.holds.iter().map(|h| h.1))
            .chain(d.transfers.iter().map(|t| t.2))
            .chain(d.compensations.iter().map(|c| c.0.lot))
            .chain(d.meta.iter().map(|m| m.0));
        for k in all_keys {
            origins.insert(k.origin, 0);
        }
        self.count(origins.len());
        for (i, (r, idx)) in origins.iter_mut().enumerate() {
            *idx = i as u64;
            self.replica(*r);
        }
        let keys = KeyEnc::Table(origins);

        self.count(d.lots.len());
        for l in &d.lots {
            self.lot_info(&keys, l)?;
        }

        let groups: Vec<_> = d.cells.chunk_by(|a, b| a.1 == b.1).collect();
        self.count(groups.len());
        for g in groups {
            let runs: Vec<_> = g
                .chunk_by(|a, b| a.0.origin == b.0.origin && b.0.local_no > a.0.local_no)
                .collect();
            self.replica(g.first().map_or(ReplicaId::new(0, 0), |c| c.1));
            self.count(runs.len());
            for run in runs {
                let origin = run.first().map_or(ReplicaId::new(0, 0), |c| c.0.origin);
                if let KeyEnc::Table(t) = &keys {
                    self.u(t.get(&origin).copied().unwrap_or(0));
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
            self.key(&keys, *lot);
            self.string("hold.reference", reference)?;
        }
        self.count(d.releases.len());
        for (hold, by) in &d.releases {
            self.txn_id(*hold);
            self.txn_id(*by);
        }
        self.count(d.transfers.len());
        for (t, by, lot, units) in &d.transfers {
            self.u(u64::from(t.from.0));
            self.u(t.number);
            self.txn_id(*by);
            self.key(&keys, *lot);
            self.u(*units);
        }
        self.count(d.compensations.len());
        for (disc, by) in &d.compensations {
            self.key(&keys, disc.lot);
            self.fix64(disc.version);
            self.txn_id(*by);
        }
        self.count(d.meta.len());
        for (lot, m) in &d.meta {
            self.key(&keys, *lot);
            self.string("meta.value", &m.value)?;
            self.hlc(m.hlc);
            self.txn_id(m.by);
        }
        Ok(())
    }
}

fn layout_byte(l: NdcLayout) -> u8 {
    match l {
        NdcLayout::L442 => 0,
        NdcLayout::L532 => 1,
        NdcLayout::L541 => 2,
        NdcLayout::L542 => 3,
        NdcLayout::L642 => 4,
    }
}

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

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Decodes a sync message, enforcing `limits`.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Message, DecodeError> {
    check_size(bytes, limits)?;
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        limits,
    };
    let (ty, store) = r.message_header()?;
    let msg = match ty {
        TYPE_HELLO => {
            let from = r.replica("hello.from")?;
            let vv = r.vv("hello.vv")?;
            let hlc = r.hlc("hello.hlc")?;
            Message::Hello {
                store,
                from,
                vv,
                hlc,
            }
        }
        TYPE_WELCOME => {
            let from = r.replica("welcome.from")?;
            let vv = r.vv("welcome.vv")?;
            let root_vv = r.vv("welcome.root_vv")?;
            let hlc = r.hlc("welcome.hlc")?;
            Message::Welcome {
                store,
                from,
                vv,
                root_vv,
                hlc,
            }
        }
        TYPE_UPLOAD => {
            let n = r.count("upload.txns", limits.max_txns, MIN_TXN)?;
            let mut txns = Vec::with_capacity(n);
            for _ in 0..n {
                txns.push(r.txn()?);
            }
            Message::Upload { store, txns }
        }
        TYPE_UPLOAD_ACK => {
            let vv = r.vv("upload_ack.vv")?;
            let root_vv = r.vv("upload_ack.root_vv")?;
            Message::UploadAck { store, vv, root_vv }
        }
        // `message_header` accepts only the five known types.
        _ => Message::Delta {
            store,
            delta: r.delta()?,
        },
    };
    r.finish()?;
    Ok(msg)
}

/// Decodes an outbox blob written by [`encode_txn`], enforcing `limits`.
pub fn decode_txn(bytes: &[u8], limits: &DecodeLimits) -> Result<Txn, DecodeError> {
    check_size(bytes, limits)?;
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        limits,
    };
    r.magic(TXN_MAGIC)?;
    r.version()?;
    let t = r.txn()?;
    r.finish()?;
    Ok(t)
}

/// The store a message belongs to, read from its header only (magic, version and type are
/// checked; the body is not looked at).
pub fn peek_store(bytes: &[u8]) -> Result<StoreId, DecodeError> {
    let limits = DecodeLimits::default();
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        limits: &limits,
    };
    r.message_header().map(|(_, store)| store)
}

fn check_size(bytes: &[u8], limits: &DecodeLimits) -> Result<(), DecodeError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(DecodeError::TooLarge {
            offset: 0,
            len: bytes.len(),
            max: limits.max_message_bytes,
        });
    }
    Ok(())
}

/// How lot keys are read: directly (transactions) or through an origin table (deltas).
#[derive(Clone, Copy)]
enum KeyDec<'a> {
    Direct,
    Table(&'a [ReplicaId]),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a DecodeLimits,
}

impl<'a> Reader<'a> {
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

    fn message_header(&mut self) -> Result<(u8, StoreId), DecodeError> {
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
        let store = StoreId(self.u32("store")?);
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

    fn replica(&mut self, field: &'static str) -> Result<ReplicaId, DecodeError> {
        self.u32(field).map(ReplicaId::from_packed)
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

    fn vv(&mut self, field: &'static str) -> Result<VersionVector, DecodeError> {
        let n = self.count(field, self.limits.max_replicas, MIN_VV_ENTRY)?;
        let mut vv = VersionVector::new();
        let mut last: Option<ReplicaId> = None;
        for _ in 0..n {
            let at = self.pos;
            let r = self.replica(field)?;
            if last.is_some_and(|l| l >= r) {
                return Err(Self::invalid(at, field));
            }
            last = Some(r);
            let seq = self.u(field)?;
            vv.dots.insert(r, seq);
        }
        Ok(vv)
    }

    fn key(&mut self, keys: KeyDec<'_>, field: &'static str) -> Result<LotKey, DecodeError> {
        let origin = match keys {
            KeyDec::Direct => self.replica(field)?,
            KeyDec::Table(t) => self.origin(t, field)?,
        };
        let local_no = self.u32(field)?;
        Ok(LotKey { origin, local_no })
    }

    fn origin(
        &mut self,
        table: &[ReplicaId],
        field: &'static str,
    ) -> Result<ReplicaId, DecodeError> {
        let at = self.pos;
        let i = self.u(field)?;
        usize::try_from(i)
            .ok()
            .and_then(|i| table.get(i))
            .copied()
            .ok_or_else(|| Self::invalid(at, field))
    }

    fn date(&mut self, field: &'static str) -> Result<Date, DecodeError> {
        let at = self.pos;
        let days = self.i(field)?;
        let epoch = Date::from_ymd(1970, 1, 1).map_err(|_| Self::invalid(at, field))?;
        let d = epoch.add_days(days);
        if i64::from(d.days_since_epoch()) != days {
            return Err(Self::invalid(at, field));
        }
        Ok(d)
    }

    fn lot_info(&mut self, keys: KeyDec<'_>) -> Result<LotInfo, DecodeError> {
        let key = self.key(keys, "lot.key")?;
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

    fn txn(&mut self) -> Result<Txn, DecodeError> {
        let max = self.limits.max_lines_per_txn;
        let id = self.txn_id("txn.id")?;
        let hlc = self.hlc("txn.hlc")?;
        let at = self.pos;
        let kr = self.byte("txn.kind")?;
        let kind = TxnKind::from_u8(kr & 0x0f).ok_or_else(|| Self::invalid(at, "txn.kind"))?;
        let reason = Reason::from_u8(kr >> 4).ok_or_else(|| Self::invalid(at, "txn.reason"))?;
        let at = self.pos;
        let flags = self.byte("txn.flags")?;
        if flags & !FLAGS_KNOWN != 0 {
            return Err(Self::invalid(at, "txn.flags"));
        }
        let n = self.count("txn.lines", max, MIN_LINE)?;
        let mut lines = Vec::with_capacity(n);
        for _ in 0..n {
            let lot = self.key(KeyDec::Direct, "line.lot")?;
            let delta = self.i("line.delta")?;
            lines.push(Line { lot, delta });
        }
        let mut new_lots = Vec::new();
        if flags & FLAG_NEW_LOTS != 0 {
            let n = self.nonzero_count("txn.new_lots", max, MIN_LOT_INFO)?;
            new_lots.reserve_exact(n);
            for _ in 0..n {
                new_lots.push(self.lot_info(KeyDec::Direct)?);
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
                        let lot = self.key(KeyDec::Direct, "hold.lot")?;
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
            let from = StoreId(self.u32("txn.transfer.from")?);
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
                let lot = self.key(KeyDec::Direct, "txn.meta.lot")?;
                let value = self.string("txn.meta.value")?;
                meta.push((lot, value));
            }
        }
        let compensates = if flags & FLAG_COMPENSATES != 0 {
            let lot = self.key(KeyDec::Direct, "txn.compensates.lot")?;
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
        Ok(Txn {
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
        })
    }

    fn delta(&mut self) -> Result<StateDelta, DecodeError> {
        let max = self.limits.max_cells;
        let vv = self.vv("delta.vv")?;
        let base = self.vv("delta.base")?;

        let n = self.count("delta.origins", self.limits.max_replicas, 1)?;
        let mut origins: Vec<ReplicaId> = Vec::with_capacity(n);
        for _ in 0..n {
            let at = self.pos;
            let r = self.replica("delta.origins")?;
            if origins.last().is_some_and(|&l| l >= r) {
                return Err(Self::invalid(at, "delta.origins"));
            }
            origins.push(r);
        }
        let keys = KeyDec::Table(&origins);

        let n = self.count("delta.lots", max, MIN_LOT_INFO)?;
        let mut lots = Vec::with_capacity(n);
        for _ in 0..n {
            lots.push(self.lot_info(keys)?);
        }

        let groups = self.count("delta.cell_groups", max, MIN_GROUP + MIN_RUN + MIN_CELL)?;
        let mut cells: Vec<(LotKey, ReplicaId, u64, u64)> = Vec::new();
        for _ in 0..groups {
            let replica = self.replica("cell_group.replica")?;
            let runs = self.nonzero_count("cell_group.runs", max, MIN_RUN + MIN_CELL)?;
            for _ in 0..runs {
                let origin = self.origin(&origins, "cell_run.origin")?;
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
                    prev = Some(local_no);
                    let p = self.u("cell.p")?;
                    let n = self.u("cell.n")?;
                    cells.push((LotKey { origin, local_no }, replica, p, n));
                }
            }
        }

        let n = self.count("delta.holds", max, MIN_HOLD)?;
        let mut holds = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.txn_id("hold.id")?;
            let lot = self.key(keys, "hold.lot")?;
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
            let from = StoreId(self.u32("transfer.from")?);
            let number = self.u("transfer.number")?;
            let by = self.txn_id("transfer.by")?;
            let lot = self.key(keys, "transfer.lot")?;
            let units = self.u("transfer.units")?;
            transfers.push((TransferId { from, number }, by, lot, units));
        }

        let n = self.count("delta.compensations", max, MIN_COMPENSATION)?;
        let mut compensations = Vec::with_capacity(n);
        for _ in 0..n {
            let lot = self.key(keys, "compensation.lot")?;
            let version = self.fix64("compensation.version")?;
            let by = self.txn_id("compensation.by")?;
            compensations.push((DiscrepancyId { lot, version }, by));
        }

        let n = self.count("delta.meta", max, MIN_DELTA_META)?;
        let mut meta = Vec::with_capacity(n);
        for _ in 0..n {
            let lot = self.key(keys, "meta.lot")?;
            let value = self.string("meta.value")?;
            let hlc = self.hlc("meta.hlc")?;
            let by = self.txn_id("meta.by")?;
            meta.push((lot, Lww { value, hlc, by }));
        }

        Ok(StateDelta {
            base,
            vv,
            lots,
            cells,
            holds,
            releases,
            transfers,
            compensations,
            meta,
        })
    }
}
