//! # pharm-sync
//!
//! Offline-first inventory for pharmacy terminals: a store's stock as a CRDT, an outbox of
//! transactions uploaded exactly once, a resumable sync protocol, a durable SQLite terminal
//! store (feature `sqlite`) and a lease-based leader so the terminals of a store keep
//! syncing with each other while the cloud is unreachable.
//!
//! This crate contains no networking code and reads no clock: every operation takes the
//! time as an argument, and sync messages are values the caller carries over whatever
//! transport it has (the quinn-proto style). The same inputs always produce the same state.
//!
//! ```text
//!  terminal ops ──► Txn (outbox) ──Upload──► store leader / cloud ──Delta──► other terminals
//!        │                                   applies each replica's txns once, in order
//!        └──► InventoryState: per-(lot, replica) PN-counter cells, lots, holds, transfers
//! ```
//!
//! ## Example
//!
//! Two terminals sell the same lot while offline; after syncing through the store server
//! every replica shows the same stock and no unit is lost or counted twice.
//!
//! ```
//! use pharm_sync::ids::{ReplicaId, StoreId};
//! use pharm_sync::protocol::Peer;
//! use pharm_sync::replica::{Attachments, NewLot, Replica};
//!
//! let store = StoreId(42);
//! let mut server = Peer::new(Replica::new(store, ReplicaId::new(0, 0)), true);
//! let lot = NewLot {
//!     sku: 1,
//!     ndc: "0093-7146-56".parse()?,
//!     lot_number: "A123".into(),
//!     expiry: "2027-05-31".parse()?,
//!     controlled: false,
//! };
//! let (key, _) = server.replica_mut().receive_new(1_000, lot, 90, "PO-1")?;
//!
//! let mut terminals: Vec<Peer> = (1..=2)
//!     .map(|t| Peer::new(Replica::new(store, ReplicaId::new(t, 0)), false))
//!     .collect();
//! // One sync session: hello, then deliver messages both ways until quiet.
//! fn sync(client: &mut Peer, server: &mut Peer, now: u64) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut to_server = vec![client.hello(now)];
//!     while !to_server.is_empty() {
//!         let mut to_client = Vec::new();
//!         for m in to_server.drain(..) {
//!             to_client.extend(server.handle(now, m)?);
//!         }
//!         for m in to_client {
//!             to_server.extend(client.handle(now, m)?);
//!         }
//!     }
//!     Ok(())
//! }
//! for t in &mut terminals {
//!     sync(t, &mut server, 2_000)?;
//! }
//! let today = "2026-03-10".parse()?;
//! for (i, t) in terminals.iter_mut().enumerate() {
//!     // Offline: each terminal dispenses 30 units (FEFO picks the lot).
//!     t.replica_mut().dispense(3_000 + i as u64, today, 1, 30, None, "RX", Attachments::default())?;
//! }
//! for _ in 0..2 {
//!     for t in &mut terminals {
//!         sync(t, &mut server, 4_000)?;
//!     }
//! }
//! assert_eq!(server.replica().state().value(&key), 30);
//! for t in &terminals {
//!     assert_eq!(t.replica().state().value(&key), 30);
//!     assert_eq!(t.replica().outbox().count(), 0); // the cloud has every transaction
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Modules
//!
//! - [`ids`], [`hlc`]: replicas (terminal + incarnation), transaction ids, hybrid logical clock.
//! - [`txn`]: transactions, lots, holds, transfers.
//! - [`state`]: the CRDT inventory state, its join, deltas and version vectors (`crdts::VClock`).
//! - [`replica`]: local operations (receive, dispense with FEFO from pharm-core, adjust,
//!   count, transfer out/in, hold/release, write-off), the outbox and the claim/PMP queues.
//! - [`protocol`]: the sync protocol (hello, upload, ack, delta) as a sans-IO state machine.
//! - [`codec`]: the versioned compact binary encoding with bounded decoding.
//! - [`reconcile`]: single-writer reconciliation of negative stock.
//! - [`leader`]: lease-based election of the store leader among terminals.
//! - `store` (feature `sqlite`): the durable terminal store.
#![forbid(unsafe_code)]

pub mod auth;
pub mod codec;
pub mod hlc;
pub mod ids;
pub mod leader;
pub mod message;
pub mod protocol;
pub mod reconcile;
pub mod replica;
pub mod state;
#[cfg(feature = "sqlite")]
pub mod store;
pub mod txn;
