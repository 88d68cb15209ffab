"""Documents given as Python objects: read in Rust without JSON text, as strictly as JSON
text, and never crashing the interpreter (cycles, deep nesting, odd types); large batches
evaluated in parallel give the decisions of one-by-one evaluation, in order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import golden_lines

from pharm import CoreError
from pharm.core import Context, evaluate, evaluate_batch, evaluate_json

NAME, CONTEXT, REQUEST, DECISION = golden_lines()[0]


@pytest.fixture
def ctx() -> Context:
    return Context(CONTEXT)


@pytest.fixture
def request_dict() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REQUEST)
    return loaded


def test_a_dict_and_its_json_text_give_the_same_decision(
    ctx: Context, request_dict: dict[str, Any]
) -> None:
    assert evaluate(request_dict, ctx) == json.loads(DECISION)
    # "type" anywhere in the dict.
    moved = {k: v for k, v in request_dict.items() if k != "type"} | {"type": request_dict["type"]}
    assert evaluate(moved, ctx) == json.loads(DECISION)


def test_a_dict_that_contains_itself_is_a_value_error(
    ctx: Context, request_dict: dict[str, Any]
) -> None:
    request_dict["dispensed"]["self"] = request_dict
    with pytest.raises(ValueError, match="nested more than 128 levels"):
        evaluate(request_dict, ctx)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        evaluate({"type": "fill", "x": loop}, ctx)


def test_deep_nesting_is_a_value_error(ctx: Context) -> None:
    deep: Any = {}
    for _ in range(10_000):
        deep = {"a": deep}
    with pytest.raises(ValueError):
        evaluate(deep, ctx)


def test_unknown_fields_in_a_dict_are_refused(ctx: Context, request_dict: dict[str, Any]) -> None:
    request_dict["dispensed"]["ntii"] = True
    with pytest.raises(CoreError) as raised:
        evaluate(request_dict, ctx)
    assert raised.value.id == "core.contract_invalid"
    assert "ntii" in str(raised.value)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, CoreError),  # a float where the contract has an integer
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (2**64, ValueError),
        (-(2**63) - 1, ValueError),
        (object(), TypeError),
        (b"30", TypeError),
        ({1, 2}, TypeError),
    ],
)
def test_values_json_cannot_hold_or_the_contract_refuses(
    ctx: Context, request_dict: dict[str, Any], value: Any, error: type[Exception]
) -> None:
    request_dict["days_supply"] = value
    with pytest.raises(error):
        evaluate(request_dict, ctx)


def test_keys_must_be_str(ctx: Context, request_dict: dict[str, Any]) -> None:
    request_dict[1] = "x"
    with pytest.raises(TypeError, match="keys must be str"):
        evaluate(request_dict, ctx)


def test_bool_is_not_an_integer(ctx: Context, request_dict: dict[str, Any]) -> None:
    request_dict["days_supply"] = True
    with pytest.raises(CoreError):
        evaluate(request_dict, ctx)


def test_tuples_are_arrays(ctx: Context, request_dict: dict[str, Any]) -> None:
    request_dict["dur_alerts"] = ()
    assert evaluate(request_dict, ctx) == json.loads(DECISION)


def test_a_large_batch_is_evaluated_in_order(ctx: Context) -> None:
    by_context = [(json.loads(r), json.loads(d)) for _, c, r, d in golden_lines() if c == CONTEXT]
    assert len(by_context) >= 2
    # Three chunks of the batch (1,024 each), the last one short.
    requests = [by_context[i % len(by_context)][0] for i in range(2_500)]
    expected = [by_context[i % len(by_context)][1] for i in range(2_500)]
    assert evaluate_batch(requests, ctx) == expected
    texts = [json.dumps(r) for r in requests]
    assert evaluate_batch(texts, ctx) == expected
    as_json = evaluate_batch(texts, ctx, output="json")
    assert as_json == [evaluate_json(text, ctx) for text in texts]
    assert [json.loads(text) for text in as_json] == expected


def test_the_first_refused_request_of_a_large_batch_is_named(
    ctx: Context, request_dict: dict[str, Any]
) -> None:
    bad = dict(request_dict, unknown=1)
    requests: list[Any] = [request_dict] * 3_000
    requests[2_100] = bad
    requests[2_900] = "{"
    for output in ("dict", "json"):
        with pytest.raises(CoreError) as raised:
            evaluate_batch(requests, ctx, output=output)  # type: ignore[call-overload]
        assert str(raised.value).startswith("requests[2100]: ")
        assert raised.value.id == "core.contract_invalid"
    requests[1] = 42
    with pytest.raises(TypeError, match="each request"):
        evaluate_batch(requests, ctx)


def test_an_unknown_batch_output_is_a_value_error(ctx: Context) -> None:
    with pytest.raises(ValueError, match="output"):
        evaluate_batch([REQUEST], ctx, output="yaml")  # type: ignore[call-overload]


def test_columns_may_be_any_iterable(ctx: Context) -> None:
    from pharm.core import normalize_ndc

    expected = normalize_ndc(["0093-7146-56", None])
    assert normalize_ndc(iter(["0093-7146-56", None])) == expected
    assert normalize_ndc(x for x in ["0093-7146-56", None]) == expected
    requests = (json.loads(REQUEST) for _ in range(3))
    assert evaluate_batch(requests, ctx) == [json.loads(DECISION)] * 3
    for bad in ("0093-7146-56", b"00937146", {"a": 1}, 42):
        with pytest.raises(TypeError, match="iterable"):
            normalize_ndc(bad)  # type: ignore[arg-type]


def test_substitutes_iterate_over_their_choices() -> None:
    from conftest import ROOT

    from pharm.subst import OrangeBook

    book = OrangeBook.from_path(
        ROOT / "crates" / "pharm-subst" / "testdata" / "products-sample.txt", released="2026-05-01"
    )
    answer = book.substitutes({"original": "N020702-001", "policy": {"state": "TX"}}, "2026-05-02")
    assert list(answer) == answer.choices
    assert [choice["key"] for choice in answer] == answer.keys


def test_a_batch_leaves_the_garbage_collector_as_it_found_it(
    ctx: Context, request_dict: dict[str, Any]
) -> None:
    import gc

    assert gc.isenabled()
    evaluate_batch([request_dict] * 3, ctx)
    assert gc.isenabled()
    with pytest.raises(CoreError):
        evaluate_batch([request_dict, "{"], ctx)
    assert gc.isenabled()
    gc.disable()
    try:
        evaluate_batch([request_dict], ctx)
        assert not gc.isenabled()
    finally:
        gc.enable()
