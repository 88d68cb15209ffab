//! Authentication: transaction digests (SHA-256), origin seals and message hop tags
//! (HMAC-SHA-256, RustCrypto `hmac` + `sha2`), each truncated to 128 bits, with keys
//! supplied by the caller through a [`KeyRing`].
//!
//! * **Digests chain each replica's history.** Every transaction carries the digest of the
//!   same replica's previous one ([`Txn::prev`](crate::txn::Txn::prev)) and has its own
//!   ([`Txn::digest`](crate::txn::Txn::digest)): SHA-256 over its canonical bytes, prev
//!   included. Equal digests at one sequence number mean equal histories up to it, so a
//!   forked history (two different transactions under one id and sequence number, after a
//!   rollback or a file copied to a second device) shows at the first transaction where the
//!   histories differ. A digest needs no key: anyone can compute and check it.
//! * **Origin keys seal histories.** Each terminal of a store has an origin key, known only
//!   to that terminal and to the root (the cloud). A *seal* is an HMAC under it over the
//!   store and one transaction's digest, and so, by the chain, over that transaction and
//!   every earlier one of its replica. An upload carries a run of one replica's
//!   consecutive transactions with one seal, at the last: one MAC per run rather than per
//!   transaction. A store leader relays other terminals' runs with their seals, which it
//!   cannot forge; the root verifies them.
//! * **The link key** of a store, known to every member of the store and to the root,
//!   authenticates every message hop: a message from another store, from a non-member or
//!   altered on the way fails its tag.
//!
//! Every digest, seal and tag binds a domain label, and every seal and tag the store id
//! ([`codec`](crate::codec) specifies the bytes), so none can be moved between stores or
//! between a transaction and a message. The library holds no key-management policy: which
//! terminals belong to a store and their keys come from the caller's [`KeyRing`];
//! [`StoreKeys`] is a ready-made one.

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Bytes of a tag or seal (HMAC-SHA-256 truncated to its first 128 bits, as NIST SP
/// 800-107 allows) and of a digest (SHA-256 truncated likewise).
pub const TAG_BYTES: usize = 16;

/// Domain label of transaction digests ("T", format 2; two bytes keep the input short).
pub(crate) const TXN_DOMAIN: &[u8] = b"T\x02";
/// Domain label of origin seals ("S", format 2).
pub(crate) const SEAL_DOMAIN: &[u8] = b"S\x02";
/// Domain label of head seals, over a head and its replica's effects ("H", format 2).
pub(crate) const HEAD_DOMAIN: &[u8] = b"H\x02";
/// Domain label of a replica's effects digest ("E", format 2).
pub(crate) const EFFECTS_DOMAIN: &[u8] = b"E\x02";
/// Domain label of the root's acknowledgements ("A", format 2).
pub(crate) const ACK_DOMAIN: &[u8] = b"A\x02";
/// Domain label of the root's refusals ("R", format 2).
pub(crate) const REFUSAL_DOMAIN: &[u8] = b"R\x02";
/// Domain label of message (hop) tags ("M", format 2).
pub(crate) const MESSAGE_DOMAIN: &[u8] = b"M\x02";

/// The input of a tag: `domain`, then `store` as 4 bytes little-endian, then `bytes`.
pub(crate) fn tagged(domain: &[u8], store: PharmacyId, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(domain.len() + 4 + bytes.len());
    v.extend_from_slice(domain);
    v.extend_from_slice(&store.get().to_le_bytes());
    v.extend_from_slice(bytes);
    v
}

/// 16 bytes shown and serialized as 32 lowercase hex digits.
macro_rules! hex16 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; TAG_BYTES]);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                parse_hex16(s).map($name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

fn parse_hex16(s: &str) -> Result<[u8; TAG_BYTES], String> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * TAG_BYTES {
        return Err(format!(
            "{} hex digits expected, not {}",
            2 * TAG_BYTES,
            s.len()
        ));
    }
    let mut out = [0u8; TAG_BYTES];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hex = std::str::from_utf8(pair).map_err(|_| format!("{s:?} is not hex"))?;
        out[i] = u8::from_str_radix(hex, 16).map_err(|_| format!("{s:?} is not hex"))?;
    }
    Ok(out)
}

hex16!(
    /// A 128-bit authentication tag: a message's hop tag, or a transaction's origin seal.
    Tag
);

hex16!(
    /// A transaction's 128-bit digest. `Digest::default()` (all zeros) stands for "no
    /// predecessor" in the chain of a replica's first transaction.
    Digest
);

/// The 22-byte input of a tag over a digest: `domain` (2 bytes), the store (4 bytes
/// little-endian), the digest.
pub(crate) fn over_digest(domain: &[u8], store: PharmacyId, digest: &Digest) -> [u8; 22] {
    let mut input = [0u8; 22];
    input[..2].copy_from_slice(&domain[..2]);
    input[2..6].copy_from_slice(&store.get().to_le_bytes());
    input[6..].copy_from_slice(&digest.0);
    input
}

/// The digest of `input` (a domain label and the bytes covered, already concatenated).
pub(crate) fn digest(input: &[u8]) -> Digest {
    let full = Sha256::digest(input);
    let mut d = [0u8; TAG_BYTES];
    d.copy_from_slice(&full[..TAG_BYTES]);
    Digest(d)
}

/// A secret key, kept with its HMAC key schedule precomputed (so a tag costs two SHA-256
/// compressions for a short input). The secret is wiped from memory when the key is
/// dropped (`zeroize`).
#[derive(Clone)]
pub struct MacKey {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(..)")
    }
}

/// A key of the wrong length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key is 32 bytes of secret random data, not {0} bytes")]
pub struct KeyLengthError(pub usize);

impl MacKey {
    /// A key from 32 bytes of secret random data.
    pub fn new(secret: [u8; 32]) -> Self {
        // HMAC pads a key shorter than the hash's 64-byte block with zeros (RFC 2104).
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&secret);
        MacKey {
            keyed: Hmac::<Sha256>::new(&block.into()),
        }
    }

    /// A key from a byte slice, which must be 32 bytes long.
    pub fn from_slice(secret: &[u8]) -> Result<Self, KeyLengthError> {
        let bytes: [u8; 32] = secret
            .try_into()
            .map_err(|_| KeyLengthError(secret.len()))?;
        Ok(MacKey::new(bytes))
    }

    fn mac(&self, input: &[u8]) -> Hmac<Sha256> {
        let mut m = self.keyed.clone();
        m.update(input);
        m
    }

    /// The tag of `input`: a domain label, the store (4 bytes little-endian) and the bytes
    /// covered, already concatenated by the caller ([`tagged`] builds one).
    pub(crate) fn tag(&self, input: &[u8]) -> Tag {
        let full = self.mac(input).finalize().into_bytes();
        let mut t = [0u8; TAG_BYTES];
        t.copy_from_slice(&full[..TAG_BYTES]);
        Tag(t)
    }

    /// Whether `tag` is the tag of `input` (constant-time comparison).
    pub(crate) fn verify(&self, input: &[u8], tag: &Tag) -> bool {
        self.mac(input).verify_truncated_left(&tag.0).is_ok()
    }
}

/// Which terminals belong to a store and the keys this holder knows (see the
/// [module documentation](self)).
///
/// A terminal's key ring holds its store's link key, the list of member terminals and its
/// own origin key; the root's holds every member's origin key.
pub trait KeyRing: Send + Sync {
    /// The store's link key (authenticates every message hop), if this holder is part of
    /// the store.
    fn link_key(&self, store: PharmacyId) -> Option<&MacKey>;
    /// Whether `terminal` (any incarnation) is a member of `store`.
    fn is_member(&self, store: PharmacyId, terminal: u16) -> bool;
    /// The origin key of `terminal` in `store`, where this holder may know it: its own, or
    /// every member's at the root.
    fn origin_key(&self, store: PharmacyId, terminal: u16) -> Option<&MacKey>;
}

/// A [`KeyRing`] for one store.
///
/// ```
/// use pharm_core::ids::PharmacyId;
/// use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
///
/// let store = PharmacyId::new(42);
/// // On terminal 1: the link key, the members, and its own origin key only.
/// let ring = StoreKeys::new(store, MacKey::new([7; 32]))
///     .with_member(1, Some(MacKey::new([1; 32])))
///     .with_member(2, None);
/// assert!(ring.is_member(store, 2));
/// assert!(ring.origin_key(store, 2).is_none());
/// assert!(ring.link_key(PharmacyId::new(43)).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct StoreKeys {
    store: PharmacyId,
    link: MacKey,
    members: BTreeMap<u16, Option<MacKey>>,
}

impl StoreKeys {
    /// The key ring of `store` with its link key and no members yet.
    pub fn new(store: PharmacyId, link: MacKey) -> Self {
        StoreKeys {
            store,
            link,
            members: BTreeMap::new(),
        }
    }

    /// Adds a member terminal with its origin key where this holder knows it.
    #[must_use]
    pub fn with_member(mut self, terminal: u16, origin: Option<MacKey>) -> Self {
        self.members.insert(terminal, origin);
        self
    }

    /// The store.
    pub fn store(&self) -> PharmacyId {
        self.store
    }
}

impl KeyRing for StoreKeys {
    fn link_key(&self, store: PharmacyId) -> Option<&MacKey> {
        (store == self.store).then_some(&self.link)
    }

    fn is_member(&self, store: PharmacyId, terminal: u16) -> bool {
        store == self.store && self.members.contains_key(&terminal)
    }

    fn origin_key(&self, store: PharmacyId, terminal: u16) -> Option<&MacKey> {
        if store != self.store {
            return None;
        }
        self.members.get(&terminal).and_then(Option::as_ref)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tags_bind_domain_store_and_bytes() {
        let k = MacKey::new([9; 32]);
        let t = k.tag(&tagged(SEAL_DOMAIN, PharmacyId::new(1), b"abc"));
        assert!(k.verify(&tagged(SEAL_DOMAIN, PharmacyId::new(1), b"abc"), &t));
        assert!(!k.verify(&tagged(MESSAGE_DOMAIN, PharmacyId::new(1), b"abc"), &t));
        assert!(!k.verify(&tagged(SEAL_DOMAIN, PharmacyId::new(2), b"abc"), &t));
        assert!(!k.verify(&tagged(SEAL_DOMAIN, PharmacyId::new(1), b"abd"), &t));
        assert!(!MacKey::new([8; 32]).verify(&tagged(SEAL_DOMAIN, PharmacyId::new(1), b"abc"), &t));
        assert_eq!(t.to_string().parse::<Tag>(), Ok(t));
        assert!("00".parse::<Tag>().is_err());
        assert!("zz".repeat(16).parse::<Digest>().is_err());
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA-256 (RFC 4231 test case 2: key "Jefe") truncated to 128 bits, with the
        // domain label and store prefix empty-equivalent checked through the raw primitive.
        let mut m = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        let full = m.finalize().into_bytes();
        assert_eq!(
            Tag(full[..16].try_into().unwrap()).to_string(),
            "5bdcc146bf60754e6a042426089575c7"
        );
        assert_eq!(
            MacKey::from_slice(&[0; 31]).unwrap_err(),
            KeyLengthError(31)
        );
        // SHA-256("abc") (FIPS 180-2, appendix B.1) truncated to 128 bits.
        assert_eq!(
            digest(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223"
        );
    }
}
