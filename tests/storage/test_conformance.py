"""Every backend against the storage contract (`hyperdial.testing.storage`)."""

import re
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

    @pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\udfffy"])
    def test_a_name_not_storable_as_text_is_refused_everywhere(self, storage: Storage,
                                                               bad: str) -> None:
        """A NUL fails on PostgreSQL and a lone surrogate on SQL backends, but the journal
        took both: every backend refuses them the same way, before anything is written."""
        storage.create_study("a", MIN)
        match = "must not contain a NUL character or a lone surrogate"
        with pytest.raises(ValueError, match=f"study_name {match}"):
            hd.create_study(study_name=bad, storage=storage)
        with pytest.raises(ValueError, match=f"new_name {match}"):
            storage.rename_study("a", bad)
        with pytest.raises(ValueError, match=f"to_study_name {match}"):
            copy_study(storage, "a", storage, bad)
        assert [s.name for s in storage.studies()] == ["a"]

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


@pytest.mark.parametrize("storage", ["sqlite-file", "journal", pytest.param(
    "postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_missing_study_names_the_storage_and_the_studies_it_holds(storage: Storage) -> None:
    """A mistyped name or path shows: the message says where it looked and what is there."""
    with pytest.raises(hd.exceptions.StudyNotFound, match="'nope' in .*which holds no study"):
        storage.get_study("nope")
    for n in range(7):
        storage.create_study(f"s{n}", MIN)
    where = getattr(storage, "path", None) or storage._path  # type: ignore[attr-defined]
    with pytest.raises(hd.exceptions.StudyNotFound, match=(
            rf"no study named 'nope' in .*{re.escape(where)}.*which holds 's0', 's1', 's2', "
            "'s3', 's4' and 2 more")):
        hd.load_study(study_name="nope", storage=storage)
    # deleting or renaming one says the same (it was a bare "no study named 'nope'")
    for act in (lambda: hd.delete_study(study_name="nope", storage=storage),
                lambda: storage.rename_study("nope", "other")):
        with pytest.raises(hd.exceptions.StudyNotFound,
                           match=rf"'nope' in .*{re.escape(where)}.*which holds 's0'"):
            act()
    assert [s.name for s in storage.studies()] == [f"s{n}" for n in range(7)]
