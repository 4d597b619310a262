"""The overfitting guard: held-out and nested-CV checks of a tuned configuration."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.tree import DecisionTreeClassifier

import hyperdial as hd
from hyperdial.analysis import OverfittingWarning, holdout_check, nested_cv, study_holdout_check
from hyperdial.integrations.sklearn import HyperdialSearchCV
from hyperdial.testing.objectives import half_feasible

TREE_SPACE = {"max_depth": hd.Int(1, 8), "min_samples_leaf": hd.Int(1, 10),
              "max_features": hd.Float(0.2, 1.0), "random_state": hd.Int(0, 1000)}


@pytest.fixture(scope="module")
def noise() -> tuple[np.ndarray, np.ndarray]:
    """Labels independent of the features: every configuration is worth 50 % on new data."""
    rng = np.random.default_rng(2)
    return rng.normal(size=(1060, 5)), rng.integers(0, 2, 1060)


def test_many_trials_on_a_small_noisy_set_show_a_real_gap(
        noise: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = noise
    X_train, y_train, X_test, y_test = X[:60], y[:60], X[60:], y[60:]
    search = HyperdialSearchCV(DecisionTreeClassifier(), TREE_SPACE, n_trials=40, cv=3,
                               random_state=0).fit(X_train, y_train)
    with pytest.warns(OverfittingWarning, match="overstates"):
        report = holdout_check(search, X_test, y_test, X_train=X_train, y_train=y_train, top_k=3)
    assert report.overfit
    assert report.best.validation == pytest.approx(search.best_score_)
    assert len(report.rows) == 3 and all(r.rank == 1 for r in report.rows)  # three tied
    assert all(abs(r.test - 0.5) < 0.06 for r in report.rows)  # chance level, as it must be
    assert "| 1 |" in str(report)


def test_a_well_posed_search_passes(recwarn: pytest.WarningsRecorder) -> None:
    X, y = make_classification(n_samples=1000, n_features=5, n_informative=5, n_redundant=0,
                               n_clusters_per_class=1, random_state=2)
    search = HyperdialSearchCV(LogisticRegression(), {"C": hd.Float(1e-2, 10.0, log=True)},
                               n_trials=4, cv=3, random_state=0).fit(X[:500], y[:500])
    report = holdout_check(search, X[500:], y[500:], top_k=1)
    assert not report.overfit and abs(report.gap) < 0.05
    assert not [w for w in recwarn if issubclass(w.category, OverfittingWarning)]
    with pytest.raises(ValueError, match="X_train"):
        holdout_check(search, X[500:], y[500:], top_k=2)


def test_nested_cv_estimates_the_tuning_procedure(noise: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = noise
    search = HyperdialSearchCV(DecisionTreeClassifier(), TREE_SPACE, n_trials=15, cv=3,
                               random_state=0)
    with pytest.warns(OverfittingWarning):
        report = nested_cv(search, X[:90], y[:90], cv=3)
    assert len(report.outer_scores) == len(report.inner_scores) == 3
    assert report.gap > 0.05 and report.score < float(np.mean(report.inner_scores))
    assert "nested CV" in str(report)


def test_study_check_with_a_user_refit_function() -> None:
    def truth(x: float) -> float:
        return (x - 1.0) ** 2

    def objective(trial: hd.Trial) -> float:  # a validation loss with a noise to exploit
        x = trial.suggest_float("x", -2.0, 4.0)
        return truth(x) + 0.5 * math.sin(1000.0 * x)

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=60)
    pruned = study.ask({"x": hd.Float(-2.0, 4.0)})
    pruned.report(-100.0, 0)  # a pruned trial's value (its last report) is no candidate
    study.tell(pruned, state=hd.TrialState.PRUNED)

    def test_loss(params: Any) -> float:
        return truth(params["x"])

    with pytest.warns(OverfittingWarning):
        report = study_holdout_check(study, test_loss, top_k=3)
    assert report.best.validation == pytest.approx(study.best_value)
    assert report.gap > 0.3  # a loss: the test loss is higher than the validation one
    assert not report.best.maximize


def test_study_check_ranks_only_feasible_trials_as_best_trial_does() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(half_feasible, n_trials=20)
    report = study_holdout_check(study, lambda p: p["x"] + 0.01, top_k=3, warn=False)
    assert report.best.params == study.best_trial.params
    assert all(r.params["x"] >= 0.5 for r in report.rows) and len(report.rows) == 3
    infeasible = hd.create_study()
    trial = infeasible.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_constraint("c", 1.0)
    infeasible.tell(trial, 0.0)
    with pytest.raises(ValueError, match="no feasible trial"):
        study_holdout_check(infeasible, lambda p: 0.0)


def test_a_test_score_that_is_not_a_number_is_an_error_not_a_pass() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    with pytest.raises(ValueError, match="test score of the configuration ranked 1 .* is nan"):
        study_holdout_check(study, lambda p: math.nan)


@pytest.mark.parametrize("top_k", [0, -1, 2.5, True])
def test_top_k_must_be_a_positive_count(top_k: Any) -> None:
    study = hd.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(ValueError, match="top_k .* an int >= 1"):
        study_holdout_check(study, lambda p: 0.0, top_k=top_k)
    with pytest.raises(ValueError, match="top_k .* an int >= 1"):
        holdout_check(object(), None, None, top_k=top_k)
    assert len(study_holdout_check(study, lambda p: 0.0, top_k=np.int64(1), warn=False).rows) == 1


class _Weighted(LogisticRegression):
    """A logistic regression that must be fitted with ``sample_weight`` (as a search was)."""

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> _Weighted:
        if sample_weight is None:
            raise ValueError("this model needs sample_weight")
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture(scope="module")
def rare() -> tuple[np.ndarray, np.ndarray]:
    """A rare positive class, upweighted in training: weights change every model."""
    return make_classification(n_samples=600, n_features=10, weights=[0.9, 0.1], random_state=0)


def test_holdout_refits_with_the_fit_params_of_the_search(
        rare: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = rare
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    weight = np.where(y_train == 1, 20.0, 1.0)
    search = HyperdialSearchCV(_Weighted(), {"C": hd.Float(1e-3, 1e2, log=True)}, n_trials=4,
                               cv=3, random_state=0, scoring="recall")
    search.fit(X_train, y_train, sample_weight=weight)
    report = holdout_check(search, X_test, y_test, X_train=X_train, y_train=y_train,
                           fit_params={"sample_weight": weight}, top_k=4, warn=False)
    assert len(report.rows) == 4
    for row in report.rows:  # each configuration scored as the search fitted it
        model = LogisticRegression(C=row.params["C"]).fit(X_train, y_train, sample_weight=weight)
        assert row.test == pytest.approx(search.scorer_(model, X_test, y_test))


def test_holdout_leaves_the_estimators_among_the_parameters_alone(
        rare: tuple[np.ndarray, np.ndarray]) -> None:
    """An estimator held as a parameter value (the user's own object, in every row of
    ``cv_results_['params']``) is cloned for each refit, as GridSearchCV does: neither
    reconfigured nor fitted, so the report shows each row's own configuration."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = rare
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    mine = LogisticRegression(max_iter=1000)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = HyperdialSearchCV(pipe, {"clf": [mine], "clf__C": hd.Float(1e-3, 1e2, log=True)},
                               n_trials=4, cv=3, random_state=0).fit(X_train, y_train)
    report = holdout_check(search, X_test, y_test, X_train=X_train, y_train=y_train, top_k=3,
                           warn=False)
    assert len(report.rows) == 3
    assert mine.get_params()["C"] == 1.0 and not hasattr(mine, "coef_")
    assert all(p["clf"] is mine for p in search.cv_results_["params"])
    for row in report.rows[1:]:  # refitted here: scored with its own C
        model = Pipeline([("scale", StandardScaler()),
                          ("clf", LogisticRegression(max_iter=1000, C=row.params["clf__C"]))])
        assert row.test == pytest.approx(search.scorer_(model.fit(X_train, y_train),
                                                        X_test, y_test))


def _smallest_c(results: Mapping[str, Any]) -> int:
    """A callable refit: the most regularised configuration, whatever its rank."""
    return int(np.argmin([p["C"] for p in results["params"]]))


def test_holdout_starts_from_what_a_callable_refit_picked(
        rare: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = rare
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    space = {"C": hd.Float(1e-4, 1e2, log=True)}
    search = HyperdialSearchCV(LogisticRegression(), space, n_trials=6, cv=3, random_state=0,
                               refit=_smallest_c).fit(X_train, y_train)
    res = search.cv_results_
    assert res["rank_test_score"][search.best_index_] > 1  # not the best by validation
    report = holdout_check(search, X_test, y_test, X_train=X_train, y_train=y_train, top_k=3,
                           warn=False)
    assert report.best.params == search.best_params_
    assert report.best.rank == res["rank_test_score"][search.best_index_]
    assert report.best.validation == pytest.approx(res["mean_test_score"][search.best_index_])
    assert report.best.test == pytest.approx(search.score(X_test, y_test))  # best_estimator_
    assert [r.rank for r in report.rows[1:]] == [1, 2]  # then the others, by rank
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    several = HyperdialSearchCV(LogisticRegression(), space, n_trials=4, cv=3, random_state=0,
                                scoring=scoring, refit=_smallest_c).fit(X_train, y_train)
    first = holdout_check(several, X_test, y_test, top_k=1, warn=False)  # the first metric
    assert first.best.test == pytest.approx(
        several.scorer_["acc"](several.best_estimator_, X_test, y_test))
    assert first.best.params == several.best_params_
    bal = holdout_check(several, X_test, y_test, metric="bal", top_k=1, warn=False)
    assert bal.best.validation == pytest.approx(
        several.cv_results_["mean_test_bal"][several.best_index_])
    assert bal.best.test == pytest.approx(
        several.scorer_["bal"](several.best_estimator_, X_test, y_test))
    with pytest.raises(ValueError, match=r"metric='f1' is not one of .*\['acc', 'bal'\]"):
        holdout_check(several, X_test, y_test, metric="f1", top_k=1)


def test_nested_cv_with_a_callable_refit_and_several_metrics(
        rare: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = rare
    space = {"C": hd.Float(1e-4, 1e2, log=True)}
    search = HyperdialSearchCV(LogisticRegression(), space, n_trials=3, cv=3, random_state=0,
                               refit=_smallest_c)
    report = nested_cv(search, X[:300], y[:300], cv=3, warn=False)
    assert all(p["C"] < 1e-2 for p in report.best_params)  # each fold kept the smallest C
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    several = nested_cv(search.set_params(scoring=scoring), X[:300], y[:300], cv=3,
                        metric="bal", warn=False)
    assert several.outer_scores != report.outer_scores  # balanced accuracy, not accuracy
    assert len(several.inner_scores) == 3 and all(0.0 < s <= 1.0 for s in several.inner_scores)


def test_nested_cv_passes_groups_and_fit_params_and_raises_what_failed(
        rare: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = rare
    groups = np.arange(len(y)) % 10
    search = HyperdialSearchCV(_Weighted(), {"C": hd.Float(1e-3, 1e2, log=True)}, n_trials=2,
                               cv=GroupKFold(3), random_state=0)
    weight = np.where(y == 1, 20.0, 1.0)
    report = nested_cv(search, X, y, groups=groups, cv=GroupKFold(3),
                       fit_params={"sample_weight": weight}, warn=False)
    assert len(report.outer_scores) == 3
    with pytest.raises(ValueError, match="needs sample_weight"):  # not an AttributeError after
        nested_cv(search, X, y, groups=groups, cv=GroupKFold(3), warn=False)


def test_nested_cv_gives_each_outer_fold_its_own_stored_study(
        tmp_path: Path, rare: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = rare
    url = f"sqlite:///{tmp_path / 'nested.db'}"
    search = HyperdialSearchCV(LogisticRegression(), {"C": hd.Float(1e-3, 1e2, log=True)},
                               n_trials=2, cv=3, random_state=0, storage=url, study_name="lr")
    report = nested_cv(search, X[:300], y[:300], cv=3, n_jobs=2, warn=False)
    assert len(report.outer_scores) == 3
    for k in range(3):  # the folds tune on different rows: one study each
        assert len(hd.load_study(study_name=f"lr-outer{k}", storage=url).trials) == 2
    assert search.study_name == "lr"


def _two_scores(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    predicted = estimator.predict(X)
    return {"acc": float(np.mean(predicted == y)), "recall": float(np.mean(predicted[y == 1] == 1))}


def test_nested_cv_with_a_callable_scoring_that_returns_several_metrics(
        rare: tuple[np.ndarray, np.ndarray]) -> None:
    """Its metrics are known once it has scored (a KeyError 'test_score' before)."""
    X, y = rare
    search = HyperdialSearchCV(LogisticRegression(), {"C": hd.Float(1e-3, 1e2, log=True)},
                               n_trials=2, cv=3, random_state=0, scoring=_two_scores,
                               refit="recall")
    report = nested_cv(search, X[:300], y[:300], cv=3, warn=False)
    outer = nested_cv(search, X[:300], y[:300], cv=3, metric="acc", warn=False)
    assert report.outer_scores != outer.outer_scores  # recall, then accuracy
    assert all(0.0 <= s <= 1.0 for s in report.outer_scores + outer.inner_scores)
    with pytest.raises(ValueError, match=r"metric='f1' is not one of .*\['acc', 'recall'\]"):
        nested_cv(search, X[:300], y[:300], cv=3, metric="f1", warn=False)
