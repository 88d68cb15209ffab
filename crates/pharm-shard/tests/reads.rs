//! Read/write split, replica lag and read-your-writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pharm_shard::directory::PhysicalShard;
use pharm_shard::lag::{Heartbeat, LagSample, LagSource, LagTracker, Lsn, estimate_once};
use pharm_shard::reads::{
    DecisionReason, FallbackReason, LsnToken, QueryKind, ReadDecision, ReadRouter,
    ReadRouterConfig, ReplicaKey, ReplicaRole, RoutingEvent, Target,
};

const HOUR_MS: u64 = 3_600_000;

fn sample(primary: u64, replay: u64, at_ms: u64) -> LagSample {
    LagSample {
        primary_lsn: Lsn(primary),
        replay_lsn: Lsn(replay),
        receive_lsn: Some(Lsn(replay)),
        replay_paused: false,
        replay_timestamp_ms: None,
        heartbeat: None,
        measured_at_ms: at_ms,
    }
}

fn key(shard: u32, role: ReplicaRole) -> ReplicaKey {
    ReplicaKey {
        shard: PhysicalShard(shard),
        role,
    }
}

#[test]
fn split_table() {
    assert_eq!(QueryKind::Write.target(), Target::Primary);
    assert_eq!(QueryKind::TransactionalRead.target(), Target::Primary);
    assert_eq!(
        QueryKind::Analytics.target(),
        Target::Replica(ReplicaRole::Analytics)
    );
    assert_eq!(
        QueryKind::Reporting.target(),
        Target::Replica(ReplicaRole::Reporting)
    );
    assert_eq!(
        QueryKind::ApiRead.target(),
        Target::Replica(ReplicaRole::Api)
    );
}

#[test]
fn router_follows_the_table_when_replicas_are_in_sync() {
    let mut router = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    for role in ReplicaRole::ALL {
        router.observe(key(7, role), &sample(1_000, 1_000, 0));
    }
    assert!(
        router.take_events().is_empty(),
        "first good samples are not transitions"
    );
    for kind in [
        QueryKind::Write,
        QueryKind::TransactionalRead,
        QueryKind::Analytics,
        QueryKind::Reporting,
        QueryKind::ApiRead,
    ] {
        let decision = router.route(500, PhysicalShard(7), kind, None);
        assert_eq!(decision.shard, PhysicalShard(7));
        assert_eq!(decision.target, kind.target(), "{kind:?}");
    }
    assert_eq!(
        router
            .route(500, PhysicalShard(7), QueryKind::Write, None)
            .reason,
        DecisionReason::PrimaryByKind
    );
    // Another shard's replicas have never reported: primary, without an event.
    let decision = router.route(500, PhysicalShard(8), QueryKind::ApiRead, None);
    assert_eq!(decision.target, Target::Primary);
    assert_eq!(
        decision.reason,
        DecisionReason::ReplicaFallback(FallbackReason::NeverObserved)
    );
    assert!(router.take_events().is_empty());
}

#[test]
fn lsn_parsing_and_formatting() {
    let lsn: Lsn = "16/B374D848".parse().unwrap();
    assert_eq!(lsn, Lsn(0x16_B374_D848));
    assert_eq!(lsn.to_string(), "16/B374D848");
    assert_eq!(Lsn(0).to_string(), "0/0");
    assert_eq!("0/3000060".parse::<Lsn>().unwrap(), Lsn(0x300_0060));
    assert!("16-B374D848".parse::<Lsn>().is_err());
    assert_eq!(Lsn(10).bytes_ahead_of(Lsn(4)), 6);
    assert_eq!(Lsn(4).bytes_ahead_of(Lsn(10)), 0);
}

/// The idle-primary pitfall: the last replayed commit is hours old, but the replica has
/// replayed everything the primary has: no lag.
#[test]
fn idle_primary_with_old_replay_timestamp_is_not_lag() {
    let now = 10 * HOUR_MS;
    let mut s = sample(0x5_0000_0000, 0x5_0000_0000, now);
    s.replay_timestamp_ms = Some(now - 3 * HOUR_MS);
    let estimate = estimate_once(&s);
    assert_eq!(estimate.lag, Duration::ZERO);
    assert_eq!(estimate.source, LagSource::CaughtUp);
    assert_eq!(estimate.bytes_behind, 0);

    // The router keeps serving from the replica all night.
    let mut router = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    let replica = key(1, ReplicaRole::Reporting);
    for i in 0..600 {
        let at = now + i * 1_000;
        let mut s = sample(0x5_0000_0000, 0x5_0000_0000, at);
        s.replay_timestamp_ms = Some(now - 3 * HOUR_MS);
        assert_eq!(router.observe(replica, &s).lag, Duration::ZERO);
        assert_eq!(
            router
                .route(at, PhysicalShard(1), QueryKind::Reporting, None)
                .target,
            Target::Replica(ReplicaRole::Reporting)
        );
    }
    assert!(router.take_events().is_empty());
}

/// Replay paused while the primary keeps writing: the lag grows in real time; exactly 5 s
/// still reads from the replica, 5 s + 1 ms falls back (one event), and resuming restores
/// it (one event).
#[test]
fn paused_replay_falls_back_above_five_seconds_and_restores() {
    let mut router = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    let replica = key(3, ReplicaRole::Api);
    let route =
        |router: &mut ReadRouter, at| router.route(at, PhysicalShard(3), QueryKind::ApiRead, None);

    assert_eq!(
        router.observe(replica, &sample(100, 100, 0)).lag,
        Duration::ZERO
    );
    let mut lsn = 100;
    for at in (1_000..=5_000).step_by(1_000) {
        lsn += 1_000;
        let mut s = sample(lsn, 100, at);
        s.replay_paused = true;
        let estimate = router.observe(replica, &s);
        assert_eq!(estimate.lag, Duration::from_millis(at), "at {at}");
        assert_eq!(estimate.source, LagSource::PrimaryLsnHistory);
        assert!(estimate.replay_paused);
        assert_eq!(estimate.bytes_behind, lsn - 100);
        assert_eq!(
            route(&mut router, at).target,
            Target::Replica(ReplicaRole::Api)
        );
    }
    assert!(router.take_events().is_empty());

    let mut s = sample(lsn + 10, 100, 5_001);
    s.replay_paused = true;
    assert_eq!(
        router.observe(replica, &s).lag,
        Duration::from_millis(5_001)
    );
    let decision = route(&mut router, 5_001);
    assert_eq!(decision.target, Target::Primary);
    assert_eq!(
        decision.reason,
        DecisionReason::ReplicaFallback(FallbackReason::LagAboveMax)
    );
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::FellBackToPrimary {
            replica,
            lag: Some(Duration::from_millis(5_001)),
            reason: FallbackReason::LagAboveMax,
            at_ms: 5_001,
        }]
    );

    // Still paused: still on the primary, no repeated event.
    for at in [6_000, 7_000, 8_000] {
        let mut s = sample(lsn + at, 100, at);
        s.replay_paused = true;
        router.observe(replica, &s);
        assert_eq!(route(&mut router, at).target, Target::Primary);
    }
    assert!(router.take_events().is_empty());

    // Resumed and caught up.
    let estimate = router.observe(replica, &sample(lsn + 9_000, lsn + 9_000, 9_000));
    assert_eq!(estimate.lag, Duration::ZERO);
    assert_eq!(
        route(&mut router, 9_000).target,
        Target::Replica(ReplicaRole::Api)
    );
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::ReplicaRestored {
            replica,
            lag: Duration::ZERO,
            at_ms: 9_000
        }]
    );
}

/// A busy primary with a replica that keeps up within a second is never "lagging", even
/// though no sample ever shows it exactly caught up.
#[test]
fn busy_primary_with_healthy_replica() {
    let mut tracker = LagTracker::default();
    tracker.observe(&sample(1_000, 900, 0));
    for i in 1..100u64 {
        // The replica replays what the primary had at the previous sample and a bit more:
        // at a steady 1 byte/ms the primary passed that position 950 ms ago (interpolated,
        // not rounded up to the 1 s sampling interval).
        let estimate = tracker.observe(&sample(1_000 + i * 1_000, i * 1_000 + 50, i * 1_000));
        assert!(estimate.bytes_behind > 0);
        assert_eq!(estimate.lag, Duration::from_millis(950), "sample {i}");
        assert_eq!(estimate.source, LagSource::PrimaryLsnHistory);
    }
}

/// Pitfall 2: a disconnected WAL receiver makes receive LSN = replay LSN (the usual
/// idiom's "no lag"), but the primary moves on, so the lag grows.
#[test]
fn disconnected_receiver_shows_growing_lag() {
    let mut tracker = LagTracker::default();
    tracker.observe(&sample(500, 500, 0));
    let estimate = tracker.observe(&sample(900, 500, 20_000));
    assert_eq!(estimate.replay_pending_bytes, Some(0));
    assert_eq!(estimate.lag, Duration::from_secs(20));
}

#[test]
fn heartbeat_is_used_when_behind() {
    let mut s = sample(2_000, 1_000, 50_000);
    s.heartbeat = Some(Heartbeat {
        written_at_ms: 47_500,
        observed_at_ms: 50_000,
    });
    let estimate = estimate_once(&s);
    assert_eq!(estimate.source, LagSource::Heartbeat);
    assert_eq!(estimate.lag, Duration::from_millis(2_500));

    // Caught up: zero, whatever the heartbeat says (a stalled heartbeat writer on an idle
    // primary does not make the replica lag).
    let mut s = sample(2_000, 2_000, 50_000);
    s.heartbeat = Some(Heartbeat {
        written_at_ms: 0,
        observed_at_ms: 50_000,
    });
    assert_eq!(estimate_once(&s).lag, Duration::ZERO);

    // Clock skew making the heartbeat "from the future" clamps at zero.
    let mut s = sample(2_000, 1_000, 50_000);
    s.heartbeat = Some(Heartbeat {
        written_at_ms: 50_200,
        observed_at_ms: 50_000,
    });
    assert_eq!(estimate_once(&s).lag, Duration::ZERO);
}

#[test]
fn first_sample_behind_uses_replay_timestamp_when_paused_or_lower_bound() {
    let mut s = sample(2_000, 1_000, 50_000);
    assert_eq!(estimate_once(&s).source, LagSource::LowerBound);
    assert_eq!(estimate_once(&s).lag, Duration::ZERO);
    // Streaming: the last replayed commit's age says nothing (the primary may have been
    // idle before the write being replayed).
    s.replay_timestamp_ms = Some(42_000);
    assert_eq!(estimate_once(&s).source, LagSource::LowerBound);
    s.replay_paused = true;
    assert_eq!(estimate_once(&s).source, LagSource::ReplayTimestamp);
    assert_eq!(estimate_once(&s).lag, Duration::from_secs(8));
}

/// A replica behind the primary whose lag is only a lower bound (first sample, no
/// heartbeat, replay not paused) does not serve, silently; a history estimate within the
/// limit then lets it serve (still silently, nothing was announced).
#[test]
fn lower_bound_lag_does_not_serve() {
    let mut router = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    let replica = key(6, ReplicaRole::Api);
    // An hour-idle primary just took one write; the replica is replaying it.
    let mut s = sample(2_000, 1_000, 10 * HOUR_MS);
    s.replay_timestamp_ms = Some(9 * HOUR_MS);
    let estimate = router.observe(replica, &s);
    assert_eq!(estimate.source, LagSource::LowerBound);
    assert!(!router.is_serving(replica));
    let decision = router.route(10 * HOUR_MS, PhysicalShard(6), QueryKind::ApiRead, None);
    assert_eq!(decision.target, Target::Primary);
    assert_eq!(
        decision.reason,
        DecisionReason::ReplicaFallback(FallbackReason::LagUnknown)
    );
    assert!(router.take_events().is_empty());

    // A second later the history puts it within the limit: it serves.
    let estimate = router.observe(replica, &sample(3_000, 2_500, 10 * HOUR_MS + 1_000));
    assert_eq!(estimate.source, LagSource::PrimaryLsnHistory);
    assert!(router.is_serving(replica));
    assert!(router.take_events().is_empty());

    // A new primary (its LSNs restart lower) with the replica behind it: the history is
    // gone and the lag is unknown again, so it stops serving, now with an event.
    let at = 10 * HOUR_MS + 2_000;
    router.observe(replica, &sample(1_500, 1_200, at));
    assert!(!router.is_serving(replica));
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::FellBackToPrimary {
            replica,
            lag: Some(Duration::ZERO),
            reason: FallbackReason::LagUnknown,
            at_ms: at,
        }]
    );
    router.observe(replica, &sample(1_600, 1_600, at + 1_000));
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::ReplicaRestored {
            replica,
            lag: Duration::ZERO,
            at_ms: at + 1_000,
        }]
    );

    // A lower bound that grows past the limit is the first (bad) news: an event.
    let other = key(6, ReplicaRole::Reporting);
    router.observe(other, &sample(2_000, 1_000, 0));
    router.observe(other, &sample(9_000, 1_000, 6_000));
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::FellBackToPrimary {
            replica: other,
            lag: Some(Duration::from_secs(6)),
            reason: FallbackReason::LagAboveMax,
            at_ms: 6_000,
        }]
    );
}

#[test]
fn read_your_writes_token() {
    let mut router = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    let replica = key(2, ReplicaRole::Api);
    router.observe(replica, &sample(5_000, 5_000, 0));

    // A write on shard 2 committed; the primary was then at 5_200.
    let token = LsnToken {
        shard: PhysicalShard(2),
        lsn: Lsn(5_200),
    };
    let decision = router.route(100, PhysicalShard(2), QueryKind::ApiRead, Some(&token));
    assert_eq!(decision.target, Target::Primary);
    assert_eq!(
        decision.reason,
        DecisionReason::TokenNotReplayed {
            token,
            replay_lsn: Lsn(5_000)
        }
    );
    // Without the token the replica serves.
    assert_eq!(
        router
            .route(100, PhysicalShard(2), QueryKind::ApiRead, None)
            .target,
        Target::Replica(ReplicaRole::Api)
    );
    // A token of another shard (say, written before shard 2's data was moved here) says
    // nothing about this replica: the primary, whatever its LSN.
    for lsn in [Lsn(0), Lsn(u64::MAX)] {
        let other = LsnToken {
            shard: PhysicalShard(9),
            lsn,
        };
        assert_eq!(
            router.route(100, PhysicalShard(2), QueryKind::ApiRead, Some(&other)),
            ReadDecision {
                shard: PhysicalShard(2),
                target: Target::Primary,
                reason: DecisionReason::TokenForOtherShard { token: other },
            }
        );
    }

    // Replayed exactly up to the token: the replica serves the read.
    router.observe(replica, &sample(5_300, 5_200, 1_000));
    assert_eq!(
        router
            .route(1_000, PhysicalShard(2), QueryKind::ApiRead, Some(&token))
            .target,
        Target::Replica(ReplicaRole::Api)
    );
    // Writes always go to the primary.
    assert_eq!(
        router
            .route(1_000, PhysicalShard(2), QueryKind::Write, Some(&token))
            .target,
        Target::Primary
    );
    assert!(router.take_events().is_empty());

    assert!(token.satisfied_by(PhysicalShard(2), Lsn(5_200)));
    assert!(!token.satisfied_by(PhysicalShard(2), Lsn(5_199)));
    assert!(!token.satisfied_by(PhysicalShard(3), Lsn(u64::MAX)));
}

#[test]
fn lsn_token_text_and_max() {
    let token: LsnToken = "3:16/B374D848".parse().unwrap();
    assert_eq!(
        token,
        LsnToken {
            shard: PhysicalShard(3),
            lsn: Lsn(0x16_B374_D848)
        }
    );
    assert_eq!(token.to_string(), "3:16/B374D848");
    for bad in ["", "3", ":0/0", "x:0/0", "-1:0/0", "3:0/", "3:nope"] {
        assert!(bad.parse::<LsnToken>().is_err(), "{bad:?}");
    }
    let later = LsnToken {
        shard: PhysicalShard(3),
        lsn: Lsn(0x17_0000_0000),
    };
    assert_eq!(token.max(later), later);
    assert_eq!(later.max(token), later);
    let json = serde_json::to_string(&token).unwrap();
    assert_eq!(serde_json::from_str::<LsnToken>(&json).unwrap(), token);
}

#[test]
fn stale_samples_and_unreachable_replicas_fall_back_once() {
    let config = ReadRouterConfig {
        stale_after: Duration::from_secs(10),
        ..ReadRouterConfig::default()
    };
    let mut router = ReadRouter::new(config).unwrap();
    let replica = key(4, ReplicaRole::Analytics);
    router.observe(replica, &sample(10, 10, 0));
    assert_eq!(
        router
            .route(10_000, PhysicalShard(4), QueryKind::Analytics, None)
            .target,
        Target::Replica(ReplicaRole::Analytics)
    );
    let decision = router.route(10_001, PhysicalShard(4), QueryKind::Analytics, None);
    assert_eq!(
        decision.reason,
        DecisionReason::ReplicaFallback(FallbackReason::Stale)
    );
    router.route(20_000, PhysicalShard(4), QueryKind::Analytics, None);
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::FellBackToPrimary {
            replica,
            lag: Some(Duration::ZERO),
            reason: FallbackReason::Stale,
            at_ms: 10_001
        }]
    );

    router.observe(replica, &sample(10, 10, 21_000));
    router.replica_down(replica, 22_000);
    router.replica_down(replica, 23_000);
    assert!(!router.is_serving(replica));
    assert_eq!(
        router
            .route(23_000, PhysicalShard(4), QueryKind::Analytics, None)
            .reason,
        DecisionReason::ReplicaFallback(FallbackReason::Unreachable)
    );
    let events = router.take_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        events[0],
        RoutingEvent::ReplicaRestored { at_ms: 21_000, .. }
    ));
    assert!(matches!(
        events[1],
        RoutingEvent::FellBackToPrimary {
            reason: FallbackReason::Unreachable,
            at_ms: 22_000,
            ..
        }
    ));
}

#[test]
fn first_sample_above_max_lag_is_an_event() {
    let mut router = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    let replica = key(5, ReplicaRole::Reporting);
    let mut s = sample(2_000, 1_000, 60_000);
    s.replay_timestamp_ms = Some(0);
    s.replay_paused = true;
    router.observe(replica, &s);
    assert_eq!(
        router.take_events(),
        vec![RoutingEvent::FellBackToPrimary {
            replica,
            lag: Some(Duration::from_secs(60)),
            reason: FallbackReason::LagAboveMax,
            at_ms: 60_000
        }]
    );
    assert_eq!(
        router.last_estimate(replica).unwrap().source,
        LagSource::ReplayTimestamp
    );
}
