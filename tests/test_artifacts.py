"""The artifact store: put/get/delete by key, atomic replacement, key checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyperdial.artifacts import DirectoryStore


def _checkpoint(where: Path, text: str) -> Path:
    where.mkdir(parents=True)
    (where / "weights.txt").write_text(text)
    return where


def test_put_moves_a_directory_in_and_get_finds_it(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    src = _checkpoint(tmp_path / "scratch" / "ckpt", "1.5")
    store.put("trial-3", src)
    assert not src.exists()  # taken, not copied
    assert (store.get("trial-3") / "weights.txt").read_text() == "1.5"
    assert store.keys() == ["trial-3"]
    assert store.location == str((tmp_path / "store").resolve())


def test_put_replaces_and_stores_plain_files(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    store.put("a", _checkpoint(tmp_path / "one", "old"))
    store.put("a", _checkpoint(tmp_path / "two", "new"))
    assert (store.get("a") / "weights.txt").read_text() == "new"
    file = tmp_path / "model.bin"
    file.write_bytes(b"\x00\x01")
    store.put("b.bin", file)
    assert store.get("b.bin").read_bytes() == b"\x00\x01"
    assert store.keys() == ["a", "b.bin"]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]  # no scratch left


def test_delete_is_idempotent_and_get_of_a_missing_key_raises(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    store.put("x", _checkpoint(tmp_path / "src", "1"))
    store.delete("x")
    store.delete("x")
    assert store.keys() == []
    with pytest.raises(KeyError, match="no artifact 'x'"):
        store.get("x")


@pytest.mark.parametrize("key", ["", ".hidden", "../escape", "a/b", "-x", "é", "a" * 201, 3])
def test_bad_keys_are_refused(tmp_path: Path, key: object) -> None:
    store = DirectoryStore(tmp_path)
    with pytest.raises(ValueError, match="artifact keys"):
        store.get(key)  # type: ignore[arg-type]


def test_hidden_scratch_entries_are_not_keys(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    (tmp_path / ".tmp-half-written").mkdir()
    assert store.keys() == []
