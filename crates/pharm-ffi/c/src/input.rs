//! Inputs: `(pointer, length)` pairs checked for NULL, size and UTF-8.

use crate::error::Failure;
use crate::result::pharm_result;

/// Borrows `len` bytes at `ptr`: NULL is accepted only with `len` 0 (an empty input);
/// more than `max` bytes is `PHARM_RESULT_INPUT_TOO_LARGE`.
///
/// # Safety
/// `ptr` points to `len` readable bytes that stay unchanged for `'a`, or is NULL.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    argument: &str,
    max: usize,
) -> Result<&'a [u8], Failure> {
    if len > max {
        return Err(Failure::own(
            pharm_result::InputTooLarge,
            format!("`{argument}` is {len} bytes; at most {max} are accepted"),
        ));
    }
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(argument))
        };
    }
    // SAFETY: non-NULL, `len` readable bytes unchanged for 'a (caller's contract); `len`
    // is at most `max`, far below isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows `len` bytes at `ptr` as UTF-8 text, with the checks of [`bytes`].
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(
    ptr: *const u8,
    len: usize,
    argument: &str,
    max: usize,
) -> Result<&'a str, Failure> {
    // SAFETY: the caller's contract is this function's.
    let bytes = unsafe { bytes(ptr, len, argument, max) }?;
    std::str::from_utf8(bytes).map_err(|error| {
        Failure::own(
            pharm_result::InvalidUtf8,
            format!("`{argument}` is not UTF-8: {error}"),
        )
    })
}

/// Borrows a handle the caller passed by `*const`.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` from this library.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, argument: &str) -> Result<&'a T, Failure> {
    // SAFETY: NULL or a live handle (caller's contract).
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(argument))
}

/// Borrows a handle the caller passed by `*mut` (the caller guarantees no other thread
/// uses it during the call).
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` from this library, not used by another
/// thread during the call.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, argument: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: NULL or a live, exclusively used handle (caller's contract).
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(argument))
}
