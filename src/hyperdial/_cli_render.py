"""What the ``hyperdial`` command prints: trial cells, rich tables and the export formats.

Plain data in, text out; nothing here touches a storage. Tables use a light box so that
they stay readable when piped (rich drops colour by itself when the stream is not a TTY).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from hyperdial._export import (
    DATAFRAME_ATTRS,
    dataframe_records,
    flat_column_names,
    strict,
    trial_json,
)
from hyperdial.history import History, StudyDirection
from hyperdial.trial import TrialRecord


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr); no line width limit when the stream is not a TTY."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, width=None if stream.isatty() else 10_000)


def show(*renderables: RenderableType) -> None:
    """Print to stdout (strings as plain text, not markup); off a TTY, without trailing blanks."""
    renderables = tuple(Text(x) if isinstance(x, str) else x for x in renderables)
    out = console()
    if out.is_terminal:
        out.print(*renderables)
        return
    with out.capture() as captured:
        out.print(*renderables)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


# -- cells ---------------------------------------------------------------------------------
def fmt(value: Any) -> str:
    """A number in 6 significant digits, None as '-', anything else as str."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def fmt_time(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M")


def fmt_mapping(mapping: Mapping[str, Any], sep: str = ", ") -> str:
    """``k=v`` pairs; a value None is a choice made (``act=None``), not a missing one ('-')."""
    return sep.join(f"{k}={'None' if v is None else fmt(v)}" for k, v in mapping.items()) or "-"


def fmt_duration(record: TrialRecord) -> str:
    d = record.duration
    return "-" if d is None else f"{d.total_seconds():.2f}s"


def fmt_directions(directions: Sequence[StudyDirection]) -> str:
    return ", ".join(d.value for d in directions)


def value_headers(n_objectives: int, metric_names: Sequence[str] | None = None) -> list[str]:
    """The value columns' titles: the study's metric names, else "value" or "value i"."""
    if metric_names:
        return list(metric_names)
    return ["value"] if n_objectives == 1 else [f"value {i}" for i in range(n_objectives)]


def value_cells(record: TrialRecord, n_objectives: int) -> list[str]:
    return [fmt(v) for v in record.values or [None] * n_objectives]


# -- tables --------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
          numeric: Container[int] = ()) -> Table:
    """A table of plain-text cells; the ``numeric`` columns are right-aligned and never wrap,
    the others fold when the terminal is narrow (never cut with an ellipsis)."""
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    for i, header in enumerate(headers):
        if i in numeric:
            t.add_column(header, justify="right", no_wrap=True)
        else:
            t.add_column(header, overflow="fold", min_width=len(header))
    for row in rows:
        # Text: '[' in a param is not markup; str: a storage may hold a name that is not one
        t.add_row(*(Text(str(cell)) for cell in row))
    return t


def trials_table(trials: Sequence[TrialRecord], n_objectives: int, *,
                 user_attrs: bool = False, metric_names: Sequence[str] | None = None) -> Table:
    """One row per trial: number, state, value(s) (titled by ``metric_names`` when the study
    has them), params, duration (and user attrs)."""
    values = value_headers(n_objectives, metric_names)
    headers = ["#", "state", *values, "params", "duration"]
    rows = []
    for t in trials:
        row = [str(t.number), t.state.value, *value_cells(t, n_objectives),
               fmt_mapping(t.params), fmt_duration(t)]
        if user_attrs:
            row.append(fmt_mapping(t.user_attrs))
        rows.append(row)
    return table(headers + (["user attrs"] if user_attrs else []), rows,
                 numeric={0, *range(2, 2 + len(values)), 3 + len(values)})


def ranked(history: History) -> list[TrialRecord]:
    """Feasible completed trials best first (`History.feasible`: all of them without
    constraints); for several objectives the Pareto front, by objective 0."""
    pool = history.feasible if history.n_objectives == 1 else tuple(history.pareto_front())
    if not pool:
        return []
    loss = history.loss(pool)[:, 0]
    return [pool[i] for i in sorted(range(len(pool)), key=lambda i: loss[i])]


def best_table(record: TrialRecord) -> Table:
    """The best trial of a single-objective study as field / value lines."""
    t = Table(show_header=False, box=None)
    for name, cell in [("trial", str(record.number)), ("value", fmt(record.value)),
                       ("params", fmt_mapping(record.params, "\n")),
                       ("user attrs", fmt_mapping(record.user_attrs, "\n")),
                       ("duration", fmt_duration(record))]:
        t.add_row(name, Text(cell))
    return t


# -- export --------------------------------------------------------------------------------
def write_json(trials: Sequence[TrialRecord], out: IO[str]) -> None:
    """A JSON list of `trial_json` objects (strict JSON: non-finite numbers become the
    strings "nan", "inf" and "-inf")."""
    json.dump(strict([trial_json(t) for t in trials], as_text=True), out, indent=2,
              allow_nan=False)
    out.write("\n")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return json.dumps(value) if isinstance(value, (dict, list, tuple)) else value


def write_csv(trials: Sequence[TrialRecord], n_objectives: int, out: IO[str],
              metric_names: Sequence[str] | None = None) -> None:
    """The columns of ``Study.trials_dataframe()`` (datetimes in ISO 8601, durations in
    seconds, empty cells for none)."""
    records, columns = dataframe_records(trials, DATAFRAME_ATTRS, n_objectives, metric_names)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(flat_column_names(columns))
    for row in records:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
