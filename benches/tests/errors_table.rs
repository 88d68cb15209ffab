//! `ERRORS.md` at the repository root is the one table of every stable error code of the
//! family (what the C ABI and the Python wheel return). This test renders it from the crates'
//! `ERROR_CODES` tables and fails when the committed file differs; `PHARM_BLESS=1` rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;

use pharm_core::error_code::{CODE_RANGES, ErrorCodeInfo, check_table};

fn tables() -> [(&'static str, &'static str, &'static [ErrorCodeInfo]); 5] {
    [
        (
            "ffi",
            "pharm-ffi (the C ABI's own results)",
            pharm_ffi::ERROR_CODES,
        ),
        ("core", "pharm-core", pharm_core::ERROR_CODES),
        ("subst", "pharm-subst", pharm_subst::ERROR_CODES),
        ("sync", "pharm-sync", pharm_sync::ERROR_CODES),
        ("shard", "pharm-shard", pharm_shard::ERROR_CODES),
    ]
}

fn render() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Every error of the pharm crates has a stable numeric code and a stable string id\n\
         (`pharm_core::error_code::ErrorCode`). The C ABI and the Python wheel return these; a code is\n\
         never reused for another meaning. Generated from the crates' `ERROR_CODES` tables by\n\
         `benches/tests/errors_table.rs` (re-bless with `PHARM_BLESS=1 cargo test -p pharm-benches --test errors_table`).\n\n\
         | range | owner |\n|---|---|\n",
    );
    for r in CODE_RANGES {
        writeln!(out, "| {}–{} | {} |", r.first, r.last, r.owner).unwrap();
    }
    for (_, krate, table) in tables() {
        write!(
            out,
            "\n## {krate}\n\n| code | id | meaning |\n|---|---|---|\n"
        )
        .unwrap();
        for row in table {
            writeln!(out, "| {} | `{}` | {} |", row.code, row.id, row.summary).unwrap();
        }
    }
    out
}

#[test]
fn every_table_is_well_formed_and_codes_are_unique_across_crates() {
    let mut seen = std::collections::BTreeMap::new();
    for (owner, _, table) in tables() {
        check_table(owner, table).unwrap();
        for row in table {
            assert!(
                seen.insert(row.code, row.id).is_none(),
                "{} twice",
                row.code
            );
        }
    }
}

#[test]
fn errors_md_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ERRORS.md");
    let want = render();
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ERRORS.md is stale: run `PHARM_BLESS=1 cargo test -p pharm-benches --test errors_table`"
    );
}
