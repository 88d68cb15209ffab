from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from conftest import golden_cases, golden_lines

from pharm import CoreError
from pharm.core import Context, check_compliance, evaluate, evaluate_batch, evaluate_json

LINES = golden_lines()


@pytest.mark.parametrize("line", LINES, ids=[line[0] for line in LINES])
def test_golden_decision_bytes(line: tuple[str, str, str, str]) -> None:
    _, context, request, decision = line
    assert evaluate_json(request, Context(context)) == decision


@pytest.mark.parametrize("case", golden_cases(), ids=lambda case: case["name"])
def test_golden_decision_values(case: dict[str, Any]) -> None:
    ctx = Context(case["context"])
    assert evaluate(case["request"], ctx) == case["decision"]
    assert evaluate(json.dumps(case["request"]), ctx) == case["decision"]


def test_batch_matches_one_by_one() -> None:
    by_context: dict[str, list[tuple[str, str]]] = {}
    for _, context, request, decision in LINES:
        by_context.setdefault(context, []).append((request, decision))
    for context, pairs in by_context.items():
        ctx = Context(context)
        requests: list[dict[str, Any] | str] = [request for request, _ in pairs]
        requests[0] = json.loads(pairs[0][0])  # dicts and str may be mixed
        decisions = evaluate_batch(requests, ctx)
        assert decisions == [json.loads(decision) for _, decision in pairs]
        assert evaluate_batch(tuple(requests), ctx) == decisions
    assert evaluate_batch([], Context(LINES[0][1])) == []


def test_batch_from_threads(case: tuple[str, str, str, str]) -> None:
    _, context, request, decision = case
    ctx = Context(context)
    results: list[list[dict[str, Any]]] = []

    def run() -> None:
        results.append(evaluate_batch([request] * 200, ctx))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(r == [json.loads(decision)] * 200 for r in results)


def test_batch_error_names_index(case: tuple[str, str, str, str]) -> None:
    _, context, request, _ = case
    with pytest.raises(CoreError, match=r"^requests\[1\]: ") as info:
        evaluate_batch([request, '{"type": "fill"', request], Context(context))
    assert info.value.id == "core.contract_syntax"


@pytest.mark.parametrize("bad", ["a str", 3, None, {"type": "fill"}])
def test_batch_wrong_container(bad: object, case: tuple[str, str, str, str]) -> None:
    with pytest.raises(TypeError):
        evaluate_batch(bad, Context(case[1]))  # type: ignore[arg-type]


def test_batch_wrong_item_type(case: tuple[str, str, str, str]) -> None:
    with pytest.raises(TypeError, match="each request must be a dict or a JSON str"):
        evaluate_batch([case[2], 7], Context(case[1]))  # type: ignore[list-item]


def test_unknown_request_field(case: tuple[str, str, str, str]) -> None:
    request = json.loads(case[2])
    request["extra"] = 1
    with pytest.raises(CoreError) as info:
        evaluate(request, Context(case[1]))
    assert (info.value.code, info.value.id) == (1602, "core.contract_invalid")
    with pytest.raises(CoreError):
        evaluate_json(json.dumps(request), Context(case[1]))


@pytest.mark.parametrize("bad", ["", "{", "[]", '{"type": "teleport", "schema_version": 2}'])
def test_malformed_requests(bad: str, case: tuple[str, str, str, str]) -> None:
    with pytest.raises(CoreError) as info:
        evaluate(bad, Context(case[1]))
    assert info.value.id in {"core.contract_syntax", "core.contract_invalid"}


def test_wrong_argument_types(case: tuple[str, str, str, str]) -> None:
    ctx = Context(case[1])
    with pytest.raises(TypeError):
        evaluate(42, ctx)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        evaluate(case[2], case[1])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        evaluate_json(json.loads(case[2]), ctx)  # type: ignore[arg-type]


def test_check_compliance() -> None:
    cases = [c for c in golden_cases() if c["request"]["type"] in ("compliance", "end_of_day")]
    assert cases
    for c in cases:
        assert check_compliance(c["request"], Context(c["context"])) == c["decision"]


def test_check_compliance_refuses_a_dispense(case: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError, match="compliance"):
        check_compliance(case[2], Context(case[1]))
    with pytest.raises(CoreError):
        check_compliance("{}", Context(case[1]))
