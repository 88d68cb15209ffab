"""Inventory replicas, terminal stores and sync messages (pharm-sync).

Time is the caller's wall clock in Unix milliseconds (``now_ms``) and randomness the
caller's bytes (``entropy``, e.g. ``os.urandom(8)``): nothing here reads a clock. Sync
messages are ``bytes``; operations, commits and views are dicts in the JSON forms of
``testdata/golden/sync/``. Errors of pharm-sync raise :class:`pharm.SyncError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pharm._pharm import KeyRing, Replica, TerminalStore, message_to_dict

__all__ = [
    "CLOUD_TERMINAL",
    "KeyRing",
    "Replica",
    "TerminalStore",
    "message_to_dict",
    "replay",
    "sync_session",
]

#: The terminal number the cloud (the root) conventionally uses.
CLOUD_TERMINAL = 65535


def sync_session(client: Replica, server: Replica, now_ms: int, *, max_rounds: int = 64) -> int:
    """Runs one sync session at ``now_ms``: the client's hello, then every message delivered
    both ways until neither side has a reply. Works on :class:`Replica` and
    :class:`TerminalStore` alike. Returns the number of messages exchanged; raises
    RuntimeError if the session is still talking after ``max_rounds`` round trips.
    """
    to_server = [client.hello(now_ms)]
    exchanged = 0
    for _ in range(max_rounds):
        if not to_server:
            return exchanged
        to_client: list[bytes] = []
        for message in to_server:
            to_client.extend(server.receive(now_ms, message))
        exchanged += len(to_server) + len(to_client)
        to_server = []
        for message in to_client:
            to_server.extend(client.receive(now_ms, message))
    raise RuntimeError(f"the sync session did not settle within {max_rounds} round trips")


def replay(
    keyring: KeyRing,
    events: Iterable[tuple[int, int, dict[str, Any] | str]],
    entropy: bytes,
    *,
    format: Literal["auto", "arrow", "dict"] = "auto",
) -> Any:
    """Replays terminals' logs against an in-memory cloud and returns the merged inventory
    as a table (as :meth:`Replica.inventory`).

    ``keyring`` holds every member's origin key (the cloud's ring), including the cloud's
    terminal 65535. ``events`` are ``(now_ms, terminal, op)`` in time order: ``op`` is an
    operation (dict or JSON str) the terminal applies offline, or the str ``"sync"`` for a
    sync session of the terminal with the cloud at ``now_ms``. After the last event every
    terminal syncs twice, so every replica converges. ``entropy`` gives 8 random bytes per
    replica (the cloud first, then the terminals in order of first appearance).
    """
    chunks = [entropy[i : i + 8] for i in range(0, len(entropy), 8)]

    def draw() -> bytes:
        if not chunks:
            raise ValueError("entropy: give 8 random bytes per replica (the cloud and each terminal)")
        return chunks.pop(0)

    cloud = Replica(keyring, CLOUD_TERMINAL, draw(), role="root")
    terminals: dict[int, Replica] = {}
    last_ms = 0
    for now_ms, terminal, op in events:
        if terminal not in terminals:
            terminals[terminal] = Replica(keyring, terminal, draw())
        if isinstance(op, str) and op == "sync":
            sync_session(terminals[terminal], cloud, now_ms)
        else:
            terminals[terminal].apply(now_ms, op)
        last_ms = max(last_ms, now_ms)
    for _ in range(2):
        for replica in terminals.values():
            sync_session(replica, cloud, last_ms)
    return cloud.inventory(format=format)
