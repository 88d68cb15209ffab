"""pharm: the pharmacy point-of-sale domain core (Rust crates) for Python.

``pharm.core`` evaluates requests in a store's context and reads identifiers;
``pharm.subst`` loads the FDA Orange Book and answers substitution queries; ``pharm.sync``
runs inventory replicas and terminal stores with sync messages as bytes; ``pharm.shard``
routes pharmacy ids to shards and traces breakers. Every error of the crates is a
:class:`PharmError` with a stable ``code`` and ``id``.
"""

from __future__ import annotations

from pharm import core, shard, subst, sync
from pharm._pharm import __version__
from pharm.errors import CoreError, PharmError, ShardError, SubstError, SyncError

__all__ = [
    "CoreError",
    "PharmError",
    "ShardError",
    "SubstError",
    "SyncError",
    "__version__",
    "core",
    "shard",
    "subst",
    "sync",
]
