"""The artifact store: put/get/delete by key, atomic replacement, key checks, and several
writers (threads, processes) and readers at once."""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

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
    assert _scratch_entries(store) == []


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


# -- several writers at once, readers during a replace, a failed write ------------------------
def _scratch_entries(store: DirectoryStore) -> list[str]:
    """Hidden entries other than the store's lock file: leftovers of a put or a delete."""
    return [p.name for p in store.root.iterdir() if p.name.startswith(".") and p.name != ".lock"]


def _versioned(where: Path, writer: int, i: int, *, directory: bool) -> Path:
    """A checkpoint whose every part says who wrote it, to tell a whole one from a mix."""
    if not directory:
        where.write_text(f"{writer}-{i}")
        return where
    where.mkdir()
    for part in ("weights", "optimizer"):
        (where / part).write_text(f"{writer}-{i}")
    return where


def _check_whole(store: DirectoryStore, key: str, *, directory: bool) -> str:
    path = store.get(key)
    if not directory:
        return path.read_text()
    texts = {(path / part).read_text() for part in ("weights", "optimizer")}
    assert len(texts) == 1 and sorted(p.name for p in path.iterdir()) == [
        "optimizer", "weights"]
    return texts.pop()


def _save_many(root: Path, scratch: Path, writer: int, n: int, directory: bool) -> list[str]:
    """``n`` puts of key ``"latest"`` and deletes of ``"gone"``; the errors they raised."""
    store = DirectoryStore(root)
    errors = []
    for i in range(n):
        src = _versioned(scratch / f"w{writer}-{i}", writer, i, directory=directory)
        try:
            store.put("latest", src)
            assert not src.exists()
        except Exception as exc:  # every error is the test's failure
            errors.append(f"put: {exc!r} (source kept: {src.exists()})")
        try:
            store.delete("gone")
        except Exception as exc:
            errors.append(f"delete: {exc!r}")
    return errors


def _save_many_in_child(root: Path, scratch: Path, writer: int, n: int, directory: bool,
                        out: Any) -> None:
    out.put(_save_many(root, scratch, writer, n, directory))


@pytest.mark.parametrize("directory", [True, False])
def test_threads_putting_one_key_all_succeed_and_leave_one_whole_artifact(
        tmp_path: Path, directory: bool) -> None:
    store = DirectoryStore(tmp_path / "store")
    (tmp_path / "scratch").mkdir()
    errors: list[str] = []

    def work(writer: int) -> None:
        errors.extend(_save_many(store.root, tmp_path / "scratch", writer, 40, directory))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.keys() == ["latest"] and _scratch_entries(store) == []
    assert _check_whole(store, "latest", directory=directory).endswith("-39")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.parametrize("directory", [True, False])
def test_processes_putting_one_key_all_succeed_and_leave_one_whole_artifact(
        tmp_path: Path, directory: bool) -> None:
    store = DirectoryStore(tmp_path / "store")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    children = []
    for writer in range(4):
        scratch = tmp_path / f"scratch-{writer}"
        scratch.mkdir()
        children.append(ctx.Process(target=_save_many_in_child,
                                    args=(store.root, scratch, writer, 40, directory, out)))
    for child in children:
        child.start()
    errors = [e for _ in children for e in out.get(timeout=120)]
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert errors == []
    assert store.keys() == ["latest"] and _scratch_entries(store) == []
    assert _check_whole(store, "latest", directory=directory).endswith("-39")


@pytest.mark.parametrize("directory", [True, False])
def test_a_reader_finds_a_key_while_it_is_replaced(tmp_path: Path, directory: bool) -> None:
    store = DirectoryStore(tmp_path / "store")
    store.put("k", _versioned(tmp_path / "first", 0, 0, directory=directory))
    done = threading.Event()
    missing = [0]

    def read() -> None:
        while not done.is_set():
            try:
                store.get("k")
            except KeyError:
                missing[0] += 1

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1, 300):
            store.put("k", _versioned(tmp_path / f"v{i}", 0, i, directory=directory))
    finally:
        done.set()
        reader.join()
    assert missing[0] == 0
    assert _check_whole(store, "k", directory=directory) == "0-299"


def test_deletes_racing_each_other_and_puts_raise_nothing(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "store")
    errors: list[BaseException] = []

    def delete() -> None:
        for _ in range(200):
            try:
                store.delete("k")
            except Exception as exc:
                errors.append(exc)

    def put() -> None:
        for i in range(200):
            try:
                store.put("k", _versioned(tmp_path / f"p{i}", 0, i, directory=i % 2 == 0))
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=delete) for _ in range(2)] + [threading.Thread(target=put)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _scratch_entries(store) == []


def test_a_copy_that_fills_the_disk_leaves_the_store_and_the_source_as_they_were(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint on another file system is copied; the copy fails half-way (ENOSPC)."""
    store = DirectoryStore(tmp_path / "store")
    store.put("trial-1", _versioned(tmp_path / "old", 1, 1, directory=True))
    src = _versioned(tmp_path / "new", 2, 2, directory=True)
    rename, copy = os.rename, shutil.copy2

    def across_devices(a: Any, b: Any) -> None:
        if Path(a) == src:
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(a), None, str(b))
        rename(a, b)

    def full_after_one_file(a: Any, b: Any, **kwargs: Any) -> Any:
        if list(Path(b).parent.iterdir()):
            Path(b).write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return copy(a, b, **kwargs)

    monkeypatch.setattr(os, "rename", across_devices)
    monkeypatch.setattr(shutil, "copy2", full_after_one_file)
    for key in ("trial-1", "trial-2"):
        with pytest.raises(OSError, match="No space left"):
            store.put(key, src)
        assert _scratch_entries(store) == []  # no partial copy stays to fill the disk
        assert _check_whole(store, "trial-1", directory=True) == "1-1"
        assert store.keys() == ["trial-1"]
        assert _check_whole(DirectoryStore(src.parent), src.name, directory=True) == "2-2"
    monkeypatch.setattr(shutil, "copy2", copy)  # space again: copied, and the source taken
    store.put("trial-2", src)
    assert _check_whole(store, "trial-2", directory=True) == "2-2" and not src.exists()


def test_a_put_that_fails_after_taking_the_source_gives_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DirectoryStore(tmp_path / "store")
    store.put("k", _versioned(tmp_path / "old", 1, 1, directory=True))
    src = _versioned(tmp_path / "new", 2, 2, directory=True)

    def broken(a: Any, b: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="Input/output"):
        store.put("k", src)
    monkeypatch.undo()
    assert (src / "weights").read_text() == "2-2"
    assert _check_whole(store, "k", directory=True) == "1-1" and _scratch_entries(store) == []


def _put_and_die(root: str, src: str, started: Any) -> None:
    """Stage a put, then die inside it (as a SIGKILL mid-put would leave it)."""
    with DirectoryStore(root)._scratch() as scratch:
        os.rename(src, scratch())
        started.set()
        os._exit(0)


def _put_and_wait(root: str, src: str, started: Any, finish: Any) -> None:
    with DirectoryStore(root)._scratch() as scratch:
        os.rename(src, scratch())
        started.set()
        finish.wait(30)


@pytest.mark.skipif(sys.platform == "win32", reason="no flock: scratch entries are kept")
def test_scratch_left_by_a_dead_process_is_removed_when_a_store_opens(tmp_path: Path) -> None:
    """A process killed mid-`put` leaves its scratch entry: the next store on that root removes
    it, and its owner file; a live process's scratch stays, whatever its process id says."""
    ctx = multiprocessing.get_context("spawn")
    root = tmp_path / "store"
    DirectoryStore(root).put("kept", _checkpoint(tmp_path / "kept", "1"))
    started, finish = ctx.Event(), ctx.Event()
    live = ctx.Process(target=_put_and_wait, args=(
        str(root), str(_checkpoint(tmp_path / "live", "in flight")), started, finish))
    live.start()
    assert started.wait(30)
    started.clear()
    dead = ctx.Process(target=_put_and_die, args=(
        str(root), str(_checkpoint(tmp_path / "dead", "partial")), started))
    dead.start()
    assert started.wait(30)
    dead.join(30)
    older = root / f".tmp-{'a' * 32}"  # an older version's scratch name: maybe in use
    older.write_text("an older hyperdial's put")
    hidden = sorted(p.name for p in root.iterdir() if p.name.startswith((".tmp-", ".owner-")))
    assert len(hidden) == 5  # a scratch entry and an owner file each, and the older one
    store = DirectoryStore(root)
    left = sorted(p.name for p in root.iterdir()
                  if p.name.startswith((".tmp-", ".owner-")) and p != older)
    assert len(left) == 2 and len({name.split("-")[1] for name in left}) == 1  # the live one's
    assert older.exists()
    assert store.keys() == ["kept"]
    finish.set()
    live.join(30)
    DirectoryStore(root)  # its process has ended now
    assert [p for p in root.iterdir() if p.name.startswith((".tmp-", ".owner-"))] == [older]
    # (the live one's block ended without renaming its entry in: ownerless, it went too)
