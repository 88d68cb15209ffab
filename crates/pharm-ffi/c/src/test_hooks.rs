//! The test-only panic hook (feature `test-hooks`): lets the C test suite prove that a
//! panic inside an exported function returns `PHARM_RESULT_PANIC`, poisons the handle and
//! leaves the process running.

#[cfg(feature = "test-hooks")]
use std::cell::Cell;

#[cfg(feature = "test-hooks")]
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Makes the next exported call on the calling thread that runs in a panic boundary
/// panic inside it (once). Test builds only (feature `test-hooks`).
#[cfg(feature = "test-hooks")]
#[unsafe(no_mangle)]
pub extern "C" fn pharm_test_panic_next_call() {
    crate::boundary::guard_value((), || ARMED.with(|armed| armed.set(true)));
}

/// Panics if the hook is armed (disarming it first).
#[cfg(feature = "test-hooks")]
pub(crate) fn panic_if_armed() {
    if ARMED.with(|armed| armed.replace(false)) {
        panic!("forced by pharm_test_panic_next_call");
    }
}

/// Does nothing: the hook is compiled in only with feature `test-hooks`.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn panic_if_armed() {}
