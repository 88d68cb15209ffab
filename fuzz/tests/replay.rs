//! Replays every committed corpus and regression file through its target's harness on
//! stable Rust, and checks the committed seed corpus is the one `pharm_fuzz::seeds` makes
//! (`PHARM_BLESS=1` writes it).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use pharm_fuzz::{TARGETS, seeds};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a folder (none when it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn every_corpus_and_regression_file_replays() {
    let mut total = 0;
    for target in TARGETS {
        let corpus = files(&root().join("corpus").join(target.name));
        assert!(!corpus.is_empty(), "{}: no committed corpus", target.name);
        let regressions = files(&root().join("regressions").join(target.name));
        for path in corpus.iter().chain(&regressions) {
            let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            assert!(
                outcome.is_ok(),
                "{} fails on {}",
                target.name,
                path.display()
            );
            total += 1;
        }
    }
    println!("replayed {total} files");
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for target in TARGETS {
        let path = root()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.contains(&format!("{}::run", target.name)),
            "{} does not call its harness",
            path.display()
        );
    }
}

#[test]
fn the_committed_seed_corpus_is_the_generated_one() {
    let bless = std::env::var_os("PHARM_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (target, seeds) in seeds::all() {
        let dir = root().join("corpus").join(target);
        if bless {
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        let mut names = BTreeSet::new();
        for (name, bytes) in seeds {
            assert!(names.insert(name.clone()), "{target}: seed {name} twice");
            let path = dir.join(&name);
            if bless {
                fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            } else if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "seed corpus differs (regenerate with PHARM_BLESS=1 cargo test --manifest-path \
         fuzz/Cargo.toml): {stale:?}"
    );
}
