//! The event bus against a real `redis-server` (feature `redis`): an event published by
//! one process reaches another's L1, namespace versions are recorded for processes that
//! start later (replays refused), hostile messages are counted and skipped, and a lost
//! subscription forgets L1 (events published meanwhile are lost to pub/sub).
//!
//! Without `redis-server` these tests skip loudly; `PHARM_REQUIRE_REDIS=1` (CI) fails
//! them instead.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TestOrigin, Val, two_threads as runtime};
use pharm_cache::bus::{BusError, BusStats, MAX_EVENT_BYTES, RedisBus};
use pharm_cache::l2::RedisL2;
use pharm_cache::l2::local::RedisServer;
use pharm_cache::{Cache, CachePolicy, Caches, DataClass, Event, Namespace, Scope, Source};
use pharm_core::ids::PharmacyId;
use pharm_core::time::{Clock, ManualClock};
use tokio::task::JoinHandle;

const PHARMACY: Scope = Scope::Pharmacy(PharmacyId::new(5));
const PREFIX: &str = "tenant-a:";

/// One app server: its caches over the shared Redis L2, its bus, and the bus's task.
struct Process {
    caches: Caches,
    patients: Cache<Val>,
    bus: RedisBus,
    serving: Option<JoinHandle<()>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(task) = self.serving.take() {
            task.abort();
        }
    }
}

async fn process(server: &RedisServer, origin: &Arc<TestOrigin>, serve: bool) -> Process {
    let clock: Arc<dyn Clock> =
        Arc::new(ManualClock::starting_at(Duration::from_secs(1_800_000_000)));
    let l2 = RedisL2::connect(&server.url(), PREFIX)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let caches = Caches::builder(CachePolicy::design(), clock)
        .l2(Arc::new(l2))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let patients = caches
        .cache::<Val>(DataClass::Patient, origin.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let bus = RedisBus::connect(&server.url(), PREFIX)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let serving = serve.then(|| {
        let (bus, caches) = (bus.clone(), caches.clone());
        tokio::spawn(async move { bus.serve(&caches).await })
    });
    let process = Process {
        caches,
        patients,
        bus,
        serving,
    };
    if serve {
        until(&process.bus, |s| s.subscriptions >= 1).await;
    }
    process
}

/// Waits (at most 30 s: CI machines are busy) for the bus's counters to satisfy `done`.
async fn until(bus: &RedisBus, done: impl Fn(BusStats) -> bool) -> BusStats {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = bus.stats();
        if done(stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "bus stuck at {stats:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn read(cache: &Cache<Val>, id: &str) -> (Source, Option<u64>) {
    let key = cache.key(PHARMACY, id).unwrap_or_else(|e| panic!("{e}"));
    let fetched = cache.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
    (fetched.source, fetched.value.map(|v| v.version))
}

fn patient_updated(id: &str) -> Event {
    Event::PatientUpdated {
        pharmacy: PharmacyId::new(5),
        patient: id.into(),
    }
}

#[test]
fn an_event_published_by_one_process_reaches_another_processs_l1() {
    let Some(server) = RedisServer::for_tests() else {
        return;
    };
    let origin = TestOrigin::new();
    runtime().block_on(async {
        let a = process(&server, &origin, false).await;
        let b = process(&server, &origin, true).await;
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(1)));
        assert_eq!(read(&b.patients, "p1").await, (Source::L1, Some(1)));
        // A applies the update itself and publishes it; B's L1 must not serve version 1.
        origin.update("p1");
        a.caches
            .apply(&patient_updated("p1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.bus
                .publish(&patient_updated("p1"))
                .await
                .map_err(|e| e.to_string()),
            Ok(true)
        );
        until(&b.bus, |s| s.applied >= 1).await;
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(2)));
        // Hostile messages: counted, skipped, and the subscriber goes on.
        let channel = format!("{PREFIX}events");
        for message in [
            "garbage".to_owned(),
            r#"{"event":"drop_table"}"#.to_owned(),
            format!(r#"{{"event":"logout","session":"{}"}}"#, "s".repeat(5000)),
        ] {
            let reply = server
                .command(&format!("PUBLISH {channel} '{message}'"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(reply, ":1", "one subscriber");
        }
        until(&b.bus, |s| s.refused >= 3).await;
        origin.update("p1");
        assert_eq!(
            a.bus
                .publish(&patient_updated("p1"))
                .await
                .map_err(|e| e.to_string()),
            Ok(true)
        );
        until(&b.bus, |s| s.applied >= 2).await;
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(3)));
        // An event too large to send is refused before it leaves.
        let huge = Event::Logout {
            session: "s".repeat(MAX_EVENT_BYTES),
        };
        assert!(matches!(
            a.bus.publish(&huge).await,
            Err(BusError::TooLarge { .. })
        ));
    });
}

#[test]
fn namespace_versions_are_recorded_for_later_processes_and_replays_refused() {
    let Some(server) = RedisServer::for_tests() else {
        return;
    };
    let origin = TestOrigin::new();
    let release = |release| Event::OrangeBookRelease { release };
    let orange_book = Namespace {
        class: DataClass::OrangeBook,
        scope: Scope::Global,
    };
    runtime().block_on(async {
        let a = process(&server, &origin, true).await;
        assert_eq!(a.bus.publish(&release(20_261_201)).await.ok(), Some(true));
        assert_eq!(a.bus.publish(&release(20_261_208)).await.ok(), Some(true));
        // A replay of an older release is neither recorded nor published.
        assert_eq!(a.bus.publish(&release(20_261_201)).await.ok(), Some(false));
        assert_eq!(a.bus.publish(&release(20_261_208)).await.ok(), Some(false));
        let payer = Event::PayerUpdated {
            payer: 610_014,
            version: 9,
        };
        assert_eq!(a.bus.publish(&payer).await.ok(), Some(true));
        until(&a.bus, |s| s.applied >= 3).await;
        assert_eq!(a.caches.version(orange_book), 20_261_208);
        // A process that starts later learns both versions before it serves.
        let late = process(&server, &origin, false).await;
        assert_eq!(late.caches.version(orange_book), 0);
        let caught_up = late
            .bus
            .catch_up(&late.caches)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut applied = caught_up.applied;
        applied.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(applied, [release(20_261_208), payer.clone()]);
        assert!(caught_up.refused.is_empty());
        assert_eq!(late.caches.version(orange_book), 20_261_208);
        let formulary = Namespace {
            class: DataClass::Formulary,
            scope: Scope::Payer(610_014),
        };
        assert_eq!(late.caches.version(formulary), 9);
        // Catching up again changes nothing.
        let again = late.bus.catch_up(&late.caches).await;
        assert_eq!(again.ok().map(|v| v.applied.len()), Some(0));
        // A tampered record is refused, loudly, and does not hold the others back.
        let tampered = format!(
            "HSET {PREFIX}ns:events orange_book_release/g '{{\"event\":\"logout\",\"session\":\"x\"}}'"
        );
        assert_eq!(
            server
                .command(&tampered)
                .unwrap_or_else(|e| panic!("{e}")),
            ":0"
        );
        let newer = Event::PayerUpdated {
            payer: 610_014,
            version: 10,
        };
        assert_eq!(a.bus.publish(&newer).await.ok(), Some(true));
        let caught_up = late
            .bus
            .catch_up(&late.caches)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(caught_up.applied, [newer]);
        assert!(matches!(
            caught_up.refused.as_slice(),
            [BusError::Unreadable { .. }]
        ));
        assert_eq!(late.caches.version(formulary), 10);
    });
}

#[test]
fn l1_is_suspended_while_the_subscription_is_lost_and_forgotten_when_it_is_back() {
    let Some(mut server) = RedisServer::for_tests() else {
        return;
    };
    let origin = TestOrigin::new();
    let rt = runtime();
    let b = rt.block_on(async {
        let b = process(&server, &origin, true).await;
        assert!(!b.caches.l1_suspended());
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(1)));
        assert_eq!(read(&b.patients, "p1").await, (Source::L1, Some(1)));
        b
    });
    server.stop().unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        until(&b.bus, |s| s.lost >= 1).await;
        assert!(b.caches.l1_suspended());
        // An update whose event B can never receive: L1 neither answers nor keeps anything.
        origin.update("p1");
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(2)));
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(2)));
        assert_eq!(b.patients.l1_len(), (0, 0));
    });
    server.restart().unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        until(&b.bus, |s| s.subscriptions >= 2).await;
        assert!(!b.caches.l1_suspended());
        assert_eq!(read(&b.patients, "p1").await, (Source::Origin, Some(2)));
        assert_eq!(read(&b.patients, "p1").await, (Source::L1, Some(2)));
    });
    drop(b);
}

#[test]
fn a_silent_subscription_that_does_not_answer_a_ping_counts_as_lost() {
    let Some(server) = RedisServer::for_tests() else {
        return;
    };
    let origin = TestOrigin::new();
    runtime().block_on(async {
        let b = process(&server, &origin, true).await;
        // Every client's commands wait 3 s: the subscription's PING goes unanswered, as on
        // a half-open connection.
        let reply = server
            .command("CLIENT PAUSE 3000 ALL")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply, "+OK");
        // The connection stays open: only the unanswered PING can count it lost.
        until(&b.bus, |s| s.lost >= 1).await;
        assert!(b.caches.l1_suspended());
        until(&b.bus, |s| s.subscriptions >= 2).await;
        assert!(!b.caches.l1_suspended());
    });
}
