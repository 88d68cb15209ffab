"""Shard routing, reshard planning, aggregate merging, read routing and breaker traces
(pharm-shard).

Documents are the crate's serde forms (``testdata/golden/shard/``) as a dict or a JSON
``str``; tables come out in the ``format`` asked for ("auto", "arrow" or "dict"). Time is
always the caller's. Errors of pharm-shard raise :class:`pharm.ShardError`.
"""

from __future__ import annotations

from pharm._pharm import (
    Directory,
    ReadRouter,
    breaker_trace,
    merge_aggregates,
    partial_aggregate,
    preset_config,
    retry_trace,
)

__all__ = [
    "Directory",
    "ReadRouter",
    "breaker_trace",
    "merge_aggregates",
    "partial_aggregate",
    "preset_config",
    "retry_trace",
]
