//! Shared fixtures of the integration tests: keys, key rings, peers, sync loops, a seeded
//! randomness source.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "sqlite")]
pub mod node;

use pharm_core::ids::PharmacyId;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use pharm_core::time::Date;
use pharm_sync::auth::Tag;
use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
use pharm_sync::codec::DecodeLimits;
use pharm_sync::ids::{Entropy, ReplicaId};
use pharm_sync::message::{Body, Message};
use pharm_sync::protocol::{Peer, ProtocolError, Role};
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, NewLot, Replica};
use pharm_sync::txn::{LotKey, SealedTxn, Txn};

/// Terminals a store of the tests may have (the root is a member too).
pub const TERMINALS: [u16; 8] = [0, 1, 2, 3, 4, 5, 6, u16::MAX];

/// The link key of a store.
pub fn link_key(store: PharmacyId) -> MacKey {
    let mut k = [0x4c; 32];
    k[..4].copy_from_slice(&store.get().to_le_bytes());
    MacKey::new(k)
}

/// The origin key of a terminal of a store.
pub fn origin_key(store: PharmacyId, terminal: u16) -> MacKey {
    let mut k = [0x6f; 32];
    k[..4].copy_from_slice(&store.get().to_le_bytes());
    k[4..6].copy_from_slice(&terminal.to_le_bytes());
    MacKey::new(k)
}

/// A terminal's key ring: the link key, every member, its own origin key only.
pub fn member_ring(store: PharmacyId, me: u16) -> Arc<dyn KeyRing> {
    let mut ring = StoreKeys::new(store, link_key(store));
    for t in TERMINALS {
        ring = ring.with_member(t, (t == me).then(|| origin_key(store, t)));
    }
    Arc::new(ring)
}

/// The root's key ring: every member's origin key.
pub fn root_ring(store: PharmacyId) -> Arc<dyn KeyRing> {
    let mut ring = StoreKeys::new(store, link_key(store));
    for t in TERMINALS {
        ring = ring.with_member(t, Some(origin_key(store, t)));
    }
    Arc::new(ring)
}

/// Transactions as their origin terminals would send them, each sealed (so every run of
/// an upload ends sealed).
pub fn sealed_all(store: PharmacyId, txns: impl IntoIterator<Item = Txn>) -> Vec<SealedTxn> {
    txns.into_iter()
        .map(|t| {
            let seal = Some(t.seal(&origin_key(store, t.id.replica.terminal), store));
            SealedTxn {
                txn: Arc::new(t),
                seal,
            }
        })
        .collect()
}

/// A replica sealing with its terminal's origin key.
pub fn replica(store: PharmacyId, id: ReplicaId) -> Replica {
    Replica::new(store, id, origin_key(store, id.terminal))
}

/// A member peer (terminal or store leader).
pub fn member(store: PharmacyId, id: ReplicaId) -> Peer {
    Peer::new(
        replica(store, id),
        member_ring(store, id.terminal),
        Role::Member,
    )
}

/// The root peer (the cloud).
pub fn root(store: PharmacyId, id: ReplicaId) -> Peer {
    Peer::new(replica(store, id), root_ring(store), Role::Root)
}

/// Runs a client↔server exchange until quiet; every message goes through the codec and is
/// checked on its bytes.
pub fn try_sync(client: &mut Peer, server: &mut Peer, now: u64) -> Result<(), ProtocolError> {
    let limits = DecodeLimits::default();
    let mut to_server = vec![pharm_sync::codec::encode(&client.hello(now)?)?];
    for _ in 0..256 {
        let mut to_client = Vec::new();
        for m in to_server.drain(..) {
            to_client.extend(server.handle_bytes(now, &m, &limits)?);
        }
        for m in to_client {
            to_server.extend(client.handle_bytes(now, &m, &limits)?);
        }
        if to_server.is_empty() {
            return Ok(());
        }
    }
    panic!("sync did not settle");
}

/// [`try_sync`] that must succeed.
pub fn sync(client: &mut Peer, server: &mut Peer, now: u64) {
    try_sync(client, server, now).unwrap();
}

/// Delivers messages as values (no codec), returning the replies.
pub fn deliver(
    peer: &mut Peer,
    now: u64,
    msgs: Vec<Message>,
) -> Result<Vec<Message>, ProtocolError> {
    let mut out = Vec::new();
    for m in msgs {
        out.extend(peer.handle(now, m)?);
    }
    Ok(out)
}

/// A seeded xorshift generator, usable as [`Entropy`].
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

impl Entropy for Rng {
    fn next_u64(&mut self) -> u64 {
        self.next()
    }
}

pub fn date(s: &str) -> Date {
    s.parse().unwrap()
}

pub fn new_lot(sku: u32, number: &str, expiry: &str, controlled: bool) -> NewLot {
    NewLot {
        sku,
        ndc: "0093-7146-56".parse().unwrap(),
        lot_number: number.into(),
        expiry: date(expiry),
        controlled,
    }
}

/// A unique temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory named after `name`, this process and a counter.
    pub fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pharm-sync-test-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path inside the directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A dispense of `qty` units of the scanned `lot` (of SKU 1) on `p`; its transaction.
pub fn sell(p: &mut Peer, now: u64, lot: LotKey, qty: u64) -> Arc<Txn> {
    sell_sku(p, now, 1, lot, qty)
}

/// A dispense of `qty` units of the scanned `lot` of `sku` on `p`; its transaction.
pub fn sell_sku(p: &mut Peer, now: u64, sku: u32, lot: LotKey, qty: u64) -> Arc<Txn> {
    sell_sku_as(p, now, sku, lot, qty, "rx")
}

/// [`sell_sku`] under the prescription reference `reference`.
pub fn sell_sku_as(
    p: &mut Peer,
    now: u64,
    sku: u32,
    lot: LotKey,
    qty: u64,
    reference: &str,
) -> Arc<Txn> {
    p.replica_mut()
        .apply(
            now,
            Op::Dispense {
                today: date("2026-03-10"),
                sku,
                qty,
                scanned: Some(lot),
                reference: reference.into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap()
        .txn
}

/// Opens the durable store at `path` as terminal `terminal` of `store` (default options).
#[cfg(feature = "sqlite")]
pub fn open_member(
    path: &std::path::Path,
    store: PharmacyId,
    terminal: u16,
) -> Result<pharm_sync::store::TerminalStore, pharm_sync::store::StoreError> {
    pharm_sync::store::TerminalStore::open(
        path,
        store,
        terminal,
        member_ring(store, terminal),
        pharm_sync::store::StoreOptions::default(),
    )
}

/// An upload of `txn` alone with `seal`, in its own terminal's name: what anyone holding
/// the store's link key can send.
pub fn replay(store: PharmacyId, txn: &Arc<Txn>, seal: Tag) -> Message {
    let body = Body::Upload {
        txns: vec![SealedTxn {
            txn: Arc::clone(txn),
            seal: Some(seal),
        }],
    };
    Message::seal(store, txn.id.replica, body, &link_key(store)).unwrap()
}
