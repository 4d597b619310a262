"""Verbosity of hyperdial's log (the ``hyperdial`` logger), under Optuna's names.

hyperdial logs as a library should: to the ``hyperdial`` logger, without a handler of its own,
so your logging configuration decides where records go. Warnings (a failed trial, a failed
heartbeat) reach stderr through Python's last-resort handler when nothing is configured.
``hd.logging.set_verbosity(hd.logging.ERROR)`` silences them; code written for
``optuna.logging`` runs after changing the import.
"""

from __future__ import annotations

import logging as _std

CRITICAL = _std.CRITICAL
FATAL = _std.FATAL
ERROR = _std.ERROR
WARNING = _std.WARNING
WARN = _std.WARN
INFO = _std.INFO
DEBUG = _std.DEBUG

_LOGGER = _std.getLogger("hyperdial")


def set_verbosity(level: int) -> None:
    """Log records at ``level`` and above (``logging`` levels: ``WARNING`` by default)."""
    _LOGGER.setLevel(level)


def get_verbosity() -> int:
    """The level set by `set_verbosity`, or the effective level inherited from the root."""
    return _LOGGER.getEffectiveLevel()
