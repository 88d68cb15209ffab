//! Outputs: library-allocated byte buffers (`pharm_bytes`) for every variable-length
//! result, and the copy of short text into a caller's buffer for the error detail.
//!
//! One rule for every output of a call: it is a `pharm_bytes` the library allocates and
//! the caller frees with `pharm_bytes_free()`. A call can therefore never fail half-way
//! because a buffer was small (which would matter for calls that change a store). Only the
//! error detail, which the library keeps per thread and can copy again, goes into a buffer
//! the caller supplies.

use crate::error::Failure;
use crate::result::pharm_result;

/// Bytes the library allocated for the caller: JSON text (UTF-8, no terminator) or a sync
/// message. Read with `pharm_bytes_data()` and `pharm_bytes_len()`; free with
/// `pharm_bytes_free()`. Immutable: may be read from any thread.
#[derive(Debug)]
pub struct pharm_bytes {
    data: Box<[u8]>,
}

/// The first byte of `bytes` (never NULL for a non-NULL `bytes`, even when empty); NULL
/// for NULL. The bytes stay valid until `bytes` is freed.
///
/// # Safety
/// `bytes` must be NULL or a live `pharm_bytes` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_bytes_data(bytes: *const pharm_bytes) -> *const u8 {
    crate::boundary::guard_value(std::ptr::null(), || {
        // SAFETY: NULL or a live pharm_bytes, by the caller's contract.
        match unsafe { bytes.as_ref() } {
            Some(bytes) => bytes.data.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The number of bytes in `bytes`; 0 for NULL.
///
/// # Safety
/// `bytes` must be NULL or a live `pharm_bytes` from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_bytes_len(bytes: *const pharm_bytes) -> usize {
    crate::boundary::guard_value(0, || {
        // SAFETY: NULL or a live pharm_bytes, by the caller's contract.
        unsafe { bytes.as_ref() }.map_or(0, |bytes| bytes.data.len())
    })
}

/// Frees `bytes`. `pharm_bytes_free(NULL)` does nothing; freeing twice is undefined.
///
/// # Safety
/// `bytes` must be NULL or a `pharm_bytes` from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_bytes_free(bytes: *mut pharm_bytes) {
    // SAFETY: NULL or a pointer from `Box::into_raw` in `Out::set`, not yet freed (the
    // caller's contract).
    unsafe { crate::boundary::free(bytes) }
}

/// An output parameter checked at the start of a call and written only on success.
pub(crate) struct Out<T> {
    slot: *mut *mut T,
}

impl<T> Out<T> {
    /// Checks the caller's `slot` (`argument` names it in the error).
    pub(crate) fn new(slot: *mut *mut T, argument: &str) -> Result<Out<T>, Failure> {
        if slot.is_null() {
            return Err(Failure::null(argument));
        }
        Ok(Out { slot })
    }

    /// Hands `value` to the caller, who owns it from now on.
    pub(crate) fn set(self, value: T) {
        // SAFETY: `slot` is non-NULL (checked in `new`) and writable by the caller's
        // contract of every function that takes one.
        unsafe { *self.slot = Box::into_raw(Box::new(value)) };
    }
}

impl Out<pharm_bytes> {
    /// Hands `data` to the caller as a `pharm_bytes`.
    pub(crate) fn set_bytes(self, data: Vec<u8>) {
        self.set(pharm_bytes {
            data: data.into_boxed_slice(),
        });
    }
}

/// Copies `text` into the caller's buffer, NUL-terminated when there is room, reporting
/// the length (without the terminator) in `*out_n`.
///
/// # Safety
/// `buf` points to `len` writable bytes or is NULL with `len` 0; `out_n` is NULL or
/// writable.
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> pharm_result {
    if out_n.is_null() {
        return pharm_result::NullParameter;
    }
    // SAFETY: `out_n` is non-NULL and writable (caller's contract).
    unsafe { *out_n = text.len() };
    if len < text.len() {
        return pharm_result::BufferTooSmall;
    }
    if buf.is_null() {
        // Only an empty text fits a NULL buffer of length 0.
        return if text.is_empty() {
            pharm_result::Ok
        } else {
            pharm_result::NullParameter
        };
    }
    // SAFETY: `buf` holds `len >= text.len()` writable bytes that cannot overlap the
    // library's own string (caller's contract).
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf, text.len()) };
    if len > text.len() {
        // SAFETY: index `text.len()` is inside the `len` bytes.
        unsafe { *buf.add(text.len()) = 0 };
    }
    pharm_result::Ok
}
