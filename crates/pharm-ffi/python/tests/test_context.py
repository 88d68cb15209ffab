from __future__ import annotations

import json

import pytest

from pharm import CoreError
from pharm.core import Context


def test_from_str_and_dict_are_equal(case: tuple[str, str, str, str]) -> None:
    _, context, _, _ = case
    a = Context(context)
    b = Context(json.loads(context))
    assert a == b
    assert hash(a) == hash(b)
    assert a != "not a context"
    assert a.to_json() == context
    assert a.to_dict() == json.loads(context)


def test_repr(case: tuple[str, str, str, str]) -> None:
    text = repr(Context(case[1]))
    assert text.startswith("Context(state='US', now='2026-03-10T10:00:00'")


def test_frozen(case: tuple[str, str, str, str]) -> None:
    ctx = Context(case[1])
    with pytest.raises(AttributeError):
        ctx.now = "2026-01-01T00:00:00"  # type: ignore[attr-defined]


def test_minimal_document_fills_defaults(case: tuple[str, str, str, str]) -> None:
    full = json.loads(case[1])
    ctx = Context({"now": full["now"], "profile": full["profile"]})
    assert ctx.to_dict()["connectivity"] == {"state": "online"}


@pytest.mark.parametrize("bad", [1, None, b"{}", ["now"], 2.5])
def test_wrong_type(bad: object) -> None:
    with pytest.raises(TypeError, match="context must be a dict or a JSON str"):
        Context(bad)  # type: ignore[arg-type]


def test_malformed_json() -> None:
    with pytest.raises(CoreError) as info:
        Context('{"now": ')
    assert (info.value.code, info.value.id) == (1601, "core.contract_syntax")


def test_unknown_field(case: tuple[str, str, str, str]) -> None:
    doc = json.loads(case[1])
    doc["surprise"] = True
    with pytest.raises(CoreError) as info:
        Context(doc)
    assert (info.value.code, info.value.id) == (1602, "core.contract_invalid")
    assert "surprise" in str(info.value)


def test_wrong_field_type(case: tuple[str, str, str, str]) -> None:
    doc = json.loads(case[1])
    doc["now"] = 5
    with pytest.raises(CoreError) as info:
        Context(doc)
    assert info.value.id == "core.contract_invalid"


def test_too_large() -> None:
    with pytest.raises(CoreError) as info:
        Context(" " * (4 * 1024 * 1024 + 1))
    assert (info.value.code, info.value.id) == (1600, "core.contract_too_large")


def test_unserialisable_dict_values() -> None:
    with pytest.raises(TypeError):
        Context({"now": object()})
    with pytest.raises(ValueError):
        Context({"now": float("nan")})
