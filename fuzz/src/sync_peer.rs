//! `sync_peer`: sync messages fed into `pharm_sync::protocol::Peer`s of a small store (the
//! root holding one lot, a terminal synced with it that has since sold from it).
//!
//! Input: the bytes of one message. They go to both peers as they are (through
//! [`Peer::handle_bytes`]), and, when they decode, once more as a value with every origin
//! seal of an upload and the hop tag made valid with the store's keys (through
//! [`Peer::handle`]), so that mutated messages reach the protocol past its checks.
//!
//! Properties: a peer answers with replies or a typed error, never a panic; after an error
//! other than [`ProtocolError::Superseded`] its state is unchanged; every reply encodes and
//! decodes back to itself; the two peers can still sync afterwards without a panic.

use std::sync::{Arc, OnceLock};

use pharm_core::ids::PharmacyId;
use pharm_core::time::Date;
use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
use pharm_sync::codec::{DecodeLimits, decode, encode};
use pharm_sync::ids::ReplicaId;
use pharm_sync::message::{Body, Message};
use pharm_sync::protocol::{Peer, ProtocolError, Role};
use pharm_sync::replica::{Attachments, NewLot, Op, Replica};
use pharm_sync::state::VersionVector;
use pharm_sync::txn::SealedTxn;

/// The store of the golden vectors.
pub const STORE: PharmacyId = PharmacyId::new(42);
/// Terminals of the store (the root's is `u16::MAX`).
const TERMINALS: [u16; 8] = [0, 1, 2, 3, 4, 5, 6, u16::MAX];
/// The root's replica.
const ROOT: ReplicaId = ReplicaId::new(u16::MAX, 0);
/// The terminal's replica.
const TERMINAL: ReplicaId = ReplicaId::new(1, 0);
/// The time of every step, in milliseconds.
const NOW: u64 = 1_000;
/// Most messages exchanged by the sync after the fuzzed message.
const MAX_ROUNDS: usize = 32;

/// The link key of [`STORE`] (as in the golden vectors).
pub fn link_key() -> MacKey {
    let mut k = [0x4c; 32];
    k[..4].copy_from_slice(&STORE.get().to_le_bytes());
    MacKey::new(k)
}

/// The origin key of a terminal of [`STORE`] (as in the golden vectors).
pub fn origin_key(terminal: u16) -> MacKey {
    let mut k = [0x6f; 32];
    k[..4].copy_from_slice(&STORE.get().to_le_bytes());
    k[4..6].copy_from_slice(&terminal.to_le_bytes());
    MacKey::new(k)
}

/// A key ring of [`STORE`]: every member, with the origin keys of `known` terminals.
fn ring(known: impl Fn(u16) -> bool) -> Arc<dyn KeyRing> {
    let mut ring = StoreKeys::new(STORE, link_key());
    for t in TERMINALS {
        ring = ring.with_member(t, known(t).then(|| origin_key(t)));
    }
    Arc::new(ring)
}

/// The root and the terminal, set up once.
fn peers() -> &'static (Peer, Peer) {
    static PEERS: OnceLock<(Peer, Peer)> = OnceLock::new();
    PEERS.get_or_init(|| {
        let mut root = Peer::new(
            Replica::new(STORE, ROOT, origin_key(ROOT.terminal)),
            ring(|_| true),
            Role::Root,
        );
        let today = Date::from_ymd(2026, 3, 10)
            .unwrap_or_else(|e| panic!("the fixed date is invalid: {e}"));
        let lot = NewLot {
            sku: 1,
            ndc: "0093-7146-56"
                .parse()
                .unwrap_or_else(|e| panic!("the fixed NDC is invalid: {e}")),
            lot_number: "A1".into(),
            expiry: Date::from_ymd(2027, 1, 31)
                .unwrap_or_else(|e| panic!("the fixed expiry is invalid: {e}")),
            controlled: false,
        };
        let receipt = root.replica_mut().apply(
            1,
            Op::ReceiveNew {
                lot,
                qty: 100,
                reference: "po".into(),
            },
        );
        let lot = match receipt.map(|c| c.new_lot()) {
            Ok(Some(lot)) => lot,
            other => panic!("the fixture's receipt failed: {other:?}"),
        };
        let mut terminal = Peer::new(
            Replica::new(STORE, TERMINAL, origin_key(TERMINAL.terminal)),
            ring(|t| t == TERMINAL.terminal),
            Role::Member,
        );
        if let Err(e) = sync(&mut terminal, &mut root) {
            panic!("the fixture's first sync failed: {e}");
        }
        let sale = terminal.replica_mut().apply(
            2,
            Op::Dispense {
                today,
                sku: 1,
                qty: 3,
                scanned: Some(lot),
                reference: "rx".into(),
                attachments: Attachments::default(),
            },
        );
        if let Err(e) = sale {
            panic!("the fixture's sale failed: {e}");
        }
        (root, terminal)
    })
}

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let limits = DecodeLimits::default();
    let (root, terminal) = peers();
    for peer in [root, terminal] {
        let mut peer = peer.clone();
        let before = summary(&peer);
        match peer.handle_bytes(NOW, data, &limits) {
            Ok(replies) => {
                for reply in replies {
                    match decode(&reply, &limits) {
                        Ok(message) => check_reply(&message),
                        Err(e) => panic!("a reply does not decode: {e}"),
                    }
                }
            }
            Err(error) => unchanged(&peer, &before, &error),
        }
    }
    let Ok(message) = decode(data, &limits) else {
        return;
    };
    let Some(message) = resealed(message) else {
        return;
    };
    let (mut root, mut terminal) = (root.clone(), terminal.clone());
    for peer in [&mut root, &mut terminal] {
        let before = summary(peer);
        match peer.handle(NOW, message.clone()) {
            Ok(replies) => replies.iter().for_each(check_reply),
            Err(error) => unchanged(peer, &before, &error),
        }
    }
    let _ = sync(&mut terminal, &mut root);
}

/// What an error must leave alone: the version vector, the lots and their units.
fn summary(peer: &Peer) -> (VersionVector, Vec<(u32, i64)>) {
    let state = peer.replica().state();
    (
        state.vv().clone(),
        state
            .lots()
            .map(|(info, units)| (info.sku, units))
            .collect(),
    )
}

fn unchanged(peer: &Peer, before: &(VersionVector, Vec<(u32, i64)>), error: &ProtocolError) {
    let _ = error.to_string();
    if !matches!(error, ProtocolError::Superseded(_)) {
        assert!(
            summary(peer) == *before,
            "state changed by a refused message: {error}"
        );
    }
}

/// A reply encodes, and decodes back to itself.
fn check_reply(message: &Message) {
    let bytes = match encode(message) {
        Ok(bytes) => bytes,
        Err(e) => panic!("a reply does not encode: {e}"),
    };
    match decode(&bytes, &DecodeLimits::default()) {
        Ok(back) => assert!(back == *message, "a reply does not decode to itself"),
        Err(e) => panic!("an encoded reply does not decode: {e}"),
    }
}

/// The message with valid origin seals on its upload's sealed transactions and a valid hop
/// tag (`None` when the store's keys cannot seal it, e.g. another store's message).
fn resealed(message: Message) -> Option<Message> {
    if message.store != STORE {
        return None;
    }
    let body = match message.body {
        Body::Upload { txns } => Body::Upload {
            txns: txns
                .into_iter()
                .map(|s| SealedTxn {
                    seal: s
                        .seal
                        .map(|_| s.txn.seal(&origin_key(s.txn.id.replica.terminal), STORE)),
                    txn: s.txn,
                })
                .collect(),
        },
        body => body,
    };
    Message::seal(STORE, message.from, body, &link_key()).ok()
}

/// Every message of a sync of the fixture's terminal (with its sale) with its root, in
/// order: seeds that pass the peers' checks as they are.
pub fn fixture_exchange() -> Vec<Vec<u8>> {
    let (root, terminal) = peers();
    let (mut root, mut terminal) = (root.clone(), terminal.clone());
    let mut seen = Vec::new();
    if let Err(e) = exchange(&mut terminal, &mut root, &mut seen) {
        panic!("the fixture's sync failed: {e}");
    }
    seen
}

/// A client↔server exchange through the codec until quiet, at most [`MAX_ROUNDS`] rounds.
fn sync(client: &mut Peer, server: &mut Peer) -> Result<(), ProtocolError> {
    exchange(client, server, &mut Vec::new())
}

/// [`sync`], keeping every message exchanged in `seen`.
fn exchange(
    client: &mut Peer,
    server: &mut Peer,
    seen: &mut Vec<Vec<u8>>,
) -> Result<(), ProtocolError> {
    let limits = DecodeLimits::default();
    let mut to_server = vec![encode(&client.hello(NOW)?)?];
    for _ in 0..MAX_ROUNDS {
        let mut to_client = Vec::new();
        for m in to_server.drain(..) {
            to_client.extend(server.handle_bytes(NOW, &m, &limits)?);
            seen.push(m);
        }
        for m in to_client {
            to_server.extend(client.handle_bytes(NOW, &m, &limits)?);
            seen.push(m);
        }
        if to_server.is_empty() {
            break;
        }
    }
    Ok(())
}
