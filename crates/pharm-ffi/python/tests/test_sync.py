"""pharm.sync: key rings, replicas, terminal stores, sync messages and replays."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, raises_id

from pharm import SyncError
from pharm.sync import (
    CLOUD_TERMINAL,
    KeyRing,
    Replica,
    TerminalStore,
    message_to_dict,
    replay,
    sync_session,
)

STORE = 42
SYNC = GOLDEN / "sync"
# The keys of the golden vectors (testdata/golden/sync/README.md).
LINK = bytes([0x2A, 0, 0, 0]) + bytes([0x4C]) * 28


def origin(terminal: int) -> bytes:
    return bytes([0x2A, 0, 0, 0]) + terminal.to_bytes(2, "little") + bytes([0x6F]) * 26


def ring(*terminals: int, store: int = STORE) -> KeyRing:
    keys = KeyRing(store, LINK)
    for t in (*terminals, CLOUD_TERMINAL):
        keys = keys.with_member(t, origin(t))
    return keys


def entropy(n: int) -> bytes:
    return n.to_bytes(8, "little")


def new_lot(sku: int, number: str, expiry: str, controlled: bool = False) -> dict[str, Any]:
    return {
        "sku": sku,
        "ndc": "0093-7146-56",
        "lot_number": number,
        "expiry": expiry,
        "controlled": controlled,
    }


def receive_new(sku: int, number: str, qty: int, expiry: str = "2027-05-31") -> dict[str, Any]:
    return {"op": "receive_new", "lot": new_lot(sku, number, expiry), "qty": qty, "reference": "PO"}


def dispense(sku: int, qty: int, scanned: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "op": "dispense",
        "today": "2026-03-10",
        "sku": sku,
        "qty": qty,
        "scanned": scanned,
        "reference": "RX",
        "attachments": {"claim": None, "pmp_report": None},
    }


def raises(error_id: str) -> Any:
    """Expects a SyncError with the stable ``error_id``."""
    return raises_id(SyncError, error_id)


# Key rings


def test_keyring_members_and_keys() -> None:
    keys = KeyRing(STORE, LINK).with_member(1, origin(1)).with_member(2)
    assert keys.store == STORE
    assert keys.members == [1, 2]
    assert keys.knows(1) and not keys.knows(2) and not keys.knows(3)
    assert repr(keys) == "KeyRing(store=42, members=[1, 2], origin_keys_for=[1])"
    assert "L" not in repr(keys)  # no key bytes


def test_keyring_is_immutable() -> None:
    keys = KeyRing(STORE, LINK)
    keys.with_member(1, origin(1))
    assert keys.members == []


def test_keyring_bad_input() -> None:
    with raises("sync.key_length"):
        KeyRing(STORE, b"short")
    with raises("sync.key_length"):
        KeyRing(STORE, LINK).with_member(1, bytes(33))
    with pytest.raises(TypeError):
        KeyRing(STORE, "a str key" * 4)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        KeyRing(-1, LINK)
    with pytest.raises(OverflowError):
        KeyRing(STORE, LINK).with_member(70_000, origin(1))


# In-memory replicas


def test_replica_identity_and_status() -> None:
    replica = Replica(ring(1), 1, entropy(7))
    assert replica.id == "T1.7"
    assert replica.status() == {
        "store": STORE,
        "replica": "T1.7",
        "role": "member",
        "outbox": 0,
        "superseded": None,
    }
    assert repr(replica) == "Replica(id='T1.7', store=42, role='member')"
    cloud = Replica(ring(), CLOUD_TERMINAL, entropy(9), role="root")
    assert cloud.status()["role"] == "root"


def test_replica_bad_arguments() -> None:
    with raises("sync.protocol_missing_key"):
        Replica(KeyRing(STORE, LINK).with_member(1), 1, entropy(7))
    with raises("sync.id_incarnations_exhausted"):
        Replica(ring(1), 1, bytes(8))
    for bad in (b"", bytes(7), bytes(12), bytes(520)):
        with pytest.raises(ValueError, match="entropy"):
            Replica(ring(1), 1, bad)
    with pytest.raises(ValueError, match="role"):
        Replica(ring(1), 1, entropy(7), role="leader")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Replica(ring(1), 1, "entropy!")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Replica("ring", 1, entropy(7))  # type: ignore[arg-type]


def test_apply_returns_the_commit() -> None:
    replica = Replica(ring(1), 1, entropy(7))
    commit = replica.apply(1_000, receive_new(7, "A1", 5))
    assert commit["txn"]["kind"] == "receive"
    assert commit["txn"]["new_lots"][0]["key"] == {"origin": "T1.7", "local_no": 1}
    assert commit["negative"] == []
    commit = replica.apply(2_000, json.dumps(dispense(7, 2)))
    assert commit["txn"]["lines"] == [{"lot": {"origin": "T1.7", "local_no": 1}, "delta": -2}]
    assert replica.status()["outbox"] == 2
    table = replica.inventory(format="dict")
    assert table == {
        "origin": ["T1.7"],
        "local_no": [1],
        "sku": [7],
        "ndc": ["0093-7146-56"],
        "lot_number": ["A1"],
        "expiry": ["2027-05-31"],
        "controlled": [False],
        "quantity": [3],
        "holds": [0],
        "location": [None],
    }


def test_apply_bad_operations_change_nothing() -> None:
    replica = Replica(ring(1), 1, entropy(7))
    before = replica.view()
    with raises("sync.op_no_lots"):
        replica.apply(1_000, dispense(7, 1))
    with raises("sync.json_invalid"):
        replica.apply(1_000, {**receive_new(7, "A1", 5), "colour": "red"})
    with raises("sync.json_invalid"):
        replica.apply(1_000, {"op": "teleport"})
    with raises("sync.json_syntax"):
        replica.apply(1_000, '{"op": ')
    with raises("sync.json_too_large"):
        replica.apply(1_000, " " * (4 * 1024 * 1024 + 1))
    with pytest.raises(TypeError):
        replica.apply(1_000, 42)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        replica.apply(-1, receive_new(7, "A1", 5))
    assert replica.view() == before


def test_golden_commit_and_inventory_view() -> None:
    """The scenario of crates/pharm-sync/tests/views.rs, through JSON operations."""
    replica = Replica(ring(0), 0, entropy(0x5EED), role="root")
    a = replica.apply(1_000, {**receive_new(7, "A123", 3), "reference": "PO-1"})
    a = a["txn"]["new_lots"][0]["key"]
    lot_b = {**new_lot(9, "OXY-9", "2026-11-30", True)}
    b = replica.apply(2_000, {"op": "receive_new", "lot": lot_b, "qty": 20, "reference": "PO-2"})
    b = b["txn"]["new_lots"][0]["key"]
    replica.apply(3_000, {"op": "hold", "lot": b, "reference": "recall R-7"})
    replica.apply(4_000, {"op": "set_location", "lot": a, "location": "A-3"})
    replica.apply(
        5_000,
        {"op": "adjust", "lot": a, "delta": -1, "reason": "damage", "reference": "dropped"},
    )
    sale = {
        **dispense(7, 4, scanned=a),
        "reference": "RX-1",
        "attachments": {"claim": '{"bin":"610014"}', "pmp_report": "PMP-1"},
    }
    commit = replica.apply(6_000, sale)
    assert commit == json.loads((SYNC / "commit.json").read_text("utf-8"))
    assert replica.view() == json.loads((SYNC / "inventory_view.json").read_text("utf-8"))
    table = replica.inventory(format="dict")
    assert table["quantity"] == [-2, 20]
    assert table["holds"] == [0, 1]
    assert table["location"] == ["A-3", None]
    assert table["controlled"] == [False, True]


def test_every_golden_operation_parses() -> None:
    ops = json.loads((SYNC / "ops.json").read_text("utf-8"))
    replica = Replica(ring(1), 1, entropy(2))
    for op in ops:
        try:
            replica.apply(1_000, op)
        except SyncError as error:  # refused by the state, never by the reader
            assert error.id.startswith("sync.op_"), error


# Messages


@pytest.mark.parametrize("name", sorted(p.stem for p in SYNC.glob("*.hex")))
def test_golden_messages_decode_exactly(name: str) -> None:
    message = bytes.fromhex((SYNC / f"{name}.hex").read_text("utf-8").strip())
    assert message_to_dict(message) == json.loads((SYNC / f"{name}.json").read_text("utf-8"))


def test_golden_hello_is_accepted_under_the_golden_link_key() -> None:
    hello = bytes.fromhex((SYNC / "hello.hex").read_text("utf-8").strip())
    cloud = Replica(ring(3), CLOUD_TERMINAL, entropy(1), role="root")
    replies = cloud.receive(1_000, hello)
    assert replies and all(isinstance(r, bytes) for r in replies)
    flipped = bytearray(hello)
    flipped[-1] ^= 0x01
    with raises("sync.protocol_bad_tag"):
        cloud.receive(1_000, bytes(flipped))


def test_malformed_messages() -> None:
    hello = bytes.fromhex((SYNC / "hello.hex").read_text("utf-8").strip())
    for cut in (0, 1, 3, 5, len(hello) // 2, len(hello) - 1):
        with pytest.raises(SyncError) as info:
            message_to_dict(hello[:cut])
        assert info.value.id.startswith("sync.decode_"), info.value
    with raises("sync.decode_bad_magic"):
        message_to_dict(b"XYZ" + hello[3:])
    with raises("sync.decode_trailing_bytes"):
        message_to_dict(hello + b"\x00")
    with raises("sync.decode_too_large"):
        message_to_dict(bytes(16 * 1024 * 1024 + 1))
    with pytest.raises(TypeError):
        message_to_dict(hello.hex())  # type: ignore[arg-type]
    replica = Replica(ring(1), 1, entropy(7))
    with raises("sync.decode_truncated"):
        replica.receive(1_000, hello[:10])
    with raises("sync.decode_too_large"):
        replica.receive(1_000, bytes(16 * 1024 * 1024 + 1))
    with pytest.raises(TypeError):
        replica.receive(1_000, [1, 2])  # type: ignore[arg-type]


def test_every_single_bit_flip_is_refused_or_harmless() -> None:
    """A flipped bit anywhere in a message is refused with a SyncError, never a crash."""
    client = Replica(ring(1), 1, entropy(7))
    hello = client.hello(1_000)
    for bit in range(len(hello) * 8):
        flipped = bytearray(hello)
        flipped[bit // 8] ^= 1 << (bit % 8)
        cloud = Replica(ring(1), CLOUD_TERMINAL, entropy(9), role="root")
        with pytest.raises(SyncError):
            cloud.receive(1_000, bytes(flipped))


def test_messages_for_another_store_or_from_a_stranger() -> None:
    other = Replica(ring(1, store=43), 1, entropy(7))
    cloud = Replica(ring(1), CLOUD_TERMINAL, entropy(9), role="root")
    with raises("sync.protocol_wrong_store"):
        cloud.receive(1_000, other.hello(1_000))
    stranger = Replica(ring(5), 5, entropy(5))
    with raises("sync.protocol_unknown_sender"):
        cloud.receive(1_000, stranger.hello(1_000))
    impostor_ring = KeyRing(STORE, bytes(32)).with_member(1, origin(1))
    impostor = Replica(impostor_ring, 1, entropy(8))
    with raises("sync.protocol_bad_tag"):
        cloud.receive(1_000, impostor.hello(1_000))


def test_hello_decodes_to_its_json_form() -> None:
    client = Replica(ring(1), 1, entropy(7))
    decoded = message_to_dict(client.hello(5_000))
    assert decoded["store"] == STORE
    assert decoded["from"] == "T1.7"
    assert decoded["body"]["type"] == "hello"


# Sync sessions and replays


def test_two_terminals_converge_through_the_cloud() -> None:
    keys = ring(1, 2)
    cloud = Replica(keys, CLOUD_TERMINAL, entropy(100), role="root")
    t1 = Replica(keys, 1, entropy(101))
    t2 = Replica(keys, 2, entropy(102))
    lot = t1.apply(1_000, receive_new(7, "A1", 50))["txn"]["new_lots"][0]["key"]
    assert sync_session(t1, cloud, 2_000) > 0
    sync_session(t2, cloud, 2_000)
    t1.apply(3_000, dispense(7, 10, scanned=lot))  # both offline
    t2.apply(3_001, dispense(7, 15, scanned=lot))
    for _ in range(2):
        for t in (t1, t2):
            sync_session(t, cloud, 4_000)
    for replica in (cloud, t1, t2):
        assert replica.inventory(format="dict")["quantity"] == [25]
    assert t1.view() == t2.view() == cloud.view()
    assert t1.status()["outbox"] == t2.status()["outbox"] == 0


def test_sync_session_round_limit() -> None:
    keys = ring(1)
    cloud = Replica(keys, CLOUD_TERMINAL, entropy(100), role="root")
    t1 = Replica(keys, 1, entropy(101))
    t1.apply(1_000, receive_new(7, "A1", 5))
    with pytest.raises(RuntimeError, match="round trips"):
        sync_session(t1, cloud, 2_000, max_rounds=0)


def test_replay_two_terminals_against_a_hand_ledger() -> None:
    """Two terminals' logs, offline sales on both; the merged table against a ledger."""
    a1 = {"origin": "T1.11", "local_no": 1}
    a2 = {"origin": "T1.11", "local_no": 2}
    b1 = {"origin": "T2.12", "local_no": 1}
    events: list[tuple[int, int, dict[str, Any] | str]] = [
        (1_000, 1, receive_new(7, "A1", 100, "2027-01-31")),  # a1 +100
        (1_100, 1, receive_new(7, "A2", 40, "2027-06-30")),  # a2 +40
        (1_200, 2, receive_new(9, "B1", 30)),  # b1 +30
        (2_000, 1, "sync"),
        (2_100, 2, "sync"),
        (3_000, 1, dispense(7, 12, scanned=a1)),  # a1 -12
        (3_100, 2, dispense(7, 30)),  # FEFO: a1 (earliest expiry) -30
        (3_200, 2, dispense(9, 5, scanned=b1)),  # b1 -5
        (3_300, 1, {"op": "adjust", "lot": a2, "delta": -3, "reason": "damage", "reference": "d"}),
        (3_400, 2, {"op": "stock_count", "lot": b1, "counted": 20, "reference": "c"}),  # b1 -5
        (4_000, 1, "sync"),
        (4_100, 2, "sync"),
        (5_000, 2, dispense(7, 60, scanned=a1)),  # a1 -60: 100 - 12 - 30 - 60 = -2, oversold
    ]
    table = replay(ring(1, 2), events, entropy(10) + entropy(11) + entropy(12), format="dict")
    ledger = {("T1.11", 1): 100 - 12 - 30 - 60, ("T1.11", 2): 40 - 3, ("T2.12", 1): 30 - 5 - 5}
    merged = {
        (origin_, no): qty
        for origin_, no, qty in zip(table["origin"], table["local_no"], table["quantity"])
    }
    assert merged == ledger
    assert table["sku"] == [7, 7, 9]
    assert table["lot_number"] == ["A1", "A2", "B1"]


def test_replay_bad_input() -> None:
    with pytest.raises(ValueError, match="entropy"):
        replay(ring(1), [(1_000, 1, receive_new(7, "A1", 5))], entropy(10))
    with raises("sync.json_invalid"):
        replay(ring(1), [(1_000, 1, {"op": "nope"})], entropy(10) + entropy(11))


# Durable terminal stores


def test_store_create_apply_close_reopen(tmp_path: Path) -> None:
    keys = ring(1)
    path = tmp_path / "t1.db"
    with TerminalStore.create(path, keys, 1, entropy(21)) as store:
        assert isinstance(store, Replica)
        assert store.id == "T1.21" and not store.closed
        assert Path(store.path) == path
        store.apply(1_000, receive_new(7, "A1", 5))
        assert repr(store) == "TerminalStore(id='T1.21', store=42, role='member')"
    assert store.closed
    assert repr(store) == "TerminalStore(closed)"
    with pytest.raises(ValueError, match="closed"):
        store.apply(2_000, dispense(7, 1))
    for call in (store.view, store.status, lambda: store.hello(1), store.inventory):
        with pytest.raises(ValueError, match="closed"):
            call()
    store.close()  # twice is fine
    with TerminalStore.open(str(path), keys, 1) as again:
        assert again.id == "T1.21"
        assert again.inventory(format="dict")["quantity"] == [5]
        assert again.status()["outbox"] == 1


def test_store_syncs_with_an_in_memory_cloud(tmp_path: Path) -> None:
    keys = ring(1)
    cloud = Replica(keys, CLOUD_TERMINAL, entropy(100), role="root")
    with TerminalStore.create(tmp_path / "t.db", keys, 1, entropy(21)) as store:
        store.apply(1_000, receive_new(7, "A1", 5))
        sync_session(store, cloud, 2_000)
        assert store.status()["outbox"] == 0
    assert cloud.inventory(format="dict")["quantity"] == [5]
    with TerminalStore.open(tmp_path / "t.db", keys, 1) as store:
        assert store.status()["outbox"] == 0


def test_store_open_fails_loud(tmp_path: Path) -> None:
    keys = ring(1)
    with raises("sync.store_not_found"):
        TerminalStore.open(tmp_path / "missing.db", keys, 1)
    (tmp_path / "empty.db").write_bytes(b"")
    with raises("sync.store_not_a_store"):
        TerminalStore.open(tmp_path / "empty.db", keys, 1)
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SyncError):
        TerminalStore.open(tmp_path / "junk.db", keys, 1)
    with TerminalStore.create(tmp_path / "t.db", keys, 1, entropy(21)):
        pass
    with raises("sync.store_target_exists"):
        TerminalStore.create(tmp_path / "t.db", keys, 1, entropy(22))
    with raises("sync.store_wrong_store"):
        TerminalStore.open(tmp_path / "t.db", ring(1, store=43), 1)
    with raises("sync.store_missing_key"):
        TerminalStore.create(tmp_path / "u.db", KeyRing(STORE, LINK).with_member(1), 1, entropy(1))


def test_store_bad_arguments(tmp_path: Path) -> None:
    keys = ring(1)
    with pytest.raises(ValueError, match="empty"):
        TerminalStore.open("", keys, 1)
    with pytest.raises(ValueError, match="4096"):
        TerminalStore.open("x" * 5000, keys, 1)
    with pytest.raises(ValueError, match="NUL"):
        TerminalStore.open("a\0b", keys, 1)
    with pytest.raises(ValueError, match="entropy"):
        TerminalStore.create(tmp_path / "t.db", keys, 1, b"")
    with pytest.raises(ValueError, match="role"):
        TerminalStore.open(tmp_path / "t.db", keys, 1, role="boss")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TerminalStore.open(42, keys, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TerminalStore()  # type: ignore[call-arg]


def test_store_backup_restore_and_recover(tmp_path: Path) -> None:
    keys = ring(1)
    with TerminalStore.create(tmp_path / "t.db", keys, 1, entropy(21)) as store:
        store.apply(1_000, receive_new(7, "A1", 5))
        store.backup_to(tmp_path / "backup.db")
        with raises("sync.store_target_exists"):
            store.backup_to(tmp_path / "backup.db")
    with TerminalStore.restore_from_backup(
        tmp_path / "backup.db", tmp_path / "restored.db", keys, entropy(22)
    ) as restored:
        assert restored.id == "T1.22"  # a new incarnation
        assert restored.inventory(format="dict")["quantity"] == [5]
    recovered, report = TerminalStore.recover(
        tmp_path / "t.db", tmp_path / "recovered.db", keys, 1, entropy(23)
    )
    with recovered:
        assert recovered.id == "T1.23"
        assert report["old"] == "T1.21"
        assert report["salvaged"] == 1
        assert set(report) == {"old", "salvaged", "confirmed", "unreadable", "queued", "incomplete"}
    closed = TerminalStore.create(tmp_path / "c.db", keys, 1, entropy(24))
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        closed.backup_to(tmp_path / "c2.db")
    with pytest.raises(ValueError, match="closed"):
        _ = closed.path


def test_a_copied_store_is_superseded_and_recovered(tmp_path: Path) -> None:
    """A store file copied from an older day: the cloud knows more of its history, so it
    is superseded (the most specific codes, not the store's wrapping ones) until recovered.
    """
    keys = ring(1)
    cloud = Replica(keys, CLOUD_TERMINAL, entropy(100), role="root")
    op = receive_new(7, "A1", 5)
    with TerminalStore.create(tmp_path / "t.db", keys, 1, entropy(21)) as store:
        store.apply(1_000, op)
        sync_session(store, cloud, 2_000)
    shutil.copy(tmp_path / "t.db", tmp_path / "old.db")
    with TerminalStore.open(tmp_path / "t.db", keys, 1) as store:
        store.apply(3_000, op)
        sync_session(store, cloud, 4_000)
    with TerminalStore.open(tmp_path / "old.db", keys, 1) as old:
        with raises("sync.protocol_superseded"):
            sync_session(old, cloud, 5_000)
        assert old.status()["superseded"] == {"kind": "behind", "have": 1, "seen": 2}
        with raises("sync.op_superseded"):
            old.apply(6_000, op)
    recovered, report = TerminalStore.recover(
        tmp_path / "old.db", tmp_path / "new.db", keys, 1, entropy(22)
    )
    with recovered:
        assert report["old"] == "T1.21"
        assert recovered.status()["superseded"] is None
        sync_session(recovered, cloud, 7_000)
        assert recovered.inventory(format="dict")["quantity"] == [5, 5]  # two receipts


def test_inventory_as_arrow() -> None:
    pa = pytest.importorskip("pyarrow")
    replica = Replica(ring(1), 1, entropy(7))
    replica.apply(1_000, receive_new(7, "A1", 5))
    batch = replica.inventory(format="arrow")
    assert isinstance(batch, pa.RecordBatch)
    assert batch.column("quantity").to_pylist() == [5]


def test_threads_share_a_replica_without_deadlock() -> None:
    replica = Replica(ring(1), 1, entropy(7))
    done: list[int] = []

    def work(n: int) -> None:
        for i in range(50):
            try:
                replica.apply(1_000 + n * 100 + i, receive_new(7, f"L{n}-{i}", 1))
                done.append(1)
            except RuntimeError as error:  # another thread was inside a call
                assert "another thread" in str(error)
            replica.status()
            replica.inventory(format="dict")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert replica.status()["outbox"] == len(done) > 0
