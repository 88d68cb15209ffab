"""Evaluation in a store's context, compliance checks and identifiers (pharm-core).

Documents are the JSON contract's (``schema/``): pass a dict or a JSON ``str``; decisions
come back as dicts (or, from :func:`evaluate_json`, as the exact JSON text Rust writes).
"""

from __future__ import annotations

from pharm._pharm import (
    Context,
    check_compliance,
    evaluate,
    evaluate_batch,
    evaluate_json,
    normalize_ndc,
    parse_datamatrix,
    validate_dea,
)

__all__ = [
    "Context",
    "check_compliance",
    "evaluate",
    "evaluate_batch",
    "evaluate_json",
    "normalize_ndc",
    "parse_datamatrix",
    "validate_dea",
]
