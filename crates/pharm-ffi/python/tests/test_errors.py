from __future__ import annotations

import pickle

import pytest

import pharm
from pharm import CoreError, PharmError, ShardError, SubstError, SyncError
from pharm.core import validate_dea


def test_hierarchy() -> None:
    for cls in (CoreError, SubstError, SyncError, ShardError):
        assert issubclass(cls, PharmError)
    assert issubclass(PharmError, Exception)
    assert not issubclass(PharmError, (TypeError, ValueError))


def test_attributes_and_message() -> None:
    error = SyncError("a message", 3001, "sync.something")
    assert (str(error), error.code, error.id) == ("a message", 3001, "sync.something")


def test_pickles_with_code_and_id() -> None:
    error = pickle.loads(pickle.dumps(ShardError("m", 4000, "shard.x")))
    assert type(error) is ShardError
    assert (str(error), error.code, error.id) == ("m", 4000, "shard.x")


def test_domain_error_carries_code_and_id() -> None:
    with pytest.raises(CoreError) as info:
        validate_dea("not a DEA")
    assert info.value.code == 1040
    assert info.value.id == "core.dea_format"
    assert isinstance(info.value, PharmError)


def test_package_exports() -> None:
    assert set(pharm.__all__) >= {"PharmError", "CoreError", "core", "__version__"}
    assert pharm.__version__ == "0.1.0"
