//! A batch of requests read and evaluated without the GIL, one chunk at a time (so the
//! chunk's documents and decisions stay in cache; the caller converts the next and the
//! previous chunk meanwhile), each chunk split over the cores.

use std::num::NonZeroUsize;
use std::thread;

use pharm_core::ContractError;
use pharm_core::rules::{Context, Decision, evaluate as core_evaluate};

use super::context::read_request;
use crate::json::Document;

/// Requests a batch converts, evaluates and hands back at a time.
pub(super) const CHUNK: usize = 1024;

/// Requests below which one thread does the whole chunk (a thread costs more than
/// evaluating this many).
const MIN_PARALLEL: usize = 256;

/// What a batch returns per request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    /// The decision, to become a dict.
    Value,
    /// The decision's JSON text, written here.
    Json,
}

/// One evaluated request.
pub(super) enum Decided {
    /// The decision.
    Value(Decision),
    /// Its JSON text.
    Json(String),
}

/// Why a request of the batch has no decision.
pub(super) enum Fault {
    /// The contract refused the request.
    Contract(ContractError),
    /// The decision could not be written as JSON.
    Output(serde_json::Error),
}

/// A chunk's decisions, or the first request without one (its index in the batch).
pub(super) type Evaluated = Result<Vec<Decided>, (usize, Fault)>;

/// Reads and evaluates a chunk whose first request is number `first` of the batch, in
/// order; the first request without a decision stops it with its index.
pub(super) fn evaluate(
    first: usize,
    documents: Vec<Document>,
    context: &Context,
    output: Output,
) -> Evaluated {
    let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    if threads < 2 || documents.len() < MIN_PARALLEL {
        return evaluate_part(first, documents, context, output);
    }
    let part_len = documents.len().div_ceil(threads);
    let mut parts: Vec<(usize, Vec<Document>)> = Vec::new();
    let mut documents = documents.into_iter();
    let mut next = first;
    loop {
        let part: Vec<Document> = documents.by_ref().take(part_len).collect();
        if part.is_empty() {
            break;
        }
        let len = part.len();
        parts.push((next, part));
        next += len;
    }
    let results: Vec<Result<Vec<Decided>, (usize, Fault)>> = thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|(first, part)| scope.spawn(move || evaluate_part(first, part, context, output)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                // A panic in a part is re-raised on this thread, where PyO3 turns it into
                // a Python exception.
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut decided = Vec::with_capacity(next - first);
    for result in results {
        decided.extend(result?);
    }
    Ok(decided)
}

/// One thread's part of a chunk.
fn evaluate_part(
    first: usize,
    documents: Vec<Document>,
    context: &Context,
    output: Output,
) -> Result<Vec<Decided>, (usize, Fault)> {
    documents
        .into_iter()
        .enumerate()
        .map(|(index, document)| {
            let fault = |fault: Fault| (first + index, fault);
            let decision = core_evaluate(
                &read_request(document).map_err(|e| fault(Fault::Contract(e)))?,
                context,
            );
            match output {
                Output::Value => Ok(Decided::Value(decision)),
                Output::Json => serde_json::to_string(&decision)
                    .map(Decided::Json)
                    .map_err(|e| fault(Fault::Output(e))),
            }
        })
        .collect()
}
