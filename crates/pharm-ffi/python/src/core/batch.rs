//! A batch of requests read and evaluated in parallel (without the GIL): one chunk per
//! core, in order.

use std::num::NonZeroUsize;
use std::thread;

use pharm_core::ContractError;
use pharm_core::rules::{Context, Decision, evaluate as core_evaluate};

use super::context::read_request;
use crate::json::Document;

/// Requests below which one thread does the whole batch (a thread costs more than
/// evaluating this many).
const MIN_PARALLEL: usize = 256;

/// Reads and evaluates every document in order; the first refused document stops the batch
/// with its index and error.
pub(super) fn evaluate(
    documents: Vec<Document>,
    context: &Context,
) -> Result<Vec<Decision>, (usize, ContractError)> {
    let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    if threads < 2 || documents.len() < MIN_PARALLEL {
        return evaluate_chunk(0, documents, context);
    }
    let chunk_len = documents.len().div_ceil(threads);
    let mut chunks: Vec<(usize, Vec<Document>)> = Vec::new();
    let mut documents = documents.into_iter();
    let mut first = 0;
    loop {
        let chunk: Vec<Document> = documents.by_ref().take(chunk_len).collect();
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        chunks.push((first, chunk));
        first += len;
    }
    let results: Vec<Result<Vec<Decision>, (usize, ContractError)>> = thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(first, chunk)| scope.spawn(move || evaluate_chunk(first, chunk, context)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                // A panic in a chunk is re-raised on this thread, where PyO3 turns it into
                // a Python exception.
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut decisions = Vec::with_capacity(first);
    for result in results {
        decisions.extend(result?);
    }
    Ok(decisions)
}

/// One chunk, whose first document is number `first` of the batch.
fn evaluate_chunk(
    first: usize,
    documents: Vec<Document>,
    context: &Context,
) -> Result<Vec<Decision>, (usize, ContractError)> {
    documents
        .into_iter()
        .enumerate()
        .map(|(index, document)| {
            read_request(document)
                .map(|request| core_evaluate(&request, context))
                .map_err(|error| (first + index, error))
        })
        .collect()
}
