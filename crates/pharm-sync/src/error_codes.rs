//! Stable error codes of pharm-sync (range 3000-3999, ids `sync.*`): every variant of every
//! public error type has a numeric code and a string id ([`ErrorCode`]) that never change
//! meaning, listed in [`ERROR_CODES`]. They are what the C ABI and the Python wheel return.
//!
//! An error that wraps another (for example [`ProtocolError::Decode`] or [`StoreError::Op`])
//! reports its own code; the inner error, with its own code, is its field and its
//! [`source`](std::error::Error::source).

use pharm_core::error_code::{ErrorCode, ErrorCodeInfo};

use crate::auth::KeyLengthError;
use crate::codec::{DecodeError, EncodeError};
use crate::cs_log::CsLogError;
use crate::ids::IdError;
use crate::json::JsonError;
use crate::leader::ElectionError;
use crate::protocol::ProtocolError;
use crate::replica::OpError;
use crate::state::DeltaError;
#[cfg(feature = "sqlite")]
use crate::store::StoreError;

/// Builds [`ERROR_CODES`] and one [`ErrorCode`] impl per type from one list, so the table
/// and the codes cannot disagree (and every variant must be listed: the matches are
/// exhaustive).
macro_rules! error_codes {
    ($( $(#[$cfg:meta])* $ty:ident { $( $pat:pat => $code:literal, $id:literal, $summary:literal; )* } )*) => {
        /// Every error code of pharm-sync: code, id and a one-line summary, in code order.
        pub const ERROR_CODES: &[ErrorCodeInfo] = &[
            $( $( ErrorCodeInfo { code: $code, id: $id, summary: $summary }, )* )*
        ];
        $(
            $(#[$cfg])*
            impl ErrorCode for $ty {
                fn code(&self) -> u32 {
                    #[allow(unused_variables)]
                    match self { $( $pat => $code, )* }
                }
                fn id(&self) -> &'static str {
                    #[allow(unused_variables)]
                    match self { $( $pat => $id, )* }
                }
            }
        )*
    };
}

error_codes! {
    IdError {
        IdError::IncarnationsExhausted { .. } => 3000, "sync.id_incarnations_exhausted", "no fresh incarnation could be drawn (the randomness keeps repeating)";
        IdError::Parse(_) => 3001, "sync.id_parse", "a replica id is not `T<terminal>.<incarnation>`";
    }
    KeyLengthError {
        KeyLengthError(_) => 3020, "sync.key_length", "a key is not 32 bytes";
    }
    EncodeError {
        EncodeError::StringTooLong { .. } => 3040, "sync.encode_string_too_long", "a string is longer than the wire format allows";
        EncodeError::TooMany { .. } => 3041, "sync.encode_too_many", "a list has more items than the wire format allows";
    }
    DecodeError {
        DecodeError::Truncated { .. } => 3060, "sync.decode_truncated", "the message ends inside a field";
        DecodeError::BadMagic { .. } => 3061, "sync.decode_bad_magic", "the bytes are not a pharm-sync message";
        DecodeError::UnsupportedVersion { .. } => 3062, "sync.decode_unsupported_version", "the message has a format version this build does not read";
        DecodeError::UnknownMessageType { .. } => 3063, "sync.decode_unknown_message_type", "the message type byte is unknown";
        DecodeError::TooLarge { .. } => 3064, "sync.decode_too_large", "the message is larger than the limit";
        DecodeError::OverlongVarint { .. } => 3065, "sync.decode_overlong_varint", "an integer is not in its shortest encoding";
        DecodeError::VarintOverflow { .. } => 3066, "sync.decode_varint_overflow", "an integer does not fit in 64 bits";
        DecodeError::InvalidUtf8 { .. } => 3067, "sync.decode_invalid_utf8", "a string is not valid UTF-8";
        DecodeError::InvalidValue { .. } => 3068, "sync.decode_invalid_value", "a field holds a value outside its domain";
        DecodeError::LimitExceeded { .. } => 3069, "sync.decode_limit_exceeded", "a list is longer than the decoding limit";
        DecodeError::TrailingBytes { .. } => 3070, "sync.decode_trailing_bytes", "bytes follow the end of the message";
    }
    DeltaError {
        DeltaError::MissingHead { .. } => 3100, "sync.delta_missing_head", "a delta raises a replica without its head transaction";
        DeltaError::InconsistentHead { .. } => 3101, "sync.delta_inconsistent_head", "a delta's head does not match its effects or its chain";
        DeltaError::BeyondVersion { .. } => 3102, "sync.delta_beyond_version", "a delta carries an effect beyond its version vector";
        DeltaError::Inflated { .. } => 3103, "sync.delta_inflated", "a delta's cell exceeds what its version allows";
        DeltaError::UnknownLot(_) => 3104, "sync.delta_unknown_lot", "a delta touches a lot nobody created";
        DeltaError::Forked { .. } => 3105, "sync.delta_forked", "a delta carries another history of a replica";
    }
    OpError {
        OpError::Quantity(_) => 3140, "sync.op_quantity", "a quantity is zero or too large";
        OpError::UnknownLot(_) => 3141, "sync.op_unknown_lot", "the lot is not known at this replica";
        OpError::NoLots(_) => 3142, "sync.op_no_lots", "the SKU has no lot to charge";
        OpError::Held(_) => 3143, "sync.op_held", "the scanned lot is on hold";
        OpError::WrongSku { .. } => 3144, "sync.op_wrong_sku", "the scanned lot belongs to another SKU";
        OpError::AlreadyReceived(_) => 3145, "sync.op_already_received", "the transfer was already received";
        OpError::NoSuchHold(_) => 3146, "sync.op_no_such_hold", "the hold is not active";
        OpError::Unencodable(_) => 3147, "sync.op_unencodable", "the transaction cannot be encoded";
        OpError::Superseded(_) => 3148, "sync.op_superseded", "the replica is superseded: recover it first";
        OpError::LotNumbersExhausted => 3149, "sync.op_lot_numbers_exhausted", "no local lot number is left";
        OpError::NothingToRecord => 3150, "sync.op_nothing_to_record", "the count matches or the lot is empty: nothing recorded";
        OpError::Refused(_) => 3151, "sync.op_refused", "the state refused the transaction (a bug)";
        OpError::Incarnation(_) => 3152, "sync.op_incarnation", "no fresh incarnation could be drawn for a restore (inner error: the id's)";
    }
    JsonError {
        JsonError::TooLarge { .. } => 3160, "sync.json_too_large", "a JSON document (an operation) exceeds the size limit";
        JsonError::Syntax { .. } => 3161, "sync.json_syntax", "a JSON document (an operation) is not well-formed JSON";
        JsonError::Invalid { .. } => 3162, "sync.json_invalid", "a JSON document (an operation) does not match its form (unknown or missing field, wrong type or value)";
    }
    ProtocolError {
        ProtocolError::WrongStore { .. } => 3200, "sync.protocol_wrong_store", "the message is for another store";
        ProtocolError::UnknownSender(_) => 3201, "sync.protocol_unknown_sender", "the sender is not a member of the store";
        ProtocolError::FromSelf(_) => 3202, "sync.protocol_from_self", "the message claims to come from this replica";
        ProtocolError::BadTag(_) => 3203, "sync.protocol_bad_tag", "the message's hop tag does not verify";
        ProtocolError::MissingKey(_) => 3204, "sync.protocol_missing_key", "the key ring lacks a key this step needs";
        ProtocolError::UnknownOrigin(_) => 3205, "sync.protocol_unknown_origin", "a transaction's origin terminal is not a member";
        ProtocolError::BadSeal(_) => 3206, "sync.protocol_bad_seal", "an origin seal does not verify";
        ProtocolError::Unsealed(_) => 3207, "sync.protocol_unsealed", "a run or a raised head arrived without the seal it needs";
        ProtocolError::RelayRefused { .. } => 3208, "sync.protocol_relay_refused", "a store leader was given another terminal's transaction";
        ProtocolError::Invalid(_) => 3209, "sync.protocol_invalid", "the message breaks a protocol rule";
        ProtocolError::Delta(_) => 3210, "sync.protocol_delta", "a delta was refused (inner error: the delta's)";
        ProtocolError::TooManyTransactions(_) => 3211, "sync.protocol_too_many_transactions", "an upload carries too many transactions";
        ProtocolError::BufferFull { .. } => 3212, "sync.protocol_buffer_full", "the out-of-order buffer is full";
        ProtocolError::TooManyReplicas { .. } => 3213, "sync.protocol_too_many_replicas", "the store would exceed its replica limit";
        ProtocolError::Superseded(_) => 3214, "sync.protocol_superseded", "this replica is superseded: recover it";
        ProtocolError::Decode(_) => 3215, "sync.protocol_decode", "the bytes do not decode (inner error: the decoder's)";
        ProtocolError::Encode(_) => 3216, "sync.protocol_encode", "a reply cannot be encoded (inner error: the encoder's)";
        ProtocolError::Reissue(_) => 3217, "sync.protocol_reissue", "a forked transaction could not be issued again (inner error: the operation's)";
        ProtocolError::CsLink(_) => 3218, "sync.protocol_cs_link", "a restored incarnation's link contradicts the old incarnation held here (inner error: the log's)";
    }
    ElectionError {
        ElectionError::DriftNotBelowLease { .. } => 3300, "sync.election_drift_not_below_lease", "the clock drift bound is not below the lease";
        ElectionError::InvalidHeartbeat { .. } => 3301, "sync.election_invalid_heartbeat", "the heartbeat is zero or does not fit in the usable lease";
        ElectionError::InvalidElectionTimeout { .. } => 3302, "sync.election_invalid_timeout", "the election timeout range is empty, inverted or starts at zero";
        ElectionError::NotAMember(_) => 3303, "sync.election_not_a_member", "this replica is not in the member list";
        ElectionError::DuplicateMember(_) => 3304, "sync.election_duplicate_member", "a terminal appears twice in the member list";
    }
    #[cfg(feature = "sqlite")]
    StoreError {
        StoreError::Sqlite(_) => 3400, "sync.store_sqlite", "SQLite reported an error; nothing was committed";
        StoreError::Corrupt { .. } => 3401, "sync.store_corrupt", "the file's contents are inconsistent";
        StoreError::WalDamaged { .. } => 3402, "sync.store_wal_damaged", "the write-ahead log lost completed transactions";
        StoreError::RolledBack { .. } => 3403, "sync.store_rolled_back", "the database was rolled back";
        StoreError::NotFound(_) => 3404, "sync.store_not_found", "the file does not exist";
        StoreError::WrongStore { .. } => 3405, "sync.store_wrong_store", "the file belongs to another store or terminal";
        StoreError::NotAStore => 3406, "sync.store_not_a_store", "the file is not a pharm-sync store";
        StoreError::SchemaTooNew { .. } => 3407, "sync.store_schema_too_new", "the file was written by a newer schema";
        StoreError::SchemaTooOld { .. } => 3408, "sync.store_schema_too_old", "the file was written by an older schema";
        StoreError::NoWal(_) => 3409, "sync.store_no_wal", "WAL journal mode is unavailable";
        StoreError::InvalidPath(_) => 3410, "sync.store_invalid_path", "the path is not valid UTF-8";
        StoreError::TargetExists(_) => 3411, "sync.store_target_exists", "the target file already exists";
        StoreError::Id(_) => 3412, "sync.store_id", "no fresh incarnation could be drawn (inner error: the id's)";
        StoreError::MissingKey(_) => 3413, "sync.store_missing_key", "the key ring has no origin key for this terminal";
        StoreError::InvalidJson { .. } => 3414, "sync.store_invalid_json", "a cache body is not valid JSON";
        StoreError::Poisoned => 3415, "sync.store_poisoned", "the store must be reopened after a failed commit";
        StoreError::Op(_) => 3416, "sync.store_op", "the replica refused the operation (inner error: the operation's)";
        StoreError::Encode(_) => 3417, "sync.store_encode", "a transaction cannot be encoded (inner error: the encoder's)";
        StoreError::Protocol(_) => 3418, "sync.store_protocol", "a sync message was refused (inner error: the protocol's)";
        StoreError::Crashed { .. } => 3419, "sync.store_crashed", "the store crashed at an armed crash point before COMMIT; reopen it";
    }
    CsLogError {
        CsLogError::Edited { .. } => 3500, "sync.cs_edited", "a controlled-substance log entry was edited (its digest does not match)";
        CsLogError::Reordered { .. } => 3501, "sync.cs_reordered", "a controlled-substance log entry is out of order";
        CsLogError::Missing { .. } => 3502, "sync.cs_missing", "an entry before this one of the controlled-substance log is missing";
        CsLogError::BrokenLink { .. } => 3503, "sync.cs_broken_link", "a restored segment does not link to its predecessor as it claims";
        CsLogError::Malformed { .. } => 3504, "sync.cs_malformed", "a controlled-substance log entry is malformed";
        CsLogError::TooMany { .. } => 3505, "sync.cs_too_many", "the exported log has more entries than the audit takes";
        CsLogError::LinkMismatch { .. } => 3506, "sync.cs_link_mismatch", "a restore link names a head the holder holds with another digest";
    }
}

#[cfg(test)]
mod tests {
    use pharm_core::error_code::check_table;
    use pharm_core::ids::PharmacyId;

    use super::*;
    use crate::ids::{ReplicaId, TxnId};
    use crate::replica::Superseded;
    use crate::state::Applied;
    use crate::txn::{LotKey, TransferId};

    fn row_of(e: &dyn ErrorCode) -> (u32, &'static str) {
        (e.code(), e.id())
    }

    /// One value of every variant of every public error type.
    fn every_error() -> Vec<(u32, &'static str)> {
        let r = ReplicaId::new(1, 2);
        let t = TxnId { replica: r, seq: 3 };
        let lot = LotKey {
            origin: r,
            local_no: 1,
        };
        let store = PharmacyId::new(42);
        let enc = || EncodeError::TooMany {
            field: "lines",
            count: 2,
            max: 1,
        };
        let dec = || DecodeError::Truncated {
            offset: 0,
            field: "magic",
        };
        let op = || OpError::NothingToRecord;
        let mismatch = || CsLogError::LinkMismatch {
            restored: r,
            predecessor: t,
            claimed: crate::auth::Digest::default(),
            held: crate::auth::Digest([1; 16]),
        };
        let superseded = Superseded::Behind { have: 1, seen: 2 };
        let mut all: Vec<(u32, &'static str)> = Vec::new();
        let ids = [
            IdError::IncarnationsExhausted {
                terminal: 1,
                attempts: 2,
            },
            IdError::Parse("x".into()),
        ];
        all.extend(ids.iter().map(|e| row_of(e)));
        all.push(row_of(&KeyLengthError(3)));
        let encs = [
            EncodeError::StringTooLong {
                field: "reference",
                len: 2,
                max: 1,
            },
            enc(),
        ];
        all.extend(encs.iter().map(|e| row_of(e)));
        let decs = [
            dec(),
            DecodeError::BadMagic {
                offset: 0,
                expected: *b"PHS",
            },
            DecodeError::UnsupportedVersion {
                offset: 3,
                version: 9,
            },
            DecodeError::UnknownMessageType {
                offset: 4,
                type_byte: 9,
            },
            DecodeError::TooLarge {
                offset: 0,
                len: 2,
                max: 1,
            },
            DecodeError::OverlongVarint {
                offset: 0,
                field: "seq",
            },
            DecodeError::VarintOverflow {
                offset: 0,
                field: "seq",
            },
            DecodeError::InvalidUtf8 {
                offset: 0,
                field: "reference",
            },
            DecodeError::InvalidValue {
                offset: 0,
                field: "kind",
            },
            DecodeError::LimitExceeded {
                offset: 0,
                what: "txns",
                count: 2,
                max: 1,
            },
            DecodeError::TrailingBytes {
                offset: 0,
                remaining: 1,
            },
        ];
        all.extend(decs.iter().map(|e| row_of(e)));
        let delta = || DeltaError::UnknownLot(lot);
        let deltas = [
            DeltaError::MissingHead { replica: r, seq: 1 },
            DeltaError::InconsistentHead {
                head: t,
                why: "digest",
            },
            DeltaError::BeyondVersion {
                what: "cell",
                stamp: t,
            },
            DeltaError::Inflated { lot, replica: r },
            delta(),
            DeltaError::Forked { replica: r, seq: 1 },
        ];
        all.extend(deltas.iter().map(|e| row_of(e)));
        let ops = [
            OpError::Quantity(0),
            OpError::UnknownLot(lot),
            OpError::NoLots(1),
            OpError::Held(lot),
            OpError::WrongSku {
                lot,
                expected: 1,
                actual: 2,
            },
            OpError::AlreadyReceived(TransferId {
                from: store,
                number: 1,
            }),
            OpError::NoSuchHold(t),
            OpError::Unencodable(enc()),
            OpError::Superseded(superseded),
            OpError::LotNumbersExhausted,
            op(),
            OpError::Refused(Applied::Duplicate),
            OpError::Incarnation(IdError::Parse("x".into())),
        ];
        all.extend(ops.iter().map(|e| row_of(e)));
        let jsons = [
            JsonError::TooLarge {
                document: "operation",
                size: 2,
                limit: 1,
            },
            JsonError::Syntax {
                document: "operation",
                line: 1,
                column: 1,
                reason: "x".into(),
            },
            JsonError::Invalid {
                document: "operation",
                line: 1,
                column: 1,
                reason: "x".into(),
            },
        ];
        all.extend(jsons.iter().map(|e| row_of(e)));
        let protocol = [
            ProtocolError::WrongStore {
                expected: store,
                got: PharmacyId::new(43),
            },
            ProtocolError::UnknownSender(r),
            ProtocolError::FromSelf(r),
            ProtocolError::BadTag(r),
            ProtocolError::MissingKey("link"),
            ProtocolError::UnknownOrigin(t),
            ProtocolError::BadSeal(t),
            ProtocolError::Unsealed(t),
            ProtocolError::RelayRefused { from: r, txn: t },
            ProtocolError::Invalid("x".into()),
            ProtocolError::Delta(delta()),
            ProtocolError::TooManyTransactions(2),
            ProtocolError::BufferFull {
                buffered: 2,
                max: 1,
            },
            ProtocolError::TooManyReplicas {
                replicas: 2,
                max: 1,
            },
            ProtocolError::Superseded(superseded),
            ProtocolError::Decode(dec()),
            ProtocolError::Encode(enc()),
            ProtocolError::Reissue(op()),
            ProtocolError::CsLink(mismatch()),
        ];
        all.extend(protocol.iter().map(|e| row_of(e)));
        let cs = [
            CsLogError::Edited { index: 0, txn: t },
            CsLogError::Reordered { index: 0, txn: t },
            CsLogError::Missing { index: 0, txn: t },
            CsLogError::BrokenLink {
                index: 0,
                txn: t,
                predecessor: r,
            },
            CsLogError::Malformed {
                index: 0,
                txn: t,
                why: "x",
            },
            CsLogError::TooMany { count: 2, max: 1 },
            mismatch(),
        ];
        all.extend(cs.iter().map(|e| row_of(e)));
        let election = [
            ElectionError::DriftNotBelowLease {
                max_clock_drift_ms: 2,
                lease_ms: 1,
            },
            ElectionError::InvalidHeartbeat {
                heartbeat_ms: 0,
                usable_lease_ms: 1,
            },
            ElectionError::InvalidElectionTimeout { min: 0, max: 0 },
            ElectionError::NotAMember(r),
            ElectionError::DuplicateMember(r),
        ];
        all.extend(election.iter().map(|e| row_of(e)));
        #[cfg(feature = "sqlite")]
        {
            use std::path::PathBuf;
            let store_errors = [
                StoreError::Sqlite(rusqlite::Error::InvalidQuery),
                StoreError::Corrupt { what: "x".into() },
                StoreError::WalDamaged { frame: 1 },
                StoreError::RolledBack { missing: 1 },
                StoreError::NotFound(PathBuf::from("a")),
                StoreError::WrongStore {
                    expected_store: store,
                    expected_terminal: Some(1),
                    found_store: store,
                    found_replica: r,
                },
                StoreError::NotAStore,
                StoreError::SchemaTooNew {
                    found: 3,
                    supported: 2,
                },
                StoreError::SchemaTooOld {
                    found: 1,
                    supported: 2,
                },
                StoreError::NoWal("memory".into()),
                StoreError::InvalidPath(PathBuf::from("a")),
                StoreError::TargetExists(PathBuf::from("a")),
                StoreError::Id(IdError::Parse("x".into())),
                StoreError::MissingKey(1),
                StoreError::InvalidJson {
                    table: "patients",
                    id: "1".into(),
                },
                StoreError::Poisoned,
                StoreError::Op(op()),
                StoreError::Encode(enc()),
                StoreError::Protocol(ProtocolError::Decode(dec())),
                StoreError::Crashed { writes: 3 },
            ];
            all.extend(store_errors.iter().map(|e| row_of(e)));
        }
        all
    }

    #[test]
    fn the_table_is_valid() {
        assert_eq!(check_table("sync", ERROR_CODES), Ok(()));
        assert!(ERROR_CODES.windows(2).all(|w| w[0].code < w[1].code));
        assert!(ERROR_CODES.iter().all(|r| !r.summary.is_empty()));
    }

    #[test]
    fn every_variant_has_its_row() {
        let all = every_error();
        for (code, id) in &all {
            assert!(
                ERROR_CODES.iter().any(|r| r.code == *code && r.id == *id),
                "{code} {id} is not in ERROR_CODES"
            );
        }
        // One value per row (with the store's rows only under `sqlite`): no row is unused.
        let mut codes: Vec<u32> = all.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "two variants share a code");
        let expected = ERROR_CODES
            .iter()
            .filter(|r| cfg!(feature = "sqlite") || !r.id.starts_with("sync.store_"))
            .count();
        assert_eq!(codes.len(), expected);
    }
}
