//! The controlled-substance log check: after the final sync, the cloud's log of the store
//! (21 CFR 1304.21/1304.22 records, built by pharm-sync's `cs_log` as the root accepts
//! transactions) verifies as exported, has the head the cloud reports, waits for nothing,
//! refused no restore link, and holds one entry per controlled transaction the terminals
//! committed.

use pharm_sync::cs_log::{CsKind, verify};

use super::Store;
use super::checks::{INVARIANTS, Violation};

/// The invariant's name in [`INVARIANTS`].
const CS_LOG: &str = INVARIANTS[15];

impl Store {
    pub(super) fn check_cs_log(&self, out: &mut Vec<Violation>) {
        let p = self.index;
        let log = self.root.cs_log();
        let cloud = self.root.replica().id();
        let entries = log.export();
        let mut fail =
            |detail: String| out.push(Violation::new(CS_LOG, format!("pharmacy {p}: {detail}")));
        match verify(self.id, &entries) {
            Ok(head) if head != log.head() => {
                fail(format!(
                    "the exported log's head {head:?} is not the cloud's {:?}",
                    log.head()
                ));
            }
            Ok(_) => {}
            Err(e) => fail(format!("the exported log does not verify: {e}")),
        }
        if let Some((replica, seq)) = log.waiting().next() {
            fail(format!(
                "entries of {replica:?} wait for a gap before seq {seq}"
            ));
        }
        if let Some(conflict) = log.conflicts().first() {
            fail(format!("a restore link was refused: {conflict}"));
        }
        let by_terminals = entries
            .iter()
            .filter(|e| e.txn.replica != cloud && e.kind != CsKind::SegmentStart)
            .count() as u64;
        if by_terminals != self.controlled_committed {
            fail(format!(
                "{by_terminals} entries of terminals for {} controlled transactions committed",
                self.controlled_committed
            ));
        }
    }
}
