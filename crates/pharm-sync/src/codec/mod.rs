//! Wire and outbox encoding: a versioned, compact, canonical binary format.
//!
//! One format serves the sync messages ([`encode`] / [`decode`]), the outbox blobs of the
//! durable store ([`encode_txn`] / [`decode_txn`]) and the bytes that digests and tags are
//! computed over ([`txn_signing_bytes`], [`message_signing_bytes`]). It is specified here precisely enough
//! for an independent C or Python implementation; the golden vectors in
//! `testdata/golden/sync/*.hex` (with the same message as JSON next to each, and the keys
//! that seal them) are normative examples.
//!
//! The encoding is **canonical**: every value has exactly one encoding, and a decoder
//! accepts nothing else, so `encode(decode(b)) == b` for every accepted `b` (a property test
//! checks it). This is what lets a tag be checked on the received bytes, and a digest be
//! recomputed from a decoded value.
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
//! | `str` | `uv` byte length, then that many bytes of UTF-8 (no terminator). Every string (business reference, lot number, hold reference, metadata value) is at most [`MAX_STRING_BYTES`] = 256 bytes. |
//! | `digest` | 16 bytes: a SHA-256 output truncated to its first 16 bytes |
//! | `tag` | 16 bytes: an HMAC-SHA-256 output truncated to its first 16 bytes (a hop tag or an origin seal) |
//! | `replica` | `uv16` terminal, `uv` incarnation |
//! | `r` | a replica inside a message body: `uv` index into the message's replica table |
//! | `date` | `sv` days since 1970-01-01 (proleptic Gregorian); must be within 1900-01-01 ..= 9999-12-31 |
//!
//! Counts are `uv`. Lists are encoded in the order of the value (nothing is sorted on the
//! way) except where a rule below asks for an order.
//!
//! # Message
//!
//! | field | encoding |
//! |---|---|
//! | magic | the 3 bytes `"PHS"` (`50 48 53`) |
//! | format version | `byte`, currently [`FORMAT_VERSION`] = 2 |
//! | message type | `byte`: 1 Hello, 2 Welcome, 3 Upload, 4 UploadAck, 5 Delta |
//! | store | `uv32` [`PharmacyId`] |
//! | from | `replica`: the sender |
//! | replica table | `uv` count, then `replica` each, strictly ascending (by terminal, then incarnation); every entry is referenced at least once by the body |
//! | body | by type, below |
//! | hop tag | `tag` under the store's **link key** over the label `"M"`, `0x02` (2 bytes), the store as 4 bytes little-endian, and every byte of the message before the tag |
//!
//! [`peek_store`] reads only the header (through `store`), so a server can route or refuse
//! another pharmacy's message before decoding it.
//!
//! | type | body |
//! |---|---|
//! | 1 Hello | `vv` vv, `fix64` hlc |
//! | 2 Welcome | `vv` vv, `acks` acks, `fix64` hlc, `bool` root |
//! | 3 Upload | `uv` count, then that many transactions in *message form* |
//! | 4 UploadAck | `vv` vv, `acks` acks, `uv` refused count, then per entry `r` replica, `uv` seq (≥ 1; replicas strictly ascending), `bool` sealed, and when sealed the root's refusal `tag` (HMAC under the uploading terminal's origin key over `"R"`, `0x02`, the store as 4 bytes little-endian and the refused transaction's digest) |
//! | 5 Delta | the *delta body* (below) |
//!
//! * `vv` (version vector): `uv` count, then per entry `r` replica, `uv` seq (≥ 1);
//!   replicas strictly ascending. Zero entries are not written (a zero entry means
//!   "nothing", like an absent one).
//! * `acks`: `uv` count, then per entry `r` replica, `uv` seq (≥ 1), `uv` from (the first
//!   sequence number of the acknowledged segment, 1 ≤ from ≤ seq), `digest` (of that
//!   replica's transaction at seq), `tag` (the root's seal: HMAC under the replica's
//!   terminal's origin key over `"A"`, `0x02`, the store as 4 bytes little-endian, the
//!   digest and from as 8 bytes little-endian); replicas strictly ascending.
//!
//! # Transaction
//!
//! A transaction has a *standalone form* (outbox blobs and the bytes its digest covers) and
//! a *message form* (inside Upload messages and delta heads), which refers to replicas
//! through the table, codes clocks and chain links relative to its neighbour, and may carry
//! an origin seal.
//!
//! | field | standalone form | message form |
//! |---|---|---|
//! | id | `replica`, `uv` seq | `r`, `uv` seq |
//! | hlc | `fix64` | `sv` of (hlc − previous hlc) as a wrapping 64-bit difference read as signed; previous = the hlc of the preceding transaction of the same list, 0 for the first |
//! | kind and reason | `byte`: low nibble [`TxnKind`] (0 Receive … 8 Compensation), high nibble [`Reason`] (0 None … 9 Reconciliation) | same |
//! | flags | `byte`: bit 0 new lots, bit 1 holds, bit 2 transfer, bit 3 meta, bit 4 compensates, bit 5 reference; bits 6–7 must be 0 | same, and bit 6 = explicit prev, bit 7 = sealed (below) |
//! | lines | `uv` count, then per line *key* lot, `sv` delta | same |
//! | new lots (bit 0) | `uv` count (≥ 1), then *lot info* each | same |
//! | holds (bit 1) | `uv` count (≥ 1), then per hold op a tag `byte`: `0` Place: *key* lot, `str` reference; `1` Release: *txn id* hold | same |
//! | transfer (bit 2) | `uv32` sending store, `uv` transfer number | same |
//! | meta (bit 3) | `uv` count (≥ 1), then per entry *key* lot, `str` value | same |
//! | compensates (bit 4) | *key* lot, `fix64` version fingerprint | same |
//! | reference (bit 5) | `str` (non-empty) | same |
//! | prev | `digest` | `digest` only when bit 6 is set |
//! | seal | — | `tag` only when bit 7 is set |
//!
//! *key* is a lot key: `replica` (standalone) or `r` (message form) origin, `uv32` local
//! number. *txn id* is `replica`/`r` replica, `uv` seq. A clear flag means the empty list /
//! `None` / empty string; a set flag with an empty list or string is rejected. Every list
//! of a transaction holds at most [`MAX_TXN_ITEMS`] = 1,024 entries.
//!
//! **Digest.** SHA-256 truncated to 16 bytes over the label `"T"`, `0x02` (2 bytes) and
//! the standalone form ([`txn_signing_bytes`]). It is not written anywhere: every reader
//! computes it. Prev is the digest of the same replica's previous transaction (all zeros
//! for seq 1), so equal digests at one sequence number mean equal histories up to it.
//!
//! **Prev in message form.** The *implied* prev of a transaction is all zeros when its seq
//! is 1, or the digest of the preceding transaction of the list when that one has the same
//! replica and a seq one less; otherwise there is none. Bit 6 is set (and prev written)
//! exactly when prev differs from the implied one, or none is implied. So a run of one
//! replica's consecutive transactions carries one chain link in all.
//!
//! **Seal.** HMAC-SHA-256 under the origin terminal's **origin key**, truncated to 16 bytes,
//! over the label `"S"`, `0x02` (2 bytes), the store as 4 bytes little-endian and the
//! transaction's digest (22 bytes in all): by the chain it vouches for the transaction and
//! every earlier one of its replica. In an Upload, the last transaction of every *run* (a
//! maximal sequence of list neighbours of one replica with consecutive seqs, each one's
//! prev the digest of the one before) must be sealed; other transactions may be. In delta
//! heads a seal is optional and is a *head seal*: the same HMAC over the label `"H"`, `0x02`,
//! the store, the head's digest and the digest of its replica's effects (its counter cells
//! and transfer receipts: [`InventoryState::effects_digest`](crate::state::InventoryState::effects_digest))
//! as the receiver holds them once the delta is joined (38 bytes in all). The decoder only
//! reads seals; the receiving peer checks them.
//!
//! An **outbox blob** ([`encode_txn`]) is the 3 bytes `"PHT"` (`50 48 54`), the format
//! version `byte`, then the standalone form.
//!
//! *Lot info* (`LotInfo`): *key*, `uv` created seq, `uv32` SKU, NDC as `uv32` labeler,
//! `uv16` product code, `byte` package code, `byte` layout (0 = 4-4-2, 1 = 5-3-2, 2 = 5-4-1,
//! 3 = 5-4-2, 4 = 6-4-2; the codes must fit the layout), `str` lot number, `date` expiry,
//! `bool` controlled.
//!
//! # Delta body (`StateDelta`)
//!
//! | field | encoding |
//! |---|---|
//! | vv | `vv` |
//! | base | `vv`: the version the delta was computed against; a receiver with less must not join it |
//! | lots | `uv` count, then *lot info* each (message form keys) |
//! | cells | `uv` group count, then the groups (below) |
//! | holds | `uv` count, then per hold *txn id* hold, *key* lot, `str` reference |
//! | releases | `uv` count, then per release *txn id* hold, *txn id* releasing transaction |
//! | transfers | `uv` count, then per receipt `uv32` sending store, `uv` transfer number, *txn id* recording transaction, *key* lot, `uv` units |
//! | compensations | `uv` count, then per entry *key* lot, `fix64` version, *txn id* compensating transaction |
//! | meta | `uv` count, then per entry *key* lot, `str` value, `fix64` written at, *txn id* written by |
//! | heads | `uv` count, then transactions in message form: the newest transaction of every replica whose entry `vv` raises above `base` (its evidence) |
//!
//! **Cells** are the bulk of a delta and are packed so that a sorted delta (as
//! [`InventoryState::delta_since`](crate::state::InventoryState::delta_since) produces: by
//! replica, then lot) costs about 3 bytes per touched lot:
//!
//! | level | encoding |
//! |---|---|
//! | group | `r` (the cells' replica), `uv` run count (≥ 1) |
//! | run | `r` lot origin, `uv` cell count (≥ 1) |
//! | cell | `uv` gap, `uv` p, `uv` n |
//!
//! A group holds consecutive cells of one replica; a run holds consecutive cells of one lot
//! origin whose local numbers strictly increase. The first cell of a run has local number
//! `gap`, each further one `previous + 1 + gap`. An encoder starts a new group exactly when
//! the replica changes and a new run exactly when the origin changes or the local number
//! does not increase; a decoder rejects a group with the same replica as the one before,
//! and a run with the same origin as the one before whose first local number is above that
//! run's last. Decoding appends the cells in order, giving `(lot, group replica, p, n)`.
//!
//! # Decoding safety
//!
//! [`decode`] and [`decode_txn`] never panic, check the input length against
//! [`DecodeLimits::max_message_bytes`] first, and check every count against both its limit and
//! the bytes left (each element needs at least one byte per field) before reserving memory, so
//! memory use is proportional to the input. Errors name the byte offset and the field.
//! Decoding checks the format and computes every transaction's digest; it does not verify
//! tags or seals: [`Peer`](crate::protocol::Peer) does.

mod read;
mod write;

use crate::ids::ReplicaId;
use crate::message::{Body, Message};
#[cfg(doc)]
use crate::txn::{Reason, TxnKind};
use crate::txn::{SealedTxn, Txn};
use pharm_core::ids::PharmacyId;

use read::Reader;
use write::Writer;

/// Magic bytes opening every sync message.
pub const MAGIC: [u8; 3] = *b"PHS";
/// Magic bytes opening every outbox transaction blob.
pub const TXN_MAGIC: [u8; 3] = *b"PHT";
/// Format version written after the magic.
pub const FORMAT_VERSION: u8 = 2;
/// Longest string (reference, lot number, hold reference, metadata value) in bytes.
pub const MAX_STRING_BYTES: usize = 256;
/// Most entries in each list of one transaction (lines, new lots, hold ops, metadata).
pub const MAX_TXN_ITEMS: usize = 1024;
/// Bytes of the hop tag that ends every message.
pub const MESSAGE_TAG_BYTES: usize = crate::auth::TAG_BYTES;

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
const FLAG_PREV: u8 = 1 << 6;
const FLAG_SEALED: u8 = 1 << 7;
const FLAGS_STANDALONE: u8 = FLAG_PREV - 1;
const FLAGS_MESSAGE: u8 = FLAGS_STANDALONE | FLAG_PREV | FLAG_SEALED;

const HOLD_PLACE: u8 = 0;
const HOLD_RELEASE: u8 = 1;

/// Bounds applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted input in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// Most transactions in one upload (default 4,096).
    pub max_txns: usize,
    /// Most lines in one transaction; also bounds its new lots, hold ops and metadata entries
    /// (default and most [`MAX_TXN_ITEMS`]).
    pub max_lines_per_txn: usize,
    /// Most cells in one delta; also bounds each of its other lists (lots, holds, releases,
    /// transfers, compensations, metadata) and its cell groups and runs (default 1,000,000).
    pub max_cells: usize,
    /// Longest string in bytes (default [`MAX_STRING_BYTES`]).
    pub max_string: usize,
    /// Most entries in the replica table, a version vector, the acks or the refused list of
    /// a message, and most heads in a delta (default 4,096).
    pub max_replicas: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_message_bytes: 16 << 20,
            max_txns: 4096,
            max_lines_per_txn: MAX_TXN_ITEMS,
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
    /// A list of a transaction holds more than [`MAX_TXN_ITEMS`] entries.
    #[error("{field} has {count} entries; at most {max} can be encoded")]
    TooMany {
        /// Which list.
        field: &'static str,
        /// Entries.
        count: usize,
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
    /// A value is out of its domain or not in its canonical form (unknown enum byte, bad
    /// NDC, date out of range, unsorted list, zero sequence number, unused or bad replica
    /// index, a group or run the encoder would have merged, an implied chain link written
    /// out...).
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

/// Encodes a sync message (with its hop tag).
pub fn encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    let mut buf = Vec::with_capacity(64);
    message_signing_bytes(msg.store, msg.from, &msg.body, &mut buf)?;
    buf.extend_from_slice(&msg.tag.0);
    Ok(buf)
}

/// The bytes a message's hop tag covers (the whole message but the tag), written into
/// `out` (cleared first).
pub fn message_signing_bytes(
    store: PharmacyId,
    from: ReplicaId,
    body: &Body,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    out.clear();
    Writer::message(out, store, from, body)
}

/// Encodes one transaction as an outbox blob (`"PHT"`, format version, standalone form).
pub fn encode_txn(txn: &Txn) -> Result<Vec<u8>, EncodeError> {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(&TXN_MAGIC);
    buf.push(FORMAT_VERSION);
    Writer::standalone_txn(&mut buf, txn)?;
    Ok(buf)
}

/// The bytes a transaction's digest covers after its domain label (its standalone form),
/// written into `out` (cleared first).
pub fn txn_signing_bytes(txn: &Txn, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.clear();
    Writer::standalone_txn(out, txn)
}

/// [`txn_signing_bytes`] appended to `out`.
pub(crate) fn append_txn_signing_bytes(txn: &Txn, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    Writer::standalone_txn(out, txn)
}

/// Decodes a sync message, enforcing `limits`. Every transaction's digest is computed; the
/// hop tag and the seals are read, not verified.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Message, DecodeError> {
    check_size(bytes, limits)?;
    Reader::new(bytes, limits).message()
}

/// Decodes an outbox blob written by [`encode_txn`], enforcing `limits`; the digest is
/// computed.
pub fn decode_txn(bytes: &[u8], limits: &DecodeLimits) -> Result<Txn, DecodeError> {
    check_size(bytes, limits)?;
    Reader::new(bytes, limits).outbox_blob()
}

/// The store a message belongs to, read from its header only (magic, version and type are
/// checked; the body is not looked at).
pub fn peek_store(bytes: &[u8]) -> Result<PharmacyId, DecodeError> {
    let limits = DecodeLimits::default();
    Reader::new(bytes, &limits)
        .message_header()
        .map(|(_, store)| store)
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
