"""Trials as plain JSON and as table rows, shared by `Study.trials_dataframe`, the CLI's
export and the dashboard's API."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hyperdial.trial import TrialRecord, TrialState

#: `Study.trials_dataframe`'s columns by default: Optuna's, with why a trial failed in place
#: of the system attributes (which hold that reason and its whole traceback).
DATAFRAME_ATTRS = ("number", "value", "datetime_start", "datetime_complete", "duration",
                   "params", "user_attrs", "state", "fail_reason")


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


def strict(value: Any, *, as_text: bool = False) -> Any:
    """``value`` with NaN and infinities as None, which every JSON parser reads, or with
    ``as_text`` as the strings "nan", "inf" and "-inf" (which ``float()`` and pandas read
    back): a file keeps a +inf constraint (violated) apart from a -inf one (satisfied)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value) if as_text else None
    if isinstance(value, dict):
        return {k: strict(v, as_text=as_text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v, as_text=as_text) for v in value]
    return value


def dataframe_records(trials: Sequence[TrialRecord], attrs: Sequence[str], n_objectives: int,
                      metric_names: Sequence[str] | None = None,
                      ) -> tuple[list[dict[tuple[str, Any], Any]], list[tuple[str, Any]]]:
    """The rows of `Study.trials_dataframe` keyed by two-level column names, and the columns
    in order: ``attrs``' order, the keys of each spread attribute sorted (the values in
    objective order, as Optuna has them). With
    ``metric_names``, the values are keyed by them (``value_loss``, ``values_accuracy``)."""
    if isinstance(attrs, str):
        raise TypeError(f"attrs must be a sequence of attribute names, not the string {attrs!r}")
    attrs = ["values" if a == "value" and n_objectives > 1 else a for a in attrs]
    unknown = [a for a in attrs if not hasattr(TrialRecord, a) and a not in _RECORD_FIELDS]
    if unknown:
        raise ValueError(f"unknown trial attribute(s) {unknown}; choose from "
                         f"{sorted({*DATAFRAME_ATTRS, *_RECORD_FIELDS})}")
    keys: dict[str, set[Any]] = {a: set() for a in attrs}
    # The columns of a blank trial: the plain attributes' (number, state) and the values',
    # which a study without trials has too; a mapping's (params) come from the trials alone.
    for a, key in _row(_BLANK, attrs, n_objectives, metric_names):
        keys[a].add(key)
    records = []
    for t in trials:
        row = _row(t, attrs, n_objectives, metric_names)
        for a, key in row:
            keys[a].add(key)
        records.append(row)
    objectives = list(metric_names or range(n_objectives))  # values: in objective order
    columns = [(a, key) for a in attrs
               for key in (objectives if a == "values" and keys[a]
                           else sorted(keys[a], key=_sort_key))]
    return records, columns


def _row(t: TrialRecord, attrs: Sequence[str], n_objectives: int,
         metric_names: Sequence[str] | None) -> dict[tuple[str, Any], Any]:
    """One trial's cells keyed by two-level column names (see `dataframe_records`)."""
    row: dict[tuple[str, Any], Any] = {}
    for a in attrs:
        value = getattr(t, a)
        if a == "values":
            value = dict(zip(metric_names or range(n_objectives),
                             value or [None] * n_objectives, strict=True))
        elif a == "value" and metric_names:
            value = {metric_names[0]: value}
        if isinstance(value, TrialState):
            value = value.name
        spread = value.items() if isinstance(value, Mapping) else [("", value)]
        for key, v in spread:
            row[(a, key)] = v
    return row


def flat_column_names(columns: Sequence[tuple[str, Any]]) -> list[str]:
    """Two-level column names joined by ``_``: ``("params", "x")`` is ``params_x``."""
    return ["_".join(str(part) for part in col if part != "") for col in columns]


_RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(TrialRecord))
_BLANK = TrialRecord(number=0, state=TrialState.WAITING)


def _sort_key(key: Any) -> tuple[str, Any]:
    """Keys of one spread column sorted by type name then value (steps are ints, names str)."""
    return type(key).__name__, key
