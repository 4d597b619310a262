"""Every backend against the storage contract (`hyperdial.testing.storage`)."""

from typing import Any

import pytest

import hyperdial as hd
from hyperdial.history import StudyDirection
from hyperdial.storage import InMemoryStorage, Storage, copy_study
from hyperdial.testing.storage import StorageConformance

MIN = (StudyDirection.MINIMIZE,)
BAD_NAMES: list[Any] = ["", "   ", 5, None]


class TestStorageConformance(StorageConformance):
    """Runs the whole suite once per backend of the ``storage`` fixture."""

    @pytest.mark.parametrize("bad", BAD_NAMES)
    def test_rename_refuses_what_create_study_refuses(self, storage: Storage, bad: Any) -> None:
        storage.create_study("a", MIN)
        with pytest.raises(ValueError, match="new_name must be a non-empty string"):
            storage.rename_study("a", bad)
        assert [s.name for s in storage.studies()] == ["a"]  # nothing written

    @pytest.mark.parametrize("bad", ["", "   ", 5])
    def test_copy_refuses_a_bad_name_and_writes_nothing(self, storage: Storage,
                                                        bad: Any) -> None:
        storage.create_study("a", MIN)
        for dst in (storage, InMemoryStorage()):
            with pytest.raises(ValueError, match="to_study_name must be a non-empty string"):
                copy_study(storage, "a", dst, bad)
            with pytest.raises(ValueError, match="to_study_name"):
                hd.copy_study(from_study_name="a", from_storage=storage, to_storage=dst,
                              to_study_name=bad)
        assert [s.name for s in storage.studies()] == ["a"]
