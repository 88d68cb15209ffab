//! Fixed-size outputs: a plain `T *` the caller supplies (a `uint32_t`, a small struct),
//! checked for NULL before any work and written only on success.

use crate::error::Failure;

/// An output parameter of a fixed-size, plain-data type.
pub(super) struct Fixed<T: Copy> {
    slot: *mut T,
}

impl<T: Copy> Fixed<T> {
    /// Checks the caller's `slot` (`argument` names it in the error).
    pub(super) fn new(slot: *mut T, argument: &str) -> Result<Fixed<T>, Failure> {
        if slot.is_null() {
            return Err(Failure::null(argument));
        }
        Ok(Fixed { slot })
    }

    /// Writes `value` to the caller's slot.
    pub(super) fn set(self, value: T) {
        // SAFETY: `slot` is non-NULL (checked in `new`), aligned and writable by the
        // contract of every function that takes one; `write` does not read or drop the
        // (possibly uninitialized) old value.
        unsafe { self.slot.write(value) };
    }
}
