//! Replays every committed corpus and regression file through its target's harness on
//! stable Rust, runs a brief deterministic mutation pass over the corpus (no coverage
//! guidance: that is `scripts/fuzz`), and checks the committed seed corpus is the one
//! `pharm_fuzz::seeds` makes (`PHARM_BLESS=1` writes it).

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

/// Mutations per target in the stable pass (`PHARM_FUZZ_MUTATIONS` overrides).
const MUTATIONS: usize = 2_000;

/// A small deterministic generator (xorshift64*), so a failing mutation replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

/// One to four mutations of `data`: bit flips, bytes set to edge values, truncation,
/// a slice repeated or removed, random bytes inserted.
fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    const EDGES: [u8; 8] = [0, 0xFF, 0x7F, 0x80, b'"', b'|', b'~', b'\n'];
    let mut out = data.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len());
        match rng.below(6) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.below(8),
            1 if !out.is_empty() => out[at] = EDGES[rng.below(EDGES.len())],
            2 => out.truncate(at),
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                let slice = out[at..end].to_vec();
                out.splice(at..at, slice);
            }
            4 if at < out.len() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            _ => {
                let bytes: Vec<u8> = (0..=rng.below(8)).map(|_| rng.next() as u8).collect();
                out.splice(at..at, bytes);
            }
        }
    }
    out
}

#[test]
fn mutated_corpus_inputs_never_break_a_harness() {
    let per_target = std::env::var("PHARM_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTATIONS);
    for (k, target) in TARGETS.iter().enumerate() {
        let corpus: Vec<Vec<u8>> = files(&root().join("corpus").join(target.name))
            .iter()
            .filter_map(|p| fs::read(p).ok())
            .collect();
        assert!(!corpus.is_empty(), "{}: no committed corpus", target.name);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ k as u64);
        for i in 0..per_target {
            let input = mutate(&corpus[i % corpus.len()], &mut rng);
            let outcome = std::panic::catch_unwind(|| (target.run)(&input));
            assert!(
                outcome.is_ok(),
                "{} fails on mutation {i} of its corpus ({} bytes; save it under \
                 fuzz/regressions/{}/): {:?}",
                target.name,
                input.len(),
                target.name,
                input
            );
        }
    }
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
