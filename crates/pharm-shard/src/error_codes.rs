//! Stable error codes of pharm-shard: range 4000-4999, ids `shard.*`.
//!
//! Every public error type of the crate implements [`ErrorCode`]; [`ERROR_CODES`] lists
//! every code once, with its id and what it means. Codes are never reused: a retired error
//! keeps its number. An error wrapping another (for example
//! [`PlanError::Directory`](crate::reshard::PlanError::Directory)) reports its own code;
//! the inner error, with its own code, is the variant's field and its `source()`. The one
//! exceptions are [`ShardMapJsonError`](crate::json::ShardMapJsonError) and
//! [`ResilienceJsonError`](crate::json::ResilienceJsonError), which only say which of two
//! errors reading a document met and report that error's code: a map or a configuration
//! read from JSON is refused with the same code as the calls that build one.

use pharm_core::error_code::{ErrorCode, ErrorCodeInfo};

/// The crate's error codes (see the module documentation).
pub const ERROR_CODES: &[ErrorCodeInfo] = &[
    ErrorCodeInfo {
        code: 4001,
        id: "shard.directory_logical_count",
        summary: "`logical_count` must be in `1..=MAX_LOGICAL_SHARDS`.",
    },
    ErrorCodeInfo {
        code: 4002,
        id: "shard.directory_assignment_length",
        summary: "The assignment table must have one entry per logical shard.",
    },
    ErrorCodeInfo {
        code: 4003,
        id: "shard.directory_no_physical_shards",
        summary: "At least one physical shard is needed.",
    },
    ErrorCodeInfo {
        code: 4004,
        id: "shard.directory_unknown_logical",
        summary: "The logical shard does not exist in this map.",
    },
    ErrorCodeInfo {
        code: 4005,
        id: "shard.directory_already_moving",
        summary: "The logical shard already has a move in progress.",
    },
    ErrorCodeInfo {
        code: 4006,
        id: "shard.directory_not_moving",
        summary: "The logical shard has no move in progress.",
    },
    ErrorCodeInfo {
        code: 4007,
        id: "shard.directory_same_shard",
        summary: "A move's target is the logical shard's current physical shard.",
    },
    ErrorCodeInfo {
        code: 4008,
        id: "shard.directory_source_mismatch",
        summary: "A move's source is not the logical shard's assigned physical shard.",
    },
    ErrorCodeInfo {
        code: 4009,
        id: "shard.directory_not_cut_over",
        summary: "Completing a move needs the cut-over first.",
    },
    ErrorCodeInfo {
        code: 4010,
        id: "shard.directory_already_cut_over",
        summary: "A cut-over move cannot be advanced further or aborted (writes went to the target; move it back instead).",
    },
    ErrorCodeInfo {
        code: 4011,
        id: "shard.directory_moves_in_progress",
        summary: "The change needs no moves in progress.",
    },
    ErrorCodeInfo {
        code: 4012,
        id: "shard.directory_not_pinned",
        summary: "A pharmacy that is not pinned was unpinned or re-pinned.",
    },
    ErrorCodeInfo {
        code: 4013,
        id: "shard.directory_already_pinned",
        summary: "A pharmacy pinned already was pinned again (or listed twice in a serialized map); `ShardMap::repin` moves a pin.",
    },
    ErrorCodeInfo {
        code: 4014,
        id: "shard.directory_version_exhausted",
        summary: "The map's version is `u64::MAX`: no change can get a higher version, and a wrapped one would defeat stale-map detection.",
    },
    ErrorCodeInfo {
        code: 4015,
        id: "shard.directory_zero_split_factor",
        summary: "A split factor of 0.",
    },
    ErrorCodeInfo {
        code: 4016,
        id: "shard.stale_map",
        summary: "A map version that differs from the directory's.",
    },
    ErrorCodeInfo {
        code: 4020,
        id: "shard.plan_no_targets",
        summary: "No target physical shards.",
    },
    ErrorCodeInfo {
        code: 4021,
        id: "shard.plan_duplicate_target",
        summary: "A physical shard listed twice.",
    },
    ErrorCodeInfo {
        code: 4022,
        id: "shard.plan_more_physical_than_logical",
        summary: "More physical shards than logical shards; split the logical shards first (`ShardMap::split_logical`).",
    },
    ErrorCodeInfo {
        code: 4023,
        id: "shard.plan_moves_in_progress",
        summary: "The map has moves in progress.",
    },
    ErrorCodeInfo {
        code: 4024,
        id: "shard.plan_stale",
        summary: "The plan was made from another version of the map.",
    },
    ErrorCodeInfo {
        code: 4025,
        id: "shard.plan_directory",
        summary: "The map rejected a change (the `DirectoryError` is the field).",
    },
    ErrorCodeInfo {
        code: 4030,
        id: "shard.lsn_token_format",
        summary: "No `:` separator or a bad shard number.",
    },
    ErrorCodeInfo {
        code: 4031,
        id: "shard.lsn_token_lsn",
        summary: "The LSN part is invalid (the `LsnParseError` is the field).",
    },
    ErrorCodeInfo {
        code: 4032,
        id: "shard.lsn_syntax",
        summary: "A string that is not a PostgreSQL LSN.",
    },
    ErrorCodeInfo {
        code: 4033,
        id: "shard.lag_history_capacity",
        summary: "A `LagTracker` history capacity outside `1..=MAX_HISTORY_CAPACITY`.",
    },
    ErrorCodeInfo {
        code: 4040,
        id: "shard.failover_not_recommended",
        summary: "`start_failover` without a recommendation.",
    },
    ErrorCodeInfo {
        code: 4041,
        id: "shard.failover_not_failing_over",
        summary: "`complete_failover` or `abort_failover` while not failing over (abort also accepts a recommendation).",
    },
    ErrorCodeInfo {
        code: 4042,
        id: "shard.failover_already_failing_over",
        summary: "A failover is already in progress.",
    },
    ErrorCodeInfo {
        code: 4043,
        id: "shard.failover_no_eligible_candidate",
        summary: "No replica has a known lag within the limit.",
    },
    ErrorCodeInfo {
        code: 4044,
        id: "shard.failover_candidate_ineligible",
        summary: "The named replica lags too much, or has no usable lag report (never reported, reported down, or its last report is older than `FailoverConfig::max_report_age`).",
    },
    ErrorCodeInfo {
        code: 4050,
        id: "shard.leg_unavailable",
        summary: "The node could not be reached or is known to be down (connection refused, pool exhausted, replica marked down by the read router).",
    },
    ErrorCodeInfo {
        code: 4051,
        id: "shard.leg_timeout",
        summary: "The node timed out on its side (statement timeout, connect timeout).",
    },
    ErrorCodeInfo {
        code: 4052,
        id: "shard.leg_query",
        summary: "The query failed (SQL error, permission, constraint).",
    },
    ErrorCodeInfo {
        code: 4053,
        id: "shard.leg_bad_result",
        summary: "The result could not be turned into a `PartialAggregate`.",
    },
    ErrorCodeInfo {
        code: 4054,
        id: "shard.leg_failure_error",
        summary: "The executor returned an error (the `ShardError` is the field).",
    },
    ErrorCodeInfo {
        code: 4055,
        id: "shard.leg_failure_timed_out",
        summary: "The leg did not answer within `ScatterOptions::per_shard_timeout`.",
    },
    ErrorCodeInfo {
        code: 4056,
        id: "shard.scatter_shards_failed",
        summary: "Some shards failed under `PartialFailurePolicy::Fail`.",
    },
    ErrorCodeInfo {
        code: 4057,
        id: "shard.scatter_all_shards_failed",
        summary: "Every shard failed (under either policy).",
    },
    ErrorCodeInfo {
        code: 4058,
        id: "shard.scatter_duplicate_shard",
        summary: "The request names a physical shard twice (its rows would be counted twice).",
    },
    ErrorCodeInfo {
        code: 4059,
        id: "shard.scatter_duplicate_pharmacy",
        summary: "The request lists a pharmacy twice, in two legs or twice in one leg (its rows would be counted twice, for example once on a move's source shard and once on its target).",
    },
    ErrorCodeInfo {
        code: 4060,
        id: "shard.retry_policy_zero_attempts",
        summary: "`max_attempts` is 0; the first call always counts as an attempt.",
    },
    ErrorCodeInfo {
        code: 4061,
        id: "shard.retry_policy_too_many_attempts",
        summary: "More than `RetryPolicy::MAX_ATTEMPTS` attempts.",
    },
    ErrorCodeInfo {
        code: 4062,
        id: "shard.retry_policy_jitter_factor",
        summary: "The proportional jitter factor is outside `[0, 1]` or NaN.",
    },
    ErrorCodeInfo {
        code: 4063,
        id: "shard.retry_policy_zero_multiplier",
        summary: "An exponential backoff with multiplier 0 (delays collapse to zero).",
    },
    ErrorCodeInfo {
        code: 4064,
        id: "shard.retry_policy_cap_below_base",
        summary: "The cap is below the first delay, so the schedule never grows.",
    },
    ErrorCodeInfo {
        code: 4065,
        id: "shard.retry_budget_ratio",
        summary: "`ratio` is negative, above 1000 or not finite.",
    },
    ErrorCodeInfo {
        code: 4066,
        id: "shard.retry_budget_zero_capacity",
        summary: "`max_tokens` is 0, so no retry could ever be made.",
    },
    ErrorCodeInfo {
        code: 4067,
        id: "shard.retry_gave_up",
        summary: "The retry helper gave up; the last try's error is its `last` field.",
    },
    ErrorCodeInfo {
        code: 4070,
        id: "shard.breaker_config_failure_rate_threshold",
        summary: "`failureRateThreshold` outside `0 < x ≤ 100` (or NaN).",
    },
    ErrorCodeInfo {
        code: 4071,
        id: "shard.breaker_config_slow_call_rate_threshold",
        summary: "`slowCallRateThreshold` outside `0 < x ≤ 100` (or NaN).",
    },
    ErrorCodeInfo {
        code: 4072,
        id: "shard.breaker_config_slow_call_duration_threshold",
        summary: "`slowCallDurationThreshold` below 1 ns.",
    },
    ErrorCodeInfo {
        code: 4073,
        id: "shard.breaker_config_wait_duration_in_open_state",
        summary: "`waitDurationInOpenState` below 1 ms.",
    },
    ErrorCodeInfo {
        code: 4074,
        id: "shard.breaker_config_conflicting_wait_in_open_state",
        summary: "Both `waitDurationInOpenState` and `waitIntervalFunctionInOpenState` were set.",
    },
    ErrorCodeInfo {
        code: 4075,
        id: "shard.breaker_config_permitted_number_of_calls_in_half_open_state",
        summary: "`permittedNumberOfCallsInHalfOpenState` of 0.",
    },
    ErrorCodeInfo {
        code: 4076,
        id: "shard.breaker_config_sliding_window_size",
        summary: "`slidingWindowSize` of 0.",
    },
    ErrorCodeInfo {
        code: 4077,
        id: "shard.breaker_config_sliding_window_too_large",
        summary: "`slidingWindowSize` above `CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE`.",
    },
    ErrorCodeInfo {
        code: 4078,
        id: "shard.breaker_config_too_many_permitted_calls_in_half_open_state",
        summary: "`permittedNumberOfCallsInHalfOpenState` above `CircuitBreakerConfig::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE`.",
    },
    ErrorCodeInfo {
        code: 4079,
        id: "shard.breaker_config_minimum_number_of_calls",
        summary: "`minimumNumberOfCalls` of 0.",
    },
    ErrorCodeInfo {
        code: 4080,
        id: "shard.breaker_config_max_wait_duration_in_half_open_state",
        summary: "`maxWaitDurationInHalfOpenState` neither 0 nor at least 1 ms.",
    },
    ErrorCodeInfo {
        code: 4081,
        id: "shard.breaker_config_transition_to_state_after_wait_duration",
        summary: "`transitionToStateAfterWaitDuration` other than OPEN or CLOSED.",
    },
    ErrorCodeInfo {
        code: 4082,
        id: "shard.breaker_config_interval_too_short",
        summary: "An interval function's initial interval below 1 ms.",
    },
    ErrorCodeInfo {
        code: 4083,
        id: "shard.breaker_config_multiplier",
        summary: "An interval function's multiplier that is not finite or below 1.",
    },
    ErrorCodeInfo {
        code: 4084,
        id: "shard.breaker_open",
        summary: "A call was rejected (resilience4j `CallNotPermittedException`).",
    },
    ErrorCodeInfo {
        code: 4085,
        id: "shard.breaker_illegal_transition",
        summary: "A transition resilience4j's `StateTransition` enum does not allow (its `IllegalStateTransitionException`).",
    },
    ErrorCodeInfo {
        code: 4090,
        id: "shard.resilience_config_breaker",
        summary: "The breaker configuration is invalid (the `ConfigError` is the field).",
    },
    ErrorCodeInfo {
        code: 4091,
        id: "shard.resilience_config_retry",
        summary: "The retry policy is invalid (the `PolicyError` is the field).",
    },
    ErrorCodeInfo {
        code: 4092,
        id: "shard.resilience_config_budget",
        summary: "The budget configuration is invalid (the `BudgetConfigError` is the field).",
    },
    ErrorCodeInfo {
        code: 4093,
        id: "shard.resilience_rejected",
        summary: "The resilience helper was refused by the breaker; its rejection is the `not_permitted` field.",
    },
    ErrorCodeInfo {
        code: 4094,
        id: "shard.resilience_gave_up",
        summary: "The resilience helper gave up after a failed try; the error is the `last` field.",
    },
    ErrorCodeInfo {
        code: 4100,
        id: "shard.pg_config",
        summary: "The configuration is unusable (a bad connection string, a physical shard of the map without nodes, a bad heartbeat table name).",
    },
    ErrorCodeInfo {
        code: 4101,
        id: "shard.pg_no_such_node",
        summary: "No node is configured for this target (an unknown shard, or a replica role the shard does not have).",
    },
    ErrorCodeInfo {
        code: 4102,
        id: "shard.pg_unavailable",
        summary: "The node could not be reached: connection refused or reset, the server shutting down, the pool exhausted for its wait timeout.",
    },
    ErrorCodeInfo {
        code: 4103,
        id: "shard.pg_timeout",
        summary: "The node did not answer in time (client-side timeout, or the server cancelled the statement on `statement_timeout`).",
    },
    ErrorCodeInfo {
        code: 4104,
        id: "shard.pg_query",
        summary: "The statement failed on the server (SQL error, constraint, permission) or could not be encoded or decoded.",
    },
    ErrorCodeInfo {
        code: 4105,
        id: "shard.pg_bad_statement",
        summary: "The statement does not have the shape the call needs (a scatter-gather leg's columns or parameters).",
    },
    ErrorCodeInfo {
        code: 4106,
        id: "shard.pg_bad_result",
        summary: "The server answered with something the adapter cannot use.",
    },
    ErrorCodeInfo {
        code: 4110,
        id: "shard.json_syntax",
        summary: "A JSON document of one of the crate's types (a shard map, a lag sample, a resilience configuration) is not well-formed JSON (`json::from_json`, `ShardMap::from_json`).",
    },
    ErrorCodeInfo {
        code: 4111,
        id: "shard.json_invalid",
        summary: "A JSON document is well-formed but does not match the type's serde form: an unknown field in any object, a missing field, a wrong type, or a value the type rejects. Through `ShardMap::from_json` and `ResilienceConfig::from_json` a map that is not consistent (a duplicate pin) or an invalid breaker, retry policy or budget keeps its own `shard.directory_*` or `shard.resilience_config_*` code.",
    },
];

/// The row of [`ERROR_CODES`] at `index`, for the `info` functions below.
const fn row(index: usize) -> &'static ErrorCodeInfo {
    &ERROR_CODES[index]
}

/// Implements [`ErrorCode`] through a type's `info` function.
macro_rules! via_info {
    ($($ty:ty),* $(,)?) => {$(
        impl ErrorCode for $ty {
            fn code(&self) -> u32 {
                info(self).code
            }
            fn id(&self) -> &'static str {
                info(self).id
            }
        }
    )*};
}

mod directory {
    use super::*;

    fn info(error: &crate::directory::DirectoryError) -> &'static ErrorCodeInfo {
        match error {
            crate::directory::DirectoryError::LogicalCount { .. } => row(0),
            crate::directory::DirectoryError::AssignmentLength { .. } => row(1),
            crate::directory::DirectoryError::NoPhysicalShards => row(2),
            crate::directory::DirectoryError::UnknownLogical { .. } => row(3),
            crate::directory::DirectoryError::AlreadyMoving { .. } => row(4),
            crate::directory::DirectoryError::NotMoving { .. } => row(5),
            crate::directory::DirectoryError::SameShard { .. } => row(6),
            crate::directory::DirectoryError::SourceMismatch { .. } => row(7),
            crate::directory::DirectoryError::NotCutOver { .. } => row(8),
            crate::directory::DirectoryError::AlreadyCutOver { .. } => row(9),
            crate::directory::DirectoryError::MovesInProgress { .. } => row(10),
            crate::directory::DirectoryError::NotPinned { .. } => row(11),
            crate::directory::DirectoryError::AlreadyPinned { .. } => row(12),
            crate::directory::DirectoryError::VersionExhausted { .. } => row(13),
            crate::directory::DirectoryError::ZeroSplitFactor => row(14),
        }
    }

    via_info!(crate::directory::DirectoryError);
}

mod stale_map {
    use super::*;

    fn info(_: &crate::directory::StaleMap) -> &'static ErrorCodeInfo {
        row(15)
    }

    via_info!(crate::directory::StaleMap);
}

mod plan {
    use super::*;

    fn info(error: &crate::reshard::PlanError) -> &'static ErrorCodeInfo {
        match error {
            crate::reshard::PlanError::NoTargets => row(16),
            crate::reshard::PlanError::DuplicateTarget { .. } => row(17),
            crate::reshard::PlanError::MorePhysicalThanLogical { .. } => row(18),
            crate::reshard::PlanError::MovesInProgress { .. } => row(19),
            crate::reshard::PlanError::Stale { .. } => row(20),
            crate::reshard::PlanError::Directory { .. } => row(21),
        }
    }

    via_info!(crate::reshard::PlanError);
}

mod lsn_token {
    use super::*;

    fn info(error: &crate::reads::LsnTokenParseError) -> &'static ErrorCodeInfo {
        match error {
            crate::reads::LsnTokenParseError::Format { .. } => row(22),
            crate::reads::LsnTokenParseError::Lsn { .. } => row(23),
        }
    }

    via_info!(crate::reads::LsnTokenParseError);
}

mod lsn_syntax {
    use super::*;

    fn info(_: &crate::lag::LsnParseError) -> &'static ErrorCodeInfo {
        row(24)
    }

    via_info!(crate::lag::LsnParseError);
}

mod lag_history_capacity {
    use super::*;

    fn info(_: &crate::lag::HistoryCapacityError) -> &'static ErrorCodeInfo {
        row(25)
    }

    via_info!(crate::lag::HistoryCapacityError);
}

mod failover {
    use super::*;

    fn info(error: &crate::failover::FailoverError) -> &'static ErrorCodeInfo {
        match error {
            crate::failover::FailoverError::NotRecommended => row(26),
            crate::failover::FailoverError::NotFailingOver => row(27),
            crate::failover::FailoverError::AlreadyFailingOver => row(28),
            crate::failover::FailoverError::NoEligibleCandidate => row(29),
            crate::failover::FailoverError::CandidateIneligible { .. } => row(30),
        }
    }

    via_info!(crate::failover::FailoverError);
}

mod leg {
    use super::*;

    fn info(error: &crate::scatter::ShardError) -> &'static ErrorCodeInfo {
        match error {
            crate::scatter::ShardError::Unavailable { .. } => row(31),
            crate::scatter::ShardError::Timeout { .. } => row(32),
            crate::scatter::ShardError::Query { .. } => row(33),
            crate::scatter::ShardError::BadResult { .. } => row(34),
        }
    }

    via_info!(crate::scatter::ShardError);
}

mod leg_failure {
    use super::*;

    fn info(error: &crate::scatter::ShardFailure) -> &'static ErrorCodeInfo {
        match error {
            crate::scatter::ShardFailure::Error { .. } => row(35),
            crate::scatter::ShardFailure::TimedOut { .. } => row(36),
        }
    }

    via_info!(crate::scatter::ShardFailure);
}

mod scatter {
    use super::*;

    fn info(error: &crate::scatter::ScatterError) -> &'static ErrorCodeInfo {
        match error {
            crate::scatter::ScatterError::ShardsFailed { .. } => row(37),
            crate::scatter::ScatterError::AllShardsFailed { .. } => row(38),
            crate::scatter::ScatterError::DuplicateShard { .. } => row(39),
            crate::scatter::ScatterError::DuplicatePharmacy { .. } => row(40),
        }
    }

    via_info!(crate::scatter::ScatterError);
}

mod retry_policy {
    use super::*;

    fn info(error: &crate::retry::PolicyError) -> &'static ErrorCodeInfo {
        match error {
            crate::retry::PolicyError::ZeroAttempts => row(41),
            crate::retry::PolicyError::TooManyAttempts { .. } => row(42),
            crate::retry::PolicyError::JitterFactor { .. } => row(43),
            crate::retry::PolicyError::ZeroMultiplier => row(44),
            crate::retry::PolicyError::CapBelowBase { .. } => row(45),
        }
    }

    via_info!(crate::retry::PolicyError);
}

mod retry_budget {
    use super::*;

    fn info(error: &crate::retry::BudgetConfigError) -> &'static ErrorCodeInfo {
        match error {
            crate::retry::BudgetConfigError::Ratio { .. } => row(46),
            crate::retry::BudgetConfigError::ZeroCapacity => row(47),
        }
    }

    via_info!(crate::retry::BudgetConfigError);
}

mod breaker_config {
    use super::*;

    fn info(error: &crate::breaker::ConfigError) -> &'static ErrorCodeInfo {
        match error {
            crate::breaker::ConfigError::FailureRateThreshold { .. } => row(49),
            crate::breaker::ConfigError::SlowCallRateThreshold { .. } => row(50),
            crate::breaker::ConfigError::SlowCallDurationThreshold => row(51),
            crate::breaker::ConfigError::WaitDurationInOpenState { .. } => row(52),
            crate::breaker::ConfigError::ConflictingWaitInOpenState => row(53),
            crate::breaker::ConfigError::PermittedNumberOfCallsInHalfOpenState => row(54),
            crate::breaker::ConfigError::SlidingWindowSize => row(55),
            crate::breaker::ConfigError::SlidingWindowTooLarge { .. } => row(56),
            crate::breaker::ConfigError::TooManyPermittedCallsInHalfOpenState { .. } => row(57),
            crate::breaker::ConfigError::MinimumNumberOfCalls => row(58),
            crate::breaker::ConfigError::MaxWaitDurationInHalfOpenState { .. } => row(59),
            crate::breaker::ConfigError::TransitionToStateAfterWaitDuration { .. } => row(60),
            crate::breaker::ConfigError::IntervalTooShort { .. } => row(61),
            crate::breaker::ConfigError::Multiplier { .. } => row(62),
        }
    }

    via_info!(crate::breaker::ConfigError);
}

mod breaker_open {
    use super::*;

    fn info(_: &crate::breaker::CallNotPermitted) -> &'static ErrorCodeInfo {
        row(63)
    }

    via_info!(crate::breaker::CallNotPermitted);
}

mod breaker_illegal_transition {
    use super::*;

    fn info(_: &crate::breaker::IllegalStateTransition) -> &'static ErrorCodeInfo {
        row(64)
    }

    via_info!(crate::breaker::IllegalStateTransition);
}

mod resilience_config {
    use super::*;

    fn info(error: &crate::resilience::ResilienceConfigError) -> &'static ErrorCodeInfo {
        match error {
            crate::resilience::ResilienceConfigError::Breaker { .. } => row(65),
            crate::resilience::ResilienceConfigError::Retry { .. } => row(66),
            crate::resilience::ResilienceConfigError::Budget { .. } => row(67),
        }
    }

    via_info!(crate::resilience::ResilienceConfigError);
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;

    fn info(error: &crate::pg::PgError) -> &'static ErrorCodeInfo {
        match error {
            crate::pg::PgError::Config { .. } => row(70),
            crate::pg::PgError::NoSuchNode { .. } => row(71),
            crate::pg::PgError::Unavailable { .. } => row(72),
            crate::pg::PgError::Timeout { .. } => row(73),
            crate::pg::PgError::Query { .. } => row(74),
            crate::pg::PgError::BadStatement { .. } => row(75),
            crate::pg::PgError::BadResult { .. } => row(76),
        }
    }

    via_info!(crate::pg::PgError);
}

mod json {
    use super::*;
    use crate::json::{JsonError, ResilienceJsonError, ShardMapJsonError};

    fn info(error: &JsonError) -> &'static ErrorCodeInfo {
        match error {
            JsonError::Syntax { .. } => row(77),
            JsonError::Invalid { .. } => row(78),
        }
    }

    via_info!(JsonError);

    /// The code of the error the variant holds (see the module documentation).
    impl ErrorCode for ShardMapJsonError {
        fn code(&self) -> u32 {
            match self {
                ShardMapJsonError::Json(error) => error.code(),
                ShardMapJsonError::Map(error) => error.code(),
            }
        }
        fn id(&self) -> &'static str {
            match self {
                ShardMapJsonError::Json(error) => error.id(),
                ShardMapJsonError::Map(error) => error.id(),
            }
        }
    }

    /// The code of the error the variant holds (see the module documentation).
    impl ErrorCode for ResilienceJsonError {
        fn code(&self) -> u32 {
            match self {
                ResilienceJsonError::Json(error) => error.code(),
                ResilienceJsonError::Config(error) => error.code(),
            }
        }
        fn id(&self) -> &'static str {
            match self {
                ResilienceJsonError::Json(error) => error.id(),
                ResilienceJsonError::Config(error) => error.id(),
            }
        }
    }
}

impl<E> ErrorCode for crate::retry::RetryError<E> {
    fn code(&self) -> u32 {
        row(48).code
    }
    fn id(&self) -> &'static str {
        row(48).id
    }
}

mod resilience {
    use super::*;
    use crate::resilience::ResilienceError;

    fn info<E>(error: &ResilienceError<E>) -> &'static ErrorCodeInfo {
        match error {
            ResilienceError::Rejected { .. } => row(68),
            ResilienceError::GaveUp { .. } => row(69),
        }
    }

    impl<E> ErrorCode for ResilienceError<E> {
        fn code(&self) -> u32 {
            info(self).code
        }
        fn id(&self) -> &'static str {
            info(self).id
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use pharm_core::error_code::check_table;
    use pharm_core::ids::PharmacyId;
    use pharm_core::time::ManualClock;

    use super::*;
    use crate::breaker::{CircuitBreaker, CircuitBreakerConfig, ConfigError, State};
    use crate::directory::{DirectoryError, LogicalShard, PhysicalShard, StaleMap};
    use crate::failover::FailoverError;
    use crate::json::{JsonError, ResilienceJsonError, ShardMapJsonError};
    use crate::lag::{HistoryCapacityError, LsnParseError};
    use crate::reads::{LsnTokenParseError, ReplicaRole};
    use crate::reshard::PlanError;
    use crate::resilience::{ResilienceConfigError, ResilienceError, StopReason};
    use crate::retry::{BudgetConfigError, GiveUpReason, PolicyError, RetryError};
    use crate::scatter::{ScatterError, ShardError, ShardFailure};

    /// One value of every variant of every public error type.
    fn every_error() -> Vec<(u32, &'static str)> {
        fn pair<E: ErrorCode>(e: &E) -> (u32, &'static str) {
            (e.code(), e.id())
        }
        let l = LogicalShard(1);
        let p = PhysicalShard(2);
        let stale = StaleMap {
            have: 1,
            current: 2,
        };
        let breaker = CircuitBreaker::new("b", CircuitBreakerConfig::default(), ManualClock::new());
        let illegal = breaker.transition_to_half_open().unwrap_err();
        breaker.transition_to_forced_open().unwrap();
        let not_permitted = breaker.try_acquire().unwrap_err();
        let directory = [
            DirectoryError::LogicalCount(0),
            DirectoryError::AssignmentLength {
                got: 1,
                logical_count: 2,
            },
            DirectoryError::NoPhysicalShards,
            DirectoryError::UnknownLogical(l),
            DirectoryError::AlreadyMoving(l),
            DirectoryError::NotMoving(l),
            DirectoryError::SameShard {
                logical: l,
                physical: p,
            },
            DirectoryError::SourceMismatch {
                logical: l,
                source_shard: p,
                assigned: p,
            },
            DirectoryError::NotCutOver(l),
            DirectoryError::AlreadyCutOver(l),
            DirectoryError::MovesInProgress(1),
            DirectoryError::NotPinned(PharmacyId::new(1)),
            DirectoryError::AlreadyPinned {
                pharmacy_id: PharmacyId::new(1),
                physical: p,
            },
            DirectoryError::VersionExhausted(u64::MAX),
            DirectoryError::ZeroSplitFactor,
        ];
        let mut pairs: Vec<_> = directory.iter().map(pair).collect();
        pairs.push(pair(&stale));
        for e in [
            PlanError::NoTargets,
            PlanError::DuplicateTarget(p),
            PlanError::MorePhysicalThanLogical {
                physical: 3,
                logical: 2,
            },
            PlanError::MovesInProgress(1),
            PlanError::Stale(stale),
            PlanError::Directory(DirectoryError::NoPhysicalShards),
        ] {
            pairs.push(pair(&e));
        }
        let lsn = "nope".parse::<crate::lag::Lsn>().unwrap_err();
        pairs.push(pair(&LsnTokenParseError::Format("x".into())));
        pairs.push(pair(&LsnTokenParseError::Lsn(lsn.clone())));
        pairs.push(pair::<LsnParseError>(&lsn));
        pairs.push(pair(&HistoryCapacityError(0)));
        for e in [
            FailoverError::NotRecommended,
            FailoverError::NotFailingOver,
            FailoverError::AlreadyFailingOver,
            FailoverError::NoEligibleCandidate,
            FailoverError::CandidateIneligible {
                candidate: ReplicaRole::Api,
                lag: None,
            },
        ] {
            pairs.push(pair(&e));
        }
        let leg = [
            ShardError::Unavailable("x".into()),
            ShardError::Timeout("x".into()),
            ShardError::Query("x".into()),
            ShardError::BadResult("x".into()),
        ];
        pairs.extend(leg.iter().map(pair));
        pairs.push(pair(&ShardFailure::Error(leg[0].clone())));
        pairs.push(pair(&ShardFailure::TimedOut {
            after: Duration::ZERO,
        }));
        for e in [
            ScatterError::ShardsFailed {
                missing: vec![],
                shards_ok: vec![],
            },
            ScatterError::AllShardsFailed { missing: vec![] },
            ScatterError::DuplicateShard(p),
            ScatterError::DuplicatePharmacy(PharmacyId::new(1)),
        ] {
            pairs.push(pair(&e));
        }
        for e in [
            PolicyError::ZeroAttempts,
            PolicyError::TooManyAttempts(101),
            PolicyError::JitterFactor(2.0),
            PolicyError::ZeroMultiplier,
            PolicyError::CapBelowBase {
                base: Duration::ZERO,
                cap: Duration::ZERO,
            },
        ] {
            pairs.push(pair(&e));
        }
        pairs.push(pair(&BudgetConfigError::Ratio(-1.0)));
        pairs.push(pair(&BudgetConfigError::ZeroCapacity));
        pairs.push(pair(&RetryError {
            last: (),
            attempts: 1,
            reason: GiveUpReason::Exhausted,
        }));
        let config = [
            ConfigError::FailureRateThreshold(0.0),
            ConfigError::SlowCallRateThreshold(0.0),
            ConfigError::SlowCallDurationThreshold,
            ConfigError::WaitDurationInOpenState(Duration::ZERO),
            ConfigError::ConflictingWaitInOpenState,
            ConfigError::PermittedNumberOfCallsInHalfOpenState,
            ConfigError::SlidingWindowSize,
            ConfigError::SlidingWindowTooLarge { size: u32::MAX },
            ConfigError::TooManyPermittedCallsInHalfOpenState {
                permitted: u32::MAX,
            },
            ConfigError::MinimumNumberOfCalls,
            ConfigError::MaxWaitDurationInHalfOpenState(Duration::from_nanos(1)),
            ConfigError::TransitionToStateAfterWaitDuration(State::HalfOpen),
            ConfigError::IntervalTooShort(Duration::ZERO),
            ConfigError::Multiplier(0.5),
        ];
        pairs.extend(config.iter().map(pair));
        pairs.push(pair(&not_permitted));
        pairs.push(pair(&illegal));
        for e in [
            ResilienceConfigError::Breaker(ConfigError::SlidingWindowSize),
            ResilienceConfigError::Retry(PolicyError::ZeroAttempts),
            ResilienceConfigError::Budget(BudgetConfigError::ZeroCapacity),
        ] {
            pairs.push(pair(&e));
        }
        pairs.push(pair(&ResilienceError::<()>::Rejected {
            not_permitted,
            last: None,
            attempts: 0,
        }));
        pairs.push(pair(&ResilienceError::GaveUp {
            last: (),
            attempts: 1,
            reason: StopReason::BreakerOpen,
        }));
        let syntax = JsonError::Syntax {
            document: "shard map",
            line: 1,
            column: 1,
            reason: "x".into(),
        };
        let invalid = JsonError::Invalid {
            document: "shard map",
            line: 1,
            column: 1,
            reason: "x".into(),
        };
        pairs.push(pair(&syntax));
        pairs.push(pair(&invalid));
        // Reading a map reports the code of the error it met.
        for (wrapped, inner) in [
            (ShardMapJsonError::Json(syntax.clone()), pair(&syntax)),
            (
                ShardMapJsonError::Json(invalid),
                (4111, "shard.json_invalid"),
            ),
            (
                ShardMapJsonError::Map(directory[12].clone()),
                pair(&directory[12]),
            ),
        ] {
            assert_eq!(pair(&wrapped), inner);
        }
        let budget = ResilienceConfigError::Budget(BudgetConfigError::ZeroCapacity);
        assert_eq!(
            pair(&ResilienceJsonError::Config(budget.clone())),
            pair(&budget)
        );
        assert_eq!(
            pair(&ResilienceJsonError::Json(syntax)),
            (4110, "shard.json_syntax")
        );
        #[cfg(feature = "postgres")]
        pairs.extend(pg_errors());
        pairs
    }

    #[cfg(feature = "postgres")]
    fn pg_errors() -> Vec<(u32, &'static str)> {
        use crate::pg::{Node, PgError};
        use crate::reads::Target;
        use crate::scatter::ShardTarget;
        let node = || {
            Node(ShardTarget {
                shard: PhysicalShard(0),
                node: Target::Primary,
            })
        };
        [
            PgError::Config("x".into()),
            PgError::NoSuchNode(node()),
            PgError::Unavailable {
                node: node(),
                message: "x".into(),
            },
            PgError::Timeout {
                node: node(),
                message: "x".into(),
            },
            PgError::Query {
                node: node(),
                sqlstate: Some("23505".into()),
                message: "x".into(),
            },
            PgError::BadStatement {
                node: node(),
                message: "x".into(),
            },
            PgError::BadResult {
                node: node(),
                message: "x".into(),
            },
        ]
        .iter()
        .map(|e| (e.code(), e.id()))
        .collect()
    }

    #[test]
    fn the_table_is_valid() {
        assert_eq!(check_table("shard", ERROR_CODES), Ok(()));
        assert!(ERROR_CODES.iter().all(|row| !row.summary.is_empty()));
    }

    #[test]
    fn every_variant_has_its_row() {
        let pairs = every_error();
        for (code, id) in &pairs {
            assert!(
                ERROR_CODES
                    .iter()
                    .any(|row| row.code == *code && row.id == *id),
                "{code} {id} is not in ERROR_CODES"
            );
        }
        // And every row belongs to a variant (all of them with the `postgres` feature).
        if cfg!(feature = "postgres") {
            assert_eq!(pairs.len(), ERROR_CODES.len());
            for row in ERROR_CODES.iter() {
                assert!(
                    pairs.contains(&(row.code, row.id)),
                    "{} has no variant",
                    row.id
                );
            }
        }
    }
}
