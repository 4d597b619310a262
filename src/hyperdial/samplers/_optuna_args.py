"""Optuna's deprecated sampler keywords, accepted so that ported code runs: each given one
is a FutureWarning that says what hyperdial does instead (layer 1, no sampler imports)."""

from __future__ import annotations

import warnings
from typing import Any


def accepted(sampler: str, name: str, value: Any, instead: str) -> None:
    """Warn that ``sampler(name=value)``, an argument Optuna 5 deprecates, is accepted for
    ported code, saying what hyperdial does (``instead``); nothing when ``value`` is None
    (not given)."""
    if value is not None:
        warnings.warn(f"{sampler}({name}={value!r}) is Optuna's deprecated argument, accepted "
                      f"for ported code: {instead}", FutureWarning, stacklevel=3)
