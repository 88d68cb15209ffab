"""The exceptions of pharm: one hierarchy under :class:`PharmError`.

Every error of the pharm crates carries a stable numeric ``code`` and string ``id`` (the
table is the repository's ``ERRORS.md``); the class says which crate's range the code is
in. Misuse from Python (a wrong argument type, an unknown option) raises the usual
``TypeError`` or ``ValueError`` instead.
"""

from __future__ import annotations

__all__ = ["PharmError", "CoreError", "SubstError", "SyncError", "ShardError"]


class PharmError(Exception):
    """An error of the pharm crates, with its stable ``code`` and ``id``."""

    code: int
    id: str

    def __init__(self, message: str, code: int, id: str) -> None:
        super().__init__(message)
        self.code = code
        self.id = id

    def __reduce__(self) -> tuple[type[PharmError], tuple[str, int, str]]:
        return (type(self), (str(self), self.code, self.id))


class CoreError(PharmError):
    """pharm-core (codes 1000-1999): identifiers, dates, prices, the JSON contract."""


class SubstError(PharmError):
    """pharm-subst (codes 2000-2999): Orange Book loading and substitution."""


class SyncError(PharmError):
    """pharm-sync (codes 3000-3999): inventory replicas, sync messages, terminal stores."""


class ShardError(PharmError):
    """pharm-shard (codes 4000-4999): routing, resharding, retries and breakers."""
