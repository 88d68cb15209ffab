//! The transaction-table semantics check against the in-memory backend.
#![allow(missing_docs)]

mod tables_check;

use pharm_loadtest::cloud::table::MemoryTables;

#[test]
fn memory_tables_pass_the_table_check() {
    let rows = tables_check::check(&MemoryTables::new(16));
    assert_eq!(rows.len(), 12);
}
