"""What each plot shows, as plain numbers: the one computation behind both drawings (plotly in
`hyperdial.visualization`, matplotlib in `hyperdial.visualization.matplotlib`)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial.history import History
from hyperdial.importance import Target, as_history, regimes, target_values
from hyperdial.samplers.base import ConstraintsFunc
from hyperdial.space import Categorical, Distribution, Float, Int, covering
from hyperdial.trial import TrialRecord, TrialState, violation

if TYPE_CHECKING:
    from hyperdial.importance import ImportanceEvaluator
    from hyperdial.study import Study


def lower_is_better(history: History, target: Target | None) -> bool:
    """Whether the plotted value is better low: a ``target`` always, else by the direction."""
    return target is not None or history.sign() > 0


def is_log(d: Distribution) -> bool:
    return isinstance(d, (Float, Int)) and d.log


def completed(history: History, study_name: str | None = None) -> Sequence[TrialRecord]:
    """The completed trials; none is an error, as an empty figure would look like a bug."""
    if not history.completed:
        where = f" in study {study_name!r}" if study_name else ""
        raise ValueError(f"no trial has completed yet{where}: nothing to plot")
    return history.completed


def plotted_params(history: History, params: Sequence[str] | None) -> list[str]:
    """The named parameters, or those every completed trial holds (but those whose
    distributions no one axis shows, left out with a warning naming them); a name that no
    completed trial holds is an error (a typo, not an empty panel)."""
    trials = completed(history)
    if params is None:
        space = merged_space(trials)
        held = [n for n in trials[0].params if all(n in t.params for t in trials)]
        left = [n for n in held if n not in space]
        if left:
            asked = "; ".join(f"{n}: {', '.join(map(str, regimes(trials, n)))}"
                              for n in left)
            warnings.warn(f"left out {left}: each was asked with distributions that no one axis "
                          f"shows ({asked})", UserWarning, stacklevel=4)
        return [n for n in held if n in space]
    known = {n for t in trials for n in t.params}
    unknown = [n for n in params if n not in known]
    if unknown:
        raise ValueError(f"no completed trial holds {unknown}; they hold {sorted(known)}")
    return list(params)


def holding(history: History, names: Sequence[str]) -> list[TrialRecord]:
    """The completed trials holding every one of ``names``; none is an error."""
    trials = [t for t in history.completed if all(n in t.params for n in names)]
    if not trials:
        raise ValueError(f"no completed trial holds all of {list(names)}: name fewer with "
                         "params=")
    return trials


def choice_labels(d: Categorical) -> list[str]:
    """Each choice's label: its text, or its repr for all where two texts meet ("1" and 1),
    so that choices hyperdial tells apart (None, 1, 1.0, True, "1") stay apart."""
    labels = [str(c) for c in d.choices]
    return labels if len(set(labels)) == len(labels) else [repr(c) for c in d.choices]


@dataclass(frozen=True)
class Column:
    """A parameter's values as drawn: as they are, or for a categorical the positions 0, 1,
    ... of its choices with their labels in ``ticks`` (plotting libraries drop None, merge 1,
    1.0 and True, and cannot place mixed types); ``log`` for a log scale."""

    values: list[Any]
    ticks: list[str] | None = None
    log: bool = False


def column(d: Distribution, values: Sequence[Any]) -> Column:
    if isinstance(d, Categorical):
        return Column([float(d.index(v)) for v in values], choice_labels(d))
    return Column(list(values), log=is_log(d))


def merged_space(trials: Sequence[TrialRecord]) -> dict[str, Distribution]:
    """Each parameter any of ``trials`` holds, with the distribution covering its values
    (`hyperdial.space.covering`); one whose distributions no one axis shows is left out."""
    space = {}
    for name in dict.fromkeys(n for t in trials for n in t.distributions):
        d = covering(list(regimes(trials, name)), add_choices=True)
        if d is not None:
            space[name] = d
    return space


def param_column(trials: Sequence[TrialRecord], name: str) -> Column:
    """The trials' values of parameter ``name``, by the distribution covering them all
    (`hyperdial.space.covering`); ValueError where none does."""
    dists = list(regimes(trials, name))
    d = covering(dists, add_choices=True)
    if d is None:
        raise ValueError(f"parameter {name!r} was asked with distributions that no one axis "
                         f"shows: {', '.join(map(str, dists))}")
    return column(d, [t.params[name] for t in trials])


@dataclass(frozen=True)
class HistorySeries:
    """Completed trials by number: their values, the best so far (NaN before the first
    feasible one) and which are feasible."""

    numbers: np.ndarray
    values: np.ndarray
    best: np.ndarray
    feasible: np.ndarray


def history_series(history: History, target: Target | None) -> HistorySeries:
    trials = completed(history)
    y = target_values(history, trials, target)
    sign = 1.0 if lower_is_better(history, target) else -1.0
    ok = np.array([violation(t) == 0.0 for t in trials], dtype=bool)
    best = sign * np.minimum.accumulate(np.where(ok, sign * y, np.inf))
    best = np.where(np.isinf(best), np.nan, best)  # no feasible trial yet: no line
    return HistorySeries(np.array([t.number for t in trials]), y, best, ok)


def named_histories(studies: Study | History | Sequence[Study | History],
                    ) -> list[tuple[str, History]]:
    """One study or several (Optuna's ``study`` argument takes either), each with its name
    (a `History` has none: "study k")."""
    group: list[Study | History] = (list(studies) if isinstance(studies, Sequence)
                                    else [studies])
    if not group:
        raise ValueError("no study to plot: got an empty list")
    return [(getattr(s, "study_name", None) or f"study {k}", as_history(s))
            for k, s in enumerate(group)]


def history_series_list(studies: Study | History | Sequence[Study | History],
                        target: Target | None) -> list[tuple[str, HistorySeries]]:
    """`history_series` of each study, with its name; a study without a completed trial is
    an error that names it."""
    group = named_histories(studies)
    out = []
    for name, history in group:
        completed(history, name if len(group) > 1 else None)
        out.append((name, history_series(history, target)))
    return out


@dataclass(frozen=True)
class HistoryBand:
    """Several studies' histories as one (Optuna's ``error_bar=True``): at each trial number
    the mean and standard deviation over the studies of the feasible values there
    (``numbers``) and of the best so far (``best_numbers``, from the first number any study
    has a feasible best, to the last number any study reached)."""

    numbers: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    best_numbers: np.ndarray
    best_mean: np.ndarray
    best_std: np.ndarray


def history_band(series: Sequence[HistorySeries]) -> HistoryBand:
    """Mean and standard deviation over the studies' values and best-so-far values, trial
    number by trial number; a study counts at the numbers up to its last completed one."""
    top = max(int(h.numbers[-1]) for h in series) + 1
    values = np.full((len(series), top), np.nan)
    best = np.full((len(series), top), np.nan)
    for i, h in enumerate(series):
        values[i, h.numbers[h.feasible]] = h.values[h.feasible]
        # the best so far at every number, held between completed trials
        at = np.searchsorted(h.numbers, np.arange(int(h.numbers[-1]) + 1), side="right") - 1
        best[i, :len(at)] = np.where(at >= 0, h.best[np.maximum(at, 0)], np.nan)

    def summary(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seen = ~np.isnan(table).all(axis=0)
        cols = table[:, seen]
        with np.errstate(invalid="ignore"):
            return (np.flatnonzero(seen), np.nanmean(cols, axis=0), np.nanstd(cols, axis=0))

    return HistoryBand(*summary(values), *summary(best))


@dataclass(frozen=True)
class Curve:
    """One learning curve: a trial's reports by step, of one objective where it reported
    several values a step; ``label`` names the trial, and then the objective."""

    trial: TrialRecord
    label: str
    steps: list[int]
    values: list[float]


def curves(study: Study | History) -> list[Curve]:
    """Each trial that reported: its steps in order and the values at them, one curve per
    objective for reports of several values (named by the study's metric names, else
    "objective k"), as a plot of one value per step cannot draw a vector."""
    names = getattr(study, "metric_names", None) or []
    out = []
    for t in as_history(study).trials:
        reports = [(s, v if isinstance(v, tuple) else (v,))
                   for s, v in sorted(t.intermediate_values.items())]
        width = max((len(v) for _, v in reports), default=0)
        for k in range(width):
            at = [(s, v[k]) for s, v in reports if k < len(v)]
            of = "" if width == 1 else f", {names[k] if k < len(names) else f'objective {k}'}"
            out.append(Curve(t, f"Trial {t.number}{of}", [s for s, _ in at], [v for _, v in at]))
    return out


def is_pruned(trial: TrialRecord) -> bool:
    return trial.state is TrialState.PRUNED


@dataclass(frozen=True)
class SlicePanel:
    """One parameter's completed trials: its values (x), the trials' values (y), numbers."""

    name: str
    x: Column
    y: np.ndarray
    numbers: list[int]


def slice_panels(history: History, params: Sequence[str] | None,
                 target: Target | None) -> list[SlicePanel]:
    panels = []
    for name in plotted_params(history, params):
        trials = [t for t in history.completed if name in t.params]  # some: name is known
        panels.append(SlicePanel(name, param_column(trials, name),
                                 target_values(history, trials, target),
                                 [t.number for t in trials]))
    return panels


@dataclass(frozen=True)
class RankPanels:
    """The rank plot's completed trials (holding every plotted parameter), their values,
    ranks (0: best, 1: worst), and the panels: ``(x name, y name or None for the value, row,
    column)`` on a ``shape`` grid, with each name's column (the value's under None)."""

    trials: list[TrialRecord]
    values: np.ndarray
    rank: np.ndarray
    pairs: list[tuple[str, str | None, int, int]]
    shape: tuple[int, int]
    columns: dict[str | None, Column]


def rank_panels(history: History, params: Sequence[str] | None,
                target: Target | None) -> RankPanels:
    """The lower triangle of a matrix of parameter pairs (one panel for two parameters, the
    value against the parameter for one)."""
    from scipy.stats import rankdata

    names = plotted_params(history, params)
    if not names:
        raise ValueError("a rank plot needs at least one parameter, " + (
            "got params=[]" if params is not None
            else "but the completed trials hold none in common: name them with params="))
    trials = holding(history, names)
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
    columns: dict[str | None, Column] = {n: param_column(trials, n) for n in names}
    columns[None] = Column(values.tolist())
    return RankPanels(trials, values, rank, pairs, shape, columns)


@dataclass(frozen=True)
class ParetoGroup:
    """Trials drawn alike on a Pareto-front plot: a label, a colour, the trials and their
    points as one column per axis."""

    label: str
    colour: str
    trials: list[TrialRecord]
    columns: list[list[float]]


#: A trial's point on a Pareto-front plot (Optuna's ``targets``): 2 or 3 values.
Targets = Callable[[TrialRecord], Sequence[float]]


def pareto_groups(study: Study | History, target_names: Sequence[str] | None, *,
                  include_dominated_trials: bool = True,
                  constraints_func: ConstraintsFunc | None = None,
                  targets: Targets | None = None) -> tuple[list[str], list[ParetoGroup]]:
    """The axis names (``target_names``, else the study's metric names, else "Objective i")
    and the groups drawn: the feasible completed trials off the Pareto front (none unless
    ``include_dominated_trials``), those on it, and the infeasible ones if any.

    Feasible is by ``constraints_func`` when given (every value <= 0), else by the trials'
    stored constraints (`Trial.set_constraint`); the front is by the study's objectives in
    their directions, as Optuna's. Each trial is drawn at ``targets(trial)`` (2 or 3 values;
    then a study may have any number of objectives), else at its values.
    """
    history = as_history(study)
    m = history.n_objectives
    if targets is None and m not in (2, 3):
        raise ValueError(f"a Pareto-front plot needs 2 or 3 objectives, the study has {m}: "
                         "pass targets= (a function of a trial giving 2 or 3 values) to plot "
                         "others")
    completed(history)  # an empty figure looked like a bug, as for every other such plot

    if constraints_func is None:
        ok = list(history.feasible)
    else:
        ok = [t for t in history.completed if all(float(c) <= 0.0 for c in constraints_func(t))]
    kept = {t.number for t in ok}
    infeasible = [t for t in history.completed if t.number not in kept]
    from hyperdial._pareto import non_dominated

    mask = non_dominated(history.loss(ok)) if ok else np.zeros(0, dtype=bool)
    on = [t for t, keep in zip(ok, mask, strict=True) if keep]
    off = [t for t, keep in zip(ok, mask, strict=True) if not keep]

    def points(trials: list[TrialRecord]) -> list[list[float]]:
        rows = [list(targets(t)) if targets else list(t.values or ()) for t in trials]
        if any(len(r) != len(rows[0]) for r in rows):
            raise ValueError("targets returned points of different lengths: "
                             f"{sorted({len(r) for r in rows})}")
        return rows

    groups = [("Trial", "lightsteelblue", off if include_dominated_trials else []),
              ("Best trial", "firebrick", on)]
    if infeasible:
        groups.append(("Infeasible trial", "#cccccc", infeasible))
    rows = {label: points(trials) for label, _, trials in groups}
    lengths = {len(r[0]) for r in rows.values() if r}
    if len(lengths) > 1:
        raise ValueError(f"targets returned points of different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else (len(target_names) if target_names else m)
    if n not in (2, 3):
        raise ValueError(f"a Pareto-front plot draws 2 or 3 values per trial, targets gave {n}")
    names = list(target_names or (None if targets else getattr(study, "metric_names", None))
                 or [f"Objective {i}" for i in range(n)])
    if len(names) != n:
        raise ValueError(f"{len(names)} target names for {n} objectives: {names}")
    out = [ParetoGroup(label, colour, trials,
                       [list(c) for c in zip(*rows[label], strict=True)] if trials
                       else [[] for _ in range(n)])
           for label, colour, trials in groups]
    return names, out


def importances(history: History, evaluator: ImportanceEvaluator | None,
                params: Sequence[str] | None, target: Target | None) -> dict[str, float]:
    """`hyperdial.importance.get_param_importances`, most important first. Without an
    ``evaluator``, PED-ANOVA's, which compares the best 10 % of the trials with all: a study
    too small for that to hold 2 trials (fewer than 11) is judged by its best 2 instead, as
    Optuna 5 draws one of 3 to 10 trials; fewer than 3 is an error."""
    from hyperdial.importance import PedAnovaImportanceEvaluator, get_param_importances

    if evaluator is None:
        evaluator = PedAnovaImportanceEvaluator()
        n = int(np.isfinite(target_values(history, history.completed, target)).sum())
        if math.ceil(evaluator.target_quantile * n) < 2:
            if n < 3:
                raise ValueError("parameter importance needs 3 completed trials (PED-ANOVA "
                                 f"compares the best 2 with all), got {n}")
            evaluator = PedAnovaImportanceEvaluator(target_quantile=2 / n)
    return get_param_importances(history, evaluator=evaluator, params=params, target=target)


def importance_bars(study: Study | History, evaluator: ImportanceEvaluator | None,
                    params: Sequence[str] | None, target: Target | None) -> dict[str, float]:
    """`importances`, least important first (drawn bottom up, so the largest is on top)."""
    history = as_history(study)
    completed(history)  # the error of every plot of completed trials, before importance's
    return dict(reversed(importances(history, evaluator, params, target).items()))


def edf_series(studies: Study | History | Sequence[Study | History], target: Target | None,
               ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per study: its name, its completed trials' values sorted, and the share of trials at
    or below each."""
    group = named_histories(studies)
    out = []
    for name, history in group:
        trials = completed(history, name if len(group) > 1 else None)
        y = np.sort(target_values(history, trials, target))
        out.append((name, y, np.arange(1, len(y) + 1) / len(y)))
    return out


@dataclass(frozen=True)
class ParallelAxis:
    """One axis of a parallel-coordinate plot: its label, each trial's position on it, and
    for a categorical the choices at positions 0, 1, ... (log scales as log10)."""

    label: str
    values: list[float]
    ticks: list[str] | None = None


def parallel_axes(history: History, params: Sequence[str] | None, target: Target | None,
                  target_name: str) -> tuple[np.ndarray, list[ParallelAxis]]:
    """The values of the completed trials holding every plotted parameter, and the axes:
    the value first, then each parameter."""
    names = plotted_params(history, params)
    trials = holding(history, names)
    values = target_values(history, trials, target)
    axes = [ParallelAxis(target_name, values.tolist())]
    for name in names:
        c = param_column(trials, name)
        if c.log:
            axes.append(ParallelAxis(f"{name} (log10)", [math.log10(v) for v in c.values]))
        else:
            axes.append(ParallelAxis(name, [float(v) for v in c.values], c.ticks))
    return values, axes


@dataclass(frozen=True)
class ContourGrid:
    """The partial dependence of the objective on two parameters: their grid values
    (``x``, ``y``, drawn as the points are), the surface on it (rows follow ``y``), and the
    trials' points as a column per axis."""

    params: tuple[str, str]
    x: list[Any]
    y: list[Any]
    surface: np.ndarray
    points: tuple[Column, Column]


#: The completed trials a contour plot's model needs (`hyperdial.importance.surrogate`).
MODEL_TRIALS = 5


def contour_pair(history: History, target: Target | None) -> list[str]:
    """The two most important parameters (`importances`) that `MODEL_TRIALS` completed trials
    hold together (two branches of a conditional space never are): of such pairs, the one
    whose less important parameter ranks highest, then whose more important one does."""
    shown = merged_space(history.completed)
    ranked = list(importances(history, None, None, target))
    names = [n for n in ranked if n in shown]
    if len(names) < len(ranked):
        left = [n for n in ranked if n not in shown]
        warnings.warn(f"left out {left}: each was asked with distributions that no one axis "
                      "shows", UserWarning, stacklevel=4)
    if len(names) < 2:
        raise ValueError("a contour plot shows two parameters, but the completed trials "
                         f"hold {len(names)} in common: name them with params=")
    for j, second in enumerate(names):
        for first in names[:j]:
            if sum(first in t.params and second in t.params
                   for t in history.completed) >= MODEL_TRIALS:
                return [first, second]
    raise ValueError(f"a contour plot models two parameters on the {MODEL_TRIALS} or more "
                     "completed trials holding both, and no two parameters are held together "
                     "by as many: run more trials")


def contour_grid(history: History, params: Sequence[str] | None, target: Target | None,
                 n_grid: int, n_samples: int, seed: int) -> ContourGrid:
    """A Gaussian-process model's mean (`hyperdial.importance.surrogate`) on an ``n_grid`` x
    ``n_grid`` grid of two parameters (by default `contour_pair`), averaged over
    ``n_samples`` quasi-random points of the others' ranges; in the objective's own direction
    unless ``target`` is given."""
    from scipy.stats import qmc

    from hyperdial._encode import decode_column
    from hyperdial.importance import surrogate, value_grid

    completed(history)
    if params is None:
        params = contour_pair(history, target)
    if len(params) != 2:
        raise ValueError(f"a contour plot shows two parameters, got {list(params)}")
    if params[0] == params[1]:
        raise ValueError(f"a contour plot shows two parameters, got {params[0]!r} twice")
    others = list(history.completed_space)  # held by every completed trial, one distribution
    names = [*plotted_params(history, params), *(n for n in others if n not in params)]
    trials = holding(history, params)
    space = merged_space(trials)
    for name in params:
        if name not in space:  # no one axis shows its distributions: param_column says so
            param_column(trials, name)
    # over the union of each one's ranges and choices, as its trials are drawn (`merged_space`)
    model = surrogate(history, names, target, seed=seed, merge_ranges=True)
    dists = [space[n] for n in params]
    axes = [value_grid(d, n_grid) for d in dists]
    rest = qmc.Sobol(max(len(names) - 2, 1), scramble=True, seed=seed).random(n_samples)
    gx, gy = np.meshgrid(axes[0], axes[1])
    rows = np.empty((gx.size * n_samples, len(names)))
    rows[:, 0] = np.repeat(gx.ravel(), n_samples)
    rows[:, 1] = np.repeat(gy.ravel(), n_samples)
    rows[:, 2:] = np.tile(rest[:, :len(names) - 2], (gx.size, 1))
    surface = model(rows).reshape(gx.size, n_samples).mean(axis=1).reshape(gx.shape)
    if target is None:
        surface = history.sign() * surface  # the model works on losses
    x, y = (column(d, decode_column(d, a)).values for d, a in zip(dists, axes, strict=True))
    return ContourGrid((params[0], params[1]), x, y, surface,
                       (param_column(trials, params[0]), param_column(trials, params[1])))


#: The timeline's colour of each state shown.
STATE_COLOURS = {TrialState.COMPLETE: "#1f77b4", TrialState.PRUNED: "#ff7f0e",
                 TrialState.FAIL: "#d62728", TrialState.RUNNING: "#2ca02c"}


def timeline_bars(history: History, n_recent_trials: int | None,
                  ) -> list[tuple[TrialState, list[int], list[datetime], list[float]]]:
    """Per state: the trials' numbers, starts and durations in seconds (to now while they
    run), for the last ``n_recent_trials`` trials that started."""
    if n_recent_trials is not None and n_recent_trials < 1:
        raise ValueError(f"n_recent_trials must be >= 1, got {n_recent_trials!r}")
    trials = [t for t in history.trials if t.datetime_start is not None]
    trials = trials[-n_recent_trials:] if n_recent_trials else trials
    now = datetime.now(timezone.utc)
    out = []
    for state in STATE_COLOURS:
        group = [t for t in trials if t.state is state]
        if group:
            starts = [t.datetime_start or now for t in group]  # all set: filtered above
            ends = [t.datetime_complete or now for t in group]
            out.append((state, [t.number for t in group], starts,
                        [(e - s).total_seconds() for s, e in zip(starts, ends, strict=True)]))
    return out


def hypervolume_series(history: History, reference_point: Sequence[float],
                       ) -> tuple[list[int], list[float]]:
    """The feasible completed trials' numbers and the hypervolume the front so far dominates
    up to ``reference_point`` (in the study's own directions)."""
    from hyperdial._pareto import hypervolume, non_dominated

    if history.n_objectives < 2:  # (it drew a one-dimensional "hypervolume", the best value)
        raise ValueError("a hypervolume history needs a study with several objectives; plot "
                         "a single objective with plot_optimization_history")
    ref = np.asarray(reference_point, dtype=float)
    if ref.shape != (history.n_objectives,) or not np.isfinite(ref).all():
        raise ValueError(f"reference_point needs {history.n_objectives} finite values, got "
                         f"{list(reference_point)!r}")
    completed(history)  # none is an error here too (none feasible: an empty line)
    signs = np.array([history.sign(j) for j in range(history.n_objectives)])
    trials = history.feasible
    loss = history.loss(trials) if trials else np.empty((0, history.n_objectives))
    front = np.empty((0, history.n_objectives))
    volumes = []
    for row in loss:  # the front so far, kept small: each new point against it
        front = np.vstack([front, row])
        front = front[non_dominated(front)]
        volumes.append(hypervolume(front, signs * ref))
    return [t.number for t in trials], volumes
