"""Trials as plain JSON, shared by the CLI's export and the dashboard's API."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from hyperdial.trial import TrialRecord


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def trial_json(t: TrialRecord) -> dict[str, Any]:
    """One trial as a JSON-ready object (datetimes in ISO 8601, durations in seconds)."""
    d = t.duration
    return {"number": t.number, "state": t.state.value,
            "values": None if t.values is None else list(t.values), "params": dict(t.params),
            "intermediate_values": {str(k): v for k, v in sorted(t.intermediate_values.items())},
            "user_attrs": dict(t.user_attrs), "system_attrs": dict(t.system_attrs),
            "datetime_start": _iso(t.datetime_start),
            "datetime_complete": _iso(t.datetime_complete),
            "duration": None if d is None else d.total_seconds()}


def strict(value: Any) -> Any:
    """``value`` with NaN and infinities as None, which every JSON parser reads."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value
