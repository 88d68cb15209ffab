//! The store's `Context` and evaluation: one request, a batch (without the GIL), and the
//! compliance checks.

use pharm_core::ContractError;
use pharm_core::contract::{
    parse_context, parse_context_value, parse_request_str, parse_request_value,
};
use pharm_core::rules::{Context as CoreContext, Request, evaluate as core_evaluate};
use std::thread;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyList, PyModule, PyString};

use super::batch;
use crate::errors;
use crate::json::{self, Document};

/// The dispensing context of one store (the contract's Context: `now`, `profile`, and
/// optionally `policy`, `pharmacy`, `connectivity`, `recall_feed_as_of`), made once from a
/// dict or a JSON str and immutable afterwards. Two contexts are equal when their
/// contract JSON is.
#[pyclass(frozen, module = "pharm.core")]
pub(crate) struct Context {
    context: CoreContext,
    /// The context's JSON as pharm-core writes it (every field).
    text: String,
}

#[pymethods]
impl Context {
    /// Parses the context document (dict or JSON str); raises `pharm.CoreError`
    /// (`core.contract_syntax`, `core.contract_invalid`, `core.contract_too_large`) for a
    /// document the contract refuses, TypeError for another type.
    #[new]
    fn new(py: Python<'_>, context: &Bound<'_, PyAny>) -> PyResult<Self> {
        let context = match json::document(context, "context")? {
            Document::Text(text) => parse_context(&text),
            Document::Value(value) => parse_context_value(value),
        }
        .map_err(|error| errors::domain(py, &error))?;
        let text = json::to_text(&context)?;
        Ok(Context { context, text })
    }

    /// The context as the contract's JSON text (every field written).
    fn to_json(&self) -> &str {
        &self.text
    }

    /// The context as a dict (the contract's JSON, every field written).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::load(py, &self.text)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let quoted = |text: String| -> PyResult<String> {
            Ok(PyString::new(py, &text).repr()?.to_str()?.to_owned())
        };
        Ok(format!(
            "Context(state={}, now={}, pharmacy={})",
            quoted(self.context.profile.state.clone())?,
            quoted(self.context.now.to_string())?,
            self.context.pharmacy.id
        ))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Context>()
            .is_ok_and(|other| other.get().text == self.text)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.text.hash(&mut hasher);
        hasher.finish()
    }
}

/// Reads a request document (JSON text or a value made from a dict).
pub(super) fn read_request(document: Document) -> Result<Request, ContractError> {
    match document {
        Document::Text(text) => parse_request_str(&text),
        Document::Value(value) => parse_request_value(value),
    }
}

/// Parses a request argument (dict or JSON str).
fn request_of(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Request> {
    read_request(json::document(request, "request")?).map_err(|error| errors::domain(py, &error))
}

/// Evaluates one request (dict or JSON str, any `"type"`) in `context`; returns the
/// decision as a dict. A decision of any outcome is a return value; only a request the
/// contract refuses raises (`pharm.CoreError`).
#[pyfunction]
pub(crate) fn evaluate<'py>(
    py: Python<'py>,
    request: &Bound<'py, PyAny>,
    context: &Context,
) -> PyResult<Bound<'py, PyAny>> {
    let request = request_of(py, request)?;
    json::to_py_exact(py, &core_evaluate(&request, &context.context))
}

/// Evaluates one request given as JSON text; returns the decision's JSON text, byte for
/// byte what the C ABI and Rust write.
#[pyfunction]
pub(crate) fn evaluate_json(py: Python<'_>, request: &str, context: &Context) -> PyResult<String> {
    let request = parse_request_str(request).map_err(|error| errors::domain(py, &error))?;
    json::to_text(&core_evaluate(&request, &context.context))
}

/// Evaluates a list (or any iterable) of requests, each a dict or JSON str, in `context`;
/// returns the decisions in order: dicts, or with `output="json"` each decision's JSON text
/// (byte for byte as `evaluate_json`). The requests are read and evaluated without the GIL,
/// 1,024 at a time, each chunk split over the machine's cores while this thread prepares
/// the next chunk and converts the previous one. The first request the
/// contract refuses raises `pharm.CoreError` naming its index, and no decision is
/// returned; another `output` is a ValueError.
#[pyfunction]
#[pyo3(signature = (requests, context, *, output = "dict"))]
pub(crate) fn evaluate_batch<'py>(
    py: Python<'py>,
    requests: &Bound<'py, PyAny>,
    context: &Context,
    output: &str,
) -> PyResult<Bound<'py, PyList>> {
    let output = match output {
        "dict" => batch::Output::Value,
        "json" => batch::Output::Json,
        other => {
            return Err(PyValueError::new_err(format!(
                "output must be \"dict\" or \"json\", not {other:?}"
            )));
        }
    };
    let items = list_items(requests, "requests")?;
    let core_context = &context.context;
    // Tens of thousands of new dicts would start the cyclic collector again and again over
    // the growing list; the decisions hold no cycles, so it pauses until they are built.
    let _paused = GcPause::new(py)?;
    let mut decisions: Vec<Bound<'py, PyAny>> = Vec::with_capacity(items.len());
    // A pipeline: while other threads read and evaluate one chunk, this one (holding the
    // GIL) turns the next chunk's items into documents and the previous chunk's decisions
    // into Python objects.
    thread::scope(|scope| -> PyResult<()> {
        let mut pending = None;
        for (number, chunk) in items.chunks(batch::CHUNK).enumerate() {
            let documents = match documents_of(chunk) {
                Ok(documents) => documents,
                Err(error) => {
                    // An earlier chunk's refusal comes first.
                    if let Some(previous) = pending.take() {
                        emit(py, previous, &mut decisions)?;
                    }
                    return Err(error);
                }
            };
            let first = number * batch::CHUNK;
            let handle =
                scope.spawn(move || batch::evaluate(first, documents, core_context, output));
            if let Some(previous) = pending.replace(handle) {
                emit(py, previous, &mut decisions)?;
            }
        }
        if let Some(last) = pending {
            emit(py, last, &mut decisions)?;
        }
        Ok(())
    })?;
    PyList::new(py, decisions)
}

/// The documents of a chunk of a batch's items.
fn documents_of(chunk: &[Bound<'_, PyAny>]) -> PyResult<Vec<Document>> {
    chunk
        .iter()
        .map(|item| json::document(item, "each request"))
        .collect()
}

/// Waits (without the GIL) for a chunk's evaluation and appends its decisions as Python
/// objects.
fn emit<'py>(
    py: Python<'py>,
    handle: thread::ScopedJoinHandle<'_, batch::Evaluated>,
    decisions: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<()> {
    let evaluated = py
        .detach(|| handle.join())
        // A panic in the evaluation is re-raised here, where PyO3 turns it into a Python
        // exception.
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let decided = evaluated.map_err(|(index, fault)| batch_error(py, index, fault))?;
    for decided in decided {
        decisions.push(match decided {
            batch::Decided::Value(decision) => json::to_py_exact(py, &decision)?,
            batch::Decided::Json(text) => PyString::new(py, &text).into_any(),
        });
    }
    Ok(())
}

/// Python's cyclic garbage collector paused while it lives (if it was running), restarted
/// when it is dropped, error or not.
struct GcPause<'py> {
    gc: Option<Bound<'py, PyModule>>,
}

impl<'py> GcPause<'py> {
    fn new(py: Python<'py>) -> PyResult<GcPause<'py>> {
        let gc = py.import("gc")?;
        if !gc.call_method0("isenabled")?.is_truthy()? {
            return Ok(GcPause { gc: None });
        }
        gc.call_method0("disable")?;
        Ok(GcPause { gc: Some(gc) })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            // Restarting the collector cannot fail short of a broken interpreter; there is
            // nothing to report it to from a destructor.
            let _ = gc.call_method0("enable");
        }
    }
}

/// The exception for request `index` of a batch.
fn batch_error(py: Python<'_>, index: usize, fault: batch::Fault) -> PyErr {
    use pharm_core::ErrorCode;
    match fault {
        batch::Fault::Contract(error) => errors::domain_with(
            py,
            error.code(),
            error.id(),
            format!("requests[{index}]: {error}"),
        ),
        batch::Fault::Output(error) => PyValueError::new_err(format!("requests[{index}]: {error}")),
    }
}

/// The items of a column argument: a list or tuple, or any other iterable (a generator, a
/// pandas Series, a pyarrow array's `to_pylist()`...). A `str`, `bytes` or `dict` is a
/// TypeError (iterating them would give characters, bytes or keys), as is a non-iterable.
pub(crate) fn list_items<'py>(
    value: &Bound<'py, PyAny>,
    argument: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = value.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = value.cast::<pyo3::types::PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    let refused = value.is_instance_of::<PyString>()
        || value.is_instance_of::<pyo3::types::PyBytes>()
        || value.is_instance_of::<pyo3::types::PyDict>();
    match value.try_iter() {
        Ok(items) if !refused => items.collect(),
        _ => Err(PyTypeError::new_err(format!(
            "{argument} must be a list, tuple or other iterable of items, not {}",
            value.get_type().name()?
        ))),
    }
}

/// Runs the compliance checks of `context`: a request of type `compliance` (open
/// obligations of prescriptions) or `end_of_day` (closing a day); returns the decision
/// dict. Any other request type raises ValueError: a compliance run never evaluates a
/// dispense.
#[pyfunction]
pub(crate) fn check_compliance<'py>(
    py: Python<'py>,
    request: &Bound<'py, PyAny>,
    context: &Context,
) -> PyResult<Bound<'py, PyAny>> {
    let request = request_of(py, request)?;
    if !matches!(request, Request::Compliance(_) | Request::EndOfDay(_)) {
        return Err(PyValueError::new_err(
            "check_compliance takes a request of type \"compliance\" or \"end_of_day\"; \
             evaluate other requests with evaluate()",
        ));
    }
    json::to_py_exact(py, &core_evaluate(&request, &context.context))
}
