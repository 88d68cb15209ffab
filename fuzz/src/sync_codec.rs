//! `sync_codec`: pharm-sync's wire decoder (messages) and outbox decoder (standalone
//! transactions).
//!
//! Input: the bytes, decoded both as a message and as a transaction (no selector, so the
//! golden `.hex` vectors are seeds as they are).
//!
//! Properties (the codec promises a canonical encoding): whatever decodes encodes back to
//! exactly the input bytes; [`peek_store`] agrees with the decoded store.

use pharm_sync::codec::{DecodeLimits, decode, decode_txn, encode, encode_txn, peek_store};

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let limits = DecodeLimits::default();
    match decode(data, &limits) {
        Ok(message) => {
            match encode(&message) {
                Ok(bytes) => assert!(bytes == data, "message re-encodes differently"),
                Err(e) => panic!("a decoded message does not encode: {e}"),
            }
            match peek_store(data) {
                Ok(store) => assert_eq!(store, message.store, "peeked store"),
                Err(e) => panic!("a decoded message's store cannot be peeked: {e}"),
            }
        }
        Err(error) => drop(error.to_string()),
    }
    match decode_txn(data, &limits) {
        Ok(txn) => match encode_txn(&txn) {
            Ok(bytes) => assert!(bytes == data, "transaction re-encodes differently"),
            Err(e) => panic!("a decoded transaction does not encode: {e}"),
        },
        Err(error) => drop(error.to_string()),
    }
}
