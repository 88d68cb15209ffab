//! Failover detector timing and candidate rules, and the scaling-trigger table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pharm_shard::directory::PhysicalShard;
use pharm_shard::failover::{
    FailoverConfig, FailoverDetector, FailoverError, FailoverEvent, FailoverState, FailoverTrigger,
};
use pharm_shard::reads::ReplicaRole;
use pharm_shard::scaling::{
    Comparison, Metric, Provenance, ReplicaMetrics, ScalingActionKind, ScalingRule, ScalingTable,
    ShardMetrics, evaluate,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn detector_with_replicas() -> FailoverDetector {
    let mut detector = FailoverDetector::new(FailoverConfig::default());
    detector.replica_lag(0, ReplicaRole::Analytics, Duration::from_millis(900));
    detector.replica_lag(0, ReplicaRole::Reporting, Duration::from_millis(300));
    detector.replica_lag(0, ReplicaRole::Api, Duration::from_millis(300));
    assert!(detector.take_events().is_empty());
    detector
}

/// Checks every 10 s starting at `start`, failing; the last one at `start + span`.
fn fail_checks(detector: &mut FailoverDetector, start: u64, span: u64) {
    let mut at = start;
    while at < start + span {
        detector.health_check(at, false);
        at += 10_000;
    }
    detector.health_check(start + span, false);
}

#[test]
fn failing_for_29_999_ms_does_not_trigger() {
    let mut detector = detector_with_replicas();
    fail_checks(&mut detector, 1_000, 29_999);
    assert_eq!(
        detector.state(),
        &FailoverState::Suspect {
            failing_since_ms: 1_000,
            failed_checks: 4
        }
    );
    assert_eq!(
        detector.take_events(),
        vec![FailoverEvent::PrimarySuspect { since_ms: 1_000 }]
    );
}

#[test]
fn failing_for_exactly_30_s_triggers() {
    let mut detector = detector_with_replicas();
    fail_checks(&mut detector, 1_000, 30_000);
    let trigger = FailoverTrigger::PrimaryUnhealthy {
        failing_for: secs(30),
        failed_checks: 4,
    };
    // Lowest lag wins; the Reporting/Api tie goes to the earlier role (Reporting).
    assert_eq!(
        detector.state(),
        &FailoverState::FailoverRecommended {
            trigger: trigger.clone(),
            candidate: Some(ReplicaRole::Reporting),
            at_ms: 31_000
        }
    );
    assert_eq!(
        detector.take_events(),
        vec![
            FailoverEvent::PrimarySuspect { since_ms: 1_000 },
            FailoverEvent::FailoverRecommended {
                trigger,
                candidate: Some(ReplicaRole::Reporting),
                at_ms: 31_000
            }
        ]
    );
}

#[test]
fn one_long_timeout_is_not_enough_checks() {
    // Two failed checks 40 s apart: long enough, but fewer than 3 checks.
    let mut detector = detector_with_replicas();
    detector.health_check(0, false);
    detector.health_check(40_000, false);
    assert!(matches!(
        detector.state(),
        FailoverState::Suspect {
            failed_checks: 2,
            ..
        }
    ));
    detector.health_check(40_001, false);
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended { .. }
    ));
}

#[test]
fn a_successful_check_resets_the_run() {
    let mut detector = detector_with_replicas();
    fail_checks(&mut detector, 0, 20_000);
    detector.health_check(25_000, true);
    assert_eq!(detector.state(), &FailoverState::Healthy);
    // The new run starts at 26 s, so 50 s is only 24 s of failing.
    fail_checks(&mut detector, 26_000, 24_000);
    assert!(matches!(detector.state(), FailoverState::Suspect { .. }));
    let events = detector.take_events();
    assert_eq!(
        events[..3],
        [
            FailoverEvent::PrimarySuspect { since_ms: 0 },
            FailoverEvent::PrimaryRecovered {
                at_ms: 25_000,
                failed_for: secs(25)
            },
            FailoverEvent::PrimarySuspect { since_ms: 26_000 },
        ]
    );
}

#[test]
fn recovery_cancels_a_health_recommendation_but_not_a_manual_one() {
    let mut detector = detector_with_replicas();
    fail_checks(&mut detector, 0, 30_000);
    detector.health_check(35_000, true);
    assert_eq!(detector.state(), &FailoverState::Healthy);
    assert_eq!(
        detector.take_events().last(),
        Some(&FailoverEvent::PrimaryRecovered {
            at_ms: 35_000,
            failed_for: secs(35)
        })
    );

    detector
        .manual(40_000, "planned maintenance", None)
        .unwrap();
    detector.health_check(41_000, true);
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            trigger: FailoverTrigger::Manual { .. },
            ..
        }
    ));
}

#[test]
fn full_failover_cycle() {
    let mut detector = detector_with_replicas();
    assert_eq!(
        detector.start_failover(0),
        Err(FailoverError::NotRecommended)
    );
    fail_checks(&mut detector, 0, 30_000);
    assert_eq!(detector.start_failover(31_000), Ok(ReplicaRole::Reporting));
    assert_eq!(
        detector.start_failover(31_000),
        Err(FailoverError::AlreadyFailingOver)
    );
    // Checks of the fenced primary are ignored while failing over.
    detector.health_check(32_000, true);
    assert!(matches!(
        detector.state(),
        FailoverState::FailingOver {
            candidate: ReplicaRole::Reporting,
            started_ms: 31_000,
            ..
        }
    ));
    assert_eq!(
        detector.complete_failover(40_000),
        Ok(ReplicaRole::Reporting)
    );
    assert_eq!(detector.state(), &FailoverState::Healthy);
    // The promoted replica is the primary now: no longer a candidate. The others' lag was
    // measured against the old primary: none is a candidate until it reports again.
    assert!(!detector.is_eligible(ReplicaRole::Reporting, 40_000));
    assert!(!detector.is_eligible(ReplicaRole::Api, 40_000));
    assert_eq!(detector.best_candidate(40_000), None);
    detector.replica_lag(41_000, ReplicaRole::Api, Duration::from_millis(200));
    assert_eq!(detector.best_candidate(41_000), Some(ReplicaRole::Api));
    let events = detector.take_events();
    assert!(events.contains(&FailoverEvent::FailoverStarted {
        candidate: ReplicaRole::Reporting,
        at_ms: 31_000
    }));
    assert_eq!(
        events.last(),
        Some(&FailoverEvent::FailoverCompleted {
            new_primary: ReplicaRole::Reporting,
            at_ms: 40_000
        })
    );
    assert_eq!(
        detector.complete_failover(41_000),
        Err(FailoverError::NotFailingOver)
    );
}

#[test]
fn abort_returns_to_healthy() {
    let mut detector = detector_with_replicas();
    assert_eq!(
        detector.abort_failover(0),
        Err(FailoverError::NotFailingOver)
    );
    detector.manual(0, "drill", Some(ReplicaRole::Api)).unwrap();
    assert_eq!(detector.start_failover(1_000), Ok(ReplicaRole::Api));
    detector.abort_failover(2_000).unwrap();
    assert_eq!(detector.state(), &FailoverState::Healthy);
    assert_eq!(
        detector.take_events().last(),
        Some(&FailoverEvent::FailoverAborted { at_ms: 2_000 })
    );
}

#[test]
fn lag_over_60_s_alerts_and_excludes_the_replica() {
    let mut detector = detector_with_replicas();
    detector.replica_lag(5_000, ReplicaRole::Analytics, secs(60));
    assert!(
        detector.take_events().is_empty(),
        "exactly 60 s is within the limit"
    );
    assert!(detector.is_eligible(ReplicaRole::Analytics, 5_000));

    let over = secs(60) + Duration::from_millis(1);
    detector.replica_lag(6_000, ReplicaRole::Analytics, over);
    detector.replica_lag(7_000, ReplicaRole::Analytics, secs(90));
    assert_eq!(
        detector.take_events(),
        vec![FailoverEvent::ReplicaLagCritical {
            replica: ReplicaRole::Analytics,
            lag: over,
            at_ms: 6_000
        }]
    );
    assert!(!detector.is_eligible(ReplicaRole::Analytics, 7_000));
    assert_eq!(
        detector.manual(8_000, "promote analytics", Some(ReplicaRole::Analytics)),
        Err(FailoverError::CandidateIneligible {
            candidate: ReplicaRole::Analytics,
            lag: Some(secs(90))
        })
    );
    assert_eq!(detector.state(), &FailoverState::Healthy);

    detector.replica_lag(9_000, ReplicaRole::Analytics, secs(2));
    assert_eq!(
        detector.take_events(),
        vec![FailoverEvent::ReplicaLagCleared {
            replica: ReplicaRole::Analytics,
            lag: secs(2),
            at_ms: 9_000
        }]
    );
}

#[test]
fn no_eligible_candidate_blocks_failover() {
    let mut detector = FailoverDetector::new(FailoverConfig::default());
    detector.replica_lag(0, ReplicaRole::Api, secs(120));
    fail_checks(&mut detector, 0, 30_000);
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: None,
            ..
        }
    ));
    assert_eq!(
        detector.start_failover(31_000),
        Err(FailoverError::NoEligibleCandidate)
    );
}

#[test]
fn candidate_lag_is_frozen_while_the_primary_fails() {
    let mut detector = detector_with_replicas();
    detector.health_check(0, false);
    // Against a dead primary, heartbeat lag grows for every replica: that is the outage,
    // not missing data, and must not disqualify them or raise alerts.
    for role in ReplicaRole::ALL {
        detector.replica_lag(20_000, role, secs(75));
    }
    detector.health_check(10_000, false);
    detector.health_check(30_000, false);
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: Some(ReplicaRole::Reporting),
            ..
        }
    ));
    assert!(
        !detector
            .take_events()
            .iter()
            .any(|e| matches!(e, FailoverEvent::ReplicaLagCritical { .. }))
    );
    assert_eq!(detector.start_failover(31_000), Ok(ReplicaRole::Reporting));
}

/// Reports older than `max_report_age` (30 s by default) are ignored when choosing a
/// candidate; a fresh report makes the replica eligible again.
#[test]
fn stale_lag_reports_are_ignored() {
    let mut detector = FailoverDetector::new(FailoverConfig::default());
    assert_eq!(detector.config().max_report_age, Duration::from_secs(30));
    detector.replica_lag(0, ReplicaRole::Analytics, Duration::from_millis(100));
    detector.replica_lag(50_000, ReplicaRole::Reporting, secs(1));
    // At 30 s the Analytics report is exactly at the limit: still used.
    assert_eq!(
        detector.best_candidate(30_000),
        Some(ReplicaRole::Analytics)
    );
    // At 60 s it is 60 s old: Reporting, although it lags more.
    assert!(!detector.is_eligible(ReplicaRole::Analytics, 60_000));
    assert_eq!(
        detector.best_candidate(60_000),
        Some(ReplicaRole::Reporting)
    );
    assert_eq!(
        detector.manual(60_000, "promote analytics", Some(ReplicaRole::Analytics)),
        Err(FailoverError::CandidateIneligible {
            candidate: ReplicaRole::Analytics,
            lag: None
        })
    );
    detector.manual(60_000, "maintenance", None).unwrap();
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: Some(ReplicaRole::Reporting),
            ..
        }
    ));
    // Only stale reports left by the time it starts: no candidate.
    assert_eq!(
        detector.start_failover(90_000),
        Err(FailoverError::NoEligibleCandidate)
    );
    detector.replica_lag(90_000, ReplicaRole::Analytics, Duration::from_millis(100));
    assert_eq!(detector.start_failover(90_000), Ok(ReplicaRole::Analytics));
}

/// While the lag is frozen, report ages are taken when the primary started failing.
#[test]
fn frozen_reports_age_at_the_freeze() {
    let mut detector = detector_with_replicas(); // reports at 0
    fail_checks(&mut detector, 20_000, 30_000);
    // Recommended at 50 s; the reports were 20 s old when the primary began failing.
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: Some(ReplicaRole::Reporting),
            ..
        }
    ));

    let mut detector = detector_with_replicas(); // reports at 0
    fail_checks(&mut detector, 40_000, 30_000);
    // 40 s old at the freeze: none usable.
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: None,
            ..
        }
    ));
}

/// A replica reported down loses its lag report, frozen or not.
#[test]
fn a_replica_reported_down_is_no_candidate() {
    let mut detector = detector_with_replicas();
    detector.replica_down(ReplicaRole::Reporting);
    assert!(!detector.is_eligible(ReplicaRole::Reporting, 0));
    assert_eq!(detector.best_candidate(0), Some(ReplicaRole::Api));

    let mut detector = detector_with_replicas();
    detector.health_check(0, false);
    // Down while the primary fails (its frozen report was the best).
    detector.replica_down(ReplicaRole::Reporting);
    detector.health_check(10_000, false);
    detector.health_check(30_000, false);
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: Some(ReplicaRole::Api),
            ..
        }
    ));
    assert_eq!(detector.start_failover(31_000), Ok(ReplicaRole::Api));
}

#[test]
fn custom_thresholds() {
    let mut detector = FailoverDetector::new(FailoverConfig {
        unhealthy_for: Duration::ZERO,
        min_failed_checks: 1,
        ..FailoverConfig::default()
    });
    detector.replica_lag(0, ReplicaRole::Api, secs(1));
    detector.health_check(5, false);
    assert!(matches!(
        detector.state(),
        FailoverState::FailoverRecommended {
            candidate: Some(ReplicaRole::Api),
            ..
        }
    ));
}

// ---- scaling triggers ----

fn shard(id: u32) -> ShardMetrics {
    ShardMetrics {
        shard: PhysicalShard(id),
        ..ShardMetrics::default()
    }
}

fn kinds(metrics: &[ShardMetrics]) -> Vec<(u32, Option<ReplicaRole>, ScalingActionKind)> {
    evaluate(metrics)
        .into_iter()
        .map(|a| (a.shard.0, a.replica, a.kind))
        .collect()
}

#[test]
fn pharmacies_per_shard_boundary() {
    let at = ShardMetrics {
        pharmacies: Some(2_500),
        logical_shards: Some(4),
        ..shard(0)
    };
    assert!(evaluate(std::slice::from_ref(&at)).is_empty());
    let over = ShardMetrics {
        pharmacies: Some(2_501),
        ..at
    };
    let actions = evaluate(std::slice::from_ref(&over));
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].kind, ScalingActionKind::SplitShard);
    assert_eq!(actions[0].metric, Metric::PharmaciesPerShard);
    assert_eq!(actions[0].observed, 2_501.0);
    assert_eq!(actions[0].threshold, 2_500.0);
    assert_eq!(actions[0].provenance, Provenance::Reference);

    // A shard holding a single logical shard cannot shed logical shards.
    let single = ShardMetrics {
        logical_shards: Some(1),
        ..over
    };
    assert_eq!(
        kinds(&[single]),
        vec![(0, None, ScalingActionKind::SplitLogicalShard)]
    );
}

#[test]
fn replica_lag_rows() {
    let metrics = ShardMetrics {
        replicas: vec![
            (
                ReplicaRole::Analytics,
                ReplicaMetrics {
                    lag: Some(secs(5)),
                    cpu_percent: None,
                },
            ),
            (
                ReplicaRole::Reporting,
                ReplicaMetrics {
                    lag: Some(secs(5) + Duration::from_millis(1)),
                    cpu_percent: None,
                },
            ),
            (
                ReplicaRole::Api,
                ReplicaMetrics {
                    lag: Some(secs(61)),
                    cpu_percent: Some(80.0),
                },
            ),
        ],
        ..shard(3)
    };
    assert_eq!(
        kinds(&[metrics]),
        vec![
            (
                3,
                Some(ReplicaRole::Reporting),
                ScalingActionKind::RouteReadsToPrimary
            ),
            (
                3,
                Some(ReplicaRole::Api),
                ScalingActionKind::RouteReadsToPrimary
            ),
            (3, Some(ReplicaRole::Api), ScalingActionKind::ReplaceReplica),
            (3, Some(ReplicaRole::Api), ScalingActionKind::AddReadReplica),
        ]
    );
}

#[test]
fn resource_rows_and_missing_metrics() {
    let hot = ShardMetrics {
        primary_cpu_percent: Some(80.0),
        connections_in_use: Some(160),
        connections_max: Some(200),
        storage_used_bytes: Some(79),
        storage_capacity_bytes: Some(100),
        ..shard(1)
    };
    let cool = ShardMetrics {
        primary_cpu_percent: Some(79.9),
        connections_in_use: Some(159),
        connections_max: Some(200),
        storage_used_bytes: Some(80),
        storage_capacity_bytes: Some(100),
        ..shard(2)
    };
    assert_eq!(
        kinds(&[hot, cool]),
        vec![
            (1, None, ScalingActionKind::SplitShard),
            (1, None, ScalingActionKind::AddConnectionCapacity),
            (2, None, ScalingActionKind::ExpandStorage),
        ]
    );
    // Nothing measured, nothing fires; a zero capacity is "not measured".
    let unknown = ShardMetrics {
        connections_in_use: Some(5),
        connections_max: Some(0),
        ..shard(4)
    };
    assert!(evaluate(&[shard(0), unknown]).is_empty());
}

#[test]
fn the_table_is_data() {
    let table = ScalingTable::default();
    assert!(
        table
            .rules
            .iter()
            .any(|r| r.metric == Metric::PharmaciesPerShard && r.threshold == 2_500.0)
    );
    let json = serde_json::to_string(&table).unwrap();
    let mut custom: ScalingTable = serde_json::from_str(&json).unwrap();
    assert_eq!(custom, table);
    custom.rules = vec![ScalingRule {
        metric: Metric::PharmaciesPerShard,
        comparison: Comparison::AtLeast,
        threshold: 1_000.0,
        action: ScalingActionKind::SplitShard,
        provenance: Provenance::Placeholder,
    }];
    let metrics = ShardMetrics {
        pharmacies: Some(1_000),
        ..shard(9)
    };
    assert_eq!(custom.evaluate(&[metrics]).len(), 1);
}
