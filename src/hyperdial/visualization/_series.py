"""What each plot shows, as plain numbers: the one computation behind both drawings (plotly in
`hyperdial.visualization`, matplotlib in `hyperdial.visualization.matplotlib`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial.history import History
from hyperdial.importance import Target, as_history, param_names, target_values
from hyperdial.space import Distribution, Float, Int
from hyperdial.trial import TrialRecord, TrialState, violation

if TYPE_CHECKING:
    from hyperdial.study import Study


def lower_is_better(history: History, target: Target | None) -> bool:
    """Whether the plotted value is better low: a ``target`` always, else by the direction."""
    return target is not None or history.sign() > 0


def is_log(d: Distribution) -> bool:
    return isinstance(d, (Float, Int)) and d.log


def plotted_params(history: History, params: Sequence[str] | None) -> list[str]:
    """The named parameters, or those every completed trial holds."""
    names = param_names(history, params)
    if not history.completed:
        raise ValueError("no trial has completed yet: nothing to plot")
    return names


@dataclass(frozen=True)
class HistorySeries:
    """Completed trials by number: their values, the best so far (NaN before the first
    feasible one) and which are feasible."""

    numbers: np.ndarray
    values: np.ndarray
    best: np.ndarray
    feasible: np.ndarray


def history_series(history: History, target: Target | None) -> HistorySeries:
    trials = history.completed
    y = target_values(history, trials, target)
    sign = 1.0 if lower_is_better(history, target) else -1.0
    ok = np.array([violation(t) == 0.0 for t in trials], dtype=bool)
    best = sign * np.minimum.accumulate(np.where(ok, sign * y, np.inf)) if len(y) else y
    best = np.where(np.isinf(best), np.nan, best)  # no feasible trial yet: no line
    return HistorySeries(np.array([t.number for t in trials]), y, best, ok)


def curves(history: History) -> list[tuple[TrialRecord, list[int], list[Any]]]:
    """Each trial that reported: its steps in order and the values at them."""
    out = []
    for t in history.trials:
        if t.intermediate_values:
            steps = sorted(t.intermediate_values)
            out.append((t, steps, [t.intermediate_values[s] for s in steps]))
    return out


def is_pruned(trial: TrialRecord) -> bool:
    return trial.state is TrialState.PRUNED


@dataclass(frozen=True)
class SlicePanel:
    """One parameter's completed trials: its values (x), the trials' values (y), numbers."""

    name: str
    x: list[Any]
    y: np.ndarray
    numbers: list[int]
    log: bool


def slice_panels(history: History, params: Sequence[str] | None,
                 target: Target | None) -> list[SlicePanel]:
    panels = []
    for name in plotted_params(history, params):
        trials = [t for t in history.completed if name in t.params]
        panels.append(SlicePanel(
            name, [t.params[name] for t in trials], target_values(history, trials, target),
            [t.number for t in trials], bool(trials) and is_log(trials[0].distributions[name])))
    return panels


@dataclass(frozen=True)
class RankPanels:
    """The rank plot's completed trials (holding every plotted parameter), their values,
    ranks (0: best, 1: worst), and the panels: ``(x name, y name or None for the value, row,
    column)`` on a ``shape`` grid, with which names are log-scaled."""

    trials: list[TrialRecord]
    values: np.ndarray
    rank: np.ndarray
    pairs: list[tuple[str, str | None, int, int]]
    shape: tuple[int, int]
    log: set[str]


def rank_panels(history: History, params: Sequence[str] | None,
                target: Target | None) -> RankPanels:
    """The lower triangle of a matrix of parameter pairs (one panel for two parameters, the
    value against the parameter for one)."""
    from scipy.stats import rankdata

    names = plotted_params(history, params)
    trials = [t for t in history.completed if all(n in t.params for n in names)]
    if not trials:
        raise ValueError(f"no completed trial holds all of {names}: name fewer with params=")
    values = target_values(history, trials, target)
    sign = 1.0 if lower_is_better(history, target) else -1.0
    rank = (rankdata(sign * values) - 1) / max(len(values) - 1, 1)
    pairs: list[tuple[str, str | None, int, int]]
    if len(names) == 1:
        pairs, shape = [(names[0], None, 1, 1)], (1, 1)
    else:
        k = len(names) - 1
        pairs = [(names[j], names[i + 1], i + 1, j + 1) for i in range(k) for j in range(i + 1)]
        shape = (k, k)
    log = {n for n in names if is_log(trials[0].distributions[n])}
    return RankPanels(trials, values, rank, pairs, shape, log)


def pareto_groups(study: Study | History, target_names: Sequence[str] | None,
                  ) -> tuple[list[str], list[TrialRecord], list[TrialRecord]]:
    """The axis names (``target_names``, else the study's metric names, else "Objective i"),
    then the completed trials off the Pareto front and those on it."""
    history = as_history(study)
    m = history.n_objectives
    if m not in (2, 3):
        raise ValueError(f"a Pareto-front plot needs 2 or 3 objectives, the study has {m}")
    names = list(target_names or getattr(study, "metric_names", None)
                 or [f"Objective {i}" for i in range(m)])
    if len(names) != m:
        raise ValueError(f"{len(names)} target names for {m} objectives: {names}")
    front = {t.number for t in history.pareto_front()}
    on = [t for t in history.completed if t.number in front]
    off = [t for t in history.completed if t.number not in front]
    return names, off, on


def edf_series(studies: Study | History | Sequence[Study | History], target: Target | None,
               ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per study: its name, its completed trials' values sorted, and the share of trials at
    or below each."""
    group: list[Study | History] = (list(studies) if isinstance(studies, Sequence)
                                    else [studies])
    out = []
    for k, study in enumerate(group):
        history = as_history(study)
        y = np.sort(target_values(history, history.completed, target))
        name = getattr(study, "study_name", f"study {k}")
        out.append((name, y, np.arange(1, len(y) + 1) / max(len(y), 1)))
    return out
