//! Encoding of transaction bodies in the `transactions` table.
//!
//! Every row records its `format`, so a later format (e.g. the crate's binary wire codec)
//! can be introduced without rewriting old rows: readers accept every known format.

use crate::txn::Txn;

use super::StoreError;

/// `format` = 1: serde_json of [`Txn`].
pub(super) const FORMAT_JSON: i64 = 1;

/// Encodes a transaction body; returns the format and the bytes.
pub(super) fn encode_txn(txn: &Txn) -> Result<(i64, Vec<u8>), StoreError> {
    let bytes = serde_json::to_vec(txn).map_err(|e| StoreError::Corrupt { what: format!("cannot encode transaction {:?}: {e}", txn.id) })?;
    Ok((FORMAT_JSON, bytes))
}

/// Decodes a transaction body of the given format.
pub(super) fn decode_txn(format: i64, bytes: &[u8]) -> Result<Txn, StoreError> {
    match format {
        FORMAT_JSON => serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { what: format!("transaction body: {e}") }),
        other => Err(StoreError::Corrupt { what: format!("unknown transaction format {other}") }),
    }
}
