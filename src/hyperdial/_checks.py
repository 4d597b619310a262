"""Argument checks and seeding shared by samplers, pruners and schedulers (layer 0)."""

from __future__ import annotations

import os
import re
from typing import Any


def check_int(name: str, value: Any, minimum: int) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def resolve_seed(seed: int | None) -> int:
    """``seed`` as an int, or a fresh one from the OS for None (62 bits, so that it stays a
    non-negative int64 when handed to numpy)."""
    return int(seed) if seed is not None else int.from_bytes(os.urandom(8), "little") >> 2


def check_study_name(name: Any, what: str = "study_name", *, none_ok: bool = False) -> None:
    """Raise ValueError naming ``what`` unless ``name`` is a study name: a string that is not
    blank and that every backend stores, so no NUL (PostgreSQL's text refuses it) and no lone
    surrogate (not UTF-8) (None too when ``none_ok``: a name is generated). One rule for
    creating, renaming and copying studies."""
    if none_ok and name is None:
        return
    if not isinstance(name, str) or not name.strip():
        alternative = " or None (a generated name)" if none_ok else ""
        raise ValueError(f"{what} must be a non-empty string{alternative}, got {name!r}")
    if "\x00" in name or _has_lone_surrogate(name):
        raise ValueError(f"{what} must not contain a NUL character or a lone surrogate "
                         f"(storages keep names as UTF-8 text), got {name!r}")


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
