//! Wire codec: round trips, robustness against hostile input, limits, golden vectors shared
//! with the C and Python bindings (`testdata/golden/sync/`), and the delta byte budget.
//!
//! Regenerate the golden vectors after an intended format change with
//! `PHARM_BLESS=1 cargo test -p pharm-sync --test codec golden` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use crdts::{CmRDT, Dot};
use pharm_core::ids::{Ndc, NdcLayout};
use pharm_core::time::Date;
use pharm_sync::codec::{
    DecodeError, DecodeLimits, EncodeError, MAX_STRING_BYTES, decode, decode_txn, encode,
    encode_txn, peek_store,
};
use pharm_sync::hlc::Hlc;
use pharm_sync::ids::{ReplicaId, StoreId, TxnId};
use pharm_sync::protocol::Message;
use pharm_sync::state::{InventoryState, Lww, StateDelta, VersionVector};
use pharm_sync::txn::{
    DiscrepancyId, HoldOp, Line, LotInfo, LotKey, Reason, TransferId, Txn, TxnKind,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn vv_of(entries: &[(ReplicaId, u64)]) -> VersionVector {
    let mut vv = VersionVector::new();
    for &(r, s) in entries {
        vv.apply(Dot::new(r, s));
    }
    vv
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
    }
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

fn replica() -> impl Strategy<Value = ReplicaId> {
    prop_oneof![
        (0u16..4, 0u16..3).prop_map(|(t, i)| ReplicaId::new(t, i)),
        any::<(u16, u16)>().prop_map(|(t, i)| ReplicaId::new(t, i)),
    ]
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
        from: StoreId(s),
        number,
    })
}

fn discrepancy() -> impl Strategy<Value = DiscrepancyId> {
    (lot_key(), any::<u64>()).prop_map(|(lot, version)| DiscrepancyId { lot, version })
}

fn txn() -> impl Strategy<Value = Txn> {
    let head = (txn_id(), any::<u64>(), kind(), reason());
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
            (id, hlc, kind, reason),
            lines,
            (new_lots, holds, transfer, meta, compensates, reference),
        )| Txn {
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
        },
    )
}

fn vv() -> impl Strategy<Value = VersionVector> {
    // Built on `dots` directly so that explicit zero entries are covered too.
    prop::collection::btree_map(replica(), u64_any(), 0..6).prop_map(|dots| {
        let mut vv = VersionVector::new();
        vv.dots = dots;
        vv
    })
}

fn delta() -> impl Strategy<Value = StateDelta> {
    let cell = (lot_key(), replica(), u64_any(), u64_any());
    (
        vv(),
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
    )
        .prop_map(
            |(vv, lots, (mut cells, sorted), holds, releases, transfers, compensations, meta)| {
                if sorted {
                    // The order `delta_since` produces.
                    cells.sort_by_key(|c| (c.1, c.0));
                    cells.dedup_by_key(|c| (c.1, c.0));
                }
                StateDelta {
                    base: VersionVector::new(),
                    vv,
                    lots,
                    cells,
                    holds,
                    releases,
                    transfers,
                    compensations,
                    meta,
                }
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    let store = any::<u32>().prop_map(StoreId);
    prop_oneof![
        (store.clone(), replica(), vv(), any::<u64>()).prop_map(|(store, from, vv, h)| {
            Message::Hello {
                store,
                from,
                vv,
                hlc: Hlc(h),
            }
        }),
        (store.clone(), replica(), vv(), vv(), any::<u64>()).prop_map(
            |(store, from, vv, root_vv, h)| {
                Message::Welcome {
                    store,
                    from,
                    vv,
                    root_vv,
                    hlc: Hlc(h),
                }
            }
        ),
        (store.clone(), prop::collection::vec(txn(), 0..5))
            .prop_map(|(store, txns)| Message::Upload { store, txns }),
        (store.clone(), vv(), vv()).prop_map(|(store, vv, root_vv)| Message::UploadAck {
            store,
            vv,
            root_vv
        }),
        (store, delta()).prop_map(|(store, delta)| Message::Delta { store, delta }),
    ]
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
        prop_assert_eq!(peek_store(&bytes).unwrap(), m.store());
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
        // The same body inside an upload.
        let m = Message::Upload { store: StoreId(1), txns: vec![t] };
        prop_assert_eq!(roundtrip(&m), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), ty in 0u8..7) {
        let _ = decode(&bytes, &limits());
        let _ = decode_txn(&bytes, &limits());
        let _ = peek_store(&bytes);
        // The same garbage behind a valid header, to get past the magic.
        let mut framed = vec![b'P', b'H', b'S', 1, ty];
        framed.extend_from_slice(&bytes);
        let _ = decode(&framed, &limits());
        let mut blob = vec![b'P', b'H', b'T', 1];
        blob.extend_from_slice(&bytes);
        let _ = decode_txn(&blob, &limits());
    }

    #[test]
    fn flipped_byte_never_panics(m in message(), pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let mut bytes = encode(&m).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(m2) = decode(&bytes, &limits()) {
            // Whatever decodes re-encodes to something that decodes to the same value.
            let again = encode(&m2).unwrap();
            prop_assert_eq!(decode(&again, &limits()).unwrap(), m2);
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

    #[test]
    fn txn_blob_mutations_never_panic(t in txn(), pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let bytes = encode_txn(&t).unwrap();
        for len in (0..bytes.len()).take(512) {
            prop_assert!(decode_txn(&bytes[..len], &limits()).is_err());
        }
        let mut flipped = bytes.clone();
        let i = pos.index(flipped.len());
        flipped[i] ^= xor;
        let _ = decode_txn(&flipped, &limits());
    }
}

// ---------------------------------------------------------------------------------------------
// Header, errors and limits
// ---------------------------------------------------------------------------------------------

fn hello(store: u32) -> Message {
    Message::Hello {
        store: StoreId(store),
        from: ReplicaId::new(3, 0),
        vv: vv_of(&[(ReplicaId::new(0, 0), 17), (ReplicaId::new(3, 0), 5)]),
        hlc: Hlc::new(1_772_000_000_000, 3),
    }
}

#[test]
fn peek_store_reads_the_header_only() {
    let bytes = encode(&hello(300)).unwrap();
    assert_eq!(peek_store(&bytes).unwrap(), StoreId(300));
    // The header alone is enough (the body is not looked at).
    assert_eq!(peek_store(&bytes[..7]).unwrap(), StoreId(300));
    assert!(matches!(
        peek_store(&bytes[..6]),
        Err(DecodeError::Truncated { offset: 6, .. })
    ));
    assert!(matches!(
        peek_store(b"XYZ\x01\x01\x00"),
        Err(DecodeError::BadMagic { offset: 0, .. })
    ));
    assert!(matches!(
        peek_store(b"PHS\x02\x01\x00"),
        Err(DecodeError::UnsupportedVersion {
            offset: 3,
            version: 2
        })
    ));
    assert!(matches!(
        peek_store(b"PHS\x01\x09\x00"),
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
    // "PHS", version 1, type 1 (Hello), store 300 = ac 02.
    assert_eq!(&bytes[..7], &[0x50, 0x48, 0x53, 0x01, 0x01, 0xac, 0x02]);
}

#[test]
fn varint_errors() {
    // Store as an overlong varint (0x80 0x00) and as a 2^64 overflow.
    assert!(matches!(
        decode(b"PHS\x01\x01\x80\x00", &limits()),
        Err(DecodeError::OverlongVarint {
            offset: 5,
            field: "store"
        })
    ));
    let mut over = b"PHS\x01\x01".to_vec();
    over.extend_from_slice(&[0xff; 9]);
    over.push(0x02);
    assert!(matches!(
        decode(&over, &limits()),
        Err(DecodeError::VarintOverflow { offset: 5, .. })
    ));
    // u64::MAX is fine for a u64 field but overflows the u32 store.
    let mut max = b"PHS\x01\x01".to_vec();
    max.extend_from_slice(&[0xff; 9]);
    max.push(0x01);
    assert!(matches!(
        decode(&max, &limits()),
        Err(DecodeError::VarintOverflow {
            offset: 5,
            field: "store"
        })
    ));
    // u64::MAX as a sequence number round-trips.
    let m = Message::UploadAck {
        store: StoreId(u32::MAX),
        vv: vv_of(&[(ReplicaId::new(u16::MAX, u16::MAX), u64::MAX)]),
        root_vv: VersionVector::new(),
    };
    assert_eq!(roundtrip(&m), m);
}

#[test]
fn unsorted_version_vector_is_rejected() {
    // UploadAck, store 1, vv with replicas 5 then 3.
    let bytes = b"PHS\x01\x04\x01\x02\x05\x01\x03\x01\x00";
    assert!(matches!(
        decode(bytes, &limits()),
        Err(DecodeError::InvalidValue {
            offset: 9,
            field: "upload_ack.vv"
        })
    ));
    let ok = b"PHS\x01\x04\x01\x02\x03\x01\x05\x01\x00";
    assert!(decode(ok, &limits()).is_ok());
}

#[test]
fn strings_are_capped_on_both_sides() {
    let mut t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    t.reference = "x".repeat(MAX_STRING_BYTES);
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
    assert!(
        encode(&Message::Upload {
            store: StoreId(1),
            txns: vec![t]
        })
        .is_err()
    );
}

#[test]
fn invalid_utf8_names_the_offset() {
    let mut t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    t.reference = "RX-é".into();
    let mut bytes = encode_txn(&t).unwrap();
    let n = bytes.len();
    bytes[n - 1] = 0xff; // second byte of "é"
    assert!(matches!(
        decode_txn(&bytes, &limits()),
        Err(DecodeError::InvalidUtf8 { offset, field: "txn.reference" }) if offset == n - 2
    ));
}

#[test]
fn invalid_values_are_rejected() {
    let t = bare_txn(ReplicaId::new(1, 0), 1, TxnKind::Dispense, Vec::new());
    let good = encode_txn(&t).unwrap();
    // "PHT" 1 | replica 0x80 0x80 0x04 | seq 1 | hlc 8 bytes | kind/reason | flags | lines
    let kind_at = 4 + 3 + 1 + 8;
    let mut bad = good.clone();
    bad[kind_at] = 0x09; // kind 9
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
    let mut bad = good.clone();
    bad[kind_at + 1] = 0x40; // unknown flag
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "txn.flags",
            ..
        })
    ));
    // A flag announcing an empty reference is not canonical.
    let mut bad = good.clone();
    bad[kind_at + 1] = 0x20;
    bad.push(0);
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::InvalidValue {
            field: "txn.reference",
            ..
        })
    ));
    // Version 2 of a blob.
    let mut bad = good;
    bad[3] = 2;
    assert!(matches!(
        decode_txn(&bad, &limits()),
        Err(DecodeError::UnsupportedVersion {
            offset: 3,
            version: 2
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
    let txns: Vec<Txn> = (1..=3)
        .map(|s| bare_txn(r, s, TxnKind::Dispense, (0..4).map(line).collect()))
        .collect();
    let upload = encode(&Message::Upload {
        store: StoreId(1),
        txns,
    })
    .unwrap();
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
            offset: 6
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
    let delta = encode(&Message::Delta {
        store: StoreId(1),
        delta: StateDelta {
            cells,
            ..StateDelta::default()
        },
    })
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
    let ack = encode(&Message::UploadAck {
        store: StoreId(1),
        vv: vv.clone(),
        root_vv: vv,
    })
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
            what: "upload_ack.vv",
            count: 5,
            max: 4,
            ..
        })
    ));
}

#[test]
fn counts_beyond_the_input_are_truncation_not_allocation() {
    // Upload claiming 4,000 transactions in 2 more bytes.
    let mut m = b"PHS\x01\x03\x01".to_vec();
    m.extend_from_slice(&[0xa0, 0x1f, 0x00, 0x00]);
    assert!(matches!(
        decode(&m, &limits()),
        Err(DecodeError::Truncated {
            offset: 6,
            field: "upload.txns"
        })
    ));
    // Delta claiming 999,999 cells in one run.
    let mut d = b"PHS\x01\x05\x01".to_vec();
    d.extend_from_slice(&[
        0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xbf, 0x84, 0x3d, 0x00, 0x00, 0x00,
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
    let mut blob = encode_txn(&t).unwrap();
    blob.pop();
    assert!(matches!(
        decode_txn(&blob, &limits()),
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
    let good = encode_txn(&t).unwrap();
    assert_eq!(decode_txn(&good, &limits()).unwrap(), t);
    // Layout: "PHT" 1 | 1 txn_id(4) | hlc 8 | kind | flags | lines: count, key(4), delta | count 1 |
    // key(4) | created_seq | sku | labeler | product (2) | package | layout | len | "L" | expiry (4) | controlled
    let lot_at = 4 + 4 + 8 + 1 + 1 + 1 + 4 + 1 + 1;
    let layout_at = lot_at + 4 + 1 + 1 + 1 + 2 + 1;
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
    let mut bad = good;
    let last = bad.len() - 1;
    bad[last] = 2; // controlled must be 0 or 1
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
        let back = decode_txn(&encode_txn(&t).unwrap(), &limits()).unwrap();
        assert_eq!(back.new_lots[0].ndc.layout(), layout);
        assert_eq!(back, t);
    }
}

#[test]
fn real_delta_round_trips_and_joins() {
    // A delta produced by the state itself decodes to one that joins to the same state.
    let t0 = ReplicaId::new(0, 0);
    let t1 = ReplicaId::new(1, 0);
    let mut s = InventoryState::new(StoreId(9));
    let mut seqs = [0u64; 2];
    let mut rng = SplitMix(7);
    for i in 0..300u64 {
        let r = (i % 2) as usize;
        seqs[r] += 1;
        let lot = key(t0, (rng.next() % 1000) as u32);
        let delta = if rng.next().is_multiple_of(5) {
            (rng.next() % 24 + 1) as i64
        } else {
            -((rng.next() % 3 + 1) as i64)
        };
        let t = bare_txn(
            [t0, t1][r],
            seqs[r],
            TxnKind::Dispense,
            vec![Line { lot, delta }],
        );
        s.apply(&t);
    }
    let d = s.delta_since(&VersionVector::new());
    let m = Message::Delta {
        store: StoreId(9),
        delta: d,
    };
    let back = roundtrip(&m);
    assert_eq!(back, m);
    let Message::Delta { delta, .. } = back else {
        unreachable!()
    };
    let mut fresh = InventoryState::new(StoreId(9));
    fresh.join(&delta);
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

/// A terminal's offline day: `ops` transactions (80 % dispenses of 1..=60 units, 20 % receipts
/// of 1..=24) over `lots` lots received by the store server; returns the encoded size of the
/// delta of that terminal's cells, the size of the same delta without cells, and the cell count.
fn offline_day(ops: u64, lots: u64, seed: u64) -> (usize, usize, usize) {
    let server = ReplicaId::new(0, 0);
    let terminal = ReplicaId::new(3, 1);
    let mut s = InventoryState::new(StoreId(42));
    let mut rng = SplitMix(seed);
    for seq in 1..=ops {
        let lot = key(server, (rng.next() % lots) as u32);
        let delta = if rng.next().is_multiple_of(5) {
            (rng.next() % 24 + 1) as i64
        } else {
            -((rng.next() % 60 + 1) as i64)
        };
        let mut t = bare_txn(terminal, seq, TxnKind::Dispense, vec![Line { lot, delta }]);
        t.reference = format!("RX-{seq}");
        assert_eq!(s.apply(&t), pharm_sync::state::Applied::Applied);
    }
    let mut their = VersionVector::new();
    their.apply(Dot::new(server, 500));
    let delta = s.delta_since(&their);
    let cells = delta.cells.len();
    let m = Message::Delta {
        store: StoreId(42),
        delta: delta.clone(),
    };
    let bytes = encode(&m).unwrap();
    assert_eq!(decode(&bytes, &limits()).unwrap(), m);
    let total = bytes.len();
    let empty = StateDelta {
        base: VersionVector::new(),
        cells: Vec::new(),
        ..delta
    };
    let header = encode(&Message::Delta {
        store: StoreId(42),
        delta: empty,
    })
    .unwrap()
    .len();
    (total, header, cells)
}

#[test]
fn delta_byte_budget() {
    let (total, header, cells) = offline_day(2000, 45_000, 42);
    let per_cell = (total - header) as f64 / cells as f64;
    println!(
        "2,000-op offline day over 45,000 lots: {cells} touched lots, {total} bytes = {header} B fixed + {per_cell:.2} B per touched lot"
    );
    assert!((1900..=2000).contains(&cells), "{cells} touched lots");
    assert!(per_cell < 8.0, "{per_cell} bytes per touched lot");
    assert!(header < 64, "fixed part {header} bytes");
    assert!(total < 8 * cells + 64);
}

// ---------------------------------------------------------------------------------------------
// Golden vectors
// ---------------------------------------------------------------------------------------------

/// JSON form of a version vector entry. `serde_json` cannot write `VClock<ReplicaId>` itself
/// (its map keys are structs), so the golden JSON lists the entries, in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct VvEntry {
    replica: ReplicaId,
    seq: u64,
}

fn vv_to_json(vv: &VersionVector) -> Vec<VvEntry> {
    vv.dots
        .iter()
        .map(|(r, s)| VvEntry {
            replica: *r,
            seq: *s,
        })
        .collect()
}

fn vv_from_json(entries: &[VvEntry]) -> VersionVector {
    let mut vv = VersionVector::new();
    vv.dots = entries.iter().map(|e| (e.replica, e.seq)).collect();
    vv
}

/// JSON form of a `StateDelta` (as its serde form, with the version vector as a list).
#[derive(Debug, Serialize, Deserialize)]
struct JsonDelta {
    vv: Vec<VvEntry>,
    #[serde(default)]
    base: Vec<VvEntry>,
    lots: Vec<LotInfo>,
    cells: Vec<(LotKey, ReplicaId, u64, u64)>,
    holds: Vec<(TxnId, LotKey, String)>,
    releases: Vec<(TxnId, TxnId)>,
    transfers: Vec<(TransferId, TxnId, LotKey, u64)>,
    compensations: Vec<(DiscrepancyId, TxnId)>,
    meta: Vec<(LotKey, Lww)>,
}

/// JSON form of a `Message` (its serde form, with version vectors as lists).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonMessage {
    Hello {
        store: StoreId,
        from: ReplicaId,
        vv: Vec<VvEntry>,
        hlc: Hlc,
    },
    Welcome {
        store: StoreId,
        from: ReplicaId,
        vv: Vec<VvEntry>,
        root_vv: Vec<VvEntry>,
        hlc: Hlc,
    },
    Upload {
        store: StoreId,
        txns: Vec<Txn>,
    },
    UploadAck {
        store: StoreId,
        vv: Vec<VvEntry>,
        root_vv: Vec<VvEntry>,
    },
    Delta {
        store: StoreId,
        delta: JsonDelta,
    },
}

fn to_json(m: &Message) -> JsonMessage {
    match m.clone() {
        Message::Hello {
            store,
            from,
            vv,
            hlc,
        } => JsonMessage::Hello {
            store,
            from,
            vv: vv_to_json(&vv),
            hlc,
        },
        Message::Welcome {
            store,
            from,
            vv,
            root_vv,
            hlc,
        } => JsonMessage::Welcome {
            store,
            from,
            vv: vv_to_json(&vv),
            root_vv: vv_to_json(&root_vv),
            hlc,
        },
        Message::Upload { store, txns } => JsonMessage::Upload { store, txns },
        Message::UploadAck { store, vv, root_vv } => JsonMessage::UploadAck {
            store,
            vv: vv_to_json(&vv),
            root_vv: vv_to_json(&root_vv),
        },
        Message::Delta { store, delta: d } => JsonMessage::Delta {
            store,
            delta: JsonDelta {
                vv: vv_to_json(&d.vv),
                base: vv_to_json(&d.base),
                lots: d.lots,
                cells: d.cells,
                holds: d.holds,
                releases: d.releases,
                transfers: d.transfers,
                compensations: d.compensations,
                meta: d.meta,
            },
        },
    }
}

fn from_json(j: JsonMessage) -> Message {
    match j {
        JsonMessage::Hello {
            store,
            from,
            vv,
            hlc,
        } => Message::Hello {
            store,
            from,
            vv: vv_from_json(&vv),
            hlc,
        },
        JsonMessage::Welcome {
            store,
            from,
            vv,
            root_vv,
            hlc,
        } => Message::Welcome {
            store,
            from,
            vv: vv_from_json(&vv),
            root_vv: vv_from_json(&root_vv),
            hlc,
        },
        JsonMessage::Upload { store, txns } => Message::Upload { store, txns },
        JsonMessage::UploadAck { store, vv, root_vv } => Message::UploadAck {
            store,
            vv: vv_from_json(&vv),
            root_vv: vv_from_json(&root_vv),
        },
        JsonMessage::Delta { store, delta: d } => Message::Delta {
            store,
            delta: StateDelta {
                vv: vv_from_json(&d.vv),
                base: vv_from_json(&d.base),
                lots: d.lots,
                cells: d.cells,
                holds: d.holds,
                releases: d.releases,
                transfers: d.transfers,
                compensations: d.compensations,
                meta: d.meta,
            },
        },
    }
}

fn golden_cases() -> Vec<(&'static str, Message)> {
    let server = ReplicaId::new(0, 0);
    let t1 = ReplicaId::new(1, 0);
    let t3 = ReplicaId::new(3, 0);
    let store = StoreId(42);
    let hlc = |ms: u64, l: u16| Hlc::new(ms, l);
    let amox = LotInfo {
        key: key(t3, 1),
        created_seq: 6,
        sku: 1042,
        ndc: "0093-4155-73".parse().unwrap(),
        lot_number: "A1234B".into(),
        expiry: date("2027-06-30"),
        controlled: false,
    };
    let receive = Txn {
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
    };
    let dispense = Txn {
        id: TxnId {
            replica: t3,
            seq: 7,
        },
        hlc: hlc(1_772_359_200_000, 1),
        kind: TxnKind::Dispense,
        reason: Reason::None,
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
        holds: Vec::new(),
        transfer: None,
        meta: Vec::new(),
        compensates: None,
        reference: "RX-1000234".into(),
    };
    let oxy = LotInfo {
        key: key(server, 4000),
        created_seq: 12,
        sku: 77,
        ndc: "59011-410-10".parse().unwrap(),
        lot_number: "OX9921".into(),
        expiry: date("2026-11-30"),
        controlled: true,
    };
    let delta = StateDelta {
        base: VersionVector::new(),
        vv: vv_of(&[(server, 20), (t1, 9), (t3, 7)]),
        lots: vec![oxy.clone(), amox.clone()],
        cells: vec![
            (key(server, 118), t1, 0, 12),
            (key(server, 4000), t1, 0, 3),
            (key(t3, 1), t1, 0, 30),
            (key(server, 118), t3, 0, 30),
            (key(t3, 1), t3, 100, 30),
        ],
        holds: vec![(
            TxnId {
                replica: server,
                seq: 19,
            },
            oxy.key,
            "FDA-RECALL-D-0421-2026".into(),
        )],
        releases: Vec::new(),
        transfers: vec![(
            TransferId {
                from: StoreId(7),
                number: 311,
            },
            TxnId {
                replica: t1,
                seq: 9,
            },
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
    };
    // Every other part of a transaction and of a delta: hold place and release, transfer,
    // compensation, adjustment reasons, releases and compensations in a delta.
    let hold = Txn {
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
    };
    let release = Txn {
        id: TxnId {
            replica: server,
            seq: 21,
        },
        hlc: hlc(1_772_400_000_000, 0),
        holds: vec![HoldOp::Release { hold: hold.id }],
        reason: Reason::None,
        reference: "recall closed".into(),
        ..hold.clone()
    };
    let transfer_in = Txn {
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
            from: StoreId(7),
            number: 311,
        }),
        meta: Vec::new(),
        compensates: None,
        reference: "TR-7-311".into(),
    };
    let discrepancy = DiscrepancyId {
        lot: key(server, 118),
        version: 0x0123_4567_89ab_cdef,
    };
    let compensation = Txn {
        id: TxnId {
            replica: server,
            seq: 22,
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
    };
    let other = StateDelta {
        base: VersionVector::new(),
        vv: vv_of(&[(server, 22), (t1, 9)]),
        lots: Vec::new(),
        cells: vec![
            (key(server, 118), server, 4, 0),
            (key(server, 119), server, 0, 4),
        ],
        holds: vec![(hold.id, oxy.key, "FDA-RECALL-D-0421-2026".into())],
        releases: vec![(hold.id, release.id)],
        transfers: Vec::new(),
        compensations: vec![(discrepancy, compensation.id)],
        meta: Vec::new(),
    };
    vec![
        (
            "hello",
            Message::Hello {
                store,
                from: t3,
                vv: vv_of(&[(server, 17), (t3, 5)]),
                hlc: hlc(1_772_355_000_000, 3),
            },
        ),
        (
            "welcome",
            Message::Welcome {
                store,
                from: server,
                vv: vv_of(&[(server, 20), (t1, 9), (t3, 5)]),
                root_vv: vv_of(&[(server, 15), (t3, 4)]),
                hlc: hlc(1_772_355_000_120, 0),
            },
        ),
        (
            "upload",
            Message::Upload {
                store,
                txns: vec![receive, dispense],
            },
        ),
        (
            "upload_ack",
            Message::UploadAck {
                store,
                vv: vv_of(&[(server, 20), (t1, 9), (t3, 7)]),
                root_vv: vv_of(&[(server, 15), (t3, 4)]),
            },
        ),
        ("delta", Message::Delta { store, delta }),
        (
            "upload_other_kinds",
            Message::Upload {
                store,
                txns: vec![hold, release, transfer_in, compensation],
            },
        ),
        (
            "delta_other_sections",
            Message::Delta {
                store,
                delta: other,
            },
        ),
    ]
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
        let json = serde_json::to_string_pretty(&to_json(&msg)).unwrap() + "\n";
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
        let stored_msg = from_json(serde_json::from_str(&stored_json).unwrap());

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
        // The stored bytes decode to the JSON value.
        let decoded = decode(&stored_bytes, &limits()).unwrap();
        assert_eq!(
            serde_json::to_value(to_json(&decoded)).unwrap(),
            serde_json::from_str::<serde_json::Value>(&stored_json).unwrap(),
            "{name}.hex does not decode to {name}.json"
        );
        assert_eq!(peek_store(&stored_bytes).unwrap(), msg.store());
        println!("{name}: {} bytes", stored_bytes.len());
    }
}
