//! Crash points (feature `crash-points`): a write transaction that stops after its k-th
//! write statement, before `COMMIT`, as a process killed there would.
//!
//! [`TerminalStore::crash_at`](super::TerminalStore::crash_at) arms the store's next write
//! transaction of [`apply`](super::TerminalStore::apply) or
//! [`apply_messages`](super::TerminalStore::apply_messages). While that transaction runs,
//! the point is armed for the calling thread: every write statement counts down, and the
//! one after the k-th fails with [`StoreError::Crashed`] instead of running; a transaction
//! with k or fewer statements crashes just before its `COMMIT`. The uncommitted transaction
//! is dropped (SQLite rolls it back) and the store is dead until it is reopened.

use std::cell::Cell;

use super::StoreError;

thread_local! {
    /// The armed point of the transaction running on this thread: write statements it
    /// may still run, and how many it ran.
    static ARMED: Cell<Option<(u32, u32)>> = const { Cell::new(None) };
}

/// The crash point of one write transaction, armed while it lives.
pub(super) struct Armed(());

impl Armed {
    /// Arms `after_writes` (nothing when `None`) for the calling thread.
    pub(super) fn new(after_writes: Option<u32>) -> Armed {
        ARMED.with(|a| a.set(after_writes.map(|k| (k, 0))));
        Armed(())
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.with(|a| a.set(None));
    }
}

/// Called before each write statement: the crash, once the armed count ran out.
pub(super) fn before_write() -> Result<(), StoreError> {
    ARMED.with(|a| match a.get() {
        Some((0, ran)) => Err(StoreError::Crashed { writes: ran }),
        Some((left, ran)) => {
            a.set(Some((left - 1, ran + 1)));
            Ok(())
        }
        None => Ok(()),
    })
}

/// Called before `COMMIT`: an armed transaction that ran all its statements crashes here.
pub(super) fn before_commit() -> Result<(), StoreError> {
    ARMED.with(|a| match a.get() {
        Some((_, ran)) => Err(StoreError::Crashed { writes: ran }),
        None => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_crashes_and_disarms_when_dropped() {
        assert!(before_write().is_ok() && before_commit().is_ok());
        let armed = Armed::new(Some(2));
        assert!(before_write().is_ok() && before_write().is_ok());
        assert!(matches!(
            before_write(),
            Err(StoreError::Crashed { writes: 2 })
        ));
        assert!(matches!(
            before_commit(),
            Err(StoreError::Crashed { writes: 2 })
        ));
        drop(armed);
        assert!(before_write().is_ok() && before_commit().is_ok());
        let _none = Armed::new(None);
        assert!(before_commit().is_ok());
    }
}
