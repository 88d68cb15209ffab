"""Shared fixtures: the golden vectors of the repository (testdata/golden)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pharm import PharmError

ROOT = Path(__file__).resolve().parents[4]
GOLDEN = ROOT / "testdata" / "golden"


def golden_lines() -> list[tuple[str, str, str, str]]:
    """The cases of ffi/evaluate.tsv: name, context JSON, request JSON, decision JSON."""
    lines = (GOLDEN / "ffi" / "evaluate.tsv").read_text(encoding="utf-8").splitlines()
    cases = []
    for line in lines:
        name, context, request, decision = line.split("\t")
        cases.append((name, context, request, decision))
    return cases


def golden_cases() -> list[dict[str, Any]]:
    """The cases of decisions.json: name, request, context, decision."""
    cases: list[dict[str, Any]] = json.loads((GOLDEN / "decisions.json").read_text("utf-8"))
    return cases


@pytest.fixture
def case() -> tuple[str, str, str, str]:
    """The first golden case (a non-controlled refill that is allowed)."""
    return golden_lines()[0]


@contextmanager
def raises_id(cls: type[PharmError], error_id: str) -> Iterator[pytest.ExceptionInfo[PharmError]]:
    """Expects a ``cls`` error with the stable ``error_id``."""
    with pytest.raises(cls) as info:
        yield info
    assert info.value.id == error_id, str(info.value)
