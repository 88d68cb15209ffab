//! Encoding of transaction bodies in the `transactions` table.
//!
//! Bodies are the crate's binary outbox blobs ([`crate::codec::encode_txn`]: magic `"PHT"`,
//! format version, transaction body), so everything in the outbox is known to be uploadable
//! (a string the wire format cannot carry is refused at commit time, not at sync time).
//! Every row also records a storage `format`, so a later storage format (e.g. compressed)
//! can be introduced without rewriting old rows: readers accept every known format.

use crate::codec::{self, DecodeLimits, MAX_STRING_BYTES};
use crate::txn::Txn;

use super::StoreError;

/// `format` = 1: [`codec::encode_txn`] blob.
pub(super) const FORMAT_CODEC: i64 = 1;

/// Limits for reading our own rows: the file is trusted, so only the wire format's string
/// limit applies (counts are still checked against the bytes present).
fn trusted() -> DecodeLimits {
    DecodeLimits {
        max_message_bytes: usize::MAX,
        max_txns: usize::MAX,
        max_lines_per_txn: usize::MAX,
        max_cells: usize::MAX,
        max_string: MAX_STRING_BYTES,
        max_replicas: usize::MAX,
    }
}

/// Encodes a transaction body; returns the format and the bytes.
pub(super) fn encode_txn(txn: &Txn) -> Result<(i64, Vec<u8>), StoreError> {
    Ok((FORMAT_CODEC, codec::encode_txn(txn)?))
}

/// Decodes a transaction body of the given format.
pub(super) fn decode_txn(format: i64, bytes: &[u8]) -> Result<Txn, StoreError> {
    match format {
        FORMAT_CODEC => codec::decode_txn(bytes, &trusted()).map_err(|e| StoreError::Corrupt {
            what: format!("transaction body: {e}"),
        }),
        other => Err(StoreError::Corrupt {
            what: format!("unknown transaction format {other}"),
        }),
    }
}
