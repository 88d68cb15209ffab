//! `TerminalStore`: a terminal's durable SQLite store (pharm-sync's `TerminalStore`), a
//! `Replica` whose every change is committed to its file before the call returns.

use std::path::{Path, PathBuf};

use pharm_sync::store::{Recovery, StoreError, StoreOptions, TerminalStore as CoreStore};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::keyring::KeyRing;
use super::replica::{Node, Replica, closed};
use super::store_error;

/// Longest path accepted, in bytes (Linux's `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;

/// A terminal's durable inventory store: a SQLite file holding the terminal's replica of
/// the store's stock, its outbox and its queued claims and PMP reports, committed
/// (`synchronous = FULL`) before each call returns and locked while open. Every method of
/// `Replica` works on it; `close()` (or leaving a `with` block) releases the file, after
/// which they raise ValueError.
///
/// Made by `TerminalStore.create`, `open`, `restore_from_backup` or `recover`. Opening
/// fails loud: a missing, empty, damaged, rolled-back or foreign file raises
/// `pharm.SyncError` with its code (`sync.store_not_found`, `sync.store_not_a_store`,
/// `sync.store_corrupt`...), never a fresh store.
#[pyclass(frozen, extends = Replica, module = "pharm.sync")]
pub(crate) struct TerminalStore {}

/// A path argument: not empty, no NUL byte, at most 4096 bytes (ValueError otherwise).
fn path(path: &Path, argument: &str) -> PyResult<()> {
    let bytes = path.as_os_str().as_encoded_bytes();
    let why = if bytes.is_empty() {
        "the path is empty"
    } else if bytes.contains(&0) {
        "the path contains a NUL byte"
    } else if bytes.len() > MAX_PATH_BYTES {
        "the path is longer than 4096 bytes"
    } else {
        return Ok(());
    };
    Err(PyValueError::new_err(format!("{argument}: {why}")))
}

/// The store options for a `role` argument; the crate's defaults otherwise.
fn options(role: &str) -> PyResult<StoreOptions> {
    Ok(StoreOptions {
        role: super::role(role)?,
        ..StoreOptions::default()
    })
}

/// A store just made or opened as a Python `TerminalStore`, or its error.
fn wrap(py: Python<'_>, store: Result<CoreStore, StoreError>) -> PyResult<Py<TerminalStore>> {
    let store = store.map_err(|error| store_error(py, &error))?;
    let init = PyClassInitializer::from(Replica::with_node(Node::Durable(Box::new(store))))
        .add_subclass(TerminalStore {});
    Py::new(py, init)
}

#[pymethods]
impl TerminalStore {
    /// Creates a new store file at `path` (which must not exist: `sync.store_target_exists`)
    /// for terminal `terminal` of the ring's store, under a fresh incarnation drawn from
    /// `entropy` (8 to 512 random bytes, a multiple of 8). The ring must hold the
    /// terminal's origin key (`sync.store_missing_key`). Creation is atomic.
    #[staticmethod]
    #[pyo3(signature = (path, keyring, terminal, entropy, role = "member"))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        keyring: &KeyRing,
        terminal: u16,
        entropy: &Bound<'_, PyBytes>,
        role: &str,
    ) -> PyResult<Py<TerminalStore>> {
        self::path(&path, "path")?;
        wrap(
            py,
            CoreStore::create(
                &path,
                keyring.keys.store(),
                terminal,
                keyring.shared(),
                &mut super::entropy(entropy)?,
                options(role)?,
            ),
        )
    }

    /// Opens the existing store of terminal `terminal` at `path`, after checking it
    /// completely; fails loud (see the class documentation).
    #[staticmethod]
    #[pyo3(signature = (path, keyring, terminal, role = "member"))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        keyring: &KeyRing,
        terminal: u16,
        role: &str,
    ) -> PyResult<Py<TerminalStore>> {
        self::path(&path, "path")?;
        wrap(
            py,
            CoreStore::open(
                &path,
                keyring.keys.store(),
                terminal,
                keyring.shared(),
                options(role)?,
            ),
        )
    }

    /// Restores the backup at `backup_path` (made by `backup_to`; only read, and checked
    /// as on open) into a new file at `new_path` as a NEW incarnation of the backup's
    /// terminal, drawn from `entropy`.
    #[staticmethod]
    #[pyo3(signature = (backup_path, new_path, keyring, entropy, role = "member"))]
    fn restore_from_backup(
        py: Python<'_>,
        backup_path: PathBuf,
        new_path: PathBuf,
        keyring: &KeyRing,
        entropy: &Bound<'_, PyBytes>,
        role: &str,
    ) -> PyResult<Py<TerminalStore>> {
        path(&backup_path, "backup_path")?;
        path(&new_path, "new_path")?;
        wrap(
            py,
            CoreStore::restore_from_backup(
                &backup_path,
                &new_path,
                keyring.keys.store(),
                keyring.shared(),
                &mut super::entropy(entropy)?,
                options(role)?,
            ),
        )
    }

    /// Recovers terminal `terminal` after its store at `old_path` was found damaged or
    /// superseded: a new store at `new_path` under a fresh incarnation drawn from
    /// `entropy`, whose state comes from the upstream at the next sync; the old file's
    /// intact transactions go to the cloud for judgement. Close the old store first.
    /// Returns `(store, report)`, the report a dict `{"old", "salvaged", "confirmed",
    /// "unreadable", "queued", "incomplete"}`.
    #[staticmethod]
    #[pyo3(signature = (old_path, new_path, keyring, terminal, entropy, role = "member"))]
    fn recover<'py>(
        py: Python<'py>,
        old_path: PathBuf,
        new_path: PathBuf,
        keyring: &KeyRing,
        terminal: u16,
        entropy: &Bound<'py, PyBytes>,
        role: &str,
    ) -> PyResult<Bound<'py, PyTuple>> {
        path(&old_path, "old_path")?;
        path(&new_path, "new_path")?;
        let (store, recovery) = CoreStore::recover(
            &old_path,
            &new_path,
            keyring.keys.store(),
            terminal,
            keyring.shared(),
            &mut super::entropy(entropy)?,
            options(role)?,
        )
        .map_err(|error| store_error(py, &error))?;
        let report = report(py, &recovery)?;
        PyTuple::new(py, [wrap(py, Ok(store))?.into_any().into_bound(py), report])
    }

    /// Writes a consistent copy of the store to `path` (which must not exist), for
    /// `restore_from_backup`.
    fn backup_to(slf: &Bound<'_, Self>, path: PathBuf) -> PyResult<()> {
        self::path(&path, "path")?;
        let written = match &*slf.as_super().get().node()? {
            Node::Durable(store) => store.backup_to(&path),
            Node::Memory(_) | Node::Closed => return Err(closed()),
        };
        written.map_err(|error| store_error(slf.py(), &error))
    }

    /// The store's file.
    #[getter]
    fn path(slf: &Bound<'_, Self>) -> PyResult<PathBuf> {
        let node = slf.as_super().get().node()?;
        match &*node {
            Node::Durable(store) => Ok(store.path().to_path_buf()),
            Node::Memory(_) | Node::Closed => Err(closed()),
        }
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(matches!(&*slf.as_super().get().node()?, Node::Closed))
    }

    /// Closes the store (everything was already committed) and releases its file. Closing
    /// twice does nothing.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let mut node = slf.as_super().get().node()?;
        *node = Node::Closed;
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(slf: &Bound<'_, Self>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        Self::close(slf)?;
        Ok(false)
    }
}

/// A recovery's report as a dict.
fn report<'py>(py: Python<'py>, recovery: &Recovery) -> PyResult<Bound<'py, PyAny>> {
    let report = PyDict::new(py);
    report.set_item("old", recovery.old.map(|id| id.to_string()))?;
    report.set_item("salvaged", recovery.salvaged)?;
    report.set_item("confirmed", recovery.confirmed)?;
    report.set_item("unreadable", recovery.unreadable)?;
    report.set_item("queued", recovery.queued)?;
    report.set_item("incomplete", recovery.incomplete)?;
    Ok(report.into_any())
}
