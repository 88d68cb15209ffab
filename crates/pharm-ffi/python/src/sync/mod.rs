//! `pharm.sync`: key rings, in-memory inventory replicas and durable terminal stores of
//! pharm-sync, with sync messages as `bytes`.
//!
//! Time is the caller's wall clock as Unix milliseconds (`now_ms`) and randomness the
//! caller's bytes (`entropy`), as in the C ABI: nothing here reads a clock or a random
//! number generator. Errors of pharm-sync raise `pharm.SyncError` with the code of their
//! most specific cause (a refused operation its own, a refused message the protocol's or
//! the decoder's) and the whole chain as message.

mod inventory;
mod keyring;
mod messages;
mod replica;
mod terminal;

use pharm_sync::ids::EntropyBytes;
use pharm_sync::protocol::{ProtocolError, Role};
use pharm_sync::store::StoreError;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// Most entropy accepted: one 8-byte draw for every attempt pharm-sync makes.
const MAX_ENTROPY_BYTES: usize = 8 * pharm_sync::ids::INCARNATION_DRAWS;

/// Adds the `pharm.sync` classes and functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<keyring::KeyRing>()?;
    m.add_class::<replica::Replica>()?;
    m.add_class::<terminal::TerminalStore>()?;
    m.add_function(wrap_pyfunction!(messages::message_to_dict, m)?)?;
    Ok(())
}

/// A store error as `pharm.SyncError`, with its most specific cause's code.
fn store_error(py: Python<'_>, error: &StoreError) -> PyErr {
    let cause = error.most_specific();
    errors::domain_with(py, cause.code(), cause.id(), error.to_string())
}

/// A protocol error as `pharm.SyncError`, with its most specific cause's code.
fn protocol_error(py: Python<'_>, error: &ProtocolError) -> PyErr {
    let cause = error.most_specific();
    errors::domain_with(py, cause.code(), cause.id(), error.to_string())
}

/// The `role` argument: `"member"` (a till or store server) or `"root"` (the cloud).
fn role(role: &str) -> PyResult<Role> {
    match role {
        "member" => Ok(Role::Member),
        "root" => Ok(Role::Root),
        other => Err(PyValueError::new_err(format!(
            "role must be \"member\" or \"root\", not {other:?}"
        ))),
    }
}

/// The name of a role, as the `role` argument takes it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Root => "root",
        Role::Member => "member",
    }
}

/// The `entropy` argument: 8 to 512 random bytes, a multiple of 8 (ValueError otherwise).
fn entropy<'a>(bytes: &'a Bound<'_, PyBytes>) -> PyResult<EntropyBytes<'a>> {
    let bytes = bytes.as_bytes();
    if bytes.len() < 8 || bytes.len() > MAX_ENTROPY_BYTES || bytes.len() % 8 != 0 {
        return Err(PyValueError::new_err(format!(
            "entropy: {} bytes; give 8 to {MAX_ENTROPY_BYTES} random bytes (os.urandom), a multiple of 8",
            bytes.len()
        )));
    }
    Ok(EntropyBytes::new(bytes))
}
