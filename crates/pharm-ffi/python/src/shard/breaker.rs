//! Breaker and retry traces: a list of calls fed to a resilience policy (a circuit breaker,
//! a retry policy and a retry budget, the crate's `Resilience`) on the caller's clock, and
//! what it decided at each call, as a table.

use std::time::Duration;

use pharm_core::time::duration_to_nanos;
use pharm_shard::resilience::{Call, Rejected, StopReason};
use pharm_shard::{ErrorKind, Next, Outcome, Resilience, ResilienceConfig};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::{document_text, serde_name};
use crate::core::list_items;
use crate::table::{Table, Values};
use crate::{errors, json};

/// The name of a policy made from a configuration document.
const CUSTOM_NAME: &str = "custom";

/// The `ResilienceConfig` of a preset (dict): "pmp-api" (the design's pmp-api breaker, 3
/// tries exponential from 1 s with 10 s per try) or "insurance-api" (3 tries exponential
/// from 2 s with 30 s per try); a starting point for a policy document. ValueError for
/// another name.
#[pyfunction]
pub(crate) fn preset_config<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    json::to_py(py, &preset(name)?)
}

fn preset(name: &str) -> PyResult<ResilienceConfig> {
    ResilienceConfig::preset(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{name:?} is not a preset (\"{}\" or \"{}\"); pass a configuration dict instead",
            ResilienceConfig::PMP_API,
            ResilienceConfig::INSURANCE_API
        ))
    })
}

/// The `policy` argument, with its time starting at `start`: a preset name, or a
/// `ResilienceConfig` document (dict, or JSON str starting with `{`).
fn policy(py: Python<'_>, policy: &Bound<'_, PyAny>, start: Duration) -> PyResult<Resilience> {
    let (name, config) = match policy.cast::<PyString>() {
        Ok(text) if !text.to_str()?.trim_start().starts_with('{') => {
            let name = text.to_str()?.to_owned();
            let config = preset(&name)?;
            (name, config)
        }
        _ => {
            let text = document_text(policy, "policy")?;
            let config =
                ResilienceConfig::from_json(&text).map_err(|error| errors::domain(py, &error))?;
            (CUSTOM_NAME.to_owned(), config)
        }
    };
    Resilience::new(name, config, start).map_err(|error| errors::domain(py, &error))
}

/// An outcome name: "success", "failure" (retryable, counted by the breaker), "permanent"
/// (a failure retrying cannot help, counted) or "not_counted" (a retryable failure the
/// breaker ignores, such as a 4xx).
fn outcome(name: &str) -> PyResult<Outcome> {
    match name {
        "success" => Ok(Outcome::Success),
        "failure" => Ok(Outcome::Failure(ErrorKind::Retryable)),
        "permanent" => Ok(Outcome::Failure(ErrorKind::Permanent)),
        "not_counted" => Ok(Outcome::NotCounted(ErrorKind::Retryable)),
        other => Err(PyValueError::new_err(format!(
            "outcome must be \"success\", \"failure\", \"permanent\" or \"not_counted\", not {other:?}"
        ))),
    }
}

/// The `(int, str)` pairs of a list argument.
fn pairs(events: &Bound<'_, PyAny>, argument: &str) -> PyResult<Vec<(u64, String)>> {
    list_items(events, argument)?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.extract::<(u64, String)>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{argument}[{index}] must be a pair (nanoseconds: int >= 0, outcome: str)"
                ))
            })
        })
        .collect()
}

/// One try of a trace.
struct Row {
    start_ns: u64,
    end_ns: u64,
    outcome: String,
    permitted: bool,
    attempt: Option<u64>,
    timeout_ns: Option<u64>,
    decision: &'static str,
    wait_ns: Option<u64>,
    give_up: Option<String>,
    state: String,
}

/// Runs one try of `call`: asks at `start_ns`, reports `outcome` at `end_ns`. Returns its
/// row and, when the try was permitted, what comes next.
fn try_once(
    resilience: &Resilience,
    call: &mut Call<'_>,
    start_ns: u64,
    end_ns: u64,
    name: &str,
) -> PyResult<(Row, Option<Next>)> {
    let outcome = outcome(name)?;
    let state = || serde_name(&resilience.breaker().state()).unwrap_or_default();
    let (attempt, next, wait_ns) = match call.before_call(Duration::from_nanos(start_ns)) {
        Ok(permit) => {
            let attempt = permit.attempt();
            let next = call.after_call(permit, outcome, Duration::from_nanos(end_ns));
            let wait = match next {
                Next::RetryAfter(wait) => Some(duration_to_nanos(wait)),
                Next::Return | Next::GiveUp(_) => None,
            };
            (Some(attempt), Some(next), wait)
        }
        Err(Rejected { not_permitted }) => (
            None,
            None,
            not_permitted.retry_after().map(duration_to_nanos),
        ),
    };
    let (decision, give_up) = match next {
        None => ("rejected", None),
        Some(Next::Return) => ("return", None),
        Some(Next::RetryAfter(_)) => ("retry_after", None),
        Some(Next::GiveUp(StopReason::BreakerOpen)) => ("give_up", Some("BreakerOpen".into())),
        Some(Next::GiveUp(StopReason::Retry(reason))) => ("give_up", serde_name(&reason)),
    };
    let row = Row {
        start_ns,
        end_ns,
        outcome: name.to_owned(),
        permitted: attempt.is_some(),
        attempt: attempt.map(|a| u64::from(a.number)),
        timeout_ns: attempt.map(|a| duration_to_nanos(a.timeout)),
        decision,
        wait_ns,
        give_up,
        state: state(),
    };
    Ok((row, next))
}

/// The rows as a table.
fn table(rows: &[Row]) -> Table {
    let uint = |f: &dyn Fn(&Row) -> Option<u64>| Values::UInt(rows.iter().map(f).collect());
    let text = |f: &dyn Fn(&Row) -> Option<String>| Values::Text(rows.iter().map(f).collect());
    Table::new()
        .column("start_ns", uint(&|r| Some(r.start_ns)))
        .column("end_ns", uint(&|r| Some(r.end_ns)))
        .column("outcome", text(&|r| Some(r.outcome.clone())))
        .column(
            "permitted",
            Values::Bool(rows.iter().map(|r| Some(r.permitted)).collect()),
        )
        .column("attempt", uint(&|r| r.attempt))
        .column("timeout_ns", uint(&|r| r.timeout_ns))
        .column("decision", text(&|r| Some(r.decision.to_owned())))
        .column("wait_ns", uint(&|r| r.wait_ns))
        .column("give_up", text(&|r| r.give_up.clone()))
        .column("state", text(&|r| Some(r.state.clone())))
}

/// Feeds `events`, a list of `(time_ns, outcome)` in time order, to a resilience policy
/// whose time starts at `start_ns`: each event is one operation of one try at `time_ns`
/// on the caller's monotonic clock (outcome "success", "failure", "permanent" or
/// "not_counted"). `policy` is a preset name ("pmp-api", "insurance-api") or a
/// `ResilienceConfig` document (dict or JSON str; `preset_config` gives one to start
/// from). Returns the trace as a table, one row per event: `start_ns` and `end_ns` (the
/// event's time), `outcome`, `permitted`, `attempt`, `timeout_ns`, `decision` ("return",
/// "retry_after", "give_up" or "rejected" by the breaker), `wait_ns` (the retry's wait, or
/// for a rejection the time until the breaker lets a probe through), `give_up` (the
/// reason: "BreakerOpen", "Exhausted", "NotRetryable", "DeadlineWouldPass",
/// "BudgetExhausted") and `state` (the breaker's state after the event: "CLOSED", "OPEN",
/// "HALF_OPEN"...).
#[pyfunction]
#[pyo3(signature = (events, policy, start_ns = 0, format = "auto"))]
pub(crate) fn breaker_trace<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    policy: &Bound<'py, PyAny>,
    start_ns: u64,
    format: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let events = pairs(events, "events")?;
    let resilience = self::policy(py, policy, Duration::from_nanos(start_ns))?;
    let mut rows = Vec::with_capacity(events.len());
    for (time_ns, name) in &events {
        let mut call = resilience.begin(Duration::from_nanos(*time_ns));
        rows.push(try_once(&resilience, &mut call, *time_ns, *time_ns, name)?.0);
    }
    table(&rows).emit(py, format)
}

/// Runs ONE operation through a resilience policy (as for `breaker_trace`) whose tries
/// end as `tries` says: a list of `(duration_ns, outcome)`, one per try. The first try
/// starts at `start_ns`; each later one when the policy's wait after the previous one is
/// over. Returns one row per try (the columns of `breaker_trace`, `end_ns` being the
/// start plus the duration) until the operation returns, gives up or is rejected;
/// ValueError when `tries` runs out first or goes on after that.
#[pyfunction]
#[pyo3(signature = (tries, policy, start_ns = 0, format = "auto"))]
pub(crate) fn retry_trace<'py>(
    py: Python<'py>,
    tries: &Bound<'py, PyAny>,
    policy: &Bound<'py, PyAny>,
    start_ns: u64,
    format: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let tries = pairs(tries, "tries")?;
    let resilience = self::policy(py, policy, Duration::from_nanos(start_ns))?;
    let mut call = resilience.begin(Duration::from_nanos(start_ns));
    let mut rows = Vec::with_capacity(tries.len());
    let mut now = start_ns;
    for (index, (duration_ns, name)) in tries.iter().enumerate() {
        if let Some(last) = rows.last().map(|row: &Row| row.decision)
            && last != "retry_after"
        {
            return Err(PyValueError::new_err(format!(
                "tries[{index}]: the operation already ended ({last})"
            )));
        }
        let end = now.saturating_add(*duration_ns);
        let (row, _) = try_once(&resilience, &mut call, now, end, name)?;
        now = end.saturating_add(row.wait_ns.unwrap_or(0));
        rows.push(row);
    }
    if rows.last().is_none_or(|row| row.decision == "retry_after") {
        return Err(PyValueError::new_err(
            "tries ran out before the operation returned or gave up",
        ));
    }
    table(&rows).emit(py, format)
}
