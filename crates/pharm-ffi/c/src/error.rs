//! The error detail of the last call on each thread, and the calls that copy it out.
//!
//! Every exported call (except the accessors below, the `_free` functions and the
//! getters that cannot fail) clears the calling thread's detail on entry and records one
//! when it fails, so the detail always belongs to the thread's last call.

use std::cell::RefCell;
use std::fmt::Display;

use pharm_core::error_code::ErrorCode;

use crate::result::pharm_result;

/// Why a call failed: its result, the stable code and id, and a message naming the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) result: pharm_result,
    pub(crate) code: u32,
    pub(crate) id: &'static str,
    pub(crate) message: String,
}

impl Failure {
    /// One of the binding's own failures.
    pub(crate) fn own(result: pharm_result, message: impl Into<String>) -> Failure {
        Failure {
            result,
            code: result as u32,
            id: result.id(),
            message: message.into(),
        }
    }

    /// A failure with the code of `cause` (an error's most specific cause) and `message`
    /// (the whole chain).
    pub(crate) fn caused_by(cause: &dyn ErrorCode, message: String) -> Failure {
        Failure {
            result: pharm_result::for_code(cause.code()),
            code: cause.code(),
            id: cause.id(),
            message,
        }
    }

    /// A required pointer was NULL.
    pub(crate) fn null(argument: &str) -> Failure {
        Failure::own(pharm_result::NullParameter, format!("`{argument}` is NULL"))
    }

    /// An argument is out of range.
    pub(crate) fn invalid(argument: &str, why: impl Display) -> Failure {
        Failure::own(
            pharm_result::InvalidArgument,
            format!("`{argument}`: {why}"),
        )
    }
}

impl<E: ErrorCode + Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure {
            result: pharm_result::for_code(error.code()),
            code: error.code(),
            id: error.id(),
            message: error.to_string(),
        }
    }
}

thread_local! {
    static LAST: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

/// Forgets the calling thread's detail (at the start of every call).
pub(crate) fn clear() {
    LAST.with(|last| last.borrow_mut().take());
}

/// Records `failure` as the calling thread's detail and returns its result.
pub(crate) fn record(failure: Failure) -> pharm_result {
    let result = failure.result;
    LAST.with(|last| *last.borrow_mut() = Some(failure));
    result
}

fn with_last<T>(f: impl FnOnce(Option<&Failure>) -> T) -> T {
    LAST.with(|last| f(last.borrow().as_ref()))
}

/// The stable error code (`ERRORS.md`) of the calling thread's last call: 0 when it
/// succeeded. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn pharm_error_code() -> u32 {
    std::panic::catch_unwind(|| with_last(|last| last.map_or(0, |failure| failure.code)))
        .unwrap_or(pharm_result::Panic as u32)
}

/// Copies the message of the calling thread's last failed call into `buf`.
///
/// `*out_n` receives the message's length in bytes (UTF-8, without a terminator). When
/// `len` is larger than that, a NUL terminator follows the message. When `len` is too
/// small, nothing is copied and `PHARM_RESULT_BUFFER_TOO_SMALL` is returned: ask again
/// with `*out_n + 1` bytes (the detail stays until the thread's next call). With no
/// failure recorded the message is empty. `buf` may be NULL when `len` is 0.
///
/// # Safety
/// `buf` must point to `len` writable bytes (or be NULL with `len` 0); `out_n` must be
/// NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_error_message(
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> pharm_result {
    crate::boundary::guard_keeping_detail(|| {
        let message = with_last(|last| {
            last.map(|failure| failure.message.clone())
                .unwrap_or_default()
        });
        // SAFETY: the caller's contract is this function's.
        unsafe { crate::output::copy_text(&message, buf, len, out_n) }
    })
}

/// Copies the stable string id (`core.ndc_ambiguous`, `ffi.null_parameter`...) of the
/// calling thread's last failed call into `buf`, with the conventions of
/// `pharm_error_message()`. With no failure recorded the id is empty.
///
/// # Safety
/// As for `pharm_error_message()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_error_id(
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> pharm_result {
    crate::boundary::guard_keeping_detail(|| {
        let id = with_last(|last| last.map(|failure| failure.id).unwrap_or_default());
        // SAFETY: the caller's contract is this function's.
        unsafe { crate::output::copy_text(id, buf, len, out_n) }
    })
}
