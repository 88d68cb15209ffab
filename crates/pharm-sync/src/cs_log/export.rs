//! The log as a JSON document for auditors.

use pharm_core::contract::read_json;
use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use super::entry::CsEntry;
use super::verify::{CsHead, CsLogError, verify};
use crate::json::JsonError;

/// Largest exported log read back (64 MiB: some two hundred thousand entries).
pub const MAX_CS_JSON_BYTES: usize = 64 << 20;

/// An exported controlled-substance log: the store and its entries in export order
/// ([`CsLog::export`](super::CsLog::export)). Its JSON form is
/// `{"store": 42, "entries": [...]}`, each entry the serde form of [`CsEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsExport {
    /// The store.
    pub store: PharmacyId,
    /// The entries.
    pub entries: Vec<CsEntry>,
}

impl CsExport {
    /// The JSON form.
    pub fn to_json(&self) -> String {
        // Every field serializes (no map with non-string keys, no failing impl).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the JSON form, refusing unknown fields and documents larger than
    /// [`MAX_CS_JSON_BYTES`]. It does not check the chain: [`verify`](Self::verify) does.
    pub fn from_json(json: impl AsRef<[u8]>) -> Result<CsExport, JsonError> {
        let bytes = json.as_ref();
        if bytes.len() > MAX_CS_JSON_BYTES {
            return Err(JsonError::TooLarge {
                document: "controlled-substance log",
                size: bytes.len(),
                limit: MAX_CS_JSON_BYTES,
            });
        }
        read_json("controlled-substance log", bytes)
    }

    /// [`verify`] on the entries.
    pub fn verify(&self) -> Result<CsHead, CsLogError> {
        verify(self.store, &self.entries)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn size_and_unknown_fields_are_refused() {
        let empty = CsExport {
            store: PharmacyId::new(4),
            entries: Vec::new(),
        };
        assert_eq!(CsExport::from_json(empty.to_json()).unwrap(), empty);
        assert!(matches!(
            CsExport::from_json(r#"{"store":4,"entries":[],"x":1}"#),
            Err(JsonError::Invalid { .. })
        ));
        let big = vec![b' '; MAX_CS_JSON_BYTES + 1];
        assert!(matches!(
            CsExport::from_json(&big),
            Err(JsonError::TooLarge { .. })
        ));
    }
}
