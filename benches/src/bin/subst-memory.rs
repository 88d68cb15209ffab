//! `subst-memory`: how much memory and time a full-size Orange Book catalog takes.
//!
//! Generates the synthetic `products.txt` ([`generate_products_txt`], 55,000 rows unless a
//! row count is given as the first argument), then parses it strictly and builds the
//! [`Catalog`], and prints rows, products, edges, the group-size histograms, parse and build
//! times, the resident-set growth over parse + build (from `/proc/self/status`, Linux only;
//! it includes memory the allocator keeps from freed parse buffers, so it over-states the
//! catalog) and the catalog's own estimate, [`Catalog::heap_bytes`].
//!
//! The workspace forbids `unsafe`, so there is no counting global allocator: RSS it is.
//!
//! ```text
//! cargo run --release -p pharm-benches --bin subst-memory [-- ROWS]
//! ```

use std::process::ExitCode;
use std::time::Instant;

use pharm_benches::orange_book::{
    CatalogSummary, DEFAULT_ROWS, DEFAULT_SEED, generate_products_txt, parse_strict,
};
use pharm_subst::catalog::Catalog;

/// Target for the RSS growth of parse + build.
const TARGET_MB: f64 = 100.0;

/// `VmRSS` and `VmHWM` in bytes, when `/proc/self/status` is readable.
fn rss() -> Option<(usize, usize)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> ExitCode {
    let rows = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => DEFAULT_ROWS,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: subst-memory [ROWS]  ({e})");
            return ExitCode::FAILURE;
        }
    };
    let t = Instant::now();
    let text = generate_products_txt(DEFAULT_SEED, rows);
    let generate = t.elapsed();
    let before = rss();

    let t = Instant::now();
    let parsed = match parse_strict(&text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("parse failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parse = t.elapsed();
    let parsed_rows = parsed.products.len();
    let rejects = parsed.rejects.len();
    let after_parse = rss();

    let t = Instant::now();
    let catalog = match Catalog::build(parsed.products) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("build failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let build = t.elapsed();
    let after_build = rss();

    println!(
        "generated:  {rows} rows, {:.1} MB of text in {generate:.1?}",
        mb(text.len())
    );
    println!("parse:      {parse:.1?} ({parsed_rows} products, {rejects} rejects, strict)");
    println!("build:      {build:.1?}");
    println!("total load: {:.1?}", parse + build);
    println!("{}", CatalogSummary::of(&catalog));
    println!("Catalog::heap_bytes: {:.1} MB", mb(catalog.heap_bytes()));
    let mut ok = true;
    match (before, after_parse, after_build) {
        (Some((r0, _)), Some((r1, _)), Some((r2, hwm))) => {
            let delta = r2.saturating_sub(r0);
            println!(
                "RSS: {:.1} MB before parse, {:.1} MB after parse (+{:.1}), {:.1} MB after build; growth over parse + build {:.1} MB (target < {TARGET_MB} MB); peak RSS {:.1} MB",
                mb(r0),
                mb(r1),
                mb(r1.saturating_sub(r0)),
                mb(r2),
                mb(delta),
                mb(hwm)
            );
            ok = mb(delta) < TARGET_MB;
        }
        _ => println!("RSS: /proc/self/status not available on this system"),
    }
    drop(catalog);
    if let Some((r, _)) = rss() {
        println!("RSS after dropping the catalog: {:.1} MB", mb(r));
    }
    drop(text);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
