"""Artifact stores: where schedulers keep checkpoints, outside the trial storage.

The trial storage holds JSON only; model weights go to an `ArtifactStore` under a key, and the
storage records the key (and the store's `location`, so that a resumed run finds the files).
`DirectoryStore`, one directory per key under a root, is the default. Writes are atomic: an
artifact is moved into a hidden temporary name under the root, then renamed to its key, so a
reader sees the whole artifact or none of it.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid artifact key (a safe file name), else raise ValueError."""
    if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > 200:
        raise ValueError(f"artifact keys are file names of letters, digits, '_', '-' and '.' "
                         f"(not starting with '.' or '-'), got {key!r}")
    return key


class ArtifactStore(ABC):
    """Files or directories stored by key: `put`, `get`, `delete`, `keys`."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store lives (a path or URL), as recorded in the trial storage."""

    @abstractmethod
    def put(self, key: str, path: Path) -> None:
        """Store the file or directory at ``path`` under ``key``, atomically, taking it: the
        store may move ``path`` rather than copy it. An existing artifact of that key is
        replaced."""

    @abstractmethod
    def get(self, key: str) -> Path:
        """A local path holding the artifact (read it, do not change it); KeyError if absent."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the artifact; nothing happens if it is absent."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Every stored key, sorted."""


class DirectoryStore(ArtifactStore):
    """Artifacts as entries of a local directory (created if needed)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    @property
    def location(self) -> str:
        return str(self.root)

    def _scratch(self) -> Path:
        """A fresh hidden name under the root: the same file system, so renames are atomic."""
        return self.root / f".tmp-{uuid.uuid4().hex}"

    def put(self, key: str, path: Path) -> None:
        target = self.root / check_key(key)
        staged = self._scratch()
        shutil.move(os.fspath(path), staged)  # a rename when ``path`` is on this file system
        if target.exists():
            self._discard(target)
        os.replace(staged, target)

    def get(self, key: str) -> Path:
        path = self.root / check_key(key)
        if not path.exists():
            raise KeyError(f"no artifact {key!r} in {self.root}")
        return path

    def delete(self, key: str) -> None:
        path = self.root / check_key(key)
        if path.exists():
            self._discard(path)

    def _discard(self, path: Path) -> None:
        """Rename ``path`` out of sight first (atomic), then remove it."""
        trash = self._scratch()
        os.replace(path, trash)
        if trash.is_dir():
            shutil.rmtree(trash)
        else:
            trash.unlink()

    def keys(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))


__all__ = ["ArtifactStore", "DirectoryStore", "check_key"]
