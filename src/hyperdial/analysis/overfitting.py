"""Overfitting guard: how much the tuning itself flatters the configuration it picked.

The best of many configurations, judged on the same validation folds, is chosen partly for
noise: its validation score overstates what it does on new data (the *optimism gap*). Two
checks measure it:

* `holdout_check` / `study_holdout_check` score the best and the top-k configurations on a
  held-out test set that the search never saw, and report validation vs test score;
* `nested_cv` cross-validates the whole search (an outer CV around it), which estimates the
  generalisation of the tuning *procedure* without sacrificing a test set.

Both warn with `OverfittingWarning` when the gap exceeds ``max_gap`` (in score units).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from hyperdial._optional import require
from hyperdial.history import StudyDirection
from hyperdial.study import Study

DEFAULT_MAX_GAP = 0.05


class OverfittingWarning(UserWarning):
    """The tuned configuration's validation score overstates its score on unseen data."""


@dataclass(frozen=True)
class HoldoutRow:
    """One configuration: its rank in the search, validation and held-out test score."""

    rank: int
    params: Mapping[str, Any]
    validation: float
    test: float
    maximize: bool = True

    @property
    def gap(self) -> float:
        """Optimism: how much better validation looks than test (positive = flattered)."""
        diff = self.validation - self.test
        return diff if self.maximize else -diff


@dataclass(frozen=True)
class HoldoutReport:
    """Validation vs test for the top configurations of a search, best first."""

    rows: tuple[HoldoutRow, ...]
    max_gap: float = DEFAULT_MAX_GAP

    @property
    def best(self) -> HoldoutRow:
        return self.rows[0]

    @property
    def gap(self) -> float:
        """The optimism gap of the configuration the search picked."""
        return self.best.gap

    @property
    def mean_gap(self) -> float:
        return float(np.mean([r.gap for r in self.rows]))

    @property
    def overfit(self) -> bool:
        return self.gap > self.max_gap

    def __str__(self) -> str:
        lines = ["| rank | validation | test | gap | params |", "|---:|---:|---:|---:|---|"]
        lines += [f"| {r.rank} | {r.validation:.4f} | {r.test:.4f} | {r.gap:+.4f} | "
                  f"{dict(r.params)} |" for r in self.rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class NestedCVReport:
    """Outer-fold scores of a whole search: the honest estimate, and the inner (optimistic)
    best validation scores it is compared with."""

    outer_scores: tuple[float, ...]
    inner_scores: tuple[float, ...]
    best_params: tuple[Mapping[str, Any], ...]
    max_gap: float = DEFAULT_MAX_GAP

    @property
    def score(self) -> float:
        """Estimated score of "tune, then refit the best" on new data."""
        return float(np.mean(self.outer_scores))

    @property
    def std(self) -> float:
        return float(np.std(self.outer_scores))

    @property
    def gap(self) -> float:
        """Mean inner best score minus mean outer score (higher-is-better scores)."""
        return float(np.mean(self.inner_scores)) - self.score

    @property
    def overfit(self) -> bool:
        return self.gap > self.max_gap

    def __str__(self) -> str:
        return (f"nested CV: {self.score:.4f} ± {self.std:.4f} on outer folds; the searches "
                f"reported {np.mean(self.inner_scores):.4f} (gap {self.gap:+.4f})")


def _warn_if(overfit: bool, gap: float, max_gap: float, what: str) -> None:
    if overfit:
        warnings.warn(
            f"{what} overstates the score on unseen data by {gap:.4f} (> {max_gap}): the "
            "search has partly fitted the noise of its validation folds. Use more data per "
            "fold, fewer trials or a smaller space, and quote a held-out or nested-CV score.",
            OverfittingWarning, stacklevel=3)


def _holdout(candidates: Sequence[tuple[int, Mapping[str, Any], float]],
             test_score: Callable[[int, Mapping[str, Any]], float], maximize: bool,
             max_gap: float, warn: bool) -> HoldoutReport:
    rows = []
    for i, (rank, params, val) in enumerate(candidates):
        test = float(test_score(i, params))
        if not math.isfinite(test):  # a NaN gap compares False: it would read "not overfit"
            raise ValueError(f"the test score of the configuration ranked {rank} ({dict(params)})"
                             f" is {test}: the gap cannot be measured (did its refit fail?)")
        rows.append(HoldoutRow(rank, dict(params), float(val), test, maximize))
    if not rows:
        raise ValueError("no finished configuration to check")
    report = HoldoutReport(tuple(rows), max_gap)
    if warn:
        _warn_if(report.overfit, report.gap, max_gap, "the best validation score")
    return report


def _check_top_k(top_k: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, Integral) or top_k < 1:
        raise ValueError(f"top_k is how many of the best configurations to score on the "
                         f"held-out data: an int >= 1, got {top_k!r}")


def _metric(search: Any, names: Sequence[str], metric: str | None) -> str:
    """The metric a check scores with, one of ``names`` (``score`` for one metric):
    ``metric``, else the search's ``refit`` metric, else its first, which `HyperdialSearchCV`
    maximises when ``refit`` is a callable or False."""
    if metric is None:
        refit = search.refit
        metric = refit if isinstance(refit, str) and refit in names else names[0]
    if metric not in names:
        raise ValueError(f"metric={metric!r} is not one of the search's metrics {list(names)}")
    return metric


def holdout_check(search: Any, X_test: Any, y_test: Any, *, X_train: Any = None,
                  y_train: Any = None, fit_params: Mapping[str, Any] | None = None,
                  metric: str | None = None, top_k: int = 5, max_gap: float = DEFAULT_MAX_GAP,
                  warn: bool = True) -> HoldoutReport:
    """Score the configuration a fitted scikit-learn search (any ``*SearchCV`` with
    ``cv_results_``) picked, then the next best up to ``top_k``, on a held-out set.

    The picked one is ``search.best_index_`` (what a callable ``refit`` chose, too), scored
    with ``search.best_estimator_``; the others, by rank, are refitted on ``X_train``,
    ``y_train`` (the data the search was fitted on), so those are needed when ``top_k > 1``,
    with ``fit_params`` (the ``sample_weight`` and other estimator ``fit`` arguments the search
    was fitted with: without them a refit is another model than the one the search scored).
    Scores use the search's scorer for ``metric`` (default: the refit metric, else the first).
    """
    _check_top_k(top_k)
    sk_base = require("sklearn.base", "sklearn")
    res = search.cv_results_
    name = _metric(search, [k[len("rank_test_"):] for k in res if k.startswith("rank_test_")],
                   metric)
    scorer = search.scorer_[name] if isinstance(search.scorer_, Mapping) else search.scorer_
    means = np.asarray(res[f"mean_test_{name}"], dtype=float)
    order = [int(i) for i in np.argsort(res[f"rank_test_{name}"], kind="stable")
             if math.isfinite(means[i])]
    picked = getattr(search, "best_index_", None)
    if picked is not None:
        order = [int(picked), *(i for i in order if i != picked)]
    order = order[:top_k]
    fitted = hasattr(search, "best_estimator_")  # then order[0] is its configuration
    if len(order) > fitted and X_train is None:
        raise ValueError("X_train and y_train are needed to refit the configurations other "
                         "than best_estimator_ (top_k > 1, or a search with refit=False)")

    def test_score(i: int, params: Mapping[str, Any]) -> float:
        if i == 0 and fitted:
            model = search.best_estimator_
        else:  # cloned values too: an estimator among them is the search's (or the user's)
            model = sk_base.clone(search.estimator).set_params(
                **sk_base.clone(dict(params), safe=False)).fit(X_train, y_train,
                                                               **(fit_params or {}))
        score = scorer(model, X_test, y_test)  # a callable scoring may return every metric
        return float(score[name] if isinstance(score, Mapping) else score)

    candidates = [(int(res[f"rank_test_{name}"][i]), res["params"][i], means[i])
                  for i in order]
    return _holdout(candidates, test_score, True, max_gap, warn)


def study_holdout_check(study: Study, test_score: Callable[[Mapping[str, Any]], float], *,
                        top_k: int = 5, max_gap: float = DEFAULT_MAX_GAP,
                        warn: bool = True) -> HoldoutReport:
    """The same check for any single-objective study: ``test_score(params)`` refits a
    configuration (as the objective did) and returns its value on held-out data, in the
    study's direction. As `Study.best_trial`, it ranks only feasible trials: those that break
    a constraint (`Trial.set_constraint`, a sampler's ``constraints_func``) are left out."""
    _check_top_k(top_k)
    maximize = study.direction is StudyDirection.MAXIMIZE
    history = study.history()
    if history.completed and not history.feasible:
        raise ValueError("no feasible trial has completed yet (every completed trial breaks a "
                         "constraint): there is no configuration to check")
    done = sorted(((t.value, t.params) for t in history.feasible if t.value is not None),
                  key=lambda vp: -vp[0] if maximize else vp[0])
    candidates = [(rank, params, value)
                  for rank, (value, params) in enumerate(done[:top_k], start=1)]
    return _holdout(candidates, lambda _, params: test_score(params), maximize, max_gap, warn)


def nested_cv(search: Any, X: Any, y: Any = None, *, groups: Any = None, cv: Any = 5,
              fit_params: Mapping[str, Any] | None = None, metric: str | None = None,
              n_jobs: int | None = None, max_gap: float = DEFAULT_MAX_GAP,
              warn: bool = True) -> NestedCVReport:
    """Cross-validate the whole (unfitted) search: on each outer fold it is tuned and refitted
    on the rest, then scored on that fold with its scorer for ``metric`` (default: the refit
    metric, else the first), which its inner best score is read in too.

    ``groups`` go to the outer splitter (a ``GroupKFold``, say) and, for the training rows, to
    the search's ``fit`` with ``fit_params`` (``sample_weight``, ...), so that its own splitter
    gets them as well. A search with a ``study_name`` tunes each fold in a study of its own,
    ``<study_name>-outer<k>``: the folds train on different rows, and a study resumes only a
    search on the same ones. A failing outer fold raises its error.
    """
    validation = require("sklearn.model_selection", "sklearn")
    metrics = require("sklearn.metrics", "sklearn")
    sk_base = require("sklearn.base", "sklearn")
    parallel = require("sklearn.utils.parallel", "sklearn")
    scoring = search.scoring
    several = isinstance(scoring, (Mapping, list, tuple, set))
    name: str | None = None  # a callable's metrics are its dict's keys, known once it scored
    if several or not callable(scoring):
        name = _metric(search, list(scoring) if several else ["score"], metric)
    if several:
        scoring = scoring[name] if isinstance(scoring, Mapping) else name
    scorer = metrics.check_scoring(search.estimator, scoring=scoring)
    outer = validation.check_cv(cv, y, classifier=sk_base.is_classifier(search))
    params = {**(fit_params or {}), **({} if groups is None else {"groups": groups})}
    study_name = getattr(search, "study_name", None)
    folds = parallel.Parallel(n_jobs=n_jobs)(
        parallel.delayed(validation.cross_validate)(
            search if study_name is None
            else sk_base.clone(search).set_params(study_name=f"{study_name}-outer{k}"),
            X, y, cv=[split], scoring=scorer, params=params, error_score="raise",
            return_estimator=True)
        for k, split in enumerate(outer.split(X, y, groups)))
    fitted = [fold["estimator"][0] for fold in folds]
    outer_key = "test_score"  # one scorer for the outer folds
    if name is None:
        name = _metric(search, [k[len("test_"):] for k in folds[0] if k.startswith("test_")],
                       metric)
        outer_key = f"test_{name}"
    report = NestedCVReport(
        tuple(float(fold[outer_key][0]) for fold in folds),
        tuple(float(e.cv_results_[f"mean_test_{name}"][e.best_index_]) for e in fitted),
        tuple(dict(e.best_params_) for e in fitted), max_gap)
    if warn:
        _warn_if(report.overfit, report.gap, max_gap, "the searches' best validation score")
    return report


__all__ = ["HoldoutReport", "HoldoutRow", "NestedCVReport", "OverfittingWarning",
           "holdout_check", "nested_cv", "study_holdout_check"]
