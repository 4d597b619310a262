"""Where studies live: the `Storage` contract, the in-memory reference and the SQL backend.

`SQLStorage` is imported lazily, so ``import hyperdial`` does not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperdial.storage.base import Storage, copy_study
from hyperdial.storage.memory import InMemoryStorage

if TYPE_CHECKING:
    from hyperdial.storage.sql import SQLStorage

__all__ = ["InMemoryStorage", "SQLStorage", "Storage", "copy_study", "get_storage"]


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from hyperdial.storage.sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_storage(storage: str | Storage | None) -> Storage:
    """A storage from what users pass as ``storage=``: None (in memory), a URL, or a storage."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str):
        from hyperdial.storage.sql import SQLStorage

        return SQLStorage(storage)
    raise TypeError(f"storage must be None, a URL or a Storage, got {type(storage).__name__}")
