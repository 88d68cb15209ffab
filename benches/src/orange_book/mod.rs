//! The synthetic full-size Orange Book of `pharm_loadtest::orange_book` (re-exported here,
//! so the benchmarks and binaries keep their paths), and [`sqlite`]: the "obvious
//! alternative", the same products in an in-memory SQLite database queried with one
//! prepared statement.

pub use pharm_loadtest::orange_book::*;
pub mod sqlite;
#[cfg(test)]
mod tests;
