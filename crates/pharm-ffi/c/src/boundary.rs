//! The panic boundary every exported function runs in, and handle poisoning.
//!
//! A panic must never unwind into C (that aborts the till at best). Each exported call
//! runs its body under `catch_unwind`; a panic becomes `PHARM_RESULT_PANIC` with the panic
//! message as the error detail, and the handle the call was using is poisoned: every later
//! call on it returns `PHARM_RESULT_POISONED` without touching its possibly half-updated
//! state. Only `_free` still works on a poisoned handle.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{self, Failure};
use crate::result::pharm_result;

/// Whether a handle was poisoned by a panic.
#[derive(Debug, Default)]
pub(crate) struct Poison(AtomicBool);

/// A handle type: something the caller holds a pointer to.
pub(crate) trait Handle {
    /// The handle's poison flag.
    fn poison(&self) -> &Poison;
}

/// Runs the body of a call that uses no handle.
pub(crate) fn call(body: impl FnOnce() -> Result<(), Failure>) -> pharm_result {
    error::clear();
    finish(catch_unwind(AssertUnwindSafe(|| {
        crate::test_hooks::panic_if_armed();
        body()
    })))
}

/// Runs the body of a call on a handle passed by `*const`.
///
/// # Safety
/// `handle` is NULL or a live handle of type `H` from this library.
pub(crate) unsafe fn call_with<H: Handle>(
    handle: *const H,
    argument: &str,
    body: impl FnOnce(&H) -> Result<(), Failure>,
) -> pharm_result {
    error::clear();
    // SAFETY: the caller's contract is this function's.
    let live = match unsafe { crate::input::handle(handle, argument) } {
        Ok(live) => live,
        Err(failure) => return error::record(failure),
    };
    if live.poison().0.load(Ordering::Acquire) {
        return poisoned(argument);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crate::test_hooks::panic_if_armed();
        body(live)
    }));
    if outcome.is_err() {
        live.poison().0.store(true, Ordering::Release);
    }
    finish(outcome)
}

/// Runs the body of a call on a handle passed by `*mut` (exclusive use during the call).
///
/// # Safety
/// `handle` is NULL or a live handle of type `H` from this library that no other thread
/// uses during the call.
pub(crate) unsafe fn call_with_mut<H: Handle>(
    handle: *mut H,
    argument: &str,
    body: impl FnOnce(&mut H) -> Result<(), Failure>,
) -> pharm_result {
    error::clear();
    // SAFETY: the caller's contract is this function's.
    let live = match unsafe { crate::input::handle_mut(handle, argument) } {
        Ok(live) => live,
        Err(failure) => return error::record(failure),
    };
    if live.poison().0.load(Ordering::Acquire) {
        return poisoned(argument);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crate::test_hooks::panic_if_armed();
        body(&mut *live)
    }));
    if outcome.is_err() {
        live.poison().0.store(true, Ordering::Release);
    }
    finish(outcome)
}

/// Runs a call that has no handle and cannot fail (accessors, version): a panic, which none
/// of them can raise today, returns `fallback` instead of unwinding into C.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Runs an accessor of the error detail: catches panics but keeps the detail.
pub(crate) fn guard_keeping_detail(body: impl FnOnce() -> pharm_result) -> pharm_result {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(pharm_result::Panic)
}

/// Frees a handle made by `Box::into_raw`; NULL does nothing. Works on poisoned handles.
///
/// # Safety
/// `handle` is NULL or a handle of type `H` from this library, not yet freed and not in
/// use by another thread.
pub(crate) unsafe fn free<H>(handle: *mut H) {
    if handle.is_null() {
        return;
    }
    // A panic in a destructor must not unwind into C; the memory is then leaked.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: from `Box::into_raw` (every handle is made by `Out::set`), not yet
        // freed, not shared during the call (caller's contract).
        drop(unsafe { Box::from_raw(handle) })
    }));
}

fn poisoned(argument: &str) -> pharm_result {
    error::record(Failure::own(
        pharm_result::Poisoned,
        format!(
            "`{argument}` was poisoned by a panic in an earlier call; free it and make a new one"
        ),
    ))
}

fn finish(outcome: Result<Result<(), Failure>, Box<dyn Any + Send>>) -> pharm_result {
    match outcome {
        Ok(Ok(())) => pharm_result::Ok,
        Ok(Err(failure)) => error::record(failure),
        Err(payload) => error::record(Failure::own(
            pharm_result::Panic,
            format!(
                "internal error (panic): {}",
                panic_message(payload.as_ref())
            ),
        )),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "no message"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::output::Out;

    #[derive(Debug, Default)]
    struct Counter {
        poison: Poison,
        value: u32,
    }

    impl Handle for Counter {
        fn poison(&self) -> &Poison {
            &self.poison
        }
    }

    fn new_counter() -> *mut Counter {
        let mut slot: *mut Counter = std::ptr::null_mut();
        let result = call(|| {
            Out::new(&mut slot, "out")?.set(Counter::default());
            Ok(())
        });
        assert_eq!(result, pharm_result::Ok);
        slot
    }

    #[test]
    fn a_panic_returns_the_panic_code_and_poisons_only_that_handle() {
        let counter = new_counter();
        let other = new_counter();
        // SAFETY: live handles from new_counter, used by this thread only.
        unsafe {
            let bump = |h: *mut Counter| {
                call_with_mut(h, "counter", |c| {
                    c.value += 1;
                    Ok(())
                })
            };
            assert_eq!(bump(counter), pharm_result::Ok);
            let result = call_with_mut(counter, "counter", |c| {
                c.value += 1;
                panic!("half-way");
            });
            assert_eq!(result, pharm_result::Panic);
            assert_eq!(crate::pharm_error_code(), pharm_result::Panic as u32);
            assert_eq!(bump(counter), pharm_result::Poisoned);
            assert_eq!(
                call_with(counter.cast_const(), "counter", |_| Ok(())),
                pharm_result::Poisoned
            );
            assert_eq!(
                (*counter).value,
                2,
                "the poisoned handle was not touched again"
            );
            assert_eq!(bump(other), pharm_result::Ok);
            free(counter);
            free(other);
        }
    }

    #[test]
    fn null_handles_and_outputs_are_reported_not_dereferenced() {
        // SAFETY: NULL is allowed by the contract of every call below.
        unsafe {
            assert_eq!(
                call_with(std::ptr::null::<Counter>(), "counter", |_| Ok(())),
                pharm_result::NullParameter
            );
            assert_eq!(
                call_with_mut(std::ptr::null_mut::<Counter>(), "counter", |_| Ok(())),
                pharm_result::NullParameter
            );
            free(std::ptr::null_mut::<Counter>());
        }
        let result = call(|| {
            Out::<Counter>::new(std::ptr::null_mut(), "out")?;
            Ok(())
        });
        assert_eq!(result, pharm_result::NullParameter);
    }

    #[test]
    fn a_successful_call_clears_the_previous_detail() {
        assert_eq!(
            call(|| Err(Failure::invalid("x", "bad"))),
            pharm_result::InvalidArgument
        );
        assert_eq!(
            crate::pharm_error_code(),
            pharm_result::InvalidArgument as u32
        );
        assert_eq!(call(|| Ok(())), pharm_result::Ok);
        assert_eq!(crate::pharm_error_code(), 0);
    }
}
