"""Verbosity of hyperdial's log (the ``hyperdial`` logger), under Optuna's names.

hyperdial logs as a library should: to the ``hyperdial`` logger, without a handler of its own,
so your logging configuration decides where records go. Warnings (a failed trial of
``Study.optimize`` or ``optimize_simulated``, a failed heartbeat) reach stderr through Python's
last-resort handler when nothing is configured. ``hd.logging.set_verbosity(hd.logging.ERROR)``
silences them; code written for ``optuna.logging`` runs after changing the import.

With ask and tell there is no run to log for: a value that fails the trial it is told for
(``study.tell(trial, float("nan"))``) is reported as a ``RuntimeWarning`` through Python's
``warnings``, as Optuna does, which the verbosity does not change:
``warnings.filterwarnings("ignore", "trial .* failed", RuntimeWarning)`` silences it.

Optuna's logger starts at INFO with a stderr handler of its own and does not propagate;
hyperdial's starts at WARNING, with no handler, and propagates. `enable_default_handler` adds
the stderr handler (with Optuna's format) and `set_verbosity(INFO)` shows each finished trial
as Optuna does ("Trial 3 finished with value: ... Best is trial 1 with value: ...").
"""

from __future__ import annotations

import logging as _std
import sys
import threading

CRITICAL = _std.CRITICAL
FATAL = _std.FATAL
ERROR = _std.ERROR
WARNING = _std.WARNING
WARN = _std.WARN
INFO = _std.INFO
DEBUG = _std.DEBUG

_LOGGER = _std.getLogger("hyperdial")
_lock = threading.Lock()
_default_handler: _std.Handler | None = None


def get_logger(name: str) -> _std.Logger:
    """The logger ``name``; ``"optuna"`` and ``"optuna.*"`` name hyperdial's own (``"hyperdial"``,
    ``"hyperdial.*"``), so code written for Optuna reaches the records it expects."""
    if name == "optuna" or name.startswith("optuna."):
        name = "hyperdial" + name[len("optuna"):]
    return _std.getLogger(name)


def set_verbosity(verbosity: int) -> None:
    """Log records at ``verbosity`` and above (``logging`` levels: ``WARNING`` by default)."""
    _LOGGER.setLevel(verbosity)


def get_verbosity() -> int:
    """The level set by `set_verbosity`, or the effective level inherited from the root."""
    return _LOGGER.getEffectiveLevel()


def enable_default_handler() -> None:
    """Write hyperdial's records to stderr with Optuna's format (off by default here)."""
    global _default_handler
    with _lock:
        if _default_handler is None:
            _default_handler = _std.StreamHandler(sys.stderr)
            _default_handler.setFormatter(_std.Formatter(
                "[%(levelname)1.1s %(asctime)s] %(message)s"))
        if _default_handler not in _LOGGER.handlers:
            _LOGGER.addHandler(_default_handler)


def disable_default_handler() -> None:
    """Remove the handler of `enable_default_handler` (nothing to do if it is not there)."""
    with _lock:
        if _default_handler is not None:
            _LOGGER.removeHandler(_default_handler)


def enable_propagation() -> None:
    """Pass records on to the root logger's handlers (the default here)."""
    _LOGGER.propagate = True


def disable_propagation() -> None:
    """Keep records from the root logger's handlers."""
    _LOGGER.propagate = False


__all__ = ["CRITICAL", "DEBUG", "ERROR", "FATAL", "INFO", "WARN", "WARNING",
           "disable_default_handler", "disable_propagation", "enable_default_handler",
           "enable_propagation", "get_logger", "get_verbosity", "set_verbosity"]
