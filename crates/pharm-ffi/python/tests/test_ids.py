from __future__ import annotations

import pytest

from pharm import CoreError
from pharm.core import normalize_ndc, parse_datamatrix, validate_dea

GS = "\x1d"


def test_normalize_ndc_column() -> None:
    values = ["0093-7146-56", "00093-7146-56", "00093714656", None]
    out = normalize_ndc(values)
    assert out[0] == "0093-7146-56"
    assert out[1] == out[2]
    assert out[1] is not None
    assert out[3] is None
    assert normalize_ndc(tuple(values)) == out
    assert normalize_ndc([]) == []


def test_normalize_ndc_errors_null() -> None:
    assert normalize_ndc(["bad", "0093-7146-56", ""], errors="null") == [
        None,
        "0093-7146-56",
        None,
    ]


def test_normalize_ndc_errors_raise() -> None:
    with pytest.raises(CoreError, match=r"^values\[1\]: ") as info:
        normalize_ndc(["0093-7146-56", "not-an-ndc"])
    assert (info.value.code, info.value.id) == (1000, "core.ndc_syntax")
    with pytest.raises(CoreError) as info:
        normalize_ndc(["9" * 200])
    assert info.value.id.startswith("core.ndc_")


def test_normalize_ndc_misuse() -> None:
    with pytest.raises(TypeError, match=r"values\[1\] must be a str or None"):
        normalize_ndc(["0093-7146-56", 93714656])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        normalize_ndc("0093-7146-56")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        normalize_ndc(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="errors must be"):
        normalize_ndc([], errors="ignore")  # type: ignore[arg-type]


def test_validate_dea() -> None:
    answer = validate_dea("AB1234563", "Brown")
    assert answer["dea"] == "AB1234563"
    assert answer["matches_last_name"] is True
    assert answer["known_registrant_type"] is True
    assert validate_dea("AB1234563")["matches_last_name"] is None
    assert validate_dea("AB1234563", last_name="Smith")["matches_last_name"] is False


def test_validate_dea_invalid() -> None:
    with pytest.raises(CoreError) as info:
        validate_dea("AB1234564")
    assert (info.value.code, info.value.id) == (1041, "core.dea_check_digit")
    with pytest.raises(CoreError) as info:
        validate_dea("")
    assert info.value.id == "core.dea_format"
    with pytest.raises(TypeError):
        validate_dea(1234563)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        validate_dea("AB1234563", last_name=3)  # type: ignore[arg-type]


def test_parse_datamatrix() -> None:
    answer = parse_datamatrix("]d201003000275970101727053110A123B" + GS + "21100000012345")
    assert answer["gtin"] == "00300027597010"
    assert answer["lot"] == "A123B"
    assert answer["serial"] == "100000012345"
    assert answer["ndc10_digits"] == "0002759701"
    hri = parse_datamatrix("(01)00300027597010(17)270531(10)A123B(21)100000012345")
    assert hri == answer


def test_parse_datamatrix_invalid() -> None:
    with pytest.raises(CoreError) as info:
        parse_datamatrix("0100300027597011")
    assert info.value.id.startswith("core.gs1_")
    with pytest.raises(CoreError) as info:
        parse_datamatrix("")
    assert 1020 <= info.value.code <= 1031
    with pytest.raises(TypeError):
        parse_datamatrix(b"0100300027597010")  # type: ignore[arg-type]
