//! `Replica`: a terminal's (or the cloud's) inventory replica with its sync peer, in memory
//! or, as the `TerminalStore` subclass, in a durable SQLite file.

use std::sync::{Mutex, MutexGuard, TryLockError};

use pharm_sync::codec::{self, DecodeLimits};
use pharm_sync::ids::ReplicaId;
use pharm_sync::protocol::{Peer, ProtocolError};
use pharm_sync::replica::{Op, OpError, Replica as CoreReplica};
use pharm_sync::store::{StoreError, TerminalStore};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use super::keyring::KeyRing;
use super::{inventory, protocol_error, role_name, store_error};
use crate::{errors, json};

/// Where a replica lives.
pub(super) enum Node {
    /// In memory only.
    Memory(Box<Peer>),
    /// In a terminal store's file.
    Durable(Box<TerminalStore>),
    /// A terminal store after `close()`.
    Closed,
}

impl Node {
    /// The sync peer (ValueError once closed).
    fn peer(&self) -> PyResult<&Peer> {
        match self {
            Node::Memory(peer) => Ok(peer),
            Node::Durable(store) => Ok(store.peer()),
            Node::Closed => Err(closed()),
        }
    }
}

/// An inventory replica of one store (pharmacy) and its sync peer: a terminal's
/// (`role="member"`) or the cloud's (`role="root"`, conventionally terminal 65535). Local
/// operations are applied with `apply`; a sync session starts with the client's `hello`,
/// and each side passes every message it receives to `receive` and sends back the replies
/// until there are none (`pharm.sync.sync_session` runs one). Messages are `bytes` in
/// pharm-sync's binary format, authenticated with the key ring's link key.
///
/// Made in memory by `Replica(keyring, terminal, entropy, role="member")`; the durable
/// `TerminalStore` is a `Replica` kept in a SQLite file. Threads may share one, one call
/// at a time: a call made while another thread is inside one raises RuntimeError.
#[pyclass(frozen, subclass, module = "pharm.sync")]
pub(crate) struct Replica {
    node: Mutex<Node>,
}

impl Replica {
    /// A replica living in `node`.
    pub(super) fn with_node(node: Node) -> Replica {
        Replica {
            node: Mutex::new(node),
        }
    }

    /// The node, locked. The lock is never held while Python code runs (results and
    /// errors become Python objects once it is released), so it is only ever busy when
    /// another thread is inside a call: RuntimeError then, as after a panic inside an
    /// earlier call, rather than waiting while holding the GIL.
    pub(super) fn node(&self) -> PyResult<MutexGuard<'_, Node>> {
        self.node.try_lock().map_err(|error| match error {
            TryLockError::WouldBlock => PyRuntimeError::new_err(
                "the replica is in use by another thread; use it from one thread at a time",
            ),
            TryLockError::Poisoned(_) => {
                PyRuntimeError::new_err("the replica was left unusable by a panic")
            }
        })
    }

    /// Runs `read` on the replica.
    fn read<T>(&self, read: impl FnOnce(&CoreReplica) -> PyResult<T>) -> PyResult<T> {
        let node = self.node()?;
        read(node.peer()?.replica())
    }
}

/// A refusal of pharm-sync, held while the replica is locked and raised once it is
/// released (raising runs Python code).
pub(super) enum Fault {
    /// A durable store's.
    Store(StoreError),
    /// The sync protocol's.
    Protocol(ProtocolError),
    /// A refused operation's.
    Op(OpError),
}

impl Fault {
    /// The `pharm.SyncError` of the refusal, with its most specific cause's code.
    pub(super) fn raise(self, py: Python<'_>) -> PyErr {
        match self {
            Fault::Store(error) => store_error(py, &error),
            Fault::Protocol(error) => protocol_error(py, &error),
            Fault::Op(error) => errors::domain(py, &error),
        }
    }
}

/// The decoding limits of every received message: pharm-sync's defaults (at most 16 MiB
/// per message, 4,096 transactions, 1,024 lines per transaction, 256-byte strings).
pub(super) fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

/// Messages as a list of `bytes`.
fn message_list<'py>(py: Python<'py>, messages: &[Vec<u8>]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, messages.iter().map(|m| PyBytes::new(py, m)))
}

#[pymethods]
impl Replica {
    /// An in-memory replica of terminal `terminal` of the ring's store, in `role`, under a
    /// fresh incarnation drawn from `entropy` (8 to 512 random bytes, a multiple of 8, for
    /// example `os.urandom(8)`). The ring must hold the terminal's origin key
    /// (`pharm.SyncError` `sync.protocol_missing_key`).
    #[new]
    #[pyo3(signature = (keyring, terminal, entropy, role = "member"))]
    fn new(
        py: Python<'_>,
        keyring: &KeyRing,
        terminal: u16,
        entropy: &Bound<'_, PyBytes>,
        role: &str,
    ) -> PyResult<Self> {
        let role = super::role(role)?;
        let mut draws = super::entropy(entropy)?;
        let store = keyring.keys.store();
        let key = pharm_sync::auth::KeyRing::origin_key(&keyring.keys, store, terminal)
            .cloned()
            .ok_or_else(|| {
                protocol_error(py, &ProtocolError::MissingKey("the terminal's origin key"))
            })?;
        let me = ReplicaId::new(terminal, 0)
            .reincarnate(&mut draws, &|_| false)
            .map_err(|error| errors::domain(py, &error))?;
        let peer = Peer::new(CoreReplica::new(store, me, key), keyring.shared(), role);
        Ok(Replica::with_node(Node::Memory(Box::new(peer))))
    }

    /// The replica id, `"T<terminal>.<incarnation>"`.
    #[getter]
    fn id(&self) -> PyResult<String> {
        self.read(|replica| Ok(replica.id().to_string()))
    }

    /// The status: `{"store", "replica", "role", "outbox", "superseded"}` as the C ABI's
    /// `pharm_store_status` writes it. `outbox` counts the transactions the cloud does not
    /// hold yet; `superseded` is None unless another copy of this terminal's history was
    /// found (then operations are refused until the store is recovered).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let status = inventory::Status::of(self.node()?.peer()?);
        status.to_py(py)
    }

    /// Applies one local operation at `now_ms` (the caller's wall clock, Unix ms): `op` is
    /// the operation's JSON form (dict or JSON str, tagged by `"op"`, as in
    /// `testdata/golden/sync/ops.json`; unknown fields are refused). Returns the commit
    /// (dict, as `testdata/golden/sync/commit.json`). A refused operation changes nothing
    /// and raises `pharm.SyncError` with the operation's code (`sync.op_no_lots`...) or
    /// the reader's (`sync.json_syntax`, `sync.json_invalid`, `sync.json_too_large`).
    fn apply<'py>(
        &self,
        py: Python<'py>,
        now_ms: u64,
        op: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = json::text_of(op, "op")?;
        let op = Op::from_json(&text).map_err(|error| errors::domain(py, &error))?;
        let applied = match &mut *self.node()? {
            Node::Memory(peer) => peer.replica_mut().apply(now_ms, op).map_err(Fault::Op),
            Node::Durable(store) => store.apply(now_ms, op).map_err(Fault::Store),
            Node::Closed => return Err(closed()),
        };
        json::to_py(py, &applied.map_err(|fault| fault.raise(py))?)
    }

    /// The hello message (`bytes`) that opens a sync session with the upstream (the store
    /// leader or the cloud). Changes nothing.
    fn hello<'py>(&self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyBytes>> {
        let hello = self.node()?.peer()?.hello(now_ms);
        let hello = hello.map_err(|error| protocol_error(py, &error))?;
        let bytes = codec::encode(&hello).map_err(|error| errors::domain(py, &error))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Applies one received sync message (`bytes`, at most 16 MiB) at `now_ms` and returns
    /// the replies to send back (a list of `bytes`, empty when there is nothing to answer).
    /// The message's store, sender and tag are checked before anything changes; a refused
    /// message raises `pharm.SyncError` with the decoder's code (`sync.decode_truncated`,
    /// `sync.decode_too_large`...) or the protocol's (`sync.protocol_bad_tag`,
    /// `sync.protocol_wrong_store`...).
    fn receive<'py>(
        &self,
        py: Python<'py>,
        now_ms: u64,
        message: &Bound<'py, PyBytes>,
    ) -> PyResult<Bound<'py, PyList>> {
        let bytes = message.as_bytes();
        let replies = match &mut *self.node()? {
            Node::Memory(peer) => peer
                .handle_bytes(now_ms, bytes, &limits())
                .map_err(Fault::Protocol),
            Node::Durable(store) => store
                .apply_bytes(now_ms, bytes, &limits())
                .map_err(Fault::Store),
            Node::Closed => return Err(closed()),
        };
        message_list(py, &replies.map_err(|fault| fault.raise(py))?)
    }

    /// The inventory as this replica sees it (dict, as
    /// `testdata/golden/sync/inventory_view.json`): `{"store", "vv", "lots"}`.
    fn view<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let view = self.read(|replica| Ok(replica.state().view()))?;
        json::to_py(py, &view)
    }

    /// The inventory as a table, one row per lot in lot order: `origin` (the replica that
    /// received it), `local_no`, `sku`, `ndc`, `lot_number`, `expiry` (ISO date),
    /// `controlled`, `quantity` (units on hand; negative after an offline oversell),
    /// `holds` (active holds) and `location`. `format`: "auto", "arrow" or "dict".
    #[pyo3(signature = (format = "auto"))]
    fn inventory<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        let table = self.read(|replica| Ok(inventory::table(&replica.state().view())))?;
        table.emit(py, format)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let node = self.node()?;
        let kind = match &*node {
            Node::Memory(_) => "Replica",
            Node::Durable(_) | Node::Closed => "TerminalStore",
        };
        let Ok(peer) = node.peer() else {
            return Ok(format!("{kind}(closed)"));
        };
        let quoted = |text: &str| -> PyResult<String> {
            Ok(PyString::new(py, text).repr()?.to_str()?.to_owned())
        };
        Ok(format!(
            "{kind}(id={}, store={}, role={})",
            quoted(&peer.replica().id().to_string())?,
            peer.replica().store().get(),
            quoted(role_name(peer.role()))?
        ))
    }
}

/// The error of a closed store.
pub(super) fn closed() -> PyErr {
    PyValueError::new_err("the terminal store is closed")
}
