//! Wire codec: round trips, canonical decoding (every accepted frame re-encodes to the same
//! bytes), robustness against hostile input, limits, golden vectors shared with the C and
//! Python bindings (`testdata/golden/sync/`), and the delta byte budget.
//!
//! Regenerate the golden vectors after an intended format change with
//! `PHARM_BLESS=1 cargo test -p pharm-sync --test codec golden` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use pharm_core::ids::{Ndc, NdcLayout};
use pharm_core::time::Date;
use pharm_sync::auth::{Digest, Tag};
use pharm_sync::codec::{
    DecodeError, DecodeLimits, EncodeError, MAX_STRING_BYTES, MAX_TXN_ITEMS, decode, decode_txn,
    encode, encode_txn, peek_store,
};
use pharm_sync::hlc::Hlc;
use pharm_sync::ids::{ReplicaId, TxnId};
use pharm_sync::message::{Ack, Acks, Body, Message, Refusal};
use pharm_sync::state::{Applied, InventoryState, Lww, StateDelta, VersionVector};
use pharm_sync::txn::{
    DiscrepancyId, HoldOp, Line, LotInfo, LotKey, Reason, SealedTxn, TransferId, Txn, TxnKind,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn vv_of(entries: &[(ReplicaId, u64)]) -> VersionVector {
    entries.iter().copied().collect()
}

fn key(origin: ReplicaId, local_no: u32) -> LotKey {
    LotKey { origin, local_no }
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn bare_txn(replica: ReplicaId, seq: u64, kind: TxnKind, lines: Vec<Line>) -> Txn {
    Txn {
        id: TxnId { replica, seq },
        hlc: Hlc::new(1_772_000_000_000 + seq, 0),
        kind,
        reason: Reason::None,
        lines,
        new_lots: Vec::new(),
        holds: Vec::new(),
        transfer: None,
        meta: Vec::new(),
        compensates: None,
        reference: String::new(),
        prev: Digest::default(),
        digest: Digest::default(),
    }
    .linked()
}

/// Computes a transaction's digest after a change (the decoder computes it from the bytes).
trait Linked {
    fn linked(self) -> Txn;
}

impl Linked for Txn {
    fn linked(mut self) -> Txn {
        self.link(&mut Vec::new()).unwrap();
        self
    }
}

/// Links transactions into per-replica chains (prev = the digest of the replica's previous
/// one).
#[derive(Default)]
struct Chain(BTreeMap<ReplicaId, Digest>);

impl Chain {
    fn link(&mut self, mut t: Txn) -> Txn {
        t.prev = self.0.get(&t.id.replica).copied().unwrap_or_default();
        t.link(&mut Vec::new()).unwrap();
        self.0.insert(t.id.replica, t.digest);
        t
    }
}

/// A transaction with its origin seal.
fn with_seal(store: PharmacyId, t: &Txn) -> SealedTxn {
    let seal = Some(t.seal(&common::origin_key(store, t.id.replica.terminal), store));
    SealedTxn {
        txn: Arc::new(t.clone()),
        seal,
    }
}

fn unsealed(t: Txn) -> SealedTxn {
    SealedTxn::unsealed(Arc::new(t))
}

fn sealed(store: PharmacyId, from: ReplicaId, body: Body) -> Message {
    Message::seal(store, from, body, &common::link_key(store)).unwrap()
}

fn roundtrip(m: &Message) -> Message {
    decode(&encode(m).unwrap(), &limits()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn u64_any() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..300, any::<u64>()]
}

fn seq() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..300, 1..=u64::MAX]
}

fn replica() -> impl Strategy<Value = ReplicaId> {
    prop_oneof![
        (0u16..4, 0u64..3).prop_map(|(t, i)| ReplicaId::new(t, i)),
        any::<(u16, u64)>().prop_map(|(t, i)| ReplicaId::new(t, i)),
    ]
}

fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![Just(Tag::default()), any::<[u8; 16]>().prop_map(Tag)]
}

fn txn_id() -> impl Strategy<Value = TxnId> {
    (replica(), u64_any()).prop_map(|(replica, seq)| TxnId { replica, seq })
}

fn lot_key() -> impl Strategy<Value = LotKey> {
    (replica(), prop_oneof![0u32..500, any::<u32>()]).prop_map(|(o, n)| key(o, n))
}

fn text() -> impl Strategy<Value = String> {
    // At most 40 characters of up to 4 bytes: always within the 256-byte cap.
    ".{0,40}"
}

fn ndc() -> impl Strategy<Value = Ndc> {
    (0usize..5, any::<u32>(), any::<u16>(), any::<u8>()).prop_map(|(li, l, p, k)| {
        let layout = NdcLayout::ALL[li];
        let (ml, mp, mk) = layout.max_values();
        Ndc::new(l % (ml + 1), p % (mp + 1), k % (mk + 1), layout).unwrap()
    })
}

fn expiry() -> impl Strategy<Value = Date> {
    let lo = Date::from_ymd(1900, 1, 1).unwrap().days_since_epoch();
    let hi = Date::from_ymd(9999, 12, 31).unwrap().days_since_epoch();
    (lo..=hi).prop_map(|d| Date::from_ymd(1970, 1, 1).unwrap().add_days(i64::from(d)))
}

fn lot_info() -> impl Strategy<Value = LotInfo> {
    (
        lot_key(),
        u64_any(),
        any::<u32>(),
        ndc(),
        text(),
        expiry(),
        any::<bool>(),
    )
        .prop_map(
            |(key, created_seq, sku, ndc, lot_number, expiry, controlled)| LotInfo {
                key,
                created_seq,
                sku,
                ndc,
                lot_number,
                expiry,
                controlled,
            },
        )
}

fn kind() -> impl Strategy<Value = TxnKind> {
    (0u8..9).prop_map(|v| TxnKind::from_u8(v).unwrap())
}

fn reason() -> impl Strategy<Value = Reason> {
    (0u8..10).prop_map(|v| Reason::from_u8(v).unwrap())
}

fn hold_op() -> impl Strategy<Value = HoldOp> {
    prop_oneof![
        (lot_key(), text()).prop_map(|(lot, reference)| HoldOp::Place { lot, reference }),
        txn_id().prop_map(|hold| HoldOp::Release { hold }),
    ]
}

fn transfer_id() -> impl Strategy<Value = TransferId> {
    (any::<u32>(), u64_any()).prop_map(|(s, number)| TransferId {
        from: PharmacyId::new(s),
        number,
    })
}

fn discrepancy() -> impl Strategy<Value = DiscrepancyId> {
    (lot_key(), any::<u64>()).prop_map(|(lot, version)| DiscrepancyId { lot, version })
}

fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof![Just(Digest::default()), any::<[u8; 16]>().prop_map(Digest)]
}

fn txn() -> impl Strategy<Value = Txn> {
    let head = (txn_id(), any::<u64>(), kind(), reason(), digest());
    let lines = prop::collection::vec(
        (lot_key(), prop_oneof![-100i64..100, any::<i64>()])
            .prop_map(|(lot, delta)| Line { lot, delta }),
        0..6,
    );
    let rest = (
        prop::collection::vec(lot_info(), 0..3),
        prop::collection::vec(hold_op(), 0..3),
        prop::option::of(transfer_id()),
        prop::collection::vec((lot_key(), text()), 0..3),
        prop::option::of(discrepancy()),
        text(),
    );
    (head, lines, rest).prop_map(
        |(
            (id, hlc, kind, reason, prev),
            lines,
            (new_lots, holds, transfer, meta, compensates, reference),
        )| {
            Txn {
                id,
                hlc: Hlc(hlc),
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
            }
            .linked()
        },
    )
}

/// Transactions with runs of one replica's consecutive ones (whose chain links the
/// message form leaves out), some with a seal.
fn txn_list() -> impl Strategy<Value = Vec<SealedTxn>> {
    prop::collection::vec((txn(), any::<bool>(), prop::option::of(tag())), 0..6).prop_map(|v| {
        let mut out: Vec<SealedTxn> = Vec::new();
        for (mut t, chained, seal) in v {
            if let Some(last) = out.last().map(|s| &s.txn)
                && chained
                && last.id.seq < u64::MAX
            {
                t.id = TxnId {
                    replica: last.id.replica,
                    seq: last.id.seq + 1,
                };
                t.prev = last.digest;
                t = t.linked();
            }
            out.push(SealedTxn {
                txn: Arc::new(t),
                seal,
            });
        }
        out
    })
}

fn vv() -> impl Strategy<Value = VersionVector> {
    prop::collection::btree_map(replica(), seq(), 0..6)
        .prop_map(|seqs| seqs.into_iter().collect::<VersionVector>())
}

fn acks() -> impl Strategy<Value = Acks> {
    prop::collection::btree_map(
        replica(),
        (seq(), digest(), tag(), any::<u64>()).prop_map(|(seq, digest, seal, f)| Ack {
            from: f % seq + 1,
            seq,
            digest,
            seal,
        }),
        0..4,
    )
}

fn refused() -> impl Strategy<Value = Vec<Refusal>> {
    prop::collection::btree_map(replica(), (seq(), prop::option::of(tag())), 0..3).prop_map(|m| {
        m.into_iter()
            .map(|(replica, (seq, seal))| Refusal {
                id: TxnId { replica, seq },
                seal,
            })
            .collect()
    })
}

fn delta() -> impl Strategy<Value = StateDelta> {
    let cell = (lot_key(), replica(), u64_any(), u64_any());
    (
        (vv(), vv()),
        prop::collection::vec(lot_info(), 0..4),
        (prop::collection::vec(cell, 0..40), any::<bool>()),
        prop::collection::vec((txn_id(), lot_key(), text()), 0..3),
        prop::collection::vec((txn_id(), txn_id()), 0..3),
        prop::collection::vec((transfer_id(), txn_id(), lot_key(), u64_any()), 0..3),
        prop::collection::vec((discrepancy(), txn_id()), 0..3),
        prop::collection::vec(
            (lot_key(), text(), any::<u64>(), txn_id()).prop_map(|(l, value, h, by)| {
                (
                    l,
                    Lww {
                        value,
                        hlc: Hlc(h),
                        by,
                    },
                )
            }),
            0..3,
        ),
        txn_list(),
    )
        .prop_map(
            |(
                (vv, base),
                lots,
                (mut cells, sorted),
                holds,
                releases,
                transfers,
                compensations,
                meta,
                heads,
            )| {
                if sorted {
                    // The order `delta_since` produces.
                    cells.sort_by_key(|c| (c.1, c.0));
                    cells.dedup_by_key(|c| (c.1, c.0));
                }
                StateDelta {
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
                }
            },
        )
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (vv(), any::<u64>()).prop_map(|(vv, h)| Body::Hello { vv, hlc: Hlc(h) }),
        (vv(), acks(), any::<u64>(), any::<bool>()).prop_map(|(vv, acks, h, root)| {
            Body::Welcome {
                vv,
                acks,
                hlc: Hlc(h),
                root,
            }
        }),
        txn_list().prop_map(|txns| Body::Upload { txns }),
        (vv(), acks(), refused()).prop_map(|(vv, acks, refused)| Body::UploadAck {
            vv,
            acks,
            refused
        }),
        delta().prop_map(|delta| Body::Delta { delta }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        any::<u32>().prop_map(PharmacyId::new),
        replica(),
        body(),
        tag(),
    )
        .prop_map(|(store, from, body, tag)| Message {
            store,
            from,
            body,
            tag,
        })
}

/// A byte-level mutation of a frame.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Flip(i, x) => {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        Mutation::Insert(i, b) => {
            let i = i.index(bytes.len() + 1);
            bytes.insert(i, *b);
        }
        Mutation::Remove(i) => {
            let i = i.index(bytes.len());
            bytes.remove(i);
        }
        Mutation::Truncate(i) => {
            let i = i.index(bytes.len());
            bytes.truncate(i);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn message_round_trip(m in message()) {
        let bytes = encode(&m).unwrap();
        prop_assert_eq!(decode(&bytes, &limits()).unwrap(), m.clone());
        prop_assert_eq!(peek_store(&bytes).unwrap(), m.store);
    }

    #[test]
    fn txn_blob_round_trip(t in txn()) {
        let bytes = encode_txn(&t).unwrap();
        let back = decode_txn(&bytes, &limits()).unwrap();
        // `Ndc` equality ignores the layout; compare it explicitly.
        for (a, b) in back.new_lots.iter().zip(&t.new_lots) {
            prop_assert_eq!(a.ndc.layout(), b.ndc.layout());
        }
        prop_assert_eq!(back, t.clone());
        // The same transaction inside an upload.
        let m = sealed(
            PharmacyId::new(1),
            ReplicaId::new(1, 0),
            Body::Upload {
                txns: vec![unsealed(t)],
            },
        );
        prop_assert_eq!(roundtrip(&m), m);
    }

    /// Canonical decoding: whatever a mutated frame decodes to re-encodes to exactly the
    /// mutated bytes, so the decoder accepts one encoding per value and nothing else.
    #[test]
    fn every_accepted_frame_re_encodes_to_the_same_bytes(
        m in message(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = encode(&m).unwrap();
        for mu in &mutations {
            mutate(&mut bytes, mu);
        }
        if let Ok(back) = decode(&bytes, &limits()) {
            prop_assert_eq!(encode(&back).unwrap(), bytes);
        }
    }

    #[test]
    fn every_accepted_blob_re_encodes_to_the_same_bytes(
        t in txn(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = encode_txn(&t).unwrap();
        for mu in &mutations {
            mutate(&mut bytes, mu);
        }
        if let Ok(back) = decode_txn(&bytes, &limits()) {
            prop_assert_eq!(encode_txn(&back).unwrap(), bytes);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), ty in 0u8..7) {
        let _ = decode(&bytes, &limits());
        let _ = decode_txn(&bytes, &limits());
        let _ = peek_store(&bytes);
        // The same garbage behind a valid header, to get past the magic.
        let mut framed = vec![b'P', b'H', b'S', 2, ty];
        framed.extend_from_slice(&bytes);
        if let Ok(m) = decode(&framed, &limits()) {
            prop_assert_eq!(encode(&m).unwrap(), framed);
        }
        let mut blob = vec![b'P', b'H', b'T', 2];
        blob.extend_from_slice(&bytes);
        if let Ok(t) = decode_txn(&blob, &limits()) {
            prop_assert_eq!(encode_txn(&t).unwrap(), blob);
        }
    }

    #[test]
    fn truncation_never_panics(m in message()) {
        let bytes = encode(&m).unwrap();
        // Every prefix is invalid (no message is a prefix of another) and fails cleanly.
        for len in (0..bytes.len()).take(1024) {
            let err = decode(&bytes[..len], &limits()).unwrap_err();
            prop_assert!(err.offset() <= len, "{err:?} at len {len}");
        }
        // And one extra byte is trailing.
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(
            matches!(
                decode(&longer, &limits()),
                Err(DecodeError::TrailingBytes { offset, remaining: 1 }) if offset == bytes.len()
            ),
            "trailing byte not rejected"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Header, errors and limits
// ---------------------------------------------------------------------------------------------

fn hello(store: u32) -> Message {
    sealed(
        PharmacyId::new(store),
        ReplicaId::new(3, 0),
        Body::Hello {
            vv: vv_of(&[(ReplicaId::new(0, 0), 17), (ReplicaId::new(3, 0), 5)]),
            hlc: Hlc::new(1_772_000_000_000, 3),
        },
    )
}

#[test]
fn peek_store_reads_the_header_only() {
    let bytes = encode(&hello(300)).unwrap();
    assert_eq!(peek_store(&bytes).unwrap(), PharmacyId::new(300));
    // The header alone is enough (the body is not looked at).
    assert_eq!(peek_store(&bytes[..7]).unwrap(), PharmacyId::new(300));
    assert!(matches!(
        peek_store(&bytes[..6]),
        Err(DecodeError::Truncated { offset: 6, .. })
    ));
    assert!(matches!(
        peek_store(b"XYZ\x02\x01\x00"),
        Err(DecodeError::BadMagic { offset: 0, .. })
    ));
    // Version 1 (before authentication) is refused.
    assert!(matches!(
        peek_store(b"PHS\x01\x01\x00"),
        Err(DecodeError::UnsupportedVersion {
            offset: 3,
            version: 1
        })
    ));
    assert!(matches!(
        peek_store(b"PHS\x02\x09\x00"),
        Err(DecodeError::UnknownMessageType {
            offset: 4,
            type_byte: 9
        })
    ));
    assert!(matches!(
        peek_store(b"PH"),
        Err(DecodeError::Truncated { offset: 2, .. })
    ));
    assert!(matches!(
        peek_store(b""),
        Err(DecodeError::Truncated { offset: 0, .. })
    ));
    // A transaction blob is not a message.
    let blob = encode_txn(&bare_txn(
        ReplicaId::new(1, 0),
        1,
        TxnKind::Dispense,
        Vec::new(),
    ))
    .unwrap();
    assert!(matches!(
        peek_store(&blob),
        Err(DecodeError::BadMagic { .. })
    ));
    assert!(matches!(
        decode_txn(&bytes, &limits()),
        Err(DecodeError::BadMagic { .. })
    ));
}

#[test]
fn header_layout() {
    let bytes = encode(&hello(300)).unwrap();
    // "PHS", version 2, type 1 (Hello), store 300 = ac 02, from T3.0 = 03 00, a replica
    // table of T0.0 and T3.0, the version vector as indexes, the clock, the 16-byte tag.
    assert_eq!(
        &bytes[..17],
        &[
            0x50, 0x48, 0x53, 0x02, 0x01, 0xac, 0x02, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00,
            0x02, 0x00, 0x11
        ]
    );
    assert_eq!(bytes.len(), 17 + 2 + 8 + 16);
}

#[test]
fn varint_errors() {
    // Store as an overlong varint (0x80 0x00) and as a 2^64 overflow.
    assert!(matches!(
        decode(b"PHS\x02\x01\x80\x00", &limits()),
        Err(DecodeError::OverlongVarint {
            offset: 5,
            field: "store"
        })
    ));
    let mut over = b"PHS\x02\x01".to_vec();
    over.extend_from_slice(&[0xff; 9]);
    over.push(0x02);
    assert!(matches!(
        decode(&over, &limits()),
        Err(DecodeError::VarintOverflow { offset: 5, .. })
    ));
    // u64::MAX is fine for a u64 field but overflows the u32 store.
    let mut max = b"PHS\x02\x01".to_vec();
    max.extend_from_slice(&[0xff; 9]);
    max.push(0x01);
    assert!(matches!(
        decode(&max, &limits()),
        Err(DecodeError::VarintOverflow {
            offset: 5,
            field: "store"
        })
    ));
    // u64::MAX as a sequence number and as an incarnation round-trips.
    let m = sealed(
        PharmacyId::new(u32::MAX),
        ReplicaId::new(1, 0),
        Body::UploadAck {
            vv: vv_of(&[(ReplicaId::new(u16::MAX, u64::MAX), u64::MAX)]),
            acks: Acks::new(),
            refused: Vec::new(),
        },
    );
    assert_eq!(roundtrip(&m), m);
}

/// An UploadAck of store 1 from T1.0 with a replica table of T3.0 and T5.0, followed by
/// `body` (vv, acks, forked) and a zero tag.
fn ack_frame(table: &[u8], body: &[u8]) -> Vec<u8> {
    let mut b = b"PHS\x02\x04\x01\x01\x00".to_vec();
    b.extend_from_slice(table);
    b.extend_from_slice(body);
    b.extend_from_slice(&[0; 16]);
    b
}

#[test]
fn non_canonical_tables_and_vectors_are_rejected() {
    let table = [0x02, 0x03, 0x00, 0x05, 0x00];
    // vv: T3.0 → 1, T5.0 → 1; no acks, no forks.
    let ok = ack_frame(&table, &[0x02, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00]);
    assert!(decode(&ok, &limits()).is_ok());
    // Replicas out of order in the vv.
    let unsorted = ack_frame(&table, &[0x02, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00]);
    assert!(matches!(
        decode(&unsorted, &limits()),
        Err(DecodeError::InvalidValue {
            offset: 16,
            field: "upload_ack.vv"
        })
    ));
    // A zero entry (the same value as no entry).
    let zero = ack_frame(&table, &[0x02, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00]);
    assert!(matches!(
        decode(&zero, &limits()),
        Err(DecodeError::InvalidValue {
            field: "upload_ack.vv",
            ..
        })
    ));
    // The table out of order, and a table entry nobody uses.
    let unsorted_table = ack_frame(
        &[0x02, 0x05, 0x00, 0x03, 0x00],
        &[0x02, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00],
    );
    assert!(matches!(
        decode(&unsorted_table, &limits()),
        Err(DecodeError::InvalidValue {
            offset: 11,
            field: "replica table"
        })
    ));
    let unused = ack_frame(&table, &[0x01, 0x00, 0x01, 0x00, 0x00]);
    assert!(matches!(
        decode(&unused, &limits()),
        Err(DecodeError::InvalidValue {
            field: "replica table (unused entry)",
            ..
        })
    ));
    // An index past the table.
    let past = ack_frame(&table, &[0x01, 0x02, 0x01, 0x00, 0x00]);
    assert!(matches!(
        decode(&past, &limits()),
        Err(DecodeError::InvalidValue {
            field: "upload_ack.vv",
            ..
        })
    ));
}

#[test]
fn non_canonical_cells_and_chain_links_are_rejected() {
    let store = PharmacyId::new(1);
    let (r, o) = (ReplicaId::new(2, 0), ReplicaId::new(0, 0));
    let cells = vec![(key(o, 3), r, 5, 0), (key(o, 9), r, 1, 1)];
    let d = sealed(
        store,
        ReplicaId::new(1, 0),
        Body::Delta {
            delta: StateDelta {
                vv: vv_of(&[(r, 4)]),
                cells,
                ..StateDelta::default()
            },
        },
    );
    let good = encode(&d).unwrap();
    // The two cells as one group with one run of two: group count at 18.
    // "PHS" 2 5 | store 01 | from 01 00 | table 02, T0.0, T2.0 | vv 01 01 04 | base 00 | lots 00
    assert_eq!(
        &good[18..29],
        &[
            0x01, 0x01, 0x01, 0x00, 0x02, 0x03, 0x05, 0x00, 0x05, 0x01, 0x01
        ]
    );
    // The same cells written as two groups of the same replica: not canonical.
    let mut two_groups = good[..18].to_vec();
    two_groups.extend_from_slice(&[0x02, 0x01, 0x01, 0x00, 0x01, 0x03, 0x05, 0x00]);
    two_groups.extend_from_slice(&[0x01, 0x01, 0x00, 0x01, 0x09, 0x01, 0x01]);
    two_groups.extend_from_slice(&good[29..]);
    assert!(matches!(
        decode(&two_groups, &limits()),
        Err(DecodeError::InvalidValue {
            field: "cell_group.replica",
            ..
        })
    ));
    // As two runs of the same origin that the encoder would have merged.
    let mut two_runs = good[..18].to_vec();
    two_runs.extend_from_slice(&[0x01, 0x01, 0x02, 0x00, 0x01, 0x03, 0x05, 0x00]);
    two_runs.extend_from_slice(&[0x00, 0x01, 0x09, 0x01, 0x01]);
    two_runs.extend_from_slice(&good[29..]);
    assert!(matches!(
        decode(&two_runs, &limits()),
        Err(DecodeError::InvalidValue {
            field: "cell_run.origin",
            ..
        })
    ));

    // A chain link written out although the neighbour implies it.
    let mut chain = Chain::default();
    let a = chain.link(bare_txn(r, 1, TxnKind::Dispense, Vec::new()));
    let b = with_seal(
        store,
        &chain.link(bare_txn(r, 2, TxnKind::Dispense, Vec::new())),
    );
    let up = encode(&sealed(
        store,
        r,
        Body::Upload {
            txns: vec![unsealed(a), b.clone()],
        },
    ))
    .unwrap();
    let decoded = decode(&up, &limits()).unwrap();
    assert_eq!(encode(&decoded).unwrap(), up);
    // The second transaction's flags byte (sealed): set "explicit prev" and insert it.
    let flags_at = up.len() - 16 - 16 - 1 - 1;
    assert_eq!(up[flags_at], 0x80);
    let mut explicit = up.clone();
    explicit[flags_at] = 0xc0;
    let prev_at = flags_at + 2;
    for (i, byte) in b.txn.prev.0.iter().enumerate() {
        explicit.insert(prev_at + i, *byte);
    }
    assert!(matches!(
        decode(&explicit, &limits()),
        Err(DecodeError::InvalidValue {
            field: "txn.prev",
            ..
        })
    ));
}

#[test]
fn strings_and_lists_are_capped_on_both_sides() {
    let mut t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    t.reference = "x".repeat(MAX_STRING_BYTES);
    t.link(&mut Vec::new()).unwrap();
    let bytes = encode_txn(&t).unwrap();
    assert_eq!(decode_txn(&bytes, &limits()).unwrap(), t);
    let tight = DecodeLimits {
        max_string: 255,
        ..limits()
    };
    assert!(matches!(
        decode_txn(&bytes, &tight),
        Err(DecodeError::LimitExceeded {
            what: "txn.reference",
            count: 256,
            max: 255,
            ..
        })
    ));
    t.reference.push('y');
    assert!(matches!(
        encode_txn(&t),
        Err(EncodeError::StringTooLong {
            field: "txn.reference",
            len: 257,
            max: MAX_STRING_BYTES
        })
    ));
    t.reference.clear();
    t.lines = (0..=MAX_TXN_ITEMS as u32)
        .map(|i| Line {
            lot: key(ReplicaId::new(0, 0), i),
            delta: -1,
        })
        .collect();
    assert!(matches!(
        encode_txn(&t),
        Err(EncodeError::TooMany {
            field: "txn.lines",
            count: 1025,
            max: MAX_TXN_ITEMS
        })
    ));
}

#[test]
fn invalid_utf8_names_the_offset() {
    let mut t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    t.reference = "RX-é".into();
    let mut bytes = encode_txn(&t).unwrap();
    let n = bytes.len();
    // The reference is followed by prev (16 bytes).
    bytes[n - 17] = 0xff; // second byte of "é"
    assert!(matches!(
        decode_txn(&bytes, &limits()),
        Err(DecodeError::InvalidUtf8 { offset, field: "txn.reference" }) if offset == n - 18
    ));
}

#[test]
fn invalid_values_are_rejected() {
    let t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    let good = encode_txn(&t).unwrap();
    // "PHT" 2 | replica 01 00 | seq 01 | hlc 8 bytes | kind/reason | flags | lines | prev | tag
    let kind_at = 4 + 2 + 1 + 8;
    let mut bad = good.clone();
    bad[kind_at] = 0x0a; // kind 10
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "txn.kind",
            ..
        })
    ));
    bad[kind_at] = 0xa1; // reason 10
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "txn.reason",
            ..
        })
    ));
    for flag in [0x40, 0x80] {
        // Unknown in the standalone form (0x40 is the message form's "explicit prev").
        let mut bad = good.clone();
        bad[kind_at + 1] = flag;
        assert!(matches!(
            decode_txn(&bad, &limits()),
            Err(DecodeError::InvalidValue {
                field: "txn.flags",
                ..
            })
        ));
    }
    // A flag announcing an empty reference is not canonical.
    let mut bad = good.clone();
    bad[kind_at + 1] = 0x20;
    bad.insert(kind_at + 3, 0);
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "txn.reference",
            ..
        })
    ));
    // Version 3 of a blob.
    let mut bad = good;
    bad[3] = 3;
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::UnsupportedVersion {
            offset: 3,
            version: 3
        })
    ));
}

#[test]
fn size_limit_is_checked_first() {
    let bytes = encode(&hello(1)).unwrap();
    let tight = DecodeLimits {
        max_message_bytes: bytes.len() - 1,
        ..limits()
    };
    assert!(matches!(
        decode(&bytes, &tight),
        Err(DecodeError::TooLarge { .. })
    ));
    let exact = DecodeLimits {
        max_message_bytes: bytes.len(),
        ..limits()
    };
    assert!(decode(&bytes, &exact).is_ok());
}

#[test]
fn count_limits() {
    let r = ReplicaId::new(2, 0);
    let line = |i| Line {
        lot: key(ReplicaId::new(0, 0), i),
        delta: -1,
    };
    let txns: Vec<SealedTxn> = (1..=3)
        .map(|s| {
            unsealed(bare_txn(
                r,
                s,
                TxnKind::Dispense,
                (0..4).map(line).collect(),
            ))
        })
        .collect();
    let upload = encode(&sealed(PharmacyId::new(1), r, Body::Upload { txns })).unwrap();
    assert!(
        decode(
            &upload,
            &DecodeLimits {
                max_txns: 3,
                max_lines_per_txn: 4,
                ..limits()
            }
        )
        .is_ok()
    );
    assert!(matches!(
        decode(
            &upload,
            &DecodeLimits {
                max_txns: 2,
                ..limits()
            }
        ),
        Err(DecodeError::LimitExceeded {
            what: "upload.txns",
            count: 3,
            max: 2,
            ..
        })
    ));
    assert!(matches!(
        decode(
            &upload,
            &DecodeLimits {
                max_lines_per_txn: 3,
                ..limits()
            }
        ),
        Err(DecodeError::LimitExceeded {
            what: "txn.lines",
            count: 4,
            max: 3,
            ..
        })
    ));

    let cells: Vec<_> = (0..10)
        .map(|i| {
            (
                key(ReplicaId::new(0, 0), i * 3),
                if i < 5 { r } else { ReplicaId::new(4, 0) },
                0,
                2,
            )
        })
        .collect();
    let delta = encode(&sealed(
        PharmacyId::new(1),
        r,
        Body::Delta {
            delta: StateDelta {
                vv: vv_of(&[(r, 1), (ReplicaId::new(4, 0), 1)]),
                cells,
                ..StateDelta::default()
            },
        },
    ))
    .unwrap();
    assert!(
        decode(
            &delta,
            &DecodeLimits {
                max_cells: 10,
                ..limits()
            }
        )
        .is_ok()
    );
    // The total over the groups counts.
    assert!(matches!(
        decode(
            &delta,
            &DecodeLimits {
                max_cells: 9,
                ..limits()
            }
        ),
        Err(DecodeError::LimitExceeded {
            what: "delta.cells",
            count: 10,
            max: 9,
            ..
        })
    ));

    let vv = vv_of(
        &(0..5)
            .map(|t| (ReplicaId::new(t, 0), 1))
            .collect::<Vec<_>>(),
    );
    let ack = encode(&sealed(
        PharmacyId::new(1),
        r,
        Body::UploadAck {
            vv,
            acks: Acks::new(),
            refused: Vec::new(),
        },
    ))
    .unwrap();
    assert!(matches!(
        decode(
            &ack,
            &DecodeLimits {
                max_replicas: 4,
                ..limits()
            }
        ),
        Err(DecodeError::LimitExceeded {
            what: "replica table",
            count: 5,
            max: 4,
            ..
        })
    ));
}

#[test]
fn counts_beyond_the_input_are_truncation_not_allocation() {
    // Upload claiming 4,000 transactions in 2 more bytes.
    let mut m = b"PHS\x02\x03\x01\x01\x00\x00".to_vec();
    m.extend_from_slice(&[0xa0, 0x1f, 0x00, 0x00]);
    assert!(matches!(
        decode(&m, &limits()),
        Err(DecodeError::Truncated {
            offset: 9,
            field: "upload.txns"
        })
    ));
    // Delta claiming 999,999 cells in one run.
    let mut d = b"PHS\x02\x05\x01\x01\x00\x01\x00\x00".to_vec();
    d.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xbf, 0x84, 0x3d, 0x00, 0x00, 0x00,
    ]);
    assert!(matches!(
        decode(&d, &limits()),
        Err(DecodeError::Truncated {
            field: "delta.cells",
            ..
        })
    ));
    // A string longer than what follows.
    let mut t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    t.reference = "abc".into();
    let blob = encode_txn(&t).unwrap();
    assert!(matches!(
        decode_txn(&blob[..blob.len() - 17], &limits()),
        Err(DecodeError::Truncated {
            field: "txn.reference",
            ..
        })
    ));
}

#[test]
fn dates_and_ndcs_are_validated() {
    let lot = LotInfo {
        key: key(ReplicaId::new(1, 0), 1),
        created_seq: 1,
        sku: 7,
        ndc: Ndc::new(2, 7597, 1, NdcLayout::L442).unwrap(),
        lot_number: "L".into(),
        expiry: date("9999-12-31"),
        controlled: true,
    };
    let mut t = bare_txn(
        ReplicaId::new(1, 0),
        1,
        TxnKind::Receive,
        vec![Line {
            lot: lot.key,
            delta: 5,
        }],
    );
    t.new_lots = vec![lot];
    let t = t.linked();
    let good = encode_txn(&t).unwrap();
    assert_eq!(decode_txn(&good, &limits()).unwrap(), t);
    // "PHT" 2 | id (3) | hlc 8 | kind | flags | lines: count, key (3), delta | count 1 |
    // key (3) | created_seq | sku | labeler | product (2) | package | layout | len | "L" |
    // expiry (4) | controlled | prev (16)
    let lot_at = 4 + 3 + 8 + 1 + 1 + 1 + 3 + 1 + 1;
    let layout_at = lot_at + 3 + 1 + 1 + 1 + 2 + 1;
    assert_eq!(good[layout_at], 0);
    let mut bad = good.clone();
    bad[layout_at] = 5;
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "lot.ndc.layout",
            ..
        })
    ));
    let mut bad = good.clone();
    bad[layout_at - 1] = 100; // package 100 does not fit 2 digits
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "lot.ndc",
            ..
        })
    ));
    // Expiry one day past 9999-12-31 (zigzag of 2,932,896 days).
    let expiry_at = layout_at + 1 + 2;
    let mut bad = good.clone();
    bad[expiry_at] += 2;
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "lot.expiry",
            ..
        })
    ));
    // A hostile day count far out of range is refused without overflow.
    let mut bad = good.clone();
    bad.splice(
        expiry_at..expiry_at + 4,
        [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    );
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "lot.expiry",
            ..
        })
    ));
    let mut bad = good;
    let at = bad.len() - 17;
    bad[at] = 2; // controlled must be 0 or 1
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "lot.controlled",
            ..
        })
    ));
}

#[test]
fn ndc_layout_survives() {
    // `Ndc` equality ignores the layout, so check it explicitly for every layout.
    for layout in NdcLayout::ALL {
        let (l, p, k) = layout.max_values();
        let mut t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Receive, Vec::new());
        t.new_lots = vec![LotInfo {
            key: key(ReplicaId::new(1, 0), 1),
            created_seq: 1,
            sku: 1,
            ndc: Ndc::new(l, p, k, layout).unwrap(),
            lot_number: String::new(),
            expiry: date("1900-01-01"),
            controlled: false,
        }];
        let t = t.linked();
        let back = decode_txn(&encode_txn(&t).unwrap(), &limits()).unwrap();
        assert_eq!(back.new_lots[0].ndc.layout(), layout);
        assert_eq!(back, t);
    }
}

/// A state with `ops` chained single-line transactions of `replicas` over lots received by
/// the first replica.
fn busy_state(
    store: PharmacyId,
    replicas: &[ReplicaId],
    ops: u64,
    lots: u32,
    seed: u64,
) -> InventoryState {
    let mut s = InventoryState::new(store);
    let mut chain = Chain::default();
    let origin = replicas[0];
    let mut receive = bare_txn(origin, 1, TxnKind::Receive, Vec::new());
    for n in 0..lots {
        let k = key(origin, n + 1);
        receive.new_lots.push(LotInfo {
            key: k,
            created_seq: 1,
            sku: n,
            ndc: Ndc::new(2, 7597, 1, NdcLayout::L442).unwrap(),
            lot_number: format!("L{n}"),
            expiry: date("2027-01-31"),
            controlled: false,
        });
        receive.lines.push(Line { lot: k, delta: 100 });
    }
    let mut txns = Vec::new();
    // Receipts in chunks within the per-transaction list limit.
    for (i, chunk) in receive.new_lots.chunks(MAX_TXN_ITEMS).enumerate() {
        let seq = i as u64 + 1;
        let mut t = bare_txn(origin, seq, TxnKind::Receive, Vec::new());
        t.new_lots = chunk
            .iter()
            .cloned()
            .map(|mut l| {
                l.created_seq = seq;
                l
            })
            .collect();
        t.lines = t
            .new_lots
            .iter()
            .map(|l| Line {
                lot: l.key,
                delta: 100,
            })
            .collect();
        txns.push(t);
    }
    for t in txns {
        assert_eq!(s.apply(Arc::new(chain.link(t))), Applied::Applied);
    }
    let mut seqs: BTreeMap<ReplicaId, u64> = replicas.iter().map(|r| (*r, s.vv().get(r))).collect();
    let mut rng = SplitMix(seed);
    for i in 0..ops {
        let r = replicas[(i % replicas.len() as u64) as usize];
        let seq = seqs.get_mut(&r).unwrap();
        *seq += 1;
        let lot = key(origin, (rng.next() % u64::from(lots)) as u32 + 1);
        let delta = if rng.next().is_multiple_of(5) {
            (rng.next() % 24 + 1) as i64
        } else {
            -((rng.next() % 60 + 1) as i64)
        };
        let mut t = bare_txn(r, *seq, TxnKind::Dispense, vec![Line { lot, delta }]);
        t.reference = format!("RX-{i}");
        assert_eq!(s.apply(Arc::new(chain.link(t))), Applied::Applied);
    }
    s
}

#[test]
fn real_delta_round_trips_and_joins() {
    // A delta produced by the state itself decodes to one that joins to the same state.
    let store = PharmacyId::new(9);
    let s = busy_state(
        store,
        &[ReplicaId::new(0, 0), ReplicaId::new(1, 0)],
        300,
        1000,
        7,
    );
    let d = s.delta_since(&VersionVector::new());
    let m = sealed(store, ReplicaId::new(0, 0), Body::Delta { delta: d });
    let back = roundtrip(&m);
    assert_eq!(back, m);
    let Body::Delta { delta } = back.body else {
        unreachable!()
    };
    let mut fresh = InventoryState::new(store);
    assert_eq!(fresh.join(&delta), Ok(true));
    assert_eq!(fresh.observable(), s.observable());
}

// ---------------------------------------------------------------------------------------------
// Byte budget
// ---------------------------------------------------------------------------------------------

/// Deterministic generator for the workload (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn delta_byte_budget() {
    // A terminal's offline day: 2,000 dispenses and receipts over 45,000 lots, as the delta
    // another replica (which has the lots) lacks.
    let store = PharmacyId::new(42);
    let (server, terminal) = (
        ReplicaId::new(0, 0),
        ReplicaId::new(3, 0x5eed_1234_abcd_0042),
    );
    let s = busy_state(store, &[server, terminal], 4000, 45_000, 42);
    let mut their = VersionVector::new();
    their.raise(server, s.vv().get(&server));
    let delta = s.delta_since(&their);
    let cells = delta.cells.len();
    let m = sealed(
        store,
        server,
        Body::Delta {
            delta: delta.clone(),
        },
    );
    let bytes = encode(&m).unwrap();
    assert_eq!(decode(&bytes, &limits()).unwrap(), m);
    let total = bytes.len();
    let header = encode(&sealed(
        store,
        server,
        Body::Delta {
            delta: StateDelta {
                cells: Vec::new(),
                ..delta
            },
        },
    ))
    .unwrap()
    .len();
    let per_cell = (total - header) as f64 / cells as f64;
    println!(
        "2,000-op offline day over 45,000 lots: {cells} touched lots, {total} bytes = {header} B fixed (with the head transaction and the hop tag) + {per_cell:.2} B per touched lot"
    );
    assert!((1900..=2000).contains(&cells), "{cells} touched lots");
    assert!(per_cell < 8.0, "{per_cell} bytes per touched lot");
    assert!(header < 160, "fixed part {header} bytes");
}

// ---------------------------------------------------------------------------------------------
// Golden vectors
// ---------------------------------------------------------------------------------------------

fn golden_cases() -> Vec<(&'static str, Message)> {
    let server = ReplicaId::new(0, 0);
    let t1 = ReplicaId::new(1, 0);
    let t3 = ReplicaId::new(3, 0x0123_4567_89ab_cdef);
    let store = PharmacyId::new(42);
    let hlc = |ms: u64, l: u16| Hlc::new(ms, l);
    let mut chain = Chain::default();
    // The chain of T3 before seq 6 and of the server before seq 19, as digests (their
    // transactions are not part of the vectors).
    chain.0.insert(t3, Digest([0x35; 16]));
    chain.0.insert(server, Digest([0x18; 16]));
    chain.0.insert(t1, Digest([0x08; 16]));
    let amox = LotInfo {
        key: key(t3, 1),
        created_seq: 6,
        sku: 1042,
        ndc: "0093-4155-73".parse().unwrap(),
        lot_number: "A1234B".into(),
        expiry: date("2027-06-30"),
        controlled: false,
    };
    let receive = chain.link(Txn {
        id: TxnId {
            replica: t3,
            seq: 6,
        },
        hlc: hlc(1_772_355_600_000, 0),
        kind: TxnKind::Receive,
        reason: Reason::None,
        lines: vec![Line {
            lot: amox.key,
            delta: 100,
        }],
        new_lots: vec![amox.clone()],
        holds: Vec::new(),
        transfer: None,
        meta: vec![(amox.key, "A-03-2".into())],
        compensates: None,
        reference: "INV-20260301-17".into(),
        prev: Digest::default(),
        digest: Digest::default(),
    });
    let dispense = chain.link(Txn {
        id: TxnId {
            replica: t3,
            seq: 7,
        },
        hlc: hlc(1_772_359_200_000, 1),
        kind: TxnKind::Dispense,
        lines: vec![
            Line {
                lot: amox.key,
                delta: -30,
            },
            Line {
                lot: key(server, 118),
                delta: -30,
            },
        ],
        new_lots: Vec::new(),
        meta: Vec::new(),
        reference: "RX-1000234".into(),
        ..receive.clone()
    });
    let (receive, dispense) = (receive, with_seal(store, &dispense));
    let oxy = LotInfo {
        key: key(server, 4000),
        created_seq: 12,
        sku: 77,
        ndc: "59011-410-10".parse().unwrap(),
        lot_number: "OX9921".into(),
        expiry: date("2026-11-30"),
        controlled: true,
    };
    let hold = chain.link(Txn {
        id: TxnId {
            replica: server,
            seq: 19,
        },
        hlc: hlc(1_772_300_000_000, 0),
        kind: TxnKind::Hold,
        reason: Reason::Recalled,
        lines: Vec::new(),
        new_lots: Vec::new(),
        holds: vec![HoldOp::Place {
            lot: oxy.key,
            reference: "FDA-RECALL-D-0421-2026".into(),
        }],
        transfer: None,
        meta: Vec::new(),
        compensates: None,
        reference: String::new(),
        prev: Digest::default(),
        digest: Digest::default(),
    });
    let transfer_in = chain.link(Txn {
        id: TxnId {
            replica: t1,
            seq: 9,
        },
        hlc: hlc(1_772_350_000_000, 2),
        kind: TxnKind::TransferIn,
        reason: Reason::None,
        lines: vec![Line {
            lot: key(server, 118),
            delta: 60,
        }],
        new_lots: Vec::new(),
        holds: Vec::new(),
        transfer: Some(TransferId {
            from: PharmacyId::new(7),
            number: 311,
        }),
        meta: Vec::new(),
        compensates: None,
        reference: "TR-7-311".into(),
        prev: Digest::default(),
        digest: Digest::default(),
    });
    let release = chain.link(Txn {
        id: TxnId {
            replica: server,
            seq: 20,
        },
        hlc: hlc(1_772_400_000_000, 0),
        holds: vec![HoldOp::Release { hold: hold.id }],
        reason: Reason::None,
        reference: "recall closed".into(),
        ..hold.clone()
    });
    let discrepancy = DiscrepancyId {
        lot: key(server, 118),
        version: 0x0123_4567_89ab_cdef,
    };
    let compensation = chain.link(Txn {
        id: TxnId {
            replica: server,
            seq: 21,
        },
        hlc: hlc(1_772_400_000_500, 0),
        kind: TxnKind::Compensation,
        reason: Reason::Reconciliation,
        lines: vec![
            Line {
                lot: key(server, 118),
                delta: 4,
            },
            Line {
                lot: key(server, 119),
                delta: -4,
            },
        ],
        new_lots: Vec::new(),
        holds: Vec::new(),
        transfer: None,
        meta: Vec::new(),
        compensates: Some(discrepancy),
        reference: String::new(),
        prev: Digest::default(),
        digest: Digest::default(),
    });
    let delta = StateDelta {
        base: vv_of(&[(server, 18), (t1, 8), (t3, 5)]),
        vv: vv_of(&[(server, 19), (t1, 9), (t3, 7)]),
        lots: vec![oxy.clone(), amox.clone()],
        cells: vec![
            (key(server, 118), t1, 0, 12),
            (key(server, 4000), t1, 0, 3),
            (key(t3, 1), t1, 0, 30),
            (key(server, 118), t3, 0, 30),
            (key(t3, 1), t3, 100, 30),
        ],
        holds: vec![(hold.id, oxy.key, "FDA-RECALL-D-0421-2026".into())],
        releases: Vec::new(),
        transfers: vec![(
            TransferId {
                from: PharmacyId::new(7),
                number: 311,
            },
            transfer_in.id,
            key(server, 118),
            60,
        )],
        compensations: Vec::new(),
        meta: vec![(
            amox.key,
            Lww {
                value: "A-03-2".into(),
                hlc: receive.hlc,
                by: receive.id,
            },
        )],
        heads: vec![
            unsealed(hold.clone()),
            unsealed(transfer_in.clone()),
            unsealed((*dispense.txn).clone()),
        ],
    };
    let delta = with_head_seals(store, delta);
    let other = StateDelta {
        base: vv_of(&[(server, 19), (t1, 9)]),
        vv: vv_of(&[(server, 21), (t1, 9)]),
        lots: Vec::new(),
        cells: vec![
            (key(server, 118), server, 4, 0),
            (key(server, 119), server, 0, 4),
        ],
        holds: Vec::new(),
        releases: vec![(hold.id, release.id)],
        transfers: Vec::new(),
        compensations: vec![(discrepancy, compensation.id)],
        meta: Vec::new(),
        // The sender lacks this head's seal (the root does not need one for a head it
        // holds).
        heads: vec![unsealed(compensation.clone())],
    };
    let acks = |entries: &[(ReplicaId, &Txn)]| -> Acks {
        entries
            .iter()
            .map(|(r, t)| {
                let key = common::origin_key(store, r.terminal);
                (*r, Ack::sealed(1, t.id.seq, t.digest, &key, store))
            })
            .collect()
    };
    vec![
        (
            "hello",
            sealed(
                store,
                t3,
                Body::Hello {
                    vv: vv_of(&[(server, 17), (t3, 5)]),
                    hlc: hlc(1_772_355_000_000, 3),
                },
            ),
        ),
        (
            "welcome",
            sealed(
                store,
                server,
                Body::Welcome {
                    vv: vv_of(&[(server, 20), (t1, 9), (t3, 5)]),
                    acks: acks(&[(server, &release), (t1, &transfer_in)]),
                    hlc: hlc(1_772_355_000_120, 0),
                    root: true,
                },
            ),
        ),
        (
            "upload",
            sealed(
                store,
                t3,
                Body::Upload {
                    txns: vec![unsealed(receive.clone()), dispense.clone()],
                },
            ),
        ),
        (
            "upload_ack",
            sealed(
                store,
                server,
                Body::UploadAck {
                    vv: vv_of(&[(server, 21), (t1, 9), (t3, 7)]),
                    acks: acks(&[(t3, &dispense.txn)]),
                    refused: vec![Refusal::sealed(
                        &transfer_in,
                        &common::origin_key(store, t1.terminal),
                        store,
                    )],
                },
            ),
        ),
        ("delta", sealed(store, server, Body::Delta { delta })),
        (
            "upload_other_kinds",
            sealed(
                store,
                t1,
                Body::Upload {
                    // Runs: the server's 19–20, T1's 9, the server's 21.
                    txns: vec![
                        unsealed(hold),
                        with_seal(store, &release),
                        with_seal(store, &transfer_in),
                        with_seal(store, &compensation),
                    ],
                },
            ),
        ),
        (
            "delta_other_sections",
            sealed(store, server, Body::Delta { delta: other }),
        ),
    ]
}

/// `delta` with every head sealed by its origin over the head and its replica's effects as
/// the delta alone carries them (what a receiver holding nothing of that replica computes).
fn with_head_seals(store: PharmacyId, mut delta: StateDelta) -> StateDelta {
    let seals: Vec<Tag> = delta
        .heads
        .iter()
        .map(|h| {
            let r = h.txn.id.replica;
            let effects = InventoryState::new(store).effects_digest(&r, Some(&delta));
            h.txn
                .head_seal(&common::origin_key(store, r.terminal), store, &effects)
        })
        .collect();
    for (h, seal) in delta.heads.iter_mut().zip(seals) {
        h.seal = Some(seal);
    }
    delta
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/sync")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn golden_vectors() {
    let dir = golden_dir();
    let bless = std::env::var_os("PHARM_BLESS").is_some();
    for (name, msg) in golden_cases() {
        let bytes = encode(&msg).unwrap();
        let json = serde_json::to_string_pretty(&msg).unwrap() + "\n";
        let hex_path = dir.join(format!("{name}.hex"));
        let json_path = dir.join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&hex_path, to_hex(&bytes) + "\n").unwrap();
            std::fs::write(&json_path, &json).unwrap();
        }
        let stored_hex = std::fs::read_to_string(&hex_path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with PHARM_BLESS=1)", hex_path.display()));
        let stored_json = std::fs::read_to_string(&json_path).unwrap();
        let stored_bytes = from_hex(&stored_hex);
        let stored_msg: Message = serde_json::from_str(&stored_json).unwrap();

        // The JSON describes the hand-built message, and re-encodes to the stored bytes.
        assert_eq!(
            stored_msg, msg,
            "{name}.json differs from the built message"
        );
        assert_eq!(
            to_hex(&encode(&stored_msg).unwrap()),
            to_hex(&stored_bytes),
            "{name}: encoding changed"
        );
        // The stored bytes decode to the JSON value, and their tag and seals verify with
        // the keys the vectors' README gives.
        let decoded = decode(&stored_bytes, &limits()).unwrap();
        assert_eq!(
            decoded, stored_msg,
            "{name}.hex does not decode to {name}.json"
        );
        assert!(
            decoded.verify(&common::link_key(decoded.store)),
            "{name}: hop tag"
        );
        if let Body::Delta { delta } = &decoded.body {
            for SealedTxn { txn: t, seal } in &delta.heads {
                let r = t.id.replica;
                let k = common::origin_key(decoded.store, r.terminal);
                let effects = InventoryState::new(decoded.store).effects_digest(&r, Some(delta));
                assert!(
                    seal.is_none_or(|seal| t.head_seal_is_valid(
                        &k,
                        decoded.store,
                        &effects,
                        &seal
                    )),
                    "{name}: head {:?}",
                    t.id
                );
            }
        }
        if let Body::Upload { txns } = &decoded.body {
            for SealedTxn { txn: t, seal } in txns {
                let k = common::origin_key(decoded.store, t.id.replica.terminal);
                assert!(
                    seal.is_none_or(|seal| t.seal_is_valid(&k, decoded.store, &seal)),
                    "{name}: {:?}",
                    t.id
                );
            }
        }
        if let Body::Welcome { acks, .. } | Body::UploadAck { acks, .. } = &decoded.body {
            for (r, ack) in acks {
                let k = common::origin_key(decoded.store, r.terminal);
                assert!(ack.is_sealed_by(&k, decoded.store), "{name}: ack of {r}");
            }
        }
        assert_eq!(peek_store(&stored_bytes).unwrap(), msg.store);
        println!("{name}: {} bytes", stored_bytes.len());
    }
}
