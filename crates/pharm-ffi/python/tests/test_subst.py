"""pharm.subst: loading the Orange Book, the golden substitution and explain answers, the
tables, and bad input."""

from __future__ import annotations

import copy
import datetime
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, ROOT

from pharm import CoreError, PharmError, SubstError
from pharm.subst import OrangeBook

SAMPLE = ROOT / "crates" / "pharm-subst" / "testdata" / "products-sample.txt"
RELEASED = "2026-05-01"
DATES = {"fresh": "2026-06-10", "stale": "2026-06-16"}


@pytest.fixture(scope="module")
def book() -> OrangeBook:
    return OrangeBook.from_path(SAMPLE, released=RELEASED, label="sample")


def substitutes_golden() -> dict[str, Any]:
    golden: dict[str, Any] = json.loads((GOLDEN / "subst" / "substitutes.json").read_text("utf-8"))
    return golden


def explain_golden() -> dict[str, Any]:
    golden: dict[str, Any] = json.loads((GOLDEN / "subst" / "explain.json").read_text("utf-8"))
    return golden


def replayable(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # "none" cases ask a service with no release; an OrangeBook always holds one.
    return [c for c in cases if c["query"]["catalog"] != "none"]


@pytest.mark.parametrize(
    "case", replayable(substitutes_golden()["cases"]), ids=lambda c: str(c["name"])
)
def test_golden_substitutes(book: OrangeBook, case: dict[str, Any]) -> None:
    packaged = book.with_packages(substitutes_golden()["packages"])
    query = dict(case["query"])
    today = DATES[query.pop("catalog")]
    answer = packaged.substitutes(query, today)
    assert answer.to_dict() == case["answer"]
    assert json.loads(answer.to_json()) == case["answer"]
    again = packaged.substitutes(json.dumps(query), datetime.date.fromisoformat(today))
    assert again == answer
    assert answer.original == case["answer"]["original"]
    assert answer.keys == [choice["key"] for choice in case["answer"]["choices"]]
    assert answer.choices == case["answer"]["choices"]
    assert answer.restriction == case["answer"]["restriction"]
    assert answer.degraded == case["answer"]["degraded"]
    assert answer.consent_needed is case["answer"]["consent_needed"]
    assert len(answer) == len(case["answer"]["choices"])
    table = answer.table(format="dict")
    assert table["key"] == answer.keys
    assert table["rank"] == list(range(len(answer)))


@pytest.mark.parametrize(
    "case", replayable(explain_golden()["cases"]), ids=lambda c: str(c["name"])
)
def test_golden_explain(book: OrangeBook, case: dict[str, Any]) -> None:
    query = dict(case["query"])
    today = DATES[query.pop("catalog")]
    assert book.explain(query, today) == case["answer"]


def test_the_golden_files_have_replayable_cases() -> None:
    assert len(replayable(substitutes_golden()["cases"])) >= 10
    assert len(replayable(explain_golden()["cases"])) >= 5


def test_loading_from_bytes_equals_loading_from_a_path(book: OrangeBook) -> None:
    from_bytes = OrangeBook(SAMPLE.read_bytes(), released=datetime.date(2026, 5, 1))
    assert len(from_bytes) == len(book) == 60
    assert from_bytes.edge_count == book.edge_count > 0
    assert from_bytes.products(format="dict") == book.products(format="dict")
    assert OrangeBook.from_path(str(SAMPLE), released=RELEASED).released == "2026-05-01"


def test_properties_and_repr(book: OrangeBook) -> None:
    assert book.label == "sample"
    assert book.released == RELEASED
    assert "N020702-001" in book
    assert "N999999-001" not in book
    assert "not a key" not in book
    assert 42 not in book
    text = repr(book)
    assert text.startswith("OrangeBook(label=\"sample\", released=2026-05-01, products=60")
    assert "packages=0" in text


def test_is_single_source(book: OrangeBook) -> None:
    assert book.is_single_source("N020702-001") is False  # Lipitor 10 mg has generics
    singles = [
        key
        for key, single in zip(
            book.products(format="dict")["key"], book.products(format="dict")["single_source"]
        )
        if single
    ]
    assert singles
    assert all(book.is_single_source(key) for key in singles)
    with pytest.raises(SubstError) as raised:
        book.is_single_source("N999999-001")
    assert raised.value.id == "subst.unknown_product"
    with pytest.raises(SubstError) as raised:
        book.is_single_source("garbage")
    assert raised.value.id == "subst.product_key_invalid"


def test_products_table(book: OrangeBook) -> None:
    table = book.products(format="dict")
    assert list(table) == [
        "key",
        "appl_type",
        "appl_no",
        "product_no",
        "ingredients",
        "dosage_form",
        "route",
        "trade_name",
        "applicant",
        "applicant_full_name",
        "strength",
        "te_codes",
        "approval_date",
        "rld",
        "rs",
        "status",
        "single_source",
    ]
    assert all(len(column) == 60 for column in table.values())
    row = table["key"].index("N020702-001")
    assert table["appl_type"][row] == "N"
    assert table["appl_no"][row] == 20702
    assert table["product_no"][row] == 1
    assert table["trade_name"][row] == "LIPITOR"
    assert table["ingredients"][row] == "ATORVASTATIN CALCIUM"
    assert table["te_codes"][row] == "AB"
    assert table["status"][row] == "RX"
    assert table["rld"][row] is True
    assert set(table["status"]) <= {"RX", "OTC", "DISCN"}


def test_edges_and_groups_tables(book: OrangeBook) -> None:
    edges = book.edges(format="dict")
    assert list(edges) == ["a", "b", "te_code"]
    assert len(edges["a"]) == book.edge_count
    pairs = set(zip(edges["a"], edges["b"]))
    assert ("N020702-001", "A207687-001") in pairs
    for a, b, code in zip(edges["a"], edges["b"], edges["te_code"]):
        explained = book.explain({"a": a, "b": b}, "2026-05-02")["explanation"]
        assert explained["result"] == "equivalent"
        assert code in explained["codes"]
    groups = book.groups(format="dict")
    assert list(groups) == ["group", "key"]
    group_of = dict(zip(groups["key"], groups["group"]))
    for a, b in pairs:
        assert group_of[a] == group_of[b]
    products = book.products(format="dict")
    multi = {k for k, single in zip(products["key"], products["single_source"]) if not single}
    assert set(group_of) == multi


def test_tables_as_arrow_and_polars(book: OrangeBook) -> None:
    pa = pytest.importorskip("pyarrow")
    batch = book.edges(format="arrow")
    assert isinstance(batch, pa.RecordBatch)
    assert batch.num_rows == book.edge_count
    assert batch.schema.field("a").type == pa.string()
    assert batch.to_pydict() == book.edges(format="dict")
    auto = book.products()
    assert isinstance(auto, pa.RecordBatch)
    assert auto.schema.field("appl_no").type == pa.uint64()
    assert auto.schema.field("rs").type == pa.bool_()
    assert auto.to_pydict() == book.products(format="dict")
    pl = pytest.importorskip("polars")
    frame = pl.from_arrow(book.groups())
    assert frame.columns == ["group", "key"]
    assert frame.height == len(book.groups(format="dict")["key"])


def test_a_bad_table_format_is_a_value_error(book: OrangeBook) -> None:
    with pytest.raises(ValueError, match="format"):
        book.edges(format="csv")


def test_stale_answers_are_flagged(book: OrangeBook) -> None:
    query = {"original": "N020702-001", "policy": {"state": "TX"}}
    fresh = book.substitutes(query, "2026-06-15")
    stale = book.substitutes(query, "2026-06-16")
    assert fresh.degraded is None
    assert stale.degraded == {"kind": "stale", "age_days": 46, "max_age_days": 45}
    assert "degraded=stale" in repr(stale)
    assert fresh != stale
    strict = OrangeBook.from_path(SAMPLE, released=RELEASED, max_age_days=10)
    assert strict.substitutes(query, "2026-05-12").to_dict()["degraded"]["kind"] == "stale"


def test_packages_are_listed_in_answers(book: OrangeBook) -> None:
    packaged = book.with_packages(
        [{"sku": 2, "ndc": "0071-0155-40", "product": "N020702-001"}]
    )
    assert "packages=1" in repr(packaged)
    assert len(packaged) == len(book)
    answer = packaged.substitutes(
        {"original": "N020702-001", "policy": {"state": "TX"}}, "2026-05-02"
    )
    written = [c for c in answer.choices if c["key"] == "N020702-001"][0]
    assert written["packages"] == [{"sku": 2, "ndc": "0071-0155-40"}]
    assert packaged.with_packages("[]").substitutes(
        {"original": "N020702-001", "policy": {"state": "TX"}}, "2026-05-02"
    ) != answer


@pytest.mark.parametrize(
    ("packages", "id_"),
    [
        ([{"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001", "x": 1}], "subst.json_invalid"),
        (
            [
                {"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001"},
                {"sku": 1, "ndc": "0071-0155-40", "product": "N020702-001"},
            ],
            "subst.map_duplicate_sku",
        ),
        ("[{", "subst.json_syntax"),
    ],
)
def test_bad_packages_raise(book: OrangeBook, packages: Any, id_: str) -> None:
    with pytest.raises(SubstError) as raised:
        book.with_packages(packages)
    assert raised.value.id == id_


def test_packages_of_a_wrong_type_are_a_type_error(book: OrangeBook) -> None:
    with pytest.raises(TypeError):
        book.with_packages({"sku": 1})


def test_malformed_files_raise_subst_errors() -> None:
    good = SAMPLE.read_bytes()
    for data in (b"", b"garbage\n", good[: len(good) // 2] + b"\xff~~\n"):
        with pytest.raises(SubstError) as raised:
            OrangeBook(data, released=RELEASED)
        assert raised.value.code // 1000 == 2
    with pytest.raises(TypeError):
        OrangeBook("products as str", released=RELEASED)  # type: ignore[arg-type]


def test_duplicated_rows_raise() -> None:
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    with pytest.raises(SubstError) as raised:
        OrangeBook(b"".join(lines + lines[1:2]), released=RELEASED)
    assert raised.value.id == "subst.bad_row"
    assert "N020702-001 already appears on line 2" in str(raised.value)


def test_unreadable_paths_raise(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.txt", tmp_path):
        with pytest.raises(SubstError) as raised:
            OrangeBook.from_path(path, released=RELEASED)
        assert raised.value.id == "subst.file_unreadable"
        assert str(path) in str(raised.value)


@pytest.mark.parametrize("released", ["2026-13-01", "May 1, 2026", ""])
def test_bad_dates_raise_core_errors(released: str) -> None:
    with pytest.raises(CoreError):
        OrangeBook(SAMPLE.read_bytes(), released=released)


def test_dates_of_a_wrong_type_are_type_errors(book: OrangeBook) -> None:
    with pytest.raises(TypeError):
        OrangeBook(SAMPLE.read_bytes(), released=20260501)
    with pytest.raises(TypeError):
        book.substitutes({"original": "N020702-001", "policy": {"state": "TX"}}, 20260501)


def test_bad_queries_raise(book: OrangeBook) -> None:
    base = {"original": "N020702-001", "policy": {"state": "TX"}}
    bad: list[tuple[Any, str]] = [
        ({**base, "unknown": 1}, "subst.json_invalid"),
        ({"policy": {"state": "TX"}}, "subst.json_invalid"),
        ({**base, "policy": {"state": "TX", "nti_rule": "maybe"}}, "subst.json_invalid"),
        ({**base, "market": {"N020702-001": {"unit_cost": "-1"}}}, "subst.json_invalid"),
        ({**base, "original": "N999999-001"}, "subst.unknown_product"),
        ('{"original": ', "subst.json_syntax"),
    ]
    for query, id_ in bad:
        with pytest.raises(SubstError) as raised:
            book.substitutes(query, "2026-05-02")
        assert raised.value.id == id_, query
    with pytest.raises(SubstError) as raised:
        book.explain({"a": "N020702-001", "b": "N999999-001"}, "2026-05-02")
    assert raised.value.id == "subst.explain_unknown_product"
    with pytest.raises(SubstError) as raised:
        book.explain({"a": "N020702-001", "b": "A207687-001", "consent": True}, "2026-05-02")
    assert raised.value.id == "subst.json_invalid"
    with pytest.raises(TypeError):
        book.substitutes(["not", "a", "dict"], "2026-05-02")


def test_errors_pickle_with_code_and_id(book: OrangeBook) -> None:
    with pytest.raises(PharmError) as raised:
        book.is_single_source("N999999-001")
    again = pickle.loads(pickle.dumps(raised.value))
    assert (type(again), again.code, again.id) == (SubstError, raised.value.code, raised.value.id)


def test_queries_do_not_change_the_book(book: OrangeBook) -> None:
    query = {"original": "N020702-001", "policy": {"state": "TX"}}
    kept = copy.deepcopy(query)
    first = book.substitutes(query, "2026-05-02")
    assert query == kept
    assert book.substitutes(query, "2026-05-02") == first
    assert first != "not an answer"
    text = repr(first)
    assert text.startswith("Substitutes(original=N020702-001, choices=[N020702-001") or (
        text.startswith("Substitutes(original=N020702-001, choices=[A")
    )
    assert "restriction=None, degraded=None, consent_needed=False)" in text


def test_choices_as_arrow(book: OrangeBook) -> None:
    pa = pytest.importorskip("pyarrow")
    answer = book.substitutes({"original": "N020702-001", "policy": {"state": "TX"}}, "2026-05-02")
    batch = answer.table()
    assert isinstance(batch, pa.RecordBatch)
    assert batch.column("key").to_pylist() == answer.keys
    assert batch.schema.field("formulary_tier").type == pa.uint64()
