# Stubs of the native module pharm._pharm (checked by mypy.stubtest in run-python-tests).
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "Context",
    "KeyRing",
    "Replica",
    "TerminalStore",
    "__version__",
    "check_compliance",
    "evaluate",
    "evaluate_batch",
    "evaluate_json",
    "message_to_dict",
    "normalize_ndc",
    "parse_datamatrix",
    "validate_dea",
]

__version__: str

_Document: TypeAlias = dict[str, Any] | str

@final
class Context:
    def __new__(cls, context: _Document) -> Context: ...
    def to_json(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def evaluate(request: _Document, context: Context) -> dict[str, Any]: ...
def evaluate_json(request: str, context: Context) -> str: ...
def evaluate_batch(requests: Sequence[_Document], context: Context) -> list[dict[str, Any]]: ...
def check_compliance(request: _Document, context: Context) -> dict[str, Any]: ...
def normalize_ndc(
    values: Sequence[str | None], errors: Literal["raise", "null"] = "raise"
) -> list[str | None]: ...
def validate_dea(dea: str, last_name: str | None = None) -> dict[str, Any]: ...
def parse_datamatrix(data: str) -> dict[str, Any]: ...

_Format: TypeAlias = Literal["auto", "arrow", "dict"]
_Role: TypeAlias = Literal["member", "root"]
_Path: TypeAlias = str | os.PathLike[str]

# pharm.sync
@final
class KeyRing:
    def __new__(cls, store: int, link_key: bytes) -> KeyRing: ...
    def with_member(self, terminal: int, origin_key: bytes | None = None) -> KeyRing: ...
    @property
    def store(self) -> int: ...
    @property
    def members(self) -> list[int]: ...
    def knows(self, terminal: int) -> bool: ...

@disjoint_base
class Replica:
    def __new__(
        cls, keyring: KeyRing, terminal: int, entropy: bytes, role: _Role = "member"
    ) -> Replica: ...
    @property
    def id(self) -> str: ...
    def status(self) -> dict[str, Any]: ...
    def apply(self, now_ms: int, op: _Document) -> dict[str, Any]: ...
    def hello(self, now_ms: int) -> bytes: ...
    def receive(self, now_ms: int, message: bytes) -> list[bytes]: ...
    def view(self) -> dict[str, Any]: ...
    def inventory(self, format: _Format = "auto") -> Any: ...

@final
class TerminalStore(Replica):
    @staticmethod
    def create(
        path: _Path, keyring: KeyRing, terminal: int, entropy: bytes, role: _Role = "member"
    ) -> TerminalStore: ...
    @staticmethod
    def open(
        path: _Path, keyring: KeyRing, terminal: int, role: _Role = "member"
    ) -> TerminalStore: ...
    @staticmethod
    def restore_from_backup(
        backup_path: _Path,
        new_path: _Path,
        keyring: KeyRing,
        entropy: bytes,
        role: _Role = "member",
    ) -> TerminalStore: ...
    @staticmethod
    def recover(
        old_path: _Path,
        new_path: _Path,
        keyring: KeyRing,
        terminal: int,
        entropy: bytes,
        role: _Role = "member",
    ) -> tuple[TerminalStore, dict[str, Any]]: ...
    def backup_to(self, path: _Path) -> None: ...
    @property
    def path(self) -> Path: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool: ...

def message_to_dict(message: bytes) -> dict[str, Any]: ...

