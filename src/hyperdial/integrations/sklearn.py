"""scikit-learn search estimators driven by a hyperdial study.

`HyperdialSearchCV` is a drop-in for `GridSearchCV` / `RandomizedSearchCV`: the same
constructor arguments (``n_iter`` is accepted as another name for ``n_trials``), the same
fitted attributes (``cv_results_``, ``best_estimator_``, ``best_params_``, ``best_score_``,
``best_index_``, ``scorer_``, ``n_splits_``, ``refit_time_``, ``multimetric_``) plus
``study_``. Candidates come from a study through ask/tell, so a model-based sampler learns from
every finished configuration, a pruner can stop a configuration after a few folds, and with a
``storage`` the search resumes by ``study_name`` and can be inspected with the CLI.

`HyperdialHalvingSearchCV` adds successive halving over a resource (``n_samples`` or an
estimator parameter such as ``max_iter``), synchronous by default, pruner-driven when a pruner
(ASHA, for instance) is given.

Both subclass sklearn's `BaseSearchCV` for prediction delegation, tags, scoring and result
formatting, but run their own ``fit`` loop: `BaseSearchCV.fit` evaluates every fold of a
candidate at once, which leaves no room for stopping one after a fold.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import math
import numbers
import re
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, ClassVar

import numpy as np

from hyperdial._optional import require

require("sklearn", "sklearn")

from joblib import effective_n_jobs  # noqa: E402
from scipy.stats import rankdata  # noqa: E402
from sklearn import config_context, get_config  # noqa: E402
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier  # noqa: E402
from sklearn.model_selection import check_cv  # noqa: E402
from sklearn.model_selection._search import BaseSearchCV  # noqa: E402
from sklearn.model_selection._validation import (  # noqa: E402
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import _safe_indexing, check_random_state, resample  # noqa: E402
from sklearn.utils._param_validation import HasMethods, Interval  # noqa: E402
from sklearn.utils.parallel import Parallel, delayed  # noqa: E402
from sklearn.utils.validation import _check_method_params, indexable  # noqa: E402

from hyperdial import samplers as _samplers  # noqa: E402
from hyperdial._encode import n_values  # noqa: E402
from hyperdial.exceptions import SearchExhausted  # noqa: E402
from hyperdial.history import with_running_params  # noqa: E402
from hyperdial.integrations._ensemble import fold_predictions  # noqa: E402
from hyperdial.integrations._sk_space import ParamSpace, build_space  # noqa: E402
from hyperdial.integrations._time_limit import DIED, LATE, SKIPPED, LimitedPool  # noqa: E402
from hyperdial.pruners.base import Pruner  # noqa: E402
from hyperdial.samplers.base import Sampler  # noqa: E402
from hyperdial.samplers.grid import grid_values  # noqa: E402
from hyperdial.space import SearchSpace  # noqa: E402
from hyperdial.study import Study, create_study, load_study  # noqa: E402
from hyperdial.trial import Trial, TrialState  # noqa: E402

CV_ATTR = "sklearn_cv"  # user attribute holding a trial's per-split results (for resuming)
FIT_ERROR_ATTR = "sklearn_fit_error"  # user attribute: a trial's first failed fit, if any
#: The study user attribute that says what its trials' scores mean (`HyperdialSearchCV._meaning`).
SEARCH_ATTR = "sklearn_search"
_RAISED_BY = "_hyperdial_trial"  # on an exception from a fit: the number of its trial
_PREDICTIONS = "hyperdial_predictions"  # a worker's result key for its fold predictions
_OUT_KEYS = ("test_scores", "train_scores", "n_test_samples", "fit_time", "score_time",
             "fit_error")


@dataclass
class _Candidate:
    """One configuration under evaluation: its trial, parameters and per-split results."""

    number: int  # of its trial
    params: dict[str, Any]
    outs: list[dict[str, Any] | None]
    trial: Trial | None = None
    resource: int | None = None
    rung: int = 0
    state: TrialState = TrialState.RUNNING
    #: Each fold's predictions (`FoldPredictions`), when the search keeps them.
    predictions: dict[int, Any] = field(default_factory=dict)

    def value(self, metric: str | None) -> float:
        """Mean of the objective over the splits evaluated so far."""
        return _mean([_objective(o["test_scores"], metric) for o in self.outs if o is not None])

    @property
    def fit_failed(self) -> bool:
        """Whether a fit of this candidate raised (at its current resource)."""
        return any(o is not None and o["fit_error"] for o in self.outs)


@dataclass(frozen=True)
class _Step:
    """What one round evaluates for each live candidate: some splits, at some resource."""

    splits: tuple[int, ...]
    resource: int | None = None


def _jsonable(value: Any) -> Any:
    """Scores and times as plain floats and ints (NaN kept), dicts recursively."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (numbers.Real, np.generic)) and not isinstance(value, bool):
        return float(value) if not isinstance(value, numbers.Integral) else int(value)
    return value


def _objective(scores: float | Mapping[str, float], metric: str | None) -> float:
    """The number the study optimises: the ``metric`` score, else the first one."""
    if isinstance(scores, Mapping):
        return float(scores[metric] if metric is not None and metric in scores
                     else next(iter(scores.values())))
    return float(scores)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _scoring_name(scoring: Any) -> Any:
    """``scoring`` as JSON two fits can compare: a metric's name (a callable's qualified name,
    or its repr for a scorer object), a sorted list of names or a dict of them. A lambda or a
    local function (or a ``make_scorer`` of one) is named by its code as well: two lambdas
    share the name ``<lambda>``."""
    if scoring is None or isinstance(scoring, str):
        return scoring
    if callable(scoring):
        # (a repr's memory addresses, as a functools.partial's, differ in every process)
        name = getattr(scoring, "__qualname__", None) or _ADDRESS.sub("", repr(scoring))
        func = getattr(scoring, "_score_func", scoring)  # what a make_scorer object wraps
        code, qualname = getattr(func, "__code__", None), getattr(func, "__qualname__", "")
        if isinstance(code, CodeType) and ("<lambda>" in qualname or "<locals>" in qualname):
            digest = hashlib.sha256()
            _digest_code(code, digest)
            return f"{name} #{digest.hexdigest()[:12]}"
        return name
    if isinstance(scoring, Mapping):
        return {str(k): _scoring_name(v) for k, v in scoring.items()}
    return sorted(str(s) for s in scoring)


def _digest_code(code: CodeType, digest: Any) -> None:
    """Feed ``digest`` what a function computes: its bytecode, the names it calls and its
    constants, nested functions' code alike (their repr holds an address, new each run)."""
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, CodeType):
            _digest_code(const, digest)
        else:
            digest.update(_stable_repr(const).encode())


def _stable_repr(const: Any) -> str:
    """A code constant's repr, the same in every process: a frozenset (``x in {"a", "b"}``)
    prints in an order that depends on the string hash seed."""
    if isinstance(const, frozenset):
        return f"frozenset({sorted(map(_stable_repr, const))})"
    if isinstance(const, tuple):
        return f"({', '.join(map(_stable_repr, const))},)"
    return repr(const)


#: The most configurations ``param_grid`` (or a timeout alone) runs all of by default.
GRID_LIMIT = 100_000


def _n_configs(space: SearchSpace, limit: int) -> int | None:
    """How many distinct configurations ``space`` holds (values of inactive parameters
    aside), when that is at most ``limit``; None for more (a float without a step: infinitely
    many)."""
    if any(n is None or n > limit for n in map(n_values, space.values())):
        return None
    children = {name: [c for c, cond in space.conditions.items() if cond.parent == name]
                for name in space}

    @functools.cache
    def count(name: str) -> int:  # the configurations of ``name`` and what it conditions
        d = space[name]
        return sum(math.prod(count(c) for c in children[name]
                             if space.conditions[c].holds({name: v}, d))
                   for v in grid_values(name, d).choices)

    total = math.prod(count(name) for name in space if name not in space.conditions)
    return total if total <= limit else None


def _crowded(study: Study, batch: list[_Candidate]) -> bool:
    """Whether a `finite` sampler (brute force) has nothing left but configurations that
    ``batch`` is about to run (this process's running trials, not in the storage yet)."""
    if not (study.sampler.finite and batch):
        return False
    history = study.history()
    live = {c.number: c.trial for c in batch if c.trial is not None}
    running = [(t, live[t.number].params, live[t.number].distributions)
               for t in history.trials if t.number in live]
    return bool(study.sampler.crowded(with_running_params(history, running)))


def _splits_name(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    """The splits' count and a digest of their indices: equal for the same folds only."""
    digest = hashlib.sha256()
    for part in (part for split in splits for part in split):
        digest.update(np.int64(len(part)).tobytes())
        digest.update(np.asarray(part, dtype=np.int64).tobytes())
    return f"{len(splits)} splits #{digest.hexdigest()[:12]}"


def _mean(values: Sequence[float]) -> float:
    """The mean, NaN for no values (where numpy would warn)."""
    return float(np.mean(values)) if values else math.nan


def _rank(means: np.ndarray, pruned: np.ndarray) -> np.ndarray:
    """sklearn's "min" ranks, in three tiers: candidates that ran every fold, then pruned ones
    (stopped for trailing them), then those without a mean score (a failed fit), tied last as
    sklearn ranks NaN; a failed candidate outranked pruned ones and could become the best."""
    missing = np.isnan(means)
    ranks = np.empty(means.size, dtype=np.int32)
    offset = 0
    for mask in (~pruned & ~missing, pruned & ~missing):
        if mask.any():
            ranks[mask] = rankdata(-means[mask], method="min").astype(np.int32) + offset
            offset += int(mask.sum())
    ranks[missing] = offset + 1
    return ranks


class HyperdialSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Cross-validated search over ``param_distributions``, proposed by a hyperdial study.

    Args:
        estimator: the scikit-learn estimator (or pipeline, with ``step__param`` names).
        param_distributions: a dict (or list of dicts) of hyperdial distributions, lists of
            choices or frozen scipy distributions; ``param_grid`` is the same, spelled as
            `GridSearchCV` does.
        n_trials: configurations to evaluate in this ``fit``; ``n_iter`` is the same, spelled
            as `RandomizedSearchCV` does. By default 10, but every configuration of a finite
            space (lists, `Int`, stepped `Float`; up to `GRID_LIMIT`) given as ``param_grid``
            (as `GridSearchCV` runs them) or with a ``timeout``, and no limit for another space
            with a ``timeout``. A finite space with fewer configurations than asked runs each
            once, with a warning, as `RandomizedSearchCV` does.
        timeout: seconds after which no new configuration starts.
        fit_timeout: seconds one fit (a configuration on one split) may take, its scoring
            included; a fit still running then is stopped and scored ``error_score``, which
            fails its configuration (or raises `FitTimeout` with ``error_score="raise"``).
            Fits then run in worker processes (``n_jobs`` of them), the only place one can
            be stopped, and a fit whose worker dies (out of memory, a crash in native code)
            fails the same way (`FitWorkerDied`) instead of ending the search; None (the
            default) runs them as `RandomizedSearchCV` does.
        sampler: what to try next; default `create_study`'s default (`AutoSampler`, or
            `TPESampler` where there is none), seeded from ``random_state``, or
            `BruteForceSampler` (each configuration once, in a random order) when the budget
            covers a finite space.
        pruner: stops a configuration after some folds (it sees the running mean of the
            fold scores at step = fold index); None never prunes.
        storage, study_name: keep the study in a storage (``"sqlite:///search.db"``); a
            second ``fit`` with the same name resumes it, its trials included in
            ``cv_results_``, provided its scoring, refit metric, parameter names and splits
            are the study's (else `ValueError`: the scores would not compare).

    The remaining arguments mean what they mean for `RandomizedSearchCV`. The study maximises
    the refit metric (the first metric when ``refit`` is False or a callable).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list, None],
        "param_grid": [dict, list, None],
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "fit_timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "sampler": [HasMethods(["propose"]), None],
        "pruner": [HasMethods(["decide"]), None],
        "random_state": ["random_state"],
        "storage": [str, HasMethods(["append"]), None],
        "study_name": [str, None],
    }

    #: Whether workers send back each fold's test predictions (`_Candidate.predictions`), for
    #: what is built on top of the search (an ensemble).
    _keep_predictions: ClassVar[bool] = False
    #: Whether this fit's budget covers a finite space (set by `fit`; the default sampler then
    #: tries each configuration once).
    _exhaustive: bool = False

    def __init__(self, estimator: Any, param_distributions: Any = None, *,
                 param_grid: Any = None, n_trials: int | None = None,
                 n_iter: int | None = None, timeout: float | None = None,
                 fit_timeout: float | None = None, sampler: Sampler | None = None,
                 pruner: Pruner | None = None,
                 scoring: Any = None, n_jobs: int | None = None, refit: Any = True,
                 cv: Any = None, verbose: int = 0, pre_dispatch: Any = "2*n_jobs",
                 random_state: Any = None, error_score: Any = np.nan,
                 return_train_score: bool = False, storage: Any = None,
                 study_name: str | None = None) -> None:
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.param_grid = param_grid
        self.n_trials = n_trials
        self.n_iter = n_iter
        self.timeout = timeout
        self.fit_timeout = fit_timeout
        self.sampler = sampler
        self.pruner = pruner
        self.random_state = random_state
        self.storage = storage
        self.study_name = study_name

    # -- the study ----------------------------------------------------------------------------
    @property
    def study_(self) -> Study:
        """The study behind the last ``fit`` (after unpickling: reloaded from its storage
        URL; a pickled search over an in-memory study no longer has it)."""
        study: Study | None = self.__dict__.get("_study")
        if study is None:
            ref = self.__dict__.get("_study_ref")
            if ref is None:
                raise AttributeError("study_ exists after fit (and, once unpickled, only for a "
                                     "search whose storage is a URL)")
            study = self._study = load_study(study_name=ref[1], storage=ref[0])
        return study

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(super().__getstate__())
        state.pop("_study", None)  # a live study holds locks and connections
        return state

    def _open_study(self) -> Study:
        """The study to search in (resumed by name from a storage). Its sampler is a copy of
        ``sampler``; by default `BruteForceSampler` where `fit` found that the budget covers
        the space (``_exhaustive``), else `AutoSampler`."""
        seed = (None if self.random_state is None
                else int(check_random_state(self.random_state).randint(2**31 - 1)))
        if self.sampler is None:
            default = (_samplers.BruteForceSampler if self._exhaustive
                       else getattr(_samplers, "AutoSampler", _samplers.TPESampler))
            sampler: Sampler = default(seed=seed)
        else:
            sampler = copy.deepcopy(self.sampler)  # fit never changes a constructor argument
            if seed is not None:
                sampler.reseed(seed)
        pruner = copy.deepcopy(self.pruner) if self.pruner is not None else None
        study = create_study(storage=self.storage, sampler=sampler, pruner=pruner,
                             study_name=self.study_name, direction="maximize",
                             load_if_exists=self.storage is not None)
        self._study_ref = ((self.storage, study.study_name) if isinstance(self.storage, str)
                           else None)
        return study

    def _space(self) -> ParamSpace:
        """The space searched: ``param_distributions``, or ``param_grid`` (the same)."""
        if (self.param_distributions is None) == (self.param_grid is None):
            raise ValueError("give one of param_distributions and param_grid (the same thing)")
        return build_space(self.param_grid if self.param_distributions is None
                           else self.param_distributions)

    def _budget(self, space: ParamSpace) -> tuple[int | None, bool]:
        """How many configurations this fit evaluates, and whether they are all of the space's
        (then the default sampler tries each once): at most as many as a finite space has,
        with a warning when ``n_trials`` asked for more."""
        if self.n_trials is not None and self.n_iter is not None:
            raise ValueError("give n_trials or n_iter (the same thing), not both")
        given = self.n_trials if self.n_trials is not None else self.n_iter
        exhaustive_sampler = self.sampler is None or self.sampler.finite  # (it can end)
        if given is None and exhaustive_sampler and (self.param_grid is not None
                                                     or self.timeout is not None):
            # `GridSearchCV`'s spelling runs every configuration of a finite grid, as it does;
            # a timeout alone stops once each has run (it re-ran them until the time was up)
            size = _n_configs(space.space, GRID_LIMIT)
            if size is not None:
                return size, True
        budget = 10 if given is None and self.timeout is None else given
        if budget is None:
            return None, False
        size = _n_configs(space.space, budget)
        if size is None or size == budget:
            return budget, size is not None
        if given is not None:
            name = "n_iter" if self.n_iter is not None else "n_trials"
            warnings.warn(f"The total space of parameters {size} is smaller than "
                          f"{name}={given}. Running {size} trials.", UserWarning, stacklevel=4)
        return size, True

    # -- what a round evaluates (the halving subclass overrides these) ----------------------------
    def _steps(self, n_splits: int, max_train: int) -> list[_Step]:
        """All folds at once, or one fold per step when a pruner may stop a candidate."""
        if self.pruner is None:
            return [_Step(tuple(range(n_splits)))]
        return [_Step((k,)) for k in range(n_splits)]

    def _batch_size(self) -> int:
        return max(1, int(effective_n_jobs(self.n_jobs)))

    def _resource_param(self) -> str | None:
        """The estimator parameter that carries the resource (None: no such parameter)."""
        return None

    def _after_search(self, cands: list[_Candidate], runner: _Runner) -> None:
        """What a subclass does with every candidate (earlier fits' included) once the
        search is over, its runner still open: nothing here."""

    def _survivors(self, live: list[_Candidate], values: list[float], step: int,
                   last: bool, entered: int) -> list[bool]:
        """Which live candidates go on after ``step`` (``entered`` of them began it): the
        pruner's call for each."""
        if self.pruner is None:
            return [True] * len(live)
        keep = []
        for cand, value in zip(live, values, strict=True):
            assert cand.trial is not None
            cand.trial.report(value, step=step)
            keep.append(last or not cand.trial.should_prune())
        return keep

    # -- fit ----------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)  # type: ignore[untyped-decorator]
    def fit(self, X: Any, y: Any = None, **params: Any) -> HyperdialSearchCV:
        """Search, then refit the best configuration on all of ``X`` (unless ``refit=False``).

        ``params`` go to the estimator's ``fit``, the scorer and the splitter, as for
        `GridSearchCV`.
        """
        space = self._space()
        budget, self._exhaustive = self._budget(space)  # (read by _open_study)
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))  # fixed for every candidate
        self.n_splits_ = len(splits)
        self._steps(self.n_splits_, min(len(train) for train, _ in splits))  # (its checks,
        # before a study opens: a refused setting left a bracket of FAIL trials behind)
        base = clone(self.estimator)
        study = self._open_study()
        self._study = study
        metric = self.refit if isinstance(self.refit, str) else None
        self._check_study(study, self._meaning(space, scorers, metric, splits))
        runner = _Runner(self, base, X, y, splits, scorers, routed, metric)
        cands = self._resume(study, space)
        with runner:
            for batch in self._batches(study, space, budget):
                try:
                    self._run_batch(batch, runner)
                except BaseException as exc:  # error_score="raise", Ctrl-C: no trial RUNNING
                    self._abort(batch, exc, metric)
                    raise
                cands.extend(batch)
            self._after_search(cands, runner)
        self._finish(cands, refit_metric, scorers, base, X, y, routed)
        return self

    def _meaning(self, space: ParamSpace, scorers: Any, metric: str | None,
                 splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        """What this search's trials hold (JSON): scores of ``scoring``, the study's value being
        the mean of ``objective``, for these parameters, on these splits."""
        first = next(iter(getattr(scorers, "_scorers", {"score": None})))  # by name, in order
        resource = self._resource_param()
        return {"scoring": _scoring_name(self.scoring),
                "objective": first if isinstance(self.scoring, str | None) else metric or first,
                "params": sorted([*space.space, *([resource] if resource else [])]),
                "splits": _splits_name(splits)}

    def _check_study(self, study: Study, meaning: dict[str, Any]) -> None:
        """Keep ``meaning`` with a new study; refuse to resume one whose trials mean something
        else, which would mix two kinds of score in one column and one objective."""
        stored = study.user_attrs.get(SEARCH_ATTR)
        if stored is None:
            study.set_user_attr(SEARCH_ATTR, meaning)
            return
        diffs = [f"{key}={stored.get(key)!r}, not {value!r}" for key, value in meaning.items()
                 if stored.get(key) != value]
        if diffs:
            raise ValueError(
                f"study {study.study_name!r} holds trials of a search with {'; '.join(diffs)}: "
                "their scores would not compare with this search's. Give a new study_name, or "
                "resume with the settings (and data) the study was searched with")

    def _batches(self, study: Study, space: ParamSpace, budget: int | None
                 ) -> Iterator[list[_Candidate]]:
        """Batches of fresh candidates until ``budget`` or ``timeout`` (the first always runs),
        or until a finite sampler has no configuration left."""
        start, done = time.monotonic(), 0
        while budget is None or done < budget:
            if done and self.timeout is not None and time.monotonic() - start >= self.timeout:
                return
            n = self._batch_size() if budget is None else min(self._batch_size(), budget - done)
            batch: list[_Candidate] = []
            for _ in range(n):
                if _crowded(study, batch):  # a finite sampler could only repeat one of them
                    break
                try:
                    trial = study.ask()
                except SearchExhausted:  # a finite sampler has tried every configuration
                    break
                values = space.decode(trial.suggest_space(space.space))
                batch.append(_Candidate(trial.number, values, [None] * self.n_splits_, trial))
            if batch:
                yield batch
            if len(batch) < n:
                return
            done += n

    def _run_batch(self, batch: list[_Candidate], runner: _Runner) -> None:
        """Evaluate ``batch`` step by step, dropping the candidates that stop, then tell.

        A candidate whose mean score is already non-finite (a fold failed, with a NaN
        ``error_score``) is dropped too when no later step changes its resource, or at once
        when a fit raised: its other splits cannot save it, so it fails after one failed fit
        rather than after all (at a halving rung it was dropped as pruned, a loser)."""
        steps = self._steps(self.n_splits_, runner.max_train)
        live = list(batch)
        for i, step in enumerate(steps):
            for cand in live:
                if step.resource != cand.resource:  # a new rung: earlier splits are stale
                    cand.outs, cand.resource, cand.rung = [None] * self.n_splits_, step.resource, i
                    cand.predictions = {}
                    if (name := self._resource_param()) is not None:
                        cand.params[name] = step.resource
            tasks = [(cand, k) for cand in live for k in step.splits]
            for (cand, k), out in zip(tasks, runner.evaluate(tasks, step.resource), strict=True):
                if out is None:  # not run: a fit of its candidate failed before
                    continue
                predicted = out.pop(_PREDICTIONS, None)
                if predicted is not None:
                    cand.predictions[k] = predicted
                cand.outs[k] = out
            final = all(later.resource == step.resource for later in steps[i + 1:])
            entered = len(live)  # (halving keeps a share of the rung, failed ones counted)
            live = [c for c in live
                    if math.isfinite(c.value(runner.metric)) or not (final or c.fit_failed)]
            if not live:
                break
            values = [c.value(runner.metric) for c in live]
            at = i if step.resource is None else step.resource  # what pruners call a step
            keep = self._survivors(live, values, at, last=i == len(steps) - 1,
                                   entered=entered)
            for cand, kept in zip(live, keep, strict=True):
                if not kept:
                    cand.state = TrialState.PRUNED
            live = [c for c, kept in zip(live, keep, strict=True) if kept]
            if not live:
                break
        for cand in batch:
            self._tell(cand, runner.metric)

    def _tell(self, cand: _Candidate, metric: str | None) -> None:
        assert cand.trial is not None
        study = self._study
        cand.trial.set_user_attr(CV_ATTR, {
            "outs": [None if o is None else _jsonable({k: o[k] for k in _OUT_KEYS if k in o})
                     for o in cand.outs],
            "resource": cand.resource, "rung": cand.rung})
        errors = [o["fit_error"] for o in cand.outs if o is not None and o["fit_error"]]
        failure = f"a fit failed: {errors[0].strip().splitlines()[-1]}" if errors else None
        if failure is not None:  # kept even when a numeric error_score completes the trial
            cand.trial.set_user_attr(FIT_ERROR_ATTR, failure)
        if cand.state is TrialState.PRUNED:
            study.tell(cand.trial, state=TrialState.PRUNED)
        else:
            value = cand.value(metric)
            if math.isfinite(value):
                cand.state = TrialState.COMPLETE
                study.tell(cand.trial, value)
            else:
                cand.state = TrialState.FAIL
                why = failure or "a score failed"
                study.tell(cand.trial, state=TrialState.FAIL,
                           fail_reason=f"mean test score is {value} ({why})")
        if self.verbose > 0:
            print(f"[{type(self).__name__}] trial {cand.trial.number} {cand.state.value}: "
                  f"{cand.params}")
        cand.trial = None  # told

    def _abort(self, batch: list[_Candidate], exc: BaseException, metric: str | None) -> None:
        """Tell the trials of a batch that ``exc`` stopped: the one whose fit raised it FAIL
        with it as the reason, a pruned one PRUNED, and the others FAIL as unfinished (their
        fits in flight are lost with the exception, as in `GridSearchCV`)."""
        culprit = getattr(exc, _RAISED_BY, None)
        for cand in batch:
            if cand.trial is None:  # told
                continue
            if cand.state is TrialState.PRUNED:
                self._tell(cand, metric)
                continue
            if cand.number == culprit:
                why = f"a fit raised {exc!r} (error_score='raise')"
            elif culprit is not None:
                why = (f"unfinished: trial {culprit}'s fit raised {type(exc).__name__} "
                       "(error_score='raise'), which stopped the search")
            else:
                why = f"unfinished: the search stopped on {exc!r}"
            cand.state = TrialState.FAIL
            self._study.tell(cand.trial, state=TrialState.FAIL, fail_reason=why)
            cand.trial = None

    def _resume(self, study: Study, space: ParamSpace) -> list[_Candidate]:
        """Candidates of earlier fits of a stored study, rebuilt from their trials."""
        out = []
        for t in study.trials:
            saved = t.user_attrs.get(CV_ATTR)
            if (t.state not in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
                    or not saved or len(saved["outs"]) != self.n_splits_):
                continue
            params = space.decode(t.params)
            if (name := self._resource_param()) is not None:
                params[name] = saved["resource"]
            out.append(_Candidate(t.number, params, list(saved["outs"]), None,
                                  saved["resource"], saved["rung"], t.state))
        return out

    def _finish(self, cands: list[_Candidate], refit_metric: Any, scorers: Any, base: Any,
                X: Any, y: Any, routed: Any) -> None:
        """Fill the fitted attributes from every candidate, and refit the best one."""
        real = [o for c in cands for o in c.outs if o is not None]
        if callable(self.scoring):
            _insert_error_scores(real, self.error_score)
        _warn_or_raise_about_fit_failures(real, self.error_score)
        first = real[0]["test_scores"]
        self.multimetric_ = isinstance(first, Mapping)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        self.cv_results_ = self._results(cands, first, real[0])
        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric,
                                                           self.cv_results_))
            if not callable(self.refit):
                self.best_score_ = float(
                    self.cv_results_[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = self.cv_results_["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
            start = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **routed.estimator.fit)
            else:
                self.best_estimator_.fit(X, **routed.estimator.fit)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)

    def _results(self, cands: list[_Candidate], first: Any, example: dict[str, Any]
                 ) -> dict[str, Any]:
        """``cv_results_`` as `BaseSearchCV` formats it, plus ``state`` and
        ``n_splits_evaluated``; a pruned candidate's skipped splits are NaN, its means are
        over the splits it ran, and it ranks after every other candidate."""
        missing = (math.nan if not isinstance(first, Mapping)
                   else dict.fromkeys(first, math.nan))
        blank = {**example, "fit_time": math.nan, "score_time": math.nan, "fit_error": None}
        blank.update({k: missing for k in ("test_scores", "train_scores") if k in example})
        pruned = np.array([c.state is TrialState.PRUNED for c in cands])
        outs = [o if o is not None else blank for c in cands for o in c.outs]
        with warnings.catch_warnings():
            if pruned.any():  # their NaN splits; the fix-up below warns for the others
                warnings.filterwarnings("ignore", "One or more of the", UserWarning)
            results: dict[str, Any] = self._format_results(
                [c.params for c in cands], self.n_splits_, outs, self._more_results(cands))
        if not pruned.any():
            return results
        for key in [k for k in results if k.startswith("mean_")]:
            name = key[len("mean_"):]
            grid = self._per_split(results, name, cands)[pruned]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
                results[key][pruned] = np.nanmean(grid, axis=1)
                results[f"std_{name}"][pruned] = np.nanstd(grid, axis=1)
            if f"rank_{name}" in results:
                results[f"rank_{name}"] = _rank(results[key], pruned)
            others = results[key][~pruned]
            if name.startswith(("test_", "train_")) and not np.isfinite(others).all():
                warnings.warn(f"One or more of the {name.split('_')[0]} scores are "
                              f"non-finite: {others}", UserWarning, stacklevel=3)
        return results

    @staticmethod
    def _per_split(results: Mapping[str, Any], name: str, cands: list[_Candidate]
                   ) -> np.ndarray:
        """A (candidates, splits) array of ``name``: from split columns or the raw outs."""
        n = len(cands[0].outs)
        if f"split0_{name}" in results:
            return np.column_stack([results[f"split{k}_{name}"] for k in range(n)])
        return np.array([[math.nan if o is None else o[name] for o in c.outs] for c in cands],
                        dtype=float)

    def _more_results(self, cands: list[_Candidate]) -> dict[str, list[Any]]:
        return {"state": [c.state.value for c in cands],
                "n_splits_evaluated": [sum(o is not None for o in c.outs) for c in cands]}


class _Runner:
    """Fits and scores (candidate, split) pairs with `_fit_and_score`, in parallel; with a
    ``fit_timeout``, in worker processes of its own until it is closed (a context manager)."""

    def __init__(self, search: HyperdialSearchCV, base: Any, X: Any, y: Any,
                 splits: list[tuple[np.ndarray, np.ndarray]], scorers: Any, routed: Any,
                 metric: str | None) -> None:
        self.search, self.base, self.X, self.y, self.splits = search, base, X, y, splits
        self.metric = metric
        self.max_train = min(len(train) for train, _ in splits)
        self.seed = check_random_state(search.random_state).randint(2**31 - 1)
        self.kwargs = dict(scorer=scorers, fit_params=routed.estimator.fit,
                           score_params=routed.scorer.score,
                           return_train_score=search.return_train_score,
                           return_n_test_samples=True, return_times=True,
                           return_parameters=False, error_score=search.error_score,
                           verbose=search.verbose)
        self.pool = (None if search.fit_timeout is None
                     else LimitedPool(effective_n_jobs(search.n_jobs), search.fit_timeout))

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.close()

    def _train(self, k: int, resource: int | None) -> np.ndarray:
        """Split ``k``'s training indices, subsampled (stratified for a classifier) to
        ``resource`` samples when the resource is ``n_samples``."""
        train = self.splits[k][0]
        if resource is None or self.search._resource_param() is not None \
                or resource >= len(train):
            return train
        classify = is_classifier(self.base) and self.y is not None
        strata = _safe_indexing(self.y, train) if classify else None
        try:
            sub: np.ndarray = resample(train, replace=False, n_samples=resource,
                                       stratify=strata, random_state=self.seed + k)
        except ValueError:  # too few samples of some class to stratify
            sub = resample(train, replace=False, n_samples=resource, random_state=self.seed + k)
        return sub

    def _hopeless(self, out: Any) -> bool:
        """Whether a fold's outcome fails its candidate whatever its other folds give: a
        non-finite score, or a fit stopped or lost while ``error_score`` is NaN (it scores
        that) or ``"raise"``."""
        if out is LATE or out is DIED:
            error_score = self.search.error_score
            return isinstance(error_score, str) or not math.isfinite(error_score)
        return not math.isfinite(_objective(out["test_scores"], self.metric))

    def evaluate(self, tasks: list[tuple[_Candidate, int]], resource: int | None
                 ) -> list[dict[str, Any] | None]:
        """Each (candidate, split) task's `_fit_and_score` result. With a ``fit_timeout``, a
        candidate's fits not yet started when one of its fits fails for good (see
        `_hopeless`) are not run: None in their place."""
        search = self.search
        fit = _fit_score_predict if search._keep_predictions else _fit_and_score
        folds = [dict(train=self._train(k, resource), test=self.splits[k][1],
                      split_progress=(k, len(self.splits)), **self.kwargs) for _, k in tasks]
        if self.pool is None:
            out: list[dict[str, Any] | None] = Parallel(
                n_jobs=search.n_jobs, pre_dispatch=search.pre_dispatch)(
                delayed(_blamed)(cand.number, fit, clone(self.base), self.X, self.y,
                                 parameters=cand.params, **fold)
                for (cand, _), fold in zip(tasks, folds, strict=True))
            return out
        config = get_config()
        done = self.pool.run([(_configured, (config, _blamed, cand.number, fit, clone(self.base),
                                             self.X, self.y),
                               dict(parameters=cand.params, **fold))
                              for (cand, _), fold in zip(tasks, folds, strict=True)],
                             groups=[cand.number for cand, _ in tasks],
                             gives_up=self._hopeless)
        # A fit stopped or lost is recorded as sklearn records a failed one: by failing in its
        # place (an estimator whose fit raises why).
        errors = {LATE: FitTimeout(f"the fit ran past fit_timeout={self.pool.limit:g} s and "
                                   "was stopped"),
                  DIED: FitWorkerDied("the fit's worker process died under it (killed, out "
                                      "of memory, or a crash in native code)")}
        return [_blamed(cand.number, _fit_and_score, _Failing(errors[out]), self.X, self.y,
                        parameters=None, **fold)
                if out is LATE or out is DIED else None if out is SKIPPED else out
                for (cand, _), out, fold in zip(tasks, done, folds, strict=True)]


def _blamed(number: int, func: Any, *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` for trial ``number``, which an exception it raises names
    (under `_RAISED_BY`): with ``error_score="raise"`` the search learns whose fit raised."""
    try:
        return func(*args, **kwargs)
    except Exception as exc:
        with contextlib.suppress(AttributeError):  # a frozen exception stays unblamed
            setattr(exc, _RAISED_BY, number)
        raise


def _configured(config: dict[str, Any], func: Any, *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` under the caller's scikit-learn configuration (a worker
    process does not inherit it)."""
    with config_context(**config):
        return func(*args, **kwargs)


class FitTimeout(TimeoutError):
    """A fit ran past the search's ``fit_timeout`` and was stopped."""


class FitWorkerDied(RuntimeError):
    """A fit's worker process died under it (with ``fit_timeout``, fits run in workers)."""


class _Failing(BaseEstimator):  # type: ignore[misc]
    """Stands in for a fit that was stopped or lost: fitting it raises ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def fit(self, X: Any, y: Any = None, **params: Any) -> _Failing:
        assert self.error is not None
        raise self.error


def _fit_score_predict(estimator: Any, X: Any, y: Any, *, test: np.ndarray,
                       **kwargs: Any) -> dict[str, Any]:
    """`_fit_and_score`, plus the fitted model's predictions for the test rows (under
    `_PREDICTIONS`, when the fit succeeded); the model itself stays in the worker. A model
    that fitted but cannot predict those rows (a kNN with more neighbours than training
    rows, whose scoring sklearn has set to ``error_score`` already) fails the fold as a
    failed fit does: its error under ``fit_error``, its test scores ``error_score`` (raised
    with ``error_score="raise"``)."""
    out: dict[str, Any] = _fit_and_score(estimator, X, y, test=test, return_estimator=True,
                                         **kwargs)
    model = out.pop("estimator")
    if not out["fit_error"]:
        try:
            out[_PREDICTIONS] = fold_predictions(model, _safe_indexing(X, test), test)
        except Exception:
            error_score = kwargs.get("error_score", np.nan)
            if isinstance(error_score, str):  # "raise"
                raise
            out["fit_error"] = "predicting the test fold failed:\n" + traceback.format_exc()
            scores = out["test_scores"]
            out["test_scores"] = (dict.fromkeys(scores, error_score)
                                  if isinstance(scores, Mapping) else error_score)
    return out


class HyperdialHalvingSearchCV(HyperdialSearchCV):
    """`HyperdialSearchCV` with successive halving over a resource.

    Candidates come in brackets of ``n_candidates``. A bracket is cross-validated at
    ``min_resources``, then the best ``1 / factor`` of it at ``factor`` times more, and so on
    while that is at most ``max_resources`` (the rungs of `HalvingRandomSearchCV`), the last
    rung raised to ``max_resources`` so that the survivors are scored on all of it (or, when
    ``min_resources`` is the only such rung, followed by one at ``max_resources``); unlike
    sklearn's, each bracket's candidates are proposed by the study, which learns from the
    brackets before. With a ``pruner`` the pruner decides instead, each candidate on its own;
    the step it sees is the rung's resource, so
    ``SuccessiveHalvingPruner(min_resource=min_resources, reduction_factor=factor)`` gives
    asynchronous (ASHA) promotions.

    Args:
        resource: ``"n_samples"`` (training samples of each split, drawn stratified for a
            classifier) or the name of an integer estimator parameter (``"max_iter"``,
            ``"n_estimators"``, ``"mlp__max_iter"``).
        min_resources, max_resources: the first and last rung; ``max_resources`` defaults to
            the smallest training split for ``n_samples`` and is required otherwise;
            ``min_resources`` defaults to ``max_resources // factor**2`` (three rungs) and
            is capped at ``max_resources``.
        factor: the ratio of resources between rungs, and the inverse of the share kept.
        n_candidates: bracket size (default ``factor**2``).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **HyperdialSearchCV._parameter_constraints,
        "resource": [str],
        "min_resources": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_resources": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "factor": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(self, estimator: Any, param_distributions: Any = None, *,
                 param_grid: Any = None, resource: str = "n_samples",
                 min_resources: int | None = None, max_resources: int | None = None,
                 factor: int = 3, n_candidates: int | None = None, n_trials: int | None = None,
                 n_iter: int | None = None, timeout: float | None = None,
                 fit_timeout: float | None = None, sampler: Sampler | None = None,
                 pruner: Pruner | None = None, scoring: Any = None, n_jobs: int | None = None,
                 refit: Any = True, cv: Any = None, verbose: int = 0,
                 pre_dispatch: Any = "2*n_jobs", random_state: Any = None,
                 error_score: Any = np.nan, return_train_score: bool = False,
                 storage: Any = None, study_name: str | None = None) -> None:
        super().__init__(estimator, param_distributions, param_grid=param_grid,
                         n_trials=n_trials, n_iter=n_iter,
                         timeout=timeout, fit_timeout=fit_timeout, sampler=sampler,
                         pruner=pruner, scoring=scoring,
                         n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, random_state=random_state,
                         error_score=error_score, return_train_score=return_train_score,
                         storage=storage, study_name=study_name)
        self.resource = resource
        self.min_resources = min_resources
        self.max_resources = max_resources
        self.factor = factor
        self.n_candidates = n_candidates

    def _resource_param(self) -> str | None:
        return None if self.resource == "n_samples" else self.resource

    def _space(self) -> ParamSpace:
        """The space searched, which must not hold the resource: the rungs would override
        the value the study records (scikit-learn refuses it alike)."""
        space = super()._space()
        name = self._resource_param()
        if name is not None and any(n == name or n.endswith(f":{name}") for n in space.space):
            raise ValueError(f"Cannot use parameter {name} as the resource since it is part "
                             "of the searched parameters.")
        return space

    def _batch_size(self) -> int:
        return self.n_candidates if self.n_candidates is not None else self.factor ** 2

    def _steps(self, n_splits: int, max_train: int) -> list[_Step]:
        """One step per rung, every split at that rung's resource."""
        high = self.max_resources
        if high is None:
            if self.resource != "n_samples":
                raise ValueError(f"max_resources is needed for resource={self.resource!r}")
            high = max_train
        elif self.resource == "n_samples" and high > max_train:
            raise ValueError(f"max_resources={high} is more than the {max_train} training "
                             "samples of the smallest split: every rung above it would train "
                             "on the same samples")
        low = min(high, self.min_resources if self.min_resources is not None
                  else max(1, high // self.factor ** 2))  # tiny data: a single rung
        rungs = [low]
        while rungs[-1] * self.factor <= high:
            rungs.append(rungs[-1] * self.factor)
        if len(rungs) == 1 and low < high:
            rungs.append(high)  # min_resources stays the first rung, however near the last
        # The last rung takes all of the resource: it is less than a factor short of it, and
        # a rung of its own there would cross-validate the survivors twice at almost the same
        # (the largest) size.
        rungs[-1] = high
        return [_Step(tuple(range(n_splits)), r) for r in rungs]

    def _survivors(self, live: list[_Candidate], values: list[float], step: int,
                   last: bool, entered: int) -> list[bool]:
        """The pruner's call when there is one; otherwise the best ``1 / factor`` of the
        ``entered`` candidates of the rung (of those ``live``: the failed ones count, as
        scikit-learn counts them)."""
        if self.pruner is not None or last:
            return super()._survivors(live, values, step, last, entered)
        for cand, value in zip(live, values, strict=True):
            assert cand.trial is not None
            cand.trial.report(value, step=step)
        n_keep = max(1, math.ceil(entered / self.factor))
        order = np.argsort(-np.nan_to_num(np.asarray(values), nan=-np.inf), kind="stable")
        keep = np.zeros(len(live), dtype=bool)
        keep[order[:n_keep]] = True
        return [bool(k) for k in keep]

    def _more_results(self, cands: list[_Candidate]) -> dict[str, list[Any]]:
        return {**super()._more_results(cands), "iter": [c.rung for c in cands],
                "n_resources": [c.resource for c in cands]}

    def _after_search(self, cands: list[_Candidate], runner: _Runner) -> None:
        """scikit-learn's halving attributes, each rung's figures summed over the brackets:
        ``n_resources_`` (the resource of each rung), ``n_candidates_`` (the configurations
        evaluated there), ``n_iterations_``, ``min_resources_``, ``max_resources_`` and
        ``n_remaining_candidates_`` (those of the last rung)."""
        resources = [int(step.resource or 0)
                     for step in self._steps(self.n_splits_, runner.max_train)]
        self.n_resources_ = resources
        self.n_candidates_ = [sum(c.rung >= i for c in cands) for i in range(len(resources))]
        self.n_iterations_ = len(resources)
        self.min_resources_, self.max_resources_ = resources[0], resources[-1]
        self.n_remaining_candidates_ = self.n_candidates_[-1]


__all__ = ["FitTimeout", "FitWorkerDied", "HyperdialHalvingSearchCV", "HyperdialSearchCV"]
