//! `benches/README.md` has one table row per criterion bench: this test reads the bench ids
//! from `benches/benches/*.rs` with a plain text scan and fails when one has no row, when a
//! row names a bench that no longer exists, or when a row's command runs another bench file.
//!
//! The scan reads, in file order (full-line comments and whitespace removed): a group from
//! `benchmark_group("G")`, and a bench name from `bench_function("N"` or from a helper call
//! `(&mut group, "N"` (a helper that takes the group, then the name). A `bench_function` whose
//! name is neither a literal nor a helper's `name` parameter fails the test, so no id is
//! missed silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The text after `at`, up to the closing quote of the string literal that starts it.
fn literal(text: &str, at: usize) -> Option<&str> {
    let rest = text.get(at..)?.strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

/// The code of a bench file without full-line comments and without whitespace.
fn squeeze(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

/// Every bench id (`group/name`) of one bench file, in file order.
fn bench_ids(source: &str) -> Vec<String> {
    let code = squeeze(source);
    let mut ids = Vec::new();
    let mut group: Option<&str> = None;
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        if let Some(after) = rest.strip_prefix("benchmark_group(") {
            group = Some(literal(after, 0).expect("a benchmark group named by a literal"));
        } else if rest.starts_with(".finish()") {
            group = None;
        } else if let Some(after) = rest.strip_prefix("bench_function(") {
            match literal(after, 0) {
                Some(name) => ids.push(id(group, name)),
                None => assert!(
                    after.starts_with("name,"),
                    "a bench named by neither a literal nor a helper's `name`: {}",
                    &after[..after.len().min(40)]
                ),
            }
        } else if let Some(after) = rest.strip_prefix("(&mut") {
            let ident = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if let Some(name) = after[ident..].strip_prefix(',').and_then(|a| literal(a, 0)) {
                ids.push(id(group, name));
            }
        }
        at += rest.chars().next().map_or(1, char::len_utf8);
    }
    ids
}

fn id(group: Option<&str>, name: &str) -> String {
    group.map_or_else(|| name.to_owned(), |g| format!("{g}/{name}"))
}

/// The bench ids of every file in `benches/benches/`, by file stem.
fn ids_by_file(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut by_file = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let ids = bench_ids(&std::fs::read_to_string(&path).unwrap());
            assert!(!ids.is_empty(), "no bench found in {stem}.rs");
            by_file.insert(stem, ids);
        }
    }
    by_file
}

/// The README's table rows whose first cell is one code span naming a bench (`group/name`):
/// that id and the whole row.
fn readme_rows(readme: &str) -> BTreeMap<String, String> {
    readme
        .lines()
        .filter_map(|line| {
            let first = line.strip_prefix('|')?.split('|').next()?.trim();
            let id = first.strip_prefix('`')?.strip_suffix('`')?;
            id.contains('/').then(|| (id.to_owned(), line.to_owned()))
        })
        .collect()
}

#[test]
fn the_scan_reads_literal_groups_names_and_helper_calls() {
    let source = r#"
        let mut group = c.benchmark_group("g");
        // group.bench_function("commented_out", |b| {});
        group.bench_function("a", |b| b.iter(|| 1));
        helper(
            &mut group,
            "b",
            &keys,
        );
        group.finish();
        fn helper(group: &mut G, name: &str) { group.bench_function(name, |b| {}); }
    "#;
    assert_eq!(bench_ids(source), ["g/a", "g/b"]);
}

#[test]
fn every_bench_has_a_row_in_the_readme_and_every_row_a_bench() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let rows = readme_rows(&readme);
    let by_file = ids_by_file(&root.join("benches"));
    let mut missing = Vec::new();
    for (file, ids) in &by_file {
        for id in ids {
            match rows.get(id) {
                None => missing.push(id.clone()),
                Some(row) => assert!(
                    row.contains(&format!("--bench {file} ")),
                    "the README's row for `{id}` does not run `--bench {file}`"
                ),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "benches without a row in benches/README.md: {missing:?}"
    );
    let known: Vec<&String> = by_file.values().flatten().collect();
    let stale: Vec<&String> = rows.keys().filter(|id| !known.contains(id)).collect();
    assert!(
        stale.is_empty(),
        "benches/README.md lists benches that no longer exist: {stale:?}"
    );
}
