//! Sync messages: an authenticated envelope (store, sender, hop tag) around one of five
//! bodies. The protocol that exchanges them is in [`protocol`](crate::protocol); their
//! bytes are specified in [`codec`].

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::auth::{
    ACK_DOMAIN, Digest, MESSAGE_DOMAIN, MacKey, REFUSAL_DOMAIN, Tag, over_digest, tagged,
};
use crate::codec::{self, EncodeError};
use crate::hlc::Hlc;
use crate::ids::{ReplicaId, TxnId};
use crate::state::{StateDelta, VersionVector};
use crate::txn::{SealedTxn, Txn};

/// The root's acknowledgement of one replica's transactions: it holds every transaction of
/// that replica from `from` to `seq` (1 unless a device holding earlier ones was lost), and
/// the one at `seq` has digest `digest`. Because digests are chained, the digest vouches for
/// that whole segment: a replica drops transactions `from..=seq` from its outbox only when
/// its own transaction at `seq` has the same digest. The root seals it with the replica's
/// terminal's origin key, so that terminal can tell the root's word from a member's: leaders
/// pass acknowledgements on, and only a sealed one makes a terminal drop its own
/// transactions or find itself behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// First sequence number of the acknowledged segment.
    pub from: u64,
    /// Highest sequence number acknowledged.
    pub seq: u64,
    /// Digest of the transaction at `seq`.
    pub digest: Digest,
    /// HMAC under the origin key of the replica's terminal over the label `"A"`, `0x02`,
    /// the store (4 bytes little-endian), `digest` and `from` (8 bytes little-endian).
    pub seal: Tag,
}

impl Ack {
    /// The root's acknowledgement of `from..=seq`, ending at the transaction with `digest`,
    /// sealed with its terminal's origin key.
    pub fn sealed(from: u64, seq: u64, digest: Digest, key: &MacKey, store: PharmacyId) -> Self {
        Ack {
            from,
            seq,
            digest,
            seal: key.tag(&Self::sealed_input(store, from, &digest)),
        }
    }

    /// Whether the seal is the root's under the terminal's origin `key`.
    pub fn is_sealed_by(&self, key: &MacKey, store: PharmacyId) -> bool {
        key.verify(
            &Self::sealed_input(store, self.from, &self.digest),
            &self.seal,
        )
    }

    fn sealed_input(store: PharmacyId, from: u64, digest: &Digest) -> [u8; 30] {
        let mut input = [0u8; 30];
        input[..22].copy_from_slice(&over_digest(ACK_DOMAIN, store, digest));
        input[22..].copy_from_slice(&from.to_le_bytes());
        input
    }
}

/// A transaction the server refused (and every later one of its replica in the upload).
/// The root seals a refusal with the origin key of the terminal that uploaded it, over the
/// refused transaction's digest: only a sealed refusal makes a terminal treat its own
/// transaction as another history, or a leader its state as holding a refused relay. A
/// store leader cannot seal; its refusals only make it clear that it will not take the
/// transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The refused transaction.
    pub id: TxnId,
    /// HMAC under the origin key of the uploading terminal over the label `"R"`, `0x02`,
    /// the store and the transaction's digest (the root's only).
    pub seal: Option<Tag>,
}

impl Refusal {
    /// The root's refusal of `txn`, sealed with the uploading terminal's origin key.
    pub fn sealed(txn: &Txn, key: &MacKey, store: PharmacyId) -> Self {
        Refusal {
            id: txn.id,
            seal: Some(key.tag(&over_digest(REFUSAL_DOMAIN, store, &txn.digest))),
        }
    }

    /// Whether this is the root's refusal of `txn` (this very transaction) under the
    /// receiving terminal's origin `key`.
    pub(crate) fn is_sealed_for(&self, txn: &Txn, key: &MacKey, store: PharmacyId) -> bool {
        self.id == txn.id
            && self.seal.is_some_and(|seal| {
                key.verify(&over_digest(REFUSAL_DOMAIN, store, &txn.digest), &seal)
            })
    }
}

/// Acknowledgements by replica.
pub type Acks = BTreeMap<ReplicaId, Ack>;

/// What a sync message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// Opens a sync: the client's version vector.
    Hello {
        /// Client version vector.
        vv: VersionVector,
        /// Client clock.
        hlc: Hlc,
    },
    /// The server's version vector and the root's acknowledgements it knows.
    Welcome {
        /// Server version vector.
        vv: VersionVector,
        /// What the root holds as transactions (as far as the server knows).
        acks: Acks,
        /// Server clock.
        hlc: Hlc,
        /// The server is the root (the cloud): it takes relayed transactions and verifies
        /// every origin seal.
        root: bool,
    },
    /// Transactions the server lacks, in runs of one replica's consecutive, chained
    /// transactions, each run sealed by its origin at its last transaction.
    Upload {
        /// The transactions.
        txns: Vec<SealedTxn>,
    },
    /// What the server now has.
    UploadAck {
        /// Server version vector after applying.
        vv: VersionVector,
        /// The root's acknowledgements (at the root: for every replica of the upload, the
        /// highest uploaded sequence number it holds, so the uploader can confirm the
        /// digest).
        acks: Acks,
        /// Transactions refused, the first per replica (every later one of that replica in
        /// the upload is refused too): the server holds a different history of their
        /// replica, or they are relayed in a run whose origin seal is wrong (their origin
        /// still holds them).
        refused: Vec<Refusal>,
    },
    /// State the client lacks.
    Delta {
        /// The delta.
        delta: StateDelta,
    },
}

impl Body {
    /// The body's type name (`hello`, `welcome`, `upload`, `upload_ack`, `delta`).
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Hello { .. } => "hello",
            Body::Welcome { .. } => "welcome",
            Body::Upload { .. } => "upload",
            Body::UploadAck { .. } => "upload_ack",
            Body::Delta { .. } => "delta",
        }
    }
}

/// A sync message: the store it belongs to, its sender, its body, and the hop tag under the
/// store's link key over all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Pharmacy.
    pub store: PharmacyId,
    /// Sender.
    pub from: ReplicaId,
    /// What it says.
    pub body: Body,
    /// Hop tag (link key) over the canonical bytes of store, sender and body.
    pub tag: Tag,
}

impl Message {
    /// A message sealed with the store's link key.
    pub fn seal(
        store: PharmacyId,
        from: ReplicaId,
        body: Body,
        link_key: &MacKey,
    ) -> Result<Message, EncodeError> {
        let mut bytes = Vec::new();
        codec::message_signing_bytes(store, from, &body, &mut bytes)?;
        let tag = link_key.tag(&tagged(MESSAGE_DOMAIN, store, &bytes));
        Ok(Message {
            store,
            from,
            body,
            tag,
        })
    }

    /// Whether the hop tag is valid under `link_key`.
    pub fn verify(&self, link_key: &MacKey) -> bool {
        let mut bytes = Vec::new();
        codec::message_signing_bytes(self.store, self.from, &self.body, &mut bytes).is_ok()
            && link_key.verify(&tagged(MESSAGE_DOMAIN, self.store, &bytes), &self.tag)
    }
}
