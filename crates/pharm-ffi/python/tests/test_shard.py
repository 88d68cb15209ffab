"""pharm.shard: routing, reshard plans, aggregates, read routing and breaker traces."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import GOLDEN, raises_id

from pharm import ShardError
from pharm.shard import (
    Directory,
    ReadRouter,
    breaker_trace,
    merge_aggregates,
    partial_aggregate,
    preset_config,
    retry_trace,
)

SHARD = GOLDEN / "shard"
MS = 1_000_000
MOVING = {
    "version": 3,
    "logical_count": 2,
    "assignment": [0, 1],
    "pins": [{"pharmacy_id": 9, "physical": 3}],
    "moves": [{"logical": 0, "source": 0, "target": 1, "phase": "copying"}],
}


def golden(name: str) -> Any:
    return json.loads((SHARD / name).read_text("utf-8"))


def tsv(name: str) -> list[list[str]]:
    lines = (SHARD / name).read_text("utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def raises(error_id: str) -> Any:
    """Expects a ShardError with the stable ``error_id``."""
    return raises_id(ShardError, error_id)


# Directory and routes


@pytest.mark.parametrize("case", golden("routes.json")["maps"], ids=lambda c: str(c["name"]))
def test_golden_routes(case: dict[str, Any]) -> None:
    directory = Directory(case["map"])
    assert directory == Directory(json.dumps(case["map"]))
    assert directory.to_dict() == case["map"]
    assert directory.version == case["map"]["version"]
    for row in case["routes"]:
        assert directory.route(row["pharmacy_id"]) == row["route"]


def test_golden_route_column_matches_the_tsv() -> None:
    """routes.tsv, the C ABI's form, from one route_column call per map."""
    phases = {None: "0", "copying": "1", "catch_up": "2", "cut_over": "3"}
    expected: list[list[str]] = []
    got: list[list[str]] = []
    directory = None
    pending: list[list[str]] = []

    def flush() -> None:
        if directory is None:
            return
        ids = [int(r[1]) for r in pending]
        t = directory.route_column(ids, format="dict")
        for i in range(len(ids)):
            got.append(
                [
                    "route",
                    str(t["pharmacy_id"][i]),
                    str(t["physical"][i]),
                    str(t["logical"][i]),
                    str(t["map_version"][i]),
                    str(int(t["pinned"][i])),
                    phases[t["move_phase"][i]],
                    str(t["move_source"][i] or 0),
                    str(t["move_target"][i] or 0),
                ]
            )
        pending.clear()

    for row in tsv("routes.tsv"):
        if row[0] == "map":
            flush()
            directory = Directory(row[2])
        else:
            expected.append(row)
            pending.append(row)
    flush()
    assert got == expected


def test_route_column_with_pins_and_moves() -> None:
    directory = Directory(MOVING)
    assert repr(directory) == "Directory(version=3, scheme='pharm', logical_count=2)"
    ids = list(range(20)) + [9]
    table = directory.route_column(ids, format="dict")
    assert list(table) == [
        "pharmacy_id",
        "logical",
        "physical",
        "map_version",
        "pinned",
        "move_phase",
        "move_source",
        "move_target",
    ]
    for i, pharmacy in enumerate(ids):
        route = directory.route(pharmacy)
        assert table["logical"][i] == route["logical"]
        assert table["physical"][i] == route["physical"]
        assert table["pinned"][i] == route["pinned"]
        move = route["during_move"]
        assert table["move_phase"][i] == (move and move["phase"])
        assert table["move_source"][i] == (move and move["source"])
        assert table["move_target"][i] == (move and move["target"])
    assert table["pinned"][ids.index(9)] and table["physical"][ids.index(9)] == 3
    assert "copying" in table["move_phase"]
    assert directory.route_column([], format="dict")["pharmacy_id"] == []


def test_route_column_arrow() -> None:
    pa = pytest.importorskip("pyarrow")
    batch = Directory.balanced(16, 4).route_column([1, 2, 3], format="arrow")
    assert isinstance(batch, pa.RecordBatch)
    assert batch.num_rows == 3


def test_balanced_directory() -> None:
    directory = Directory.balanced(16, 4)
    assert directory.to_dict()["assignment"] == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert Directory.balanced(16, 4, "postgres_bigint").to_dict()["scheme"] == "postgres_bigint"
    assert directory == Directory(directory.to_json())
    assert hash(directory) == hash(Directory(directory.to_json()))
    assert directory != Directory.balanced(16, 2)
    assert directory != "a map"
    with raises("shard.directory_logical_count"):
        Directory.balanced(0, 4)
    with raises("shard.directory_no_physical_shards"):
        Directory.balanced(16, 0)
    with pytest.raises(ValueError, match="above"):
        Directory.balanced(16, 70_000)
    with pytest.raises(ValueError, match="scheme"):
        Directory.balanced(16, 4, "md5")  # type: ignore[arg-type]


def test_directory_bad_input() -> None:
    with raises("shard.json_invalid"):
        Directory({**MOVING, "colour": "red"})
    with raises("shard.json_invalid"):
        Directory({**MOVING, "pins": [{"pharmacy_id": 1, "physical": 2, "why": "x"}]})
    with raises("shard.json_syntax"):
        Directory('{"version": ')
    with raises("shard.directory_assignment_length"):
        Directory({**MOVING, "assignment": [0]})
    with raises("shard.directory_already_pinned"):
        Directory({**MOVING, "pins": [{"pharmacy_id": 9, "physical": 3}] * 2})
    with pytest.raises(ValueError, match="limit"):
        Directory(" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(TypeError):
        Directory(42)  # type: ignore[arg-type]
    directory = Directory(MOVING)
    with pytest.raises(OverflowError):
        directory.route(-1)
    with pytest.raises(ValueError, match=r"pharmacy_ids\[1\]"):
        directory.route_column([1, -1])
    with pytest.raises(ValueError, match=r"pharmacy_ids\[0\]"):
        directory.route_column(["1"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        directory.route_column("123")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format"):
        directory.route_column([1], format="csv")  # type: ignore[arg-type]


# Reshard plans


@pytest.mark.parametrize("case", golden("reshard_plans.json")["plans"])
def test_golden_reshard_plans(case: dict[str, Any]) -> None:
    directory = Directory(case["map"])
    assert directory.plan_reshard(case["physical_count"]) == case["plan"]
    assert directory.plan_reshard(list(range(case["physical_count"]))) == case["plan"]
    moves = directory.reshard_moves(case["physical_count"], format="dict")
    assert moves == {
        "logical": [m["logical"] for m in case["plan"]["moves"]],
        "from": [m["from"] for m in case["plan"]["moves"]],
        "to": [m["to"] for m in case["plan"]["moves"]],
    }


def test_reshard_bad_input() -> None:
    directory = Directory.balanced(16, 4)
    with raises("shard.plan_no_targets"):
        directory.plan_reshard([])
    with raises("shard.plan_duplicate_target"):
        directory.plan_reshard([0, 1, 1])
    with raises("shard.plan_more_physical_than_logical"):
        directory.reshard_moves(17)
    with raises("shard.plan_moves_in_progress"):
        Directory(MOVING).plan_reshard(1)
    with pytest.raises(TypeError):
        directory.plan_reshard("4")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        directory.plan_reshard([0, -1])


# Aggregates


def test_partial_aggregates_merge_exactly() -> None:
    shards = [
        partial_aggregate([100, 250, 50], [1, 2, 1]),
        partial_aggregate([], None),
        partial_aggregate([-5, 10**15], [3, None]),
    ]
    assert shards[1] == {"count": 0, "sum": 0, "min": None, "max": None, "distinct": []}
    merged = merge_aggregates(shards)
    assert merged == {
        "count": 5,
        "sum": 100 + 250 + 50 - 5 + 10**15,
        "min": -5,
        "max": 10**15,
        "distinct": [1, 2, 3],
    }
    assert merge_aggregates([json.dumps(s) for s in shards]) == merged
    assert merge_aggregates([merged]) == merged
    assert merge_aggregates([]) == shards[1]
    big = {"count": 2, "sum": 2 * (2**63 - 1), "min": 2**63 - 1, "max": 2**63 - 1, "distinct": []}
    assert merge_aggregates([big, big])["sum"] == 4 * (2**63 - 1)  # i128, beyond i64


def test_aggregate_bad_input() -> None:
    with pytest.raises(ValueError, match="distinct_keys"):
        partial_aggregate([1, 2], [1])
    with pytest.raises(TypeError):
        partial_aggregate(["1"])  # type: ignore[list-item]
    with pytest.raises(OverflowError):
        partial_aggregate([2**63])
    with raises("shard.json_invalid"):
        merge_aggregates([{"count": 1, "sum": 1, "min": 1, "max": 1, "distinct": [], "avg": 1}])
    with raises("shard.json_invalid"):
        merge_aggregates([{"count": 1}])
    with raises("shard.json_syntax"):
        merge_aggregates(["{"])
    with pytest.raises(ValueError, match="limit"):
        merge_aggregates([" " * (4 * 1024 * 1024 + 1)])
    with pytest.raises(TypeError):
        merge_aggregates({"count": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        merge_aggregates([7])  # type: ignore[list-item]


# Read routing


def sample(primary: str, replay: str, at_ms: int) -> dict[str, Any]:
    return {"primary_lsn": primary, "replay_lsn": replay, "replay_paused": False, "measured_at_ms": at_ms}


def test_read_routing_from_lag_samples() -> None:
    router = ReadRouter()
    assert router.route(0, 3, "Analytics")["target"] == "Primary"  # never observed
    estimate = router.observe(3, "Analytics", sample("0/3000000", "0/3000000", 1_000))
    assert estimate["source"] == "CaughtUp"
    assert router.is_serving(3, "Analytics")
    decision = router.route(1_500, 3, "Analytics")
    assert decision == {
        "shard": 3,
        "target": {"Replica": "Analytics"},
        "reason": {"ReplicaInSync": {"lag": {"secs": 0, "nanos": 0}}},
    }
    assert router.route(1_500, 3, "Write")["reason"] == "PrimaryByKind"
    token = router.route(1_500, 3, "Analytics", token="3:0/4000000")
    assert token["target"] == "Primary" and "TokenNotReplayed" in token["reason"]
    router.replica_down(3, "Analytics", 2_000)
    assert not router.is_serving(3, "Analytics")
    assert router.route(2_100, 3, "Analytics")["reason"] == {"ReplicaFallback": "Unreachable"}
    events = router.take_events()
    assert events and "FellBackToPrimary" in events[-1]
    assert router.take_events() == []
    # The primary moves on while the replica stands still: the lag grows past 5 s.
    router.observe(3, "Analytics", sample("0/3000000", "0/3000000", 3_000))
    router.observe(3, "Analytics", sample("0/5000000", "0/3000000", 4_000))
    router.observe(3, "Analytics", sample("0/6000000", "0/3000000", 10_000))
    assert router.route(10_000, 3, "Analytics")["target"] == "Primary"


def test_read_router_bad_input() -> None:
    with raises("shard.lag_history_capacity"):
        ReadRouter(history_capacity=0)
    router = ReadRouter(max_lag_ms=1_000, stale_after_ms=2_000, history_capacity=16)
    with raises("shard.json_invalid"):
        router.observe(1, "Api", {**sample("0/1", "0/1", 1), "lag": 0})
    with raises("shard.json_invalid"):
        router.observe(1, "Api", sample("nonsense", "0/1", 1))
    with raises("shard.json_syntax"):
        router.observe(1, "Api", "{")
    with pytest.raises(ValueError, match="replica"):
        router.observe(1, "Primary", sample("0/1", "0/1", 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="query_class"):
        router.route(1, 1, "write")  # type: ignore[arg-type]
    with raises("shard.lsn_token_format"):
        router.route(1, 1, "ApiRead", token="no colon")
    with raises("shard.lsn_token_lsn"):
        router.route(1, 1, "ApiRead", token="1:zz")
    with pytest.raises(ValueError, match="64"):
        router.route(1, 1, "ApiRead", token="1:" + "0" * 100)
    with pytest.raises(TypeError):
        router.observe(1, "Api", 3)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        router.replica_down(-1, "Api", 0)


# Breaker and retry traces


def test_golden_breaker_trace() -> None:
    trace = golden("breaker_trace.json")
    assert preset_config("pmp-api")["breaker"] == trace["config"]
    events = [(step["at_ms"] * MS, step["call"]) for step in trace["steps"]]
    table = breaker_trace(events, "pmp-api", format="dict")
    assert table["permitted"] == [step["permitted"] for step in trace["steps"]]
    assert table["state"] == [step["state"] for step in trace["steps"]]
    rows = [
        ["step", str(t // MS), call, str(int(permitted)), state]
        for t, call, permitted, state in zip(
            table["start_ns"], table["outcome"], table["permitted"], table["state"]
        )
    ]
    assert rows == tsv("breaker_trace.tsv")
    for permitted, decision, wait in zip(table["permitted"], table["decision"], table["wait_ns"]):
        if not permitted:
            assert decision == "rejected" and wait is not None
    assert "OPEN" in table["state"] and table["state"][-1] == "CLOSED"


def test_golden_retry_traces() -> None:
    rows = tsv("retry_traces.tsv")
    configs = [(i, row) for i, row in enumerate(rows) if row[0] == "config"]
    for n, (start, row) in enumerate(configs):
        end = configs[n + 1][0] if n + 1 < len(configs) else len(rows)
        steps = rows[start + 1 : end]
        config = json.loads(row[2])
        table = retry_trace([(500 * MS, "failure")] * len(steps), config, format="dict")
        got = []
        for i in range(len(steps)):
            if table["decision"][i] == "retry_after":
                action, value = "retry_after", str(table["wait_ns"][i])
            else:
                action, value = table["decision"][i], str(table["give_up"][i])
            got.append(
                [
                    "step",
                    str(table["attempt"][i]),
                    str(table["timeout_ns"][i]),
                    str(table["end_ns"][i]),
                    action,
                    value,
                ]
            )
        assert got == steps
        assert retry_trace([(500 * MS, "failure")] * len(steps), row[2], format="dict") == table


def test_retry_trace_outcomes() -> None:
    try_ = 500 * MS  # the budget earns its retry token while the first try runs
    table = retry_trace([(try_, "failure"), (try_, "success")], "insurance-api", format="dict")
    assert table["decision"] == ["retry_after", "return"]
    assert table["start_ns"][1] == table["end_ns"][0] + table["wait_ns"][0]
    table = retry_trace([(try_, "permanent")], "pmp-api", format="dict")
    assert (table["decision"], table["give_up"]) == (["give_up"], ["NotRetryable"])
    table = retry_trace([(try_, "not_counted"), (try_, "success")], "pmp-api", format="dict")
    assert table["decision"] == ["retry_after", "return"]
    table = retry_trace([(MS, "failure")], "pmp-api", format="dict")
    assert (table["decision"], table["give_up"]) == (["give_up"], ["BudgetExhausted"])


def test_trace_bad_input() -> None:
    with pytest.raises(ValueError, match="ran out"):
        retry_trace([(500 * MS, "failure")], "pmp-api")
    with pytest.raises(ValueError, match="ran out"):
        retry_trace([], "pmp-api")
    with pytest.raises(ValueError, match=r"tries\[1\]"):
        retry_trace([(MS, "success"), (MS, "success")], "pmp-api")
    with pytest.raises(ValueError, match="outcome"):
        breaker_trace([(0, "maybe")], "pmp-api")  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"events\[0\]"):
        breaker_trace([(-1, "success")], "pmp-api")
    with pytest.raises(TypeError, match=r"events\[0\]"):
        breaker_trace(["success"], "pmp-api")  # type: ignore[list-item]
    with pytest.raises(TypeError):
        breaker_trace("success", "pmp-api")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="preset"):
        breaker_trace([], "nope-api")
    with pytest.raises(ValueError, match="preset"):
        preset_config("nope-api")
    config = preset_config("pmp-api")
    with raises("shard.json_invalid"):
        breaker_trace([], {**config, "extra": 1})
    with raises("shard.json_invalid"):
        breaker_trace([], {**config, "budget": {**config["budget"], "extra": 1}})
    with raises("shard.json_syntax"):
        breaker_trace([], "{")
    with raises("shard.resilience_config_retry"):
        breaker_trace([], {**config, "retry": {**config["retry"], "max_attempts": 0}})
    with pytest.raises(ValueError, match="limit"):
        breaker_trace([], "{" + " " * (4 * 1024 * 1024))
    with pytest.raises(TypeError):
        breaker_trace([], 42)  # type: ignore[arg-type]
    assert breaker_trace([], config, format="dict")["state"] == []
