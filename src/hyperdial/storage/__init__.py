"""Where studies live: the `Storage` contract, the in-memory reference, the SQL backend and
the journal file.

`SQLStorage` is imported lazily, so ``import hyperdial`` does not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperdial.storage.base import Storage, copy_study
from hyperdial.storage.memory import InMemoryStorage

if TYPE_CHECKING:
    from pathlib import Path

    from hyperdial.storage.journal import JournalFileStorage
    from hyperdial.storage.sql import SQLStorage

__all__ = ["InMemoryStorage", "JournalFileStorage", "SQLStorage", "Storage", "copy_study",
           "get_storage", "journal_path", "storage_file"]

JOURNAL_SCHEME = "journal:///"  # then the path, as for SQLite: journal:////abs/path.jsonl


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from hyperdial.storage.sql import SQLStorage

        return SQLStorage
    if name == "JournalFileStorage":
        from hyperdial.storage.journal import JournalFileStorage

        return JournalFileStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def journal_path(url: str) -> str | None:
    """The file of a ``journal:///path`` URL (None for any other URL). A query string is
    refused: it became part of the file name (``?timeout=5``, as SQLite URLs take it, named
    another journal than the other workers')."""
    if not url.startswith(JOURNAL_SCHEME) or len(url) == len(JOURNAL_SCHEME):
        return None
    path = url[len(JOURNAL_SCHEME):]
    if "?" in path:
        raise ValueError(f"a journal URL names a file and takes no options: {url!r} (the part "
                         "after '?' would be part of the file's name)")
    return path


def storage_file(url: str) -> Path | None:
    """The file of an SQLite or journal URL (None for a server or an in-memory database)."""
    from pathlib import Path  # (here: pathlib costs `import hyperdial` 8 ms)
    from urllib.parse import unquote

    journal = journal_path(url)
    if journal is not None:
        return Path(journal)
    if not url.startswith("sqlite:///"):
        return None
    path = unquote(url[len("sqlite:///"):].split("?", 1)[0])  # %20: as SQLAlchemy reads it
    path = path.removeprefix("file:")  # an SQLite URI (``file:x.db?mode=ro&uri=true``)
    return None if path in ("", ":memory:") else Path(path)


def get_storage(storage: str | Storage | None) -> Storage:
    """A storage from what users pass as ``storage=``: None (in memory), a URL, or a storage."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str):
        path = journal_path(storage)
        if path is not None:
            from hyperdial.storage.journal import JournalFileStorage

            return JournalFileStorage(path)
        if storage.startswith("journal:"):
            raise ValueError(f"a journal URL names its file after three slashes "
                             f"(journal:///path/to/file.jsonl), got {storage!r}")
        from hyperdial.storage.sql import SQLStorage

        return SQLStorage(storage)
    raise TypeError(f"storage must be None, a URL or a Storage, got {type(storage).__name__}")
