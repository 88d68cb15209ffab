//! debug
use std::sync::Arc;
use pharm_loadtest::cloud::table::{MemoryTables, TxnTables};
use pharm_loadtest::config::Config;
use pharm_loadtest::products::Templates;
use pharm_loadtest::sim::{Shard, directory};
use pharm_loadtest::workload::events;
fn main() {
    let c = Config { pharmacies: 20, ..Config::default() };
    let map = directory(1).unwrap();
    let tables: Arc<dyn TxnTables> = Arc::new(MemoryTables::new(16));
    let ids = [4u32, 5];
    let mut sh = Shard::new(&c, Arc::new(Templates::load().unwrap()), &map, tables, ids).unwrap();
    for e in events(&c, ids) { sh.play(&e); }
    let show = |sh: &Shard| for s in sh.stores() { if s.index != 5 { continue; }
        println!("root vv {:?}", s.root().replica().state().vv());
        for t in s.terminals() { let r = t.replica(); println!("t {:?} outbox {} sup {:?} vv {:?}", r.id(), r.outbox().count(), r.superseded(), r.state().vv()); } };
    show(&sh);
    sh.finish();
    show(&sh);
    for v in sh.check() { println!("{v}"); }
    println!("{:?}", sh.store_counts());
}
