//! Durable terminals make the same run as in-memory ones, and their files reopen.

use std::path::PathBuf;
use std::sync::Arc;

use pharm_sync::store::{StoreOptions, TerminalStore};

use super::key_ring;
use crate::config::Config;
use crate::requests::pharmacy_id;
use crate::sim::{Shard, World, run_simulated};
use crate::subst_desk::SubstDesk;
use crate::workload::events;

/// A fresh embedded world (new shard stores) on the synthetic Orange Book.
fn world() -> World {
    World::embedded(Arc::new(SubstDesk::generated(7).unwrap())).unwrap()
}

/// A fresh directory for one test's files (removed by [`Scratch`]'s drop).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("pharm-loadtest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn small(durable: u32, dir: &Scratch) -> Config {
    Config {
        pharmacies: 4,
        terminals: 3,
        txns: 40,
        offline_share: 50,
        crash_share: 100,
        sync_every_s: 300,
        durable,
        durable_dir: Some(dir.0.clone()),
        ..Config::default()
    }
}

#[test]
fn durable_terminals_make_the_same_run_as_in_memory_ones() {
    let dir = Scratch::new("same-run");
    let memory = run_simulated(&small(0, &dir), &world()).unwrap();
    let durable = run_simulated(&small(2, &dir), &world()).unwrap();
    assert!(dir.0.join("p1-t3.sqlite").exists());
    assert!(memory.stores.restores > 0);
    assert_eq!(memory.counts, durable.counts);
    // A durable terminal starts by syncing once with the cloud (it is created empty), so
    // it knows the cloud's acknowledgements a few messages earlier; everything else agrees.
    let no_messages = |mut c: super::StoreCounts| {
        c.messages = 0;
        c
    };
    assert_eq!(no_messages(memory.stores), no_messages(durable.stores));
    assert_eq!(memory.digest, durable.digest);
    assert_eq!(memory.violations, durable.violations);
}

#[test]
fn durable_files_reopen_with_the_final_state() {
    let dir = Scratch::new("reopen");
    let config = Config {
        offline_share: 0,
        ..small(1, &dir)
    };
    let mut shard = Shard::new(&config, &world(), [0]).unwrap();
    for event in events(&config, [0]) {
        let lookup = shard.substitution(&event);
        shard.play(&event, lookup.as_ref());
    }
    shard.finish();
    let store = shard.stores().next().unwrap();
    let ends: Vec<_> = store
        .terminals()
        .iter()
        .map(|t| {
            let path = t.end().path().unwrap().to_path_buf();
            let r = t.replica();
            (path, r.id(), r.state().clone())
        })
        .collect();
    let names: Vec<String> = ends
        .iter()
        .map(|(path, ..)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("p0-t")), "{names:?}");
    // The planned crash restored one terminal from its backup into a new file.
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".restored")).count(),
        1,
        "{names:?}"
    );
    drop(shard);
    for (path, id, state) in ends {
        let keys = key_ring(0, config.terminals, Some(id.terminal));
        let reopened = TerminalStore::open(
            &path,
            pharmacy_id(0),
            id.terminal,
            keys,
            StoreOptions::default(),
        )
        .unwrap();
        let r = reopened.replica();
        assert_eq!(r.id(), id);
        assert_eq!(r.state().vv(), state.vv());
        let lots: Vec<_> = state.lots().map(|(info, v)| (info.key, v)).collect();
        assert!(!lots.is_empty());
        for (key, v) in lots {
            assert_eq!(r.state().value(&key), v, "{path:?} lot {key:?}");
        }
    }
}

#[test]
fn durable_pairs_get_their_own_driver_thread() {
    let dir = Scratch::new("driver");
    let config = small(1, &dir);
    assert_eq!(crate::sim::drivers(&config, 2), 3);
    let threads: Vec<usize> = (0..4).map(|p| crate::sim::driver(&config, p, 2)).collect();
    assert_eq!(threads, [2, 2, 1, 1]);
    let memory = Config {
        durable_dir: None,
        ..config
    };
    assert_eq!(crate::sim::drivers(&memory, 2), 2);
}
