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
//! Two terminals sell the same lot while offline; after syncing with the cloud (the root)
//! every replica shows the same stock and no unit is lost or counted twice. Every message
//! is authenticated with the store's link key, every transaction with its terminal's
//! origin key ([`auth`]).
//!
//! ```
//! use std::sync::Arc;
//! use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
//! use pharm_core::ids::PharmacyId;
//! use pharm_sync::ids::ReplicaId;
//! use pharm_sync::protocol::{Peer, Role};
//! use pharm_sync::replica::{Attachments, NewLot, Op, Replica};
//!
//! let store = PharmacyId::new(42);
//! // Keys come from the caller's provisioning; fixed ones for the example.
//! let origin = |t: u16| MacKey::new([t.wrapping_add(1) as u8; 32]);
//! let ring = |me: Option<u16>| -> Arc<dyn KeyRing> {
//!     let mut r = StoreKeys::new(store, MacKey::new([0xAA; 32]));
//!     for t in [1, 2, u16::MAX] {
//!         // A terminal knows its own origin key; the root knows them all.
//!         r = r.with_member(t, (me.is_none() || me == Some(t)).then(|| origin(t)));
//!     }
//!     Arc::new(r)
//! };
//! let cloud_id = ReplicaId::new(u16::MAX, 0);
//! let mut cloud = Peer::new(Replica::new(store, cloud_id, origin(u16::MAX)), ring(None), Role::Root);
//! let lot = NewLot {
//!     sku: 1,
//!     ndc: "0093-7146-56".parse()?,
//!     lot_number: "A123".into(),
//!     expiry: "2027-05-31".parse()?,
//!     controlled: false,
//! };
//! let received = cloud.replica_mut().apply(1_000, Op::ReceiveNew { lot, qty: 90, reference: "PO-1".into() })?;
//! let key = received.new_lot().ok_or("no lot created")?;
//!
//! let mut terminals: Vec<Peer> = (1..=2)
//!     .map(|t| {
//!         let me = ReplicaId::new(t, 0x5eed + u64::from(t)); // an incarnation drawn at random
//!         Peer::new(Replica::new(store, me, origin(t)), ring(Some(t)), Role::Member)
//!     })
//!     .collect();
//! // One sync session: hello, then deliver messages both ways until quiet.
//! fn sync(client: &mut Peer, server: &mut Peer, now: u64) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut to_server = vec![client.hello(now)?];
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
//!     sync(t, &mut cloud, 2_000)?;
//! }
//! let today = "2026-03-10".parse()?;
//! for (i, t) in terminals.iter_mut().enumerate() {
//!     // Offline: each terminal dispenses 30 units (FEFO picks the lot).
//!     let sale = Op::Dispense {
//!         today,
//!         sku: 1,
//!         qty: 30,
//!         scanned: None,
//!         reference: "RX".into(),
//!         attachments: Attachments::default(),
//!     };
//!     t.replica_mut().apply(3_000 + i as u64, sale)?;
//! }
//! for _ in 0..2 {
//!     for t in &mut terminals {
//!         sync(t, &mut cloud, 4_000)?;
//!     }
//! }
//! assert_eq!(cloud.replica().state().value(&key), 30);
//! for t in &terminals {
//!     assert_eq!(t.replica().state().value(&key), 30);
//!     assert_eq!(t.replica().outbox().count(), 0); // the cloud holds every transaction
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Operations
//!
//! Every local inventory operation is one value of [`Op`], applied with
//! [`Replica::apply`] or, persisted, with the durable store's
//! `TerminalStore::apply` (feature `sqlite`); both return the [`Commit`].
//! There is no second, per-operation API: what an operation created is read from its commit
//! ([`Commit::new_lot`], [`Commit::hold`],
//! [`Commit::transfer`]). A sync session starts with
//! [`Peer::hello`] (for a durable store, on `TerminalStore::peer`).
//!
//! ## Error codes
//!
//! Every variant of every public error type ([`OpError`], [`ProtocolError`], [`DecodeError`],
//! [`EncodeError`], [`DeltaError`], [`IdError`], [`ElectionError`], [`KeyLengthError`], [`JsonError`], [`CsLogError`] and,
//! with `sqlite`, `StoreError`) has a stable numeric code in 3000-3999 and a string id
//! `sync.*` ([`ErrorCode`](pharm_core::error_code::ErrorCode)), listed with a one-line summary
//! in [`ERROR_CODES`]. An error that wraps another (such as [`ProtocolError::Decode`] or
//! `StoreError::Op`) reports its own code; the inner error, with its own code, is its field and
//! its [`source`](std::error::Error::source).
//!
//! ## Modules
//!
//! - [`ids`], [`hlc`]: replicas (terminal + random incarnation), transaction ids, hybrid
//!   logical clock.
//! - [`auth`]: keys, key rings, transaction digests, origin seals and message hop tags.
//! - [`message`]: the sync messages and their authenticated envelope.
//! - [`txn`]: transactions, lots, holds, transfers.
//! - [`state`]: the CRDT inventory state, its join, deltas and version vectors ([`VersionVector`]).
//! - [`replica`]: local operations (receive, dispense with FEFO from pharm-core, adjust,
//!   count, transfer out/in, hold/release, write-off, shelf location, compensation), the
//!   outbox and the claim/PMP queues.
//! - [`protocol`]: the sync protocol (hello, upload, ack, delta) as a sans-IO state machine,
//!   with its trust rules.
//! - [`codec`]: the versioned compact binary encoding with bounded decoding.
//! - [`json`]: strict reading of an [`Op`] from JSON for the bindings ([`Op::from_json`]).
//! - [`reconcile`]: single-writer reconciliation of negative stock.
//! - [`cs_log`]: the tamper-evident controlled-substance log (21 CFR 1304.21/1304.22): a hash
//!   chain of every controlled event per terminal, across restores, built by the root and a
//!   store leader as they accept transactions ([`Peer::cs_log`]) and checked on export
//!   ([`cs_log::verify`]).
//! - [`leader`]: lease-based election of the store leader among terminals.
//! - `store` (feature `sqlite`): the durable terminal store.
#![forbid(unsafe_code)]

#[cfg(doctest)]
mod api_boundary;
pub mod auth;
pub mod codec;
pub mod cs_log;
mod error_codes;
pub mod hlc;
pub mod ids;
pub mod json;
pub mod leader;
pub mod message;
pub mod protocol;
pub mod reconcile;
pub mod replica;
pub mod state;
#[cfg(feature = "sqlite")]
pub mod store;
pub mod txn;

pub use auth::{KeyLengthError, KeyRing, MacKey, StoreKeys};
pub use codec::{DecodeError, DecodeLimits, EncodeError};
pub use cs_log::{CsEntry, CsLog, CsLogError};
pub use error_codes::ERROR_CODES;
pub use ids::{IdError, ReplicaId, TxnId};
pub use json::JsonError;
pub use leader::ElectionError;
pub use message::{Body, Message};
pub use protocol::{Peer, ProtocolError, Role};
pub use replica::{Attachments, Commit, NewLot, Op, OpError, Replica};
pub use state::{DeltaError, InventoryState, InventoryView, VersionVector};
#[cfg(feature = "sqlite")]
pub use store::{StoreError, TerminalStore};
pub use txn::{LotKey, Txn};
