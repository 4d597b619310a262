"""Random operation sequences: the SQL backend must behave exactly like the in-memory reference."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from hyperdial.storage import SQLStorage
from hyperdial.testing.storage import check_matches_reference


def test_sqlite_file_matches_memory(tmp_path: Path) -> None:
    files = itertools.count()
    check_matches_reference(lambda: SQLStorage(f"sqlite:///{tmp_path / f'{next(files)}.db'}"))


@pytest.mark.postgres
def test_postgresql_matches_memory(pg_url: str) -> None:
    def fresh() -> SQLStorage:
        storage = SQLStorage(pg_url)
        for info in storage.studies():  # one schema for every example: empty it
            storage.delete_study(info.name)
        return storage

    check_matches_reference(fresh, max_examples=25)
