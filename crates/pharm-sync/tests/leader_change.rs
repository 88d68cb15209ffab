//! Regression test: a store leader changes while the store is offline, and the new leader
//! learned a terminal's transactions only as state (through a delta from a member that had
//! them from the old leader). After the store reconnects, every transaction still reaches
//! the root and every outbox empties.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pharm_core::ids::PharmacyId;

use common::{member, new_lot, root, sell, sync};
use pharm_sync::ids::ReplicaId;
use pharm_sync::replica::Op;

const STORE: PharmacyId = PharmacyId::new(7);
const CLOUD: ReplicaId = ReplicaId::new(u16::MAX, 0);
const A: ReplicaId = ReplicaId::new(1, 0);
const B: ReplicaId = ReplicaId::new(2, 0);
const C: ReplicaId = ReplicaId::new(3, 0);

#[test]
fn transactions_known_to_a_new_leader_only_as_state_still_reach_the_root() {
    let mut cloud = root(STORE, CLOUD);
    let lot = cloud
        .replica_mut()
        .apply(
            1,
            Op::ReceiveNew {
                lot: new_lot(1, "A", "2027-01-31", false),
                qty: 1_000,
                reference: "po".into(),
            },
        )
        .unwrap()
        .new_lot()
        .unwrap();
    let (mut a, mut b, mut c) = (member(STORE, A), member(STORE, B), member(STORE, C));
    for p in [&mut a, &mut b, &mut c] {
        sync(p, &mut cloud, 2);
    }

    // Offline, A leads: it takes C's transactions; B learns them from A as state only.
    for now in 10..13 {
        sell(&mut c, now, lot, 1);
    }
    sell(&mut a, 13, lot, 2);
    sync(&mut c, &mut a, 14);
    sync(&mut b, &mut a, 15);
    assert_eq!(b.replica().state().vv().get(&C), 3);
    assert_eq!(
        b.replica().outbox().count(),
        0,
        "B holds C's sales as state only"
    );

    // A drops off the network; B leads. More sales on every terminal that is up.
    for now in 20..23 {
        sell(&mut c, now, lot, 1);
    }
    sell(&mut b, 23, lot, 4);
    sync(&mut c, &mut b, 24);

    // A comes back as a member; the store reconnects; everyone syncs until quiet.
    for pass in 0..6 {
        let now = 100 + 10 * pass;
        sync(&mut a, &mut b, now);
        sync(&mut c, &mut b, now + 1);
        sync(&mut b, &mut cloud, now + 2);
        sync(&mut a, &mut b, now + 3);
        sync(&mut c, &mut b, now + 4);
    }

    let held = cloud.replica().state().vv().clone();
    for p in [&a, &b, &c] {
        let id = p.replica().id();
        assert_eq!(
            held.get(&id),
            p.replica().state().vv().get(&id),
            "the root holds every transaction of {id:?}"
        );
        assert_eq!(
            p.replica().outbox().count(),
            0,
            "{id:?}'s outbox is empty: the root acknowledged everything"
        );
        assert_eq!(p.replica().state().vv(), &held, "{id:?} converged");
        assert_eq!(
            p.replica().state().value(&lot),
            cloud.replica().state().value(&lot)
        );
    }
    assert_eq!(cloud.replica().state().value(&lot), 1_000 - 6 - 2 - 4);
}
