//! The world the binary runs in: the substitution desk (the synthetic full-size Orange
//! Book or a real `products.txt`) and the shard stores (in memory, or PostgreSQL with the
//! `postgres` feature).

use std::sync::Arc;
use std::time::Instant;

use pharm_loadtest::cloud::table::TxnTables;
use pharm_loadtest::config::{Backend, Config};
use pharm_loadtest::sim::World;
use pharm_loadtest::subst_desk::SubstDesk;
use pharm_shard::directory::ShardMap;

/// Largest Orange Book file read (the real `products.txt` is about 5 MB).
const MAX_ORANGE_BOOK_BYTES: u64 = 64 << 20;

/// The backend's name in the report and the plot's title.
pub(crate) fn name(config: &Config) -> &'static str {
    match config.backend {
        Backend::Memory => "embedded",
        Backend::Postgres { .. } => "PostgreSQL",
    }
}

/// Builds the world of `config`; the second value says what was set up.
pub(crate) fn world(config: &Config) -> Result<(World, String), String> {
    let started = Instant::now();
    let desk = Arc::new(desk(config)?);
    let mut world = World::embedded(Arc::clone(&desk))?;
    let mut note = format!(
        "substitution desk: {} Orange Book products ({}), {:.2} s",
        desk.products(),
        config
            .orange_book
            .as_ref()
            .map_or("synthetic full-size products.txt".into(), |p| p
                .display()
                .to_string()),
        started.elapsed().as_secs_f64()
    );
    if let Backend::Postgres { urls } = &config.backend {
        let started = Instant::now();
        let (tables, map, what) = postgres(config, urls)?;
        world.map = map;
        world.tables = tables;
        note.push_str(&format!(
            "\nshard stores: {what} ({} logical shards), ready in {:.2} s",
            world.map.logical_count(),
            started.elapsed().as_secs_f64()
        ));
    } else {
        note.push_str("\nshard stores: in memory (16 logical shards)");
    }
    Ok((world, note))
}

fn desk(config: &Config) -> Result<SubstDesk, String> {
    match &config.orange_book {
        None => SubstDesk::generated(config.seed).map_err(|e| e.to_string()),
        Some(path) => {
            let shown = path.display().to_string();
            let len = std::fs::metadata(path)
                .map_err(|e| format!("{shown}: {e}"))?
                .len();
            if len > MAX_ORANGE_BOOK_BYTES {
                return Err(format!(
                    "{shown}: {len} bytes, more than the {MAX_ORANGE_BOOK_BYTES} an Orange Book file may have"
                ));
            }
            let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
            SubstDesk::from_products(&bytes, &shown).map_err(|e| e.to_string())
        }
    }
}

/// The PostgreSQL tables, their shard map and what they run on.
type Postgres = (Arc<dyn TxnTables>, ShardMap, String);

#[cfg(feature = "postgres")]
fn postgres(config: &Config, urls: &[String]) -> Result<Postgres, String> {
    use pharm_loadtest::cloud::pg::PgTables;
    let (tables, what) = if urls.is_empty() {
        let t = PgTables::start_local(config.physical, true).map_err(|e| e.to_string())?;
        let what = format!(
            "PostgreSQL, {} throwaway local clusters with a streaming replica each",
            config.physical
        );
        (t, what)
    } else {
        let t = PgTables::connect(urls).map_err(|e| e.to_string())?;
        (t, format!("PostgreSQL, {} clusters", urls.len()))
    };
    let map = tables.map();
    Ok((Arc::new(tables), map, what))
}

#[cfg(not(feature = "postgres"))]
fn postgres(_config: &Config, _urls: &[String]) -> Result<Postgres, String> {
    Err("--postgres needs the `postgres` feature: cargo run --release -p pharm-loadtest --features postgres -- --postgres".into())
}
