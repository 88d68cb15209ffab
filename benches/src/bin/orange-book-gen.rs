//! `orange-book-gen`: writes the synthetic full-size Orange Book `products.txt`
//! ([`generate_products_txt`]: 55,000 rows and the fixed seed unless given) to a file, and
//! beside it (`OUT.keys`, one per line) the 256 mixed product keys the `substitution`
//! benchmark queries ([`sample_keys`]), for benchmarks outside Rust (the Python wheel's
//! `bench.py`).
//!
//! ```text
//! cargo run --release -p pharm-benches --bin orange-book-gen -- OUT [ROWS]
//! ```

use std::process::ExitCode;

use pharm_benches::orange_book::{
    DEFAULT_ROWS, DEFAULT_SEED, MAX_ROWS, generate_products_txt, load_catalog, sample_keys,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), rows) = (args.first(), args.get(1)) else {
        eprintln!("usage: orange-book-gen OUT [ROWS]");
        return ExitCode::from(2);
    };
    let rows = match rows.map(|r| r.parse::<usize>()) {
        None => DEFAULT_ROWS,
        Some(Ok(rows)) if (1..=MAX_ROWS).contains(&rows) => rows,
        Some(_) => {
            eprintln!("orange-book-gen: ROWS must be a number from 1 to {MAX_ROWS}");
            return ExitCode::from(2);
        }
    };
    let text = generate_products_txt(DEFAULT_SEED, rows);
    let catalog = match load_catalog(&text) {
        Ok(catalog) => catalog,
        Err(error) => {
            eprintln!("orange-book-gen: the generated file does not load: {error}");
            return ExitCode::FAILURE;
        }
    };
    let keys: String = sample_keys(&catalog, 256, DEFAULT_SEED)
        .keys
        .iter()
        .map(|key| format!("{key}\n"))
        .collect();
    let keys_out = format!("{out}.keys");
    for (path, data) in [
        (out.as_str(), text.as_str()),
        (keys_out.as_str(), keys.as_str()),
    ] {
        if let Err(error) = std::fs::write(path, data) {
            eprintln!("orange-book-gen: cannot write {path}: {error}");
            return ExitCode::FAILURE;
        }
    }
    println!("orange-book-gen: {rows} rows written to {out}, the benchmark keys to {keys_out}");
    ExitCode::SUCCESS
}
