"""HyperdialSearchCV and HyperdialHalvingSearchCV as scikit-learn estimators."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier, SGDClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import hyperdial as hd
from hyperdial.integrations._sk_space import GRID, build_space
from hyperdial.integrations.sklearn import (
    FitTimeout,
    FitWorkerDied,
    HyperdialHalvingSearchCV,
    HyperdialSearchCV,
    _scoring_name,
)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=150, n_features=8, n_informative=4, random_state=0)


_REFERENCE: dict[str, set[str]] = {}  # GridSearchCV's failures per base estimator


def _failed_checks(estimator: Any) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, on_skip=None)
    return {r["check_name"] for r in results if r["status"] == "failed"}


@pytest.mark.parametrize(("cls", "base"), [(HyperdialSearchCV, RidgeClassifier()),
                                           (HyperdialSearchCV, Ridge()),
                                           (HyperdialHalvingSearchCV, RidgeClassifier())],
                         ids=["classifier", "regressor", "halving-classifier"])
def test_passes_every_estimator_check_that_grid_search_passes(cls: type, base: Any) -> None:
    grid = {"alpha": [0.1, 1.0]}
    name = type(base).__name__
    if name not in _REFERENCE:
        _REFERENCE[name] = _failed_checks(GridSearchCV(base, grid, cv=2))
    ours = _failed_checks(cls(base, grid, n_trials=2, cv=2, random_state=0))
    assert ours <= _REFERENCE[name], f"fails where GridSearchCV passes: {ours - _REFERENCE[name]}"


def _user_code(search_cls: type, X: np.ndarray, y: np.ndarray, **budget: Any) -> Any:
    """What a user writes for RandomizedSearchCV; only the class is swapped."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    search = search_cls(pipe, {"sgdclassifier__alpha": stats.loguniform(1e-5, 1e-1),
                               "sgdclassifier__loss": ["hinge", "log_loss"]},
                        cv=3, random_state=0, scoring="accuracy", **budget)
    search.fit(X_train, y_train)
    assert 0.5 < search.score(X_test, y_test) <= 1.0
    assert search.predict(X_test).shape == y_test.shape
    assert set(search.best_params_) == {"sgdclassifier__alpha", "sgdclassifier__loss"}
    assert search.cv_results_["mean_test_score"].shape == (budget.get("n_iter", 10),)
    return search


def test_drop_in_for_randomized_and_grid_search(data: tuple[np.ndarray, np.ndarray]) -> None:
    _user_code(RandomizedSearchCV, *data, n_iter=6)
    search = _user_code(HyperdialSearchCV, *data, n_iter=6)
    assert len(search.study_.trials) == 6
    X, y = data
    grid = {"alpha": [0.01, 0.1, 1.0]}
    for cls in (GridSearchCV, HyperdialSearchCV):
        fitted = cls(RidgeClassifier(), grid, cv=3).fit(X, y)  # positional grid, as users write
        assert fitted.best_params_["alpha"] in grid["alpha"]
        assert {"mean_test_score", "rank_test_score", "params"} <= set(fitted.cv_results_)


def test_nested_cross_validation_and_clone(data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(RidgeClassifier(), {"alpha": hd.Float(1e-3, 10.0, log=True)},
                               n_trials=3, cv=2, random_state=0)
    scores = cross_val_score(search, *data, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    copy = clone(search).set_params(n_trials=2, estimator__fit_intercept=False)
    assert copy.get_params()["estimator__fit_intercept"] is False
    assert search.get_params()["estimator__fit_intercept"] is True
    # a built sampler and pruner clone too (a sampler deep-copies without its locks)
    built = search.set_params(sampler=hd.samplers.TPESampler(seed=0, n_startup_trials=2),
                              pruner=hd.pruners.MedianPruner())
    assert cross_val_score(built, *data, cv=2).shape == (2,)
    assert repr(clone(built).sampler) == repr(built.sampler)


class _Flaky(ClassifierMixin, BaseEstimator):
    """A classifier whose fit raises when ``fail`` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Flaky:
        if self.fail:
            raise ValueError("this configuration cannot be fitted")
        self.classes_ = np.unique(y)
        self.majority_ = np.bincount(y).argmax()
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.majority_)


def test_error_score_nan_fails_trials_and_raise_propagates(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(_Flaky(), {"fail": [True, False]}, n_trials=2, cv=2)
    with pytest.warns(FitFailedWarning), pytest.warns(UserWarning, match="non-finite"):
        search.fit(*data)
    failed = np.isnan(search.cv_results_["mean_test_score"])
    assert failed.sum() == 1  # each configuration once
    assert search.best_params_ == {"fail": False}
    states = [t.state for t in search.study_.trials]
    assert states.count(hd.TrialState.FAIL) == failed.sum()
    raising = HyperdialSearchCV(_Flaky(), {"fail": [True]}, n_trials=1, cv=2,
                                error_score="raise")
    with pytest.raises(ValueError, match="cannot be fitted"):
        raising.fit(*data)
    assert [t.state for t in raising.study_.trials] == [hd.TrialState.FAIL]


def test_error_score_raise_fails_only_the_trial_whose_fit_raised(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(LogisticRegression(max_iter=500), {"C": [1.0, -1.0]}, n_trials=2,
                               cv=2, n_jobs=2, error_score="raise", random_state=3)
    with pytest.raises(ValueError, match="'C' parameter"):
        search.fit(*data)
    by_c = {t.params["C"]: t for t in search.study_.trials}  # one batch of two, and it raised
    assert set(by_c) == {1.0, -1.0} and len(search.study_.trials) == 2
    bad, good = by_c[-1.0], by_c[1.0]
    assert bad.state is good.state is hd.TrialState.FAIL
    assert "InvalidParameterError" in bad.fail_reason and "-1.0" in bad.fail_reason
    # C=1.0 fitted fine, but its fits were lost with the exception: unfinished, not C=-1.0's error
    assert good.fail_reason.startswith(f"unfinished: trial {bad.number}'s fit raised")
    assert "-1.0" not in good.fail_reason


def test_a_numeric_error_score_completes_the_trial_and_keeps_the_failure(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(_Flaky(), {"fail": [True, False]}, n_trials=2, cv=2,
                               error_score=0.0)
    with pytest.warns(FitFailedWarning):
        search.fit(*data)
    trials = search.study_.trials
    failed = [t for t in trials if t.params["fail"]]
    assert len(failed) == 1
    for trial in failed:  # scored error_score, as in scikit-learn, and the study goes on
        assert trial.state is hd.TrialState.COMPLETE and trial.value == 0.0
        assert trial.fail_reason is None
        assert "cannot be fitted" in trial.user_attrs["sklearn_fit_error"]
    assert all("sklearn_fit_error" not in t.user_attrs for t in trials if not t.params["fail"])


def test_multi_metric_refit_by_name_and_by_callable(data: tuple[np.ndarray, np.ndarray]) -> None:
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    space = {"alpha": hd.Float(1e-3, 1e3, log=True)}
    search = HyperdialSearchCV(RidgeClassifier(), space, scoring=scoring, refit="bal",
                               n_trials=5, cv=3, random_state=0).fit(*data)
    res = search.cv_results_
    assert search.multimetric_ and set(search.scorer_) == {"acc", "bal"}
    assert search.best_index_ == int(np.argmin(res["rank_test_bal"]))
    assert search.best_score_ == pytest.approx(res["mean_test_bal"][search.best_index_])
    values = [t.value for t in search.study_.trials]
    np.testing.assert_allclose(values, res["mean_test_bal"])  # the study optimises the refit

    def lowest_alpha(results: dict[str, Any]) -> int:
        return int(np.argmin([p["alpha"] for p in results["params"]]))

    by_callable = HyperdialSearchCV(RidgeClassifier(), space, scoring=scoring,
                                    refit=lowest_alpha, n_trials=4, cv=2,
                                    random_state=0).fit(*data)
    assert by_callable.best_index_ == lowest_alpha(by_callable.cv_results_)
    assert not hasattr(by_callable, "best_score_")
    with pytest.raises(ValueError, match="multi-metric"):
        HyperdialSearchCV(RidgeClassifier(), space, scoring=scoring, n_trials=2).fit(*data)


def test_resumes_from_a_sqlite_file(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    kw: dict[str, Any] = {"cv": 3, "random_state": 0, "storage": url, "study_name": "ridge"}
    space = {"alpha": stats.loguniform(1e-3, 1e3)}
    first = HyperdialSearchCV(RidgeClassifier(), space, n_trials=4, **kw).fit(*data)
    second = HyperdialSearchCV(RidgeClassifier(), space, n_trials=3, **kw).fit(*data)
    res = second.cv_results_
    assert len(res["params"]) == 7
    np.testing.assert_allclose(res["split1_test_score"][:4],
                               first.cv_results_["split1_test_score"])
    assert len(hd.load_study(study_name="ridge", storage=url).trials) == 7
    restored = pickle.loads(pickle.dumps(second))  # the study is reloaded from its URL
    assert restored.study_.study_name == "ridge"
    in_memory = pickle.loads(pickle.dumps(HyperdialSearchCV(
        RidgeClassifier(), space, n_trials=2, cv=2).fit(*data)))
    with pytest.raises(AttributeError, match="study_"):
        _ = in_memory.study_


def test_resume_refuses_a_study_whose_trials_mean_something_else(
        tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    space = {"alpha": hd.Float(1e-3, 10.0, log=True)}
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}

    def search(name: str, **change: Any) -> HyperdialSearchCV:
        return HyperdialSearchCV(RidgeClassifier(), space, n_trials=2, cv=3, random_state=0,
                                 storage=url, study_name=name).set_params(**change)

    search("one").fit(*data)
    search("many", scoring=scoring, refit="acc").fit(*data)
    refused = [
        ("one", {"scoring": "f1"}, "scoring=None, not 'f1'"),
        ("one", {"scoring": {"acc": "accuracy"}, "refit": "acc"}, "objective='score', not 'acc'"),
        ("many", {"scoring": {"bal": "balanced_accuracy"}, "refit": "bal"}, "scoring="),
        ("many", {"scoring": scoring, "refit": "bal"}, "objective='acc', not 'bal'"),
        ("one", {"param_distributions": {**space, "fit_intercept": [True, False]}},
         r"params=\['alpha'\], not \['alpha', 'fit_intercept'\]"),
        ("one", {"cv": 2}, "splits='3 splits"),
        ("one", {"cv": StratifiedKFold(3, shuffle=True, random_state=0)}, "splits='3 splits"),
    ]
    for name, change, why in refused:
        with pytest.raises(ValueError, match=f"study '{name}' holds trials of a search .*{why}"):
            search(name, **change).fit(*data)
    # the same folds, spelled another way, resume it; nothing refused above added a trial
    search("one", cv=StratifiedKFold(3)).fit(*data)
    assert len(hd.load_study(study_name="one", storage=url).trials) == 4
    assert len(hd.load_study(study_name="many", storage=url).trials) == 2


def _accuracy(estimator: Any, X: np.ndarray, y: np.ndarray) -> float:
    """A scorer by a module-level name: the same in every process."""
    return float(np.mean(estimator.predict(X) == y))


def test_resume_tells_anonymous_scorers_apart_by_their_code(
        tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    space = {"alpha": hd.Float(1e-3, 10.0, log=True)}

    def search(name: str, scoring: Any) -> HyperdialSearchCV:
        return HyperdialSearchCV(RidgeClassifier(), space, n_trials=2, cv=3, random_state=0,
                                 scoring=scoring, storage=url, study_name=name)

    search("acc", lambda est, X, y: accuracy_score(y, est.predict(X))).fit(*data)
    with pytest.raises(ValueError, match=r"scoring='\S*<lambda> #\w{12}', not '\S*<lambda> #"):
        search("acc", lambda est, X, y: balanced_accuracy_score(y, est.predict(X))).fit(*data)
    search("acc", lambda est, X, y: accuracy_score(y, est.predict(X))).fit(*data)  # same code
    search("named", _accuracy).fit(*data)
    search("named", _accuracy).fit(*data)
    assert len(hd.load_study(study_name="acc", storage=url).trials) == 4
    assert hd.load_study(study_name="named", storage=url).user_attrs["sklearn_search"][
        "scoring"] == "_accuracy"
    # the identity of a lambda (one with nested code, whose repr holds an address) is the same
    # in another process, so that a later run resumes
    source = "scorer = lambda est, X, y: sum(int(a == b) for a, b in zip(est.predict(X), y))"
    here: dict[str, Any] = {}
    exec(source, here)
    there = subprocess.run(
        [sys.executable, "-c", "from hyperdial.integrations.sklearn import _scoring_name\n"
         f"{source}\nprint(_scoring_name(scorer))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert there == _scoring_name(here["scorer"]) and there.startswith("<lambda> #")
    assert _scoring_name(make_scorer(lambda y, p: 0.0)) != _scoring_name(
        make_scorer(lambda y, p: 1.0))  # make_scorer(<lambda>) for both
    # a set literal is a frozenset constant, printed in an order set by the hash seed
    with_set = "scorer = lambda est, X, y: float(est.kind in {'alpha', 'beta', 'gamma', 'delta'})"
    names = {subprocess.run(
        [sys.executable, "-c", "from hyperdial.integrations.sklearn import _scoring_name\n"
         f"{with_set}\nprint(_scoring_name(scorer))"], env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True, text=True, check=True).stdout.strip() for seed in ("1", "2", "3")}
    assert len(names) == 1
    # a functools.partial's repr holds its function's address, another in every process
    partial = ("import functools\ndef score(est, X, y, w=1.0): return w\n"
               "scorer = functools.partial(score, w=2.0)")
    named = {subprocess.run(
        [sys.executable, "-c", "from hyperdial.integrations.sklearn import _scoring_name\n"
         f"{partial}\nprint(_scoring_name(scorer))"], capture_output=True, text=True,
        check=True).stdout.strip() for _ in range(2)}
    assert len(named) == 1 and "w=2.0" in named.pop()


def test_a_finite_space_smaller_than_the_budget_runs_each_configuration_once(
        tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    grid = {"alpha": [0.1, 1.0, 10.0], "fit_intercept": [True, False]}

    def configs(search: HyperdialSearchCV) -> list[tuple[Any, ...]]:
        return [tuple(sorted(p.items())) for p in search.cv_results_["params"]]

    with pytest.warns(UserWarning, match=r"^The total space of parameters 6 is smaller than "
                                         r"n_trials=20\. Running 6 trials\.$"):
        search = HyperdialSearchCV(RidgeClassifier(), grid, n_trials=20, cv=2, n_jobs=4,
                                   random_state=0).fit(*data)
    assert len(configs(search)) == len(set(configs(search))) == 6
    assert len(configs(HyperdialSearchCV(RidgeClassifier(), grid, cv=2).fit(*data))) == 6  # no
    # warning under the default budget (10), as GridSearchCV users write it
    with pytest.warns(UserWarning, match="Running 6 trials"):  # a given sampler gets 6 too
        HyperdialSearchCV(RidgeClassifier(), grid, n_trials=20, cv=2,
                          sampler=hd.samplers.RandomSampler(seed=0)).fit(*data)
    # GridSearchCV's keyword, for a list of dicts (2 + 3 configurations)
    branches = [{"alpha": [0.1, 1.0]}, {"alpha": [10.0], "solver": ["svd", "cholesky", "lsqr"]}]
    with pytest.warns(UserWarning, match="parameters 5 is smaller than n_iter=9"):
        by_grid = HyperdialSearchCV(RidgeClassifier(), param_grid=branches, n_iter=9,
                                    cv=2).fit(*data)
    assert len(configs(by_grid)) == len(set(configs(by_grid))) == 5
    assert clone(by_grid).get_params()["param_grid"] == branches
    with pytest.raises(ValueError, match="one of param_distributions and param_grid"):
        HyperdialSearchCV(RidgeClassifier(), grid, param_grid=grid).fit(*data)
    # resumed with batches larger than what is left: the configurations not tried yet, once
    kw: dict[str, Any] = {"cv": 2, "n_jobs": 4, "random_state": 0, "study_name": "grid",
                          "storage": f"sqlite:///{tmp_path / 'grid.db'}"}
    tried = configs(HyperdialSearchCV(RidgeClassifier(), grid, n_trials=4, **kw).fit(*data))
    with pytest.warns(UserWarning, match="Running 6 trials"):
        resumed = HyperdialSearchCV(RidgeClassifier(), grid, n_trials=20, **kw).fit(*data)
    assert sorted(configs(resumed)[4:]) == sorted(set(configs(search)) - set(tried))


def test_param_grid_runs_every_configuration_and_a_timeout_stops_once_each_ran(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    """As `GridSearchCV` does, ``param_grid`` runs its whole grid (it ran 10 of 12, silently);
    a timeout alone over a finite space ran its 3 configurations again and again (88 trials
    in 2 s) until the time was up."""
    grid = {"alpha": [0.01, 0.1, 1.0, 10.0], "solver": ["svd", "cholesky", "lsqr"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = HyperdialSearchCV(RidgeClassifier(), param_grid=grid, cv=2).fit(*data)
    configs = [tuple(sorted(p.items())) for p in search.cv_results_["params"]]
    assert len(configs) == len(set(configs)) == 12
    timed = HyperdialSearchCV(RidgeClassifier(), {"alpha": [0.1, 1.0, 10.0]}, cv=2,
                              timeout=600).fit(*data)
    assert sorted(p["alpha"] for p in timed.cv_results_["params"]) == [0.1, 1.0, 10.0]
    # a sampler of the user's that may repeat itself runs until the timeout, as before
    repeated = HyperdialSearchCV(RidgeClassifier(), {"alpha": [0.1, 1.0, 10.0]}, cv=2,
                                 timeout=1.0, sampler=hd.samplers.RandomSampler(seed=0)).fit(*data)
    assert len(repeated.cv_results_["params"]) > 3
    # a grid with a continuous distribution has no end: the default budget of 10
    wide = {"alpha": hd.Float(0.01, 10.0), "solver": ["svd", "lsqr"]}
    assert len(HyperdialSearchCV(RidgeClassifier(), param_grid=wide, cv=2).fit(
        *data).cv_results_["params"]) == 10


class _Counting(SGDClassifier):
    fits = 0

    def fit(self, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> _Counting:
        type(self).fits += 1
        return super().fit(X, y, **kwargs)


def test_pruning_skips_folds(data: tuple[np.ndarray, np.ndarray]) -> None:
    _Counting.fits = 0
    space = {"alpha": hd.Float(1e-4, 1e4, log=True)}  # large alphas are hopeless
    search = HyperdialSearchCV(_Counting(random_state=0), space, n_trials=12, cv=4, random_state=0,
                               sampler=hd.samplers.RandomSampler(seed=0),
                               pruner=hd.pruners.MedianPruner(n_startup_trials=3)).fit(*data)
    res = search.cv_results_
    evaluated = int(res["n_splits_evaluated"].sum())
    assert _Counting.fits == evaluated + 1  # + the refit
    assert evaluated < 12 * 4
    pruned = res["state"] == "PRUNED"
    assert pruned.any() and np.all(res["rank_test_score"][pruned] > (~pruned).sum())
    assert np.all(np.isnan(res["split3_test_score"][pruned]))
    assert res["state"][search.best_index_] == "COMPLETE"


class _FailsOrGuesses(ClassifierMixin, BaseEstimator):
    """``a=1``: its fit raises; ``a=2``: it always predicts the first class."""

    def __init__(self, a: int = 0) -> None:
        self.a = a

    def fit(self, X: np.ndarray, y: np.ndarray) -> _FailsOrGuesses:
        if self.a == 1:
            raise RuntimeError("boom")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.classes_[0])


def test_a_failed_candidate_ranks_after_pruned_ones(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Pruned candidates ranked after every unpruned one, a failed one (NaN mean) included:
    it became the best, and the refit ran the failing fit again and lost the search."""
    search = HyperdialSearchCV(_FailsOrGuesses(), {"a": [1, 2]}, cv=3, n_trials=2,
                               sampler=hd.samplers.BruteForceSampler(seed=0),
                               pruner=hd.pruners.ThresholdPruner(lower=0.9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
        search.fit(*data)
    res = search.cv_results_
    states = dict(zip((p["a"] for p in res["params"]), res["state"], strict=True))
    assert states == {1: "FAIL", 2: "PRUNED"}
    assert search.best_params_ == {"a": 2} and not np.isnan(search.best_score_)
    assert list(res["rank_test_score"]) == [2 if p["a"] == 1 else 1 for p in res["params"]]


def test_halving_over_samples_and_over_a_parameter(data: tuple[np.ndarray, np.ndarray]) -> None:
    space = {"alpha": hd.Float(1e-5, 1.0, log=True)}
    by_samples = HyperdialHalvingSearchCV(RidgeClassifier(), space, n_trials=9, factor=3, cv=2,
                                          min_resources=20, random_state=0).fit(*data)
    res = by_samples.cv_results_
    # 20, then 60 raised to all 75 training samples (60 is less than a factor short of it)
    assert sorted(res["n_resources"]) == [20] * 6 + [75] * 3
    assert (res["state"] == "COMPLETE").sum() == 3
    assert res["n_resources"][by_samples.best_index_] == 75
    sgd = SGDClassifier(random_state=0, tol=None)
    by_iter = HyperdialHalvingSearchCV(sgd, space, resource="max_iter", max_resources=9,
                                       min_resources=1, n_trials=9, cv=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 does not converge
        by_iter.fit(*data)
    assert by_iter.best_params_["max_iter"] == 9
    assert by_iter.best_estimator_.max_iter == 9
    by_median = HyperdialHalvingSearchCV(
        RidgeClassifier(), space, n_trials=6, n_candidates=3, cv=2, min_resources=20,
        pruner=hd.pruners.MedianPruner(n_startup_trials=1), random_state=0).fit(*data)
    assert len(by_median.cv_results_["params"]) == 6
    reported = {s for t in by_median.study_.trials for s in t.intermediate_values}
    assert reported <= {20, 75}  # pruners see the resource as the step


def test_halving_runs_three_rungs_by_default_the_last_on_all_samples() -> None:
    """``min_resources = max_resources // factor**2`` gives three rungs, the last at
    ``max_resources`` itself even when it is no multiple of ``factor**2`` (1198 // 9 = 133 and
    133 * 9 = 1197): no fourth rung at 1198 samples that cross-validates the survivor again."""
    X, y = make_classification(n_samples=1797, n_features=8, random_state=0)  # digits' size
    search = HyperdialHalvingSearchCV(RidgeClassifier(), {"alpha": hd.Float(1e-5, 1.0, log=True)},
                                      n_trials=9, cv=3, random_state=0).fit(X, y)
    res = search.cv_results_
    assert sorted(res["n_resources"]) == [133] * 6 + [399] * 2 + [1198]
    best = search.study_.trials[search.best_index_]
    assert sorted(best.intermediate_values) == [133, 399]  # the last rung is its value
    assert res["n_resources"][search.best_index_] == 1198
    # scikit-learn's fitted attributes of halving (they were missing)
    assert search.n_resources_ == [133, 399, 1198] and search.n_candidates_ == [9, 3, 1]
    assert (search.n_iterations_, search.min_resources_, search.max_resources_,
            search.n_remaining_candidates_) == (3, 133, 1198, 1)


def test_halving_fails_a_configuration_whose_fit_raised(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    """At a rung before the last, a configuration whose fits raised (NaN mean) was dropped as
    a halving loser: PRUNED, with no reason; it FAILs naming the error, as the docs say."""
    search = HyperdialHalvingSearchCV(_FailsOrGuesses(), {"a": [0, 1, 2]}, cv=3, n_trials=3,
                                      factor=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
        search.fit(*data)
    failed = [t for t in search.study_.trials if t.params["a"] == 1]
    assert [t.state for t in failed] == [hd.TrialState.FAIL]
    assert "RuntimeError: boom" in (failed[0].fail_reason or "")
    assert {t.state for t in search.study_.trials if t.params["a"] != 1} == {
        hd.TrialState.COMPLETE, hd.TrialState.PRUNED}


class _ScoresItsP(ClassifierMixin, BaseEstimator):
    """Scores ``p``; its fit raises for ``p < 3``."""

    def __init__(self, p: int = 0) -> None:
        self.p = p

    def fit(self, X: np.ndarray, y: np.ndarray) -> _ScoresItsP:
        if self.p < 3:
            raise RuntimeError("bad p")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(len(X), dtype=int)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(self.p)


def test_halving_keeps_a_share_of_the_rung_failed_configurations_counted(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    """9 configurations, 3 of which fail: ceil(9 / 3) = 3 go on, as scikit-learn counts (the
    share was taken of the 6 that did not fail: 2)."""
    search = HyperdialHalvingSearchCV(_ScoresItsP(), {"p": list(range(9))}, n_trials=9,
                                      factor=3, n_candidates=9, cv=3,
                                      sampler=hd.samplers.BruteForceSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(*data)
    promoted = {p["p"] for p, it in zip(search.cv_results_["params"], search.cv_results_["iter"],
                                        strict=True) if it >= 1}
    assert promoted == {6, 7, 8}


def test_halving_refuses_a_resource_it_searches_or_more_samples_than_a_split_has(
        data: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    """A searched ``max_iter`` as the resource: the rungs overrode it while the study recorded
    the searched value (scikit-learn refuses it). ``max_resources`` beyond the samples of a
    split reported rungs of 555 and 5000 that all trained on the same 200."""
    space = {"max_iter": [50, 100], "alpha": hd.Float(1e-4, 1.0, log=True)}
    with pytest.raises(ValueError, match="Cannot use parameter max_iter as the resource"):
        HyperdialHalvingSearchCV(SGDClassifier(), space, resource="max_iter",
                                 max_resources=9).fit(*data)
    url = f"sqlite:///{tmp_path / 'late.db'}"
    with pytest.raises(ValueError, match=r"max_resources=5000 is more than the \d+ training"):
        HyperdialHalvingSearchCV(RidgeClassifier(), {"alpha": hd.Float(1e-4, 1.0, log=True)},
                                 max_resources=5000, cv=2, storage=url,
                                 study_name="s").fit(*data)
    assert hd.get_all_study_names(url) == []  # refused before a bracket of trials started


def test_halving_with_an_asynchronous_pruner(data: tuple[np.ndarray, np.ndarray]) -> None:
    asha = getattr(hd.pruners, "SuccessiveHalvingPruner", None)
    if asha is None:
        pytest.skip("hyperdial.pruners has no SuccessiveHalvingPruner yet")
    search = HyperdialHalvingSearchCV(
        RidgeClassifier(), {"alpha": hd.Float(1e-5, 1e5, log=True)}, n_trials=9, n_candidates=3,
        cv=2, min_resources=5, factor=3, random_state=0,
        pruner=asha(min_resource=5, reduction_factor=3)).fit(*data)
    res = search.cv_results_
    assert set(res["n_resources"]) <= {5, 15, 45, 75}
    assert res["state"][search.best_index_] == "COMPLETE"
    assert res["n_resources"][search.best_index_] == 75


def test_timeout_stops_asking(data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(RidgeClassifier(), {"alpha": hd.Float(0.1, 1.0)}, timeout=1e-9,
                               cv=2).fit(*data)
    assert len(search.cv_results_["params"]) == 1  # the first batch always runs


def test_space_conversion() -> None:
    ps = build_space({"a": stats.loguniform(1e-3, 10), "b": stats.uniform(2, 3),
                      "c": stats.randint(1, 5), "d": stats.norm(0, 1),
                      "e": [(10,), (10, 10)], "f": ["x", None], "g": hd.Int(1, 3)})
    assert ps.space["a"] == hd.Float(1e-3, 10, log=True)
    assert ps.space["b"] == hd.Float(2, 5)
    assert ps.space["c"] == hd.Int(1, 4)
    assert ps.space["d"] == hd.Float(0.0, 1.0)  # sampled by its quantile
    assert ps.space["e"] == hd.Categorical((0, 1)) and ps.space["f"] == hd.Categorical(("x", None))
    decoded = ps.decode({"a": 0.5, "b": 3.0, "c": 2, "d": 0.5, "e": 1, "f": None, "g": 2})
    assert decoded["d"] == pytest.approx(0.0) and decoded["e"] == (10, 10)
    shifted = build_space({"x": stats.loguniform(1, 10, loc=1)}).space["x"]
    assert shifted == hd.Float(0.0, 1.0)  # not log-uniform any more: quantiles
    several = build_space([{"C": [1, 2]}, {"C": [3], "k": hd.Int(1, 5)}])
    assert several.space.active({GRID: 1}) == [GRID, "1:C", "1:k"]
    assert several.decode({GRID: 1, "1:C": 3, "1:k": 2}) == {"C": 3, "k": 2}
    with pytest.raises(TypeError, match="'bad'"):
        build_space({"bad": "not a list"})


class _SeesConfig(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    """Scores 1 when scikit-learn's global config reached the process that fitted it."""

    def __init__(self, c: float = 1.0) -> None:
        self.c = c

    def fit(self, X: np.ndarray, y: np.ndarray) -> _SeesConfig:
        import sklearn

        self.saw_ = sklearn.get_config()["assume_finite"]
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.classes_[0])

    def score(self, X: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> float:
        return float(self.saw_)


@pytest.mark.parametrize("fit_timeout", [None, 60.0], ids=["joblib", "time-limited"])
def test_worker_processes_get_the_callers_scikit_learn_config(
        data: tuple[np.ndarray, np.ndarray], fit_timeout: float | None) -> None:
    import sklearn

    X, y = data
    with sklearn.config_context(assume_finite=True):
        search = HyperdialSearchCV(_SeesConfig(), {"c": hd.Float(0.1, 1.0)}, n_trials=2, cv=2,
                                   n_jobs=2, random_state=0, refit=False,
                                   fit_timeout=fit_timeout).fit(X, y)
    # Each fit ran in a worker process (loky), which saw the caller's config: with joblib's
    # own Parallel it saw the default (False) and every score was 0.
    assert list(search.cv_results_["mean_test_score"]) == [1.0, 1.0]


class _Slow(_Flaky):
    """A classifier whose fit takes ``delay`` seconds (the runaway configuration)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    @property
    def fail(self) -> bool:
        return False

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Slow:
        import time

        time.sleep(self.delay)  # the behaviour under test: a fit this slow
        super().fit(X, y)
        return self


HANG = 600.0  # seconds a runaway fit would take: far past any test's time limit


def test_fit_timeout_stops_a_runaway_fit_and_fails_only_its_configuration(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    import time

    start = time.monotonic()
    search = HyperdialSearchCV(_Slow(), {"delay": [0.0, HANG]}, n_trials=2, cv=2,
                               fit_timeout=2.0)
    with pytest.warns(FitFailedWarning, match="fit_timeout=2 s"), \
            pytest.warns(UserWarning, match="non-finite"):
        search.fit(*data)
    assert time.monotonic() - start < HANG / 4  # stopped, not waited for
    by_delay = {t.params["delay"]: t for t in search.study_.trials}
    assert set(by_delay) == {0.0, HANG}  # each configuration once
    for trial in search.study_.trials:
        if trial.params["delay"] == HANG:
            assert trial.state is hd.TrialState.FAIL
            assert "FitTimeout" in trial.fail_reason and "fit_timeout=2 s" in trial.fail_reason
        else:
            assert trial.state is hd.TrialState.COMPLETE
    assert search.best_params_ == {"delay": 0.0}
    slow = np.array(search.cv_results_["param_delay"], dtype=float) == HANG
    assert np.isnan(search.cv_results_["mean_test_score"][slow]).all()
    assert np.isfinite(search.cv_results_["mean_test_score"][~slow]).all()


@pytest.mark.parametrize("pruner", [None, hd.pruners.NopPruner()], ids=["one-step", "by-fold"])
def test_a_configuration_fails_after_its_first_fit_timeout(
        data: tuple[np.ndarray, np.ndarray], pruner: Any) -> None:
    """With the NaN error_score, a stopped fit fails its configuration whatever its other
    folds give: they do not run (each would run to the limit and restart the workers)."""
    import time

    search = HyperdialSearchCV(_Slow(), {"delay": [HANG, 0.0]}, n_trials=2, cv=4,
                               fit_timeout=1.0, pruner=pruner, random_state=0)
    start = time.monotonic()
    with pytest.warns(FitFailedWarning, match="fit_timeout=1 s"), \
            pytest.warns(UserWarning, match="non-finite"):
        search.fit(*data)
    assert time.monotonic() - start < 4 * 1.0 + 30.0  # not four limits and four restarts
    res = search.cv_results_
    slow = np.array(res["param_delay"], dtype=float) == HANG
    assert list(res["n_splits_evaluated"][slow]) == [1]
    assert list(res["n_splits_evaluated"][~slow]) == [4]
    assert list(res["state"][slow]) == ["FAIL"] and np.isnan(res["mean_test_score"][slow]).all()
    assert "FitTimeout" in search.study_.trials[int(np.flatnonzero(slow)[0])].fail_reason


def test_a_failed_fold_ends_its_configuration_unless_error_score_is_a_number(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    """Fold by fold (a pruner), a configuration whose first fit raised is not fitted on the
    other folds with a NaN error_score; with a number it is, as its mean stays a number."""
    kw: dict[str, Any] = {"n_trials": 2, "cv": 3, "pruner": hd.pruners.NopPruner()}
    with pytest.warns(FitFailedWarning), pytest.warns(UserWarning, match="non-finite"):
        nan = HyperdialSearchCV(_Flaky(), {"fail": [True, False]}, **kw).fit(*data)
    with pytest.warns(FitFailedWarning):
        zero = HyperdialSearchCV(_Flaky(), {"fail": [True, False]}, error_score=0.0,
                                 **kw).fit(*data)
    for search, folds, state in ((nan, 1, "FAIL"), (zero, 3, "COMPLETE")):
        res = search.cv_results_
        failing = np.array(res["param_fail"], dtype=bool)
        assert list(res["n_splits_evaluated"][failing]) == [folds]
        assert list(res["state"][failing]) == [state]
        assert list(res["n_splits_evaluated"][~failing]) == [3]


def test_halving_takes_a_fit_timeout_too(data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialHalvingSearchCV(_Slow(), {"delay": [0.0, HANG]}, n_candidates=4,
                                      factor=2, min_resources=40, cv=2, fit_timeout=1.0,
                                      random_state=0)
    assert clone(search).get_params()["fit_timeout"] == 1.0
    with pytest.warns(FitFailedWarning, match="fit_timeout=1 s"), pytest.warns(
            UserWarning, match="test scores are non-finite"):  # the stopped one FAILs
        search.fit(*data)
    assert search.best_params_ == {"delay": 0.0}
    assert {t.params["delay"]: t.state for t in search.study_.trials} == {
        0.0: hd.TrialState.COMPLETE, HANG: hd.TrialState.FAIL}


def test_fit_timeout_with_error_score_raise_raises_fit_timeout(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(_Slow(), {"delay": [HANG]}, n_trials=1, cv=2, fit_timeout=1.0,
                               error_score="raise")
    with pytest.raises(FitTimeout, match="fit_timeout=1 s"):
        search.fit(*data)


def test_fit_timeout_scores_exactly_as_without_it(data: tuple[np.ndarray, np.ndarray]) -> None:
    space = {"alpha": hd.Float(1e-3, 10.0, log=True)}
    kw: dict[str, Any] = {"n_trials": 3, "cv": 3, "random_state": 0}
    plain = HyperdialSearchCV(RidgeClassifier(), space, **kw).fit(*data)
    limited = HyperdialSearchCV(RidgeClassifier(), space, fit_timeout=60.0, **kw).fit(*data)
    for key in ("params", "split0_test_score", "split2_test_score", "mean_test_score"):
        assert list(limited.cv_results_[key]) == list(plain.cv_results_[key])


class _Crashes(_Flaky):
    """A classifier whose fit kills its own process when ``crash`` is set (as the kernel's
    out-of-memory killer or a segfault in native code would)."""

    def __init__(self, crash: bool = False) -> None:
        self.crash = crash

    @property
    def fail(self) -> bool:
        return False

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Crashes:
        if self.crash:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        super().fit(X, y)
        return self


def test_a_fit_whose_worker_dies_fails_only_its_configuration(
        data: tuple[np.ndarray, np.ndarray]) -> None:
    search = HyperdialSearchCV(_Crashes(), {"crash": [True, False]}, n_trials=2, cv=2,
                               n_jobs=2, fit_timeout=60.0)
    with pytest.warns(FitFailedWarning, match="FitWorkerDied"), \
            pytest.warns(UserWarning, match="non-finite"):
        search.fit(*data)
    states = {t.params["crash"]: t.state for t in search.study_.trials}
    assert states == {True: hd.TrialState.FAIL, False: hd.TrialState.COMPLETE}
    crashed = [t for t in search.study_.trials if t.params["crash"]]
    assert all("worker process died" in t.fail_reason for t in crashed)
    assert search.best_params_ == {"crash": False}
    raising = HyperdialSearchCV(_Crashes(), {"crash": [True]}, n_trials=1, cv=2,
                                fit_timeout=60.0, error_score="raise")
    with pytest.raises(FitWorkerDied, match="worker process died"):
        raising.fit(*data)
