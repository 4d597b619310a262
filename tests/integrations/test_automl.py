"""AutoMLClassifier and AutoMLRegressor: the family choice, conditional parameters, data
handling, warm starts and resuming."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_circles, make_classification, make_friedman1
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.svm import SVC

import hyperdial as hd
from hyperdial.integrations import automl
from hyperdial.integrations.automl import AutoMLClassifier, AutoMLRegressor
from hyperdial.trial import TrialState

FAST = ["logistic", "knn", "random_forest"]


@pytest.fixture(scope="module")
def circles() -> tuple[np.ndarray, ...]:
    X, y = make_circles(300, noise=0.1, factor=0.5, random_state=0)
    out: tuple[np.ndarray, ...] = tuple(train_test_split(X, y, random_state=0, stratify=y))
    return out


def test_it_picks_a_family_that_fits_the_data(circles: tuple[np.ndarray, ...]) -> None:
    Xtr, Xte, ytr, yte = circles
    model = AutoMLClassifier(n_trials=12, models=FAST, cv=3, random_state=0).fit(Xtr, ytr)
    # No line separates two rings: a linear model scores about one half.
    linear = LogisticRegression().fit(Xtr, ytr).score(Xte, yte)
    assert linear < 0.7
    assert model.best_model_ in ("knn", "random_forest")
    assert model.score(Xte, yte) > 0.9
    assert model.predict(Xte).shape == yte.shape
    assert list(model.classes_) == [0, 1]
    board = model.leaderboard()
    assert board[0]["model"] == model.best_model_
    assert board[0]["score"] == pytest.approx(model.best_score_)
    assert sum(row["trials"] for row in board) == len(
        model.study_.get_trials(states=(TrialState.COMPLETE,)))


def test_each_trial_holds_only_its_family_parameters(circles: tuple[np.ndarray, ...]) -> None:
    Xtr, _, ytr, _ = circles
    model = AutoMLClassifier(n_trials=10, models=FAST, cv=3, warm_start=0,
                             random_state=1).fit(Xtr, ytr)
    space = automl.cash_space(automl._families("classification", FAST), seed=0).space
    families = set()
    for t in model.study_.trials:
        space.validate(t.params)  # raises on an inactive or missing parameter
        family = t.params["model"]
        families.add(family)
        assert all(k in ("model", "scaler") or k.startswith(f"{family}__") for k in t.params)
        assert ("scaler" in t.params) == (family in ("logistic", "knn"))
    assert len(families) >= 2


def test_the_refitted_model_is_the_best_configuration(circles: tuple[np.ndarray, ...]) -> None:
    Xtr, _, ytr, _ = circles
    model = AutoMLClassifier(n_trials=6, models=["knn"], cv=3, warm_start=0, pruner=None,
                             random_state=0).fit(Xtr, ytr)
    knn = model.best_estimator_.named_steps["model"]
    params = model.best_params_
    assert knn.n_neighbors == params["knn__n_neighbors"]
    assert knn.weights == params["knn__weights"]
    scaler = model.best_estimator_.named_steps["scale"]
    assert type(scaler).__name__.lower().startswith(params["scaler"])
    again = cross_val_score(clone(model.best_estimator_), Xtr, ytr, cv=model.search_.cv)
    assert again.mean() == pytest.approx(model.best_score_)


def test_regressor_beats_a_linear_model_on_a_nonlinear_target() -> None:
    X, y = make_friedman1(300, noise=0.5, random_state=0)
    model = AutoMLRegressor(n_trials=10, models=["ridge", "knn", "hist_gradient_boosting"],
                            cv=3, random_state=0).fit(X, y)
    ridge = [r for r in model.leaderboard() if r["model"] == "ridge"]
    assert model.best_model_ != "ridge"
    assert model.best_score_ > 0.8  # R²
    assert not ridge or ridge[0]["score"] < model.best_score_


def test_pandas_input_with_categories_and_missing_values() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 240
    colour = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    y = ((colour == "red") ^ (size > 0)).astype(int)
    size[rng.random(n) < 0.1] = np.nan
    X = pd.DataFrame({"colour": colour, "size": size})
    model = AutoMLClassifier(n_trials=8, models=FAST, cv=3, random_state=0).fit(X, y)
    assert model.meta_features_["categorical_share"] == 0.5
    assert 0.0 < model.meta_features_["missing_share"] < 0.2
    assert model.best_score_ > 0.8
    unseen = pd.DataFrame({"colour": ["purple", "red"], "size": [np.nan, 1.0]})
    assert model.predict(unseen).shape == (2,)


def test_models_of_ones_own_and_bad_models() -> None:
    X, y = make_classification(120, n_features=5, random_state=0)
    own = ("ridge_classifier", RidgeClassifier(), {"alpha": hd.Float(1e-3, 10.0, log=True)})
    model = AutoMLClassifier(n_trials=4, models=[own, "knn"], cv=3, random_state=0).fit(X, y)
    ridge = [t for t in model.study_.trials if t.params["model"] == "ridge_classifier"]
    assert ridge and all(1e-3 <= t.params["ridge_classifier__alpha"] <= 10 for t in ridge)
    with pytest.raises(ValueError, match="unknown classification model 'svr'"):
        AutoMLClassifier(models=["svr"]).fit(X, y)
    with pytest.raises(ValueError, match="given twice"):
        AutoMLClassifier(models=["knn", "knn"]).fit(X, y)
    with pytest.raises(ValueError, match="non-empty list"):
        AutoMLClassifier(models=[]).fit(X, y)
    with pytest.raises(ValueError, match="may not contain"):
        AutoMLClassifier(models=[("a__b", RidgeClassifier(), {})]).fit(X, y)
    with pytest.raises(ValueError, match="warm_start"):
        AutoMLClassifier(warm_start=-1).fit(X, y)
    with pytest.raises(ValueError, match="pruner"):
        AutoMLClassifier(pruner="median").fit(X, y)


def test_a_model_that_fits_but_cannot_predict_a_fold_fails_its_trial_only() -> None:
    """kNN with more neighbours than a fold's training rows fits, then cannot score or
    predict: sklearn set the score to NaN quietly, and the fold's predictions for the
    ensemble raised out of fit. Its trial fails with the reason; the search goes on."""
    from sklearn.neighbors import KNeighborsClassifier

    X, y = make_classification(48, n_features=4, random_state=0)  # cv=3: 32 training rows
    big = ("big_knn", KNeighborsClassifier(), {"n_neighbors": hd.Int(40, 45)})
    with pytest.warns(UserWarning, match="Scoring failed|non-finite"), \
            pytest.warns(FitFailedWarning, match="n_neighbors"):
        model = AutoMLClassifier(n_trials=6, models=[big, "logistic"], cv=3,
                                 random_state=0).fit(X, y)
    by_model = {t.params["model"]: [] for t in model.study_.trials}
    for t in model.study_.trials:
        by_model[t.params["model"]].append(t)
    assert set(by_model) == {"big_knn", "logistic"}
    assert all(t.state is TrialState.FAIL and "n_neighbors" in (t.fail_reason or "")
               for t in by_model["big_knn"])
    assert all(t.state is TrialState.COMPLETE for t in by_model["logistic"])
    assert model.score(X, y) > 0.7


def test_it_is_a_scikit_learn_estimator() -> None:
    model = AutoMLClassifier(n_trials=3, models=["knn"], random_state=0)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    X, y = make_classification(90, n_features=4, random_state=0)
    assert not hasattr(copy, "best_estimator_")
    copy.fit(X, y)
    assert not hasattr(model, "best_estimator_")  # fit never touches the original


def test_warm_start_tries_the_portfolio_first(circles: tuple[np.ndarray, ...]) -> None:
    Xtr, _, ytr, _ = circles
    portfolio = [
        {"model": "knn", "scaler": "robust", "knn__n_neighbors": 7, "knn__weights": "distance",
         "knn__p": 1},
        {"model": "svc", "scaler": "standard", "svc__C": 1.0, "svc__gamma": 0.1},  # not searched
        {"model": "random_forest", "random_forest__max_features": 0.5,
         "random_forest__min_samples_leaf": 2},
        {"model": "knn", "knn__n_neighbors": 3, "knn__leaf_size": 9},  # partial, and more
    ]
    model = AutoMLClassifier(n_trials=4, models=FAST, cv=3, warm_start=5, portfolio=portfolio,
                             random_state=0).fit(Xtr, ytr)
    partial = {"model": "knn", "knn__n_neighbors": 3}  # the sampler chooses the rest
    assert model.warm_start_configs_ == [portfolio[0], portfolio[2], partial]
    first = [dict(t.params) for t in model.study_.trials[:3]]
    assert first[:2] == [portfolio[0], portfolio[2]]
    assert first[2].items() >= partial.items() and set(first[2]) == set(portfolio[0])
    assert all(t.user_attrs["warm_start"] for t in model.study_.trials[:3])
    assert "warm_start" not in model.study_.trials[3].user_attrs
    model = AutoMLClassifier(n_trials=2, models=FAST, cv=3, warm_start=1, portfolio=portfolio,
                             random_state=0).fit(Xtr, ytr)
    assert model.warm_start_configs_ == [portfolio[0]]
    model = AutoMLClassifier(n_trials=1, cv=3, warm_start=1, random_state=0).fit(Xtr, ytr)
    assert model.warm_start_configs_ == automl._portfolio("classification")[:1]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_shipped_portfolio_fits_the_built_in_space(task: str) -> None:
    portfolio = automl._portfolio(task)
    space = automl.cash_space(automl.FAMILIES[task], seed=0).space
    assert len(portfolio) >= 3
    for config in portfolio:
        space.validate(config)
    assert len({c["model"] for c in portfolio}) >= 2  # it covers more than one family


def test_warm_start_from_the_nearest_earlier_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'automl.db'}"
    two = make_classification(150, n_features=4, n_informative=3, n_redundant=0,
                              random_state=0)
    four = make_classification(400, n_features=20, n_informative=6, n_classes=4,
                               random_state=1)
    for seed, (name, (X, y)) in enumerate((("two", two), ("four", four))):
        AutoMLClassifier(n_trials=4, models=["knn"], cv=3, warm_start=0, random_state=seed,
                         storage=url, study_name=name).fit(X, y)
    best = {n: hd.load_study(study_name=n, storage=url).best_params for n in ("two", "four")}
    assert best["two"] != best["four"]
    X, y = make_classification(380, n_features=18, n_informative=6, n_classes=4,
                               random_state=2)
    model = AutoMLClassifier(n_trials=3, models=["knn"], cv=3, warm_start=2, random_state=0,
                             storage=url, study_name="new").fit(X, y)
    # Four classes and ~400 rows: "four" is nearer than "two", so its best comes first.
    assert model.warm_start_configs_[:2] == [best["four"], best["two"]]
    assert [dict(t.params) for t in model.study_.trials[:2]] == [best["four"], best["two"]]
    stored = hd.load_study(study_name="new", storage=url).user_attrs
    assert stored["automl_task"] == "classification"
    assert stored["automl_meta_features"]["log_classes"] == pytest.approx(math.log(4))


def test_a_second_fit_resumes_without_a_new_warm_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    X, y = make_classification(120, n_features=5, random_state=0)
    AutoMLClassifier(n_trials=3, models=["knn"], cv=3, storage=url, study_name="s",
                     random_state=0).fit(X, y)
    again = AutoMLClassifier(n_trials=2, models=["knn"], cv=3, storage=url, study_name="s",
                             random_state=0).fit(X, y)
    assert again.warm_start_configs_ == []
    assert len(again.study_.trials) == 5
    assert len(again.search_.cv_results_["params"]) == 5


def test_meta_features() -> None:
    y = np.array([0, 0, 0, 1])
    X = np.array([[1.0, np.nan], [2.0, 1.0], [3.0, 2.0], [4.0, 3.0]])
    meta = automl.meta_features(X, y, "classification")
    assert meta["log_samples"] == pytest.approx(math.log(4))
    assert meta["log_features"] == pytest.approx(math.log(2))
    assert meta["missing_share"] == pytest.approx(1 / 8)
    assert meta["log_classes"] == pytest.approx(math.log(2))
    freq = np.array([0.75, 0.25])
    assert meta["class_entropy"] == pytest.approx(-(freq * np.log(freq)).sum() / math.log(2))
    assert "log_classes" not in automl.meta_features(X, y.astype(float), "regression")


def test_a_fitted_model_pickles_and_delegates_what_its_best_pipeline_has(
        circles: tuple[np.ndarray, ...]) -> None:
    Xtr, Xte, ytr, _ = circles
    own = ("normal_c_svc", SVC(), {"C": stats.lognorm(s=1.0)})  # a quantile-coded parameter
    model = AutoMLClassifier(n_trials=3, models=[own], cv=3, warm_start=0,
                             random_state=0).fit(Xtr, ytr)
    assert not hasattr(model, "predict_proba")  # an SVC without probability=True
    assert model.decision_function(Xte).shape == (len(Xte),)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(Xte), model.predict(Xte))
    assert copy.best_params_ == model.best_params_
    assert copy.search_.best_index_ == model.search_.best_index_
    forest = AutoMLClassifier(n_trials=2, models=["random_forest"], cv=3,
                              random_state=0).fit(Xtr, ytr)
    assert forest.predict_proba(Xte).shape == (len(Xte), 2)


def test_a_family_that_fails_to_fit_loses_only_its_own_trials() -> None:
    X, y = make_classification(120, n_features=5, random_state=0)
    broken = ("broken", _Broken(), {"knob": hd.Float(0.0, 1.0)})
    with pytest.warns(FitFailedWarning), pytest.warns(UserWarning, match="non-finite"):
        model = AutoMLClassifier(n_trials=8, models=[broken, "knn"], cv=3, warm_start=0,
                                 random_state=0).fit(X, y)
    states = {t.params["model"]: set() for t in model.study_.trials}
    for t in model.study_.trials:
        states[t.params["model"]].add(t.state)
    assert states["broken"] == {TrialState.FAIL}
    assert TrialState.COMPLETE in states["knn"]
    assert model.best_model_ == "knn"


class _Broken(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    def __init__(self, knob: float = 0.5) -> None:
        self.knob = knob

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Broken:
        raise ValueError("this model never fits")


def test_the_ensemble_averages_refitted_members_and_predicts() -> None:
    X, y = make_classification(300, n_features=12, n_informative=5, flip_y=0.1, random_state=3)
    Xtr, Xte, ytr, _ = train_test_split(X, y, random_state=0, stratify=y)
    model = AutoMLClassifier(n_trials=12, models=FAST, cv=3, random_state=0).fit(Xtr, ytr)
    assert model.ensemble_ is not None, "noisy labels: an average of several models helps"
    members = model.ensemble_members_
    assert len(members) == len(model.ensemble_.members) >= 2
    assert sum(m["weight"] for m in members) == pytest.approx(1.0)
    completed = {t.number: t for t in model.study_.get_trials(states=(TrialState.COMPLETE,))}
    for row in members:  # members are completed trials, scored as the study has them
        assert completed[row["trial"]].params["model"] == row["model"]
        assert completed[row["trial"]].value == pytest.approx(row["score"])
    proba = model.predict_proba(Xte)
    assert proba.shape == (len(Xte), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(Xte), model.ensemble_.predict(Xte))
    np.testing.assert_array_equal(model.predict(Xte), model.classes_[proba.argmax(axis=1)])
    assert not hasattr(model, "decision_function")  # an average has no decision function
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(Xte), proba)
    alone = clone(model).set_params(ensemble_size=0).fit(Xtr, ytr)
    assert alone.ensemble_ is None and alone.ensemble_members_ == []
    np.testing.assert_array_equal(alone.predict(Xte), alone.best_estimator_.predict(Xte))


def _spy_on_the_ensembles_candidates(
        monkeypatch: pytest.MonkeyPatch) -> dict[str, list[automl._Candidate]]:
    """Where the candidates the ensemble is built from (``"kept"``) are put at each fit."""
    seen: dict[str, list[automl._Candidate]] = {}
    build = automl._AutoML._ensemble

    def spy(self: automl._AutoML, search: automl._CashSearchCV, X: np.ndarray,
            y: np.ndarray) -> tuple[object, list[dict[str, object]]]:
        seen["kept"] = list(search.kept_)
        return build(self, search, X, y)

    monkeypatch.setattr(automl._AutoML, "_ensemble", spy)
    return seen


def test_the_ensemble_draws_on_the_best_completed_configurations(
        monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = make_friedman1(200, noise=1.0, random_state=0)
    monkeypatch.setattr(automl, "NBEST", 4)
    seen = _spy_on_the_ensembles_candidates(monkeypatch)
    model = AutoMLRegressor(n_trials=10, models=["ridge", "knn", "random_forest"], cv=3,
                            random_state=0).fit(X, y)
    values = sorted((t.value for t in model.study_.get_trials(states=(TrialState.COMPLETE,))),
                    reverse=True)
    kept = seen["kept"]
    assert [c.value(None) for c in kept] == pytest.approx(values[:4])  # the best, best first
    assert all(len(c.predictions) == 3 for c in kept)
    assert model.search_.kept_ == []  # the predictions do not outlive the fit


def test_no_ensemble_without_out_of_fold_predictions_for_every_sample() -> None:
    from sklearn.model_selection import ShuffleSplit

    X, y = make_friedman1(150, noise=1.0, random_state=0)
    with pytest.warns(UserWarning, match="do not cover every sample"):
        model = AutoMLRegressor(n_trials=6, models=["ridge", "knn"], random_state=0,
                                cv=ShuffleSplit(3, test_size=0.3, random_state=0)).fit(X, y)
    assert model.ensemble_ is None
    np.testing.assert_array_equal(model.predict(X), model.best_estimator_.predict(X))


def test_ensemble_size_must_be_a_count() -> None:
    X, y = make_friedman1(60, random_state=0)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="ensemble_size must be a non-negative int"):
            AutoMLRegressor(n_trials=2, ensemble_size=bad).fit(X, y)


class _Hangs(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    """A family whose every fit runs far past any time limit."""

    def __init__(self, knob: float = 0.5) -> None:
        self.knob = knob

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Hangs:
        import time

        time.sleep(600.0)  # the behaviour under test: a runaway fit
        return self


def test_fit_timeout_stops_a_runaway_family_and_the_search_goes_on() -> None:
    import time

    X, y = make_classification(120, n_features=5, random_state=0)
    hangs = ("hangs", _Hangs(), {"knob": hd.Float(0.0, 1.0)})
    start = time.monotonic()
    with pytest.warns(FitFailedWarning, match="fit_timeout"), \
            pytest.warns(UserWarning, match="non-finite"):
        model = AutoMLClassifier(n_trials=6, models=[hangs, "knn"], cv=2, warm_start=0,
                                 fit_timeout=2.0, random_state=0).fit(X, y)
    assert time.monotonic() - start < 150.0  # each runaway fit was stopped after 2 s
    hung = [t for t in model.study_.trials if t.params["model"] == "hangs"]
    assert hung and all(t.state is TrialState.FAIL and "fit_timeout" in t.fail_reason
                        for t in hung)
    assert model.best_model_ == "knn"
    assert model.score(X, y) > 0.5


def test_pandas_nullable_dtypes_with_missing_values() -> None:
    """What ``convert_dtypes()`` or ``read_csv(dtype_backend="numpy_nullable")`` give: Int64,
    Float64, boolean and string columns whose missing values are ``pd.NA``. Numbers are
    imputed as floats; a missing text, boolean or category is a category of its own."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 120
    colour = rng.choice(["red", "blue"], size=n)
    size = rng.normal(size=n)
    y = (size + 2 * (colour == "red") > 1).astype(int)
    gone = rng.random(n) < 0.1
    X = pd.DataFrame({
        "count": pd.array(np.where(gone, None, rng.integers(0, 5, n)), dtype="Int64"),
        "size": pd.array(np.where(gone[::-1], None, size), dtype="Float64"),
        "colour": pd.array(np.where(gone, None, colour), dtype="string"),
        "flag": pd.array(np.where(gone[::-1], None, size > 1), dtype="boolean"),
        "kind": pd.Categorical(np.where(gone, None, rng.choice(["a", "b"], size=n)))})
    model = AutoMLClassifier(n_trials=3, models=["logistic"], cv=3, random_state=0).fit(X, y)
    assert model.meta_features_["categorical_share"] == pytest.approx(3 / 5)
    assert model.meta_features_["missing_share"] == pytest.approx(X.isna().to_numpy().mean())
    assert model.best_score_ > 0.7
    new = X.iloc[:4].copy()
    new.iloc[0] = pd.NA  # every column missing at once
    assert model.predict(new).shape == (4,)
    prep = automl.preprocessor(X).fit(X)
    names = list(prep.get_feature_names_out())
    assert {"categories__colour_missing", "categories__flag_True",
            "categories__kind_missing"} <= set(names)
    assert np.isfinite(prep.transform(new)).all()


def test_a_resumed_study_ensembles_with_its_best_configuration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The study's best configuration is the first fit's; the second fit's trials are all
    worse. best_estimator_ is that configuration, so it is cross-validated again for its
    out-of-fold predictions and the ensemble draws on it (or it predicts alone)."""
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    X, y = make_classification(150, n_features=6, n_informative=4, random_state=0)
    kw = {"models": ["logistic", "knn"], "cv": 3, "storage": url, "study_name": "s"}
    first = AutoMLClassifier(n_trials=4, random_state=0, **kw).fit(X, y)
    study = hd.load_study(study_name="s", storage=url)
    for c in (1e-4, 2e-4, 3e-4):  # the second fit's trials: hopelessly regularised
        study.enqueue_trial({"model": "logistic", "scaler": "standard", "logistic__C": c})
    seen = _spy_on_the_ensembles_candidates(monkeypatch)
    again = AutoMLClassifier(n_trials=3, random_state=1, **kw).fit(X, y)
    best = again.study_.best_trial
    assert best.number < 4 and best.value == first.best_score_ == again.best_score_
    kept = seen["kept"]
    assert kept[0].number == best.number and len(kept[0].predictions) == 3
    assert {c.number for c in kept[1:]} == {4, 5, 6}
    members = {m["trial"] for m in again.ensemble_members_}
    assert again.ensemble_ is None or best.number in members
    if again.ensemble_ is None:
        np.testing.assert_array_equal(again.predict(X), again.best_estimator_.predict(X))
    # Should the best configuration have no predictions (its folds failing now), no
    # ensemble of worse ones predicts: best_estimator_ does, with a warning.
    monkeypatch.setattr(automl._CashSearchCV, "_after_search", lambda self, cands, runner: None)
    study.enqueue_trial({"model": "logistic", "scaler": "standard", "logistic__C": 1e-4})
    study.enqueue_trial({"model": "logistic", "scaler": "robust", "logistic__C": 1e-4})
    with pytest.warns(UserWarning, match=f"best configuration \\(trial {best.number}\\)"):
        alone = AutoMLClassifier(n_trials=2, random_state=2, **kw).fit(X, y)
    assert alone.ensemble_ is None
    np.testing.assert_array_equal(alone.predict(X), alone.best_estimator_.predict(X))


def test_scoring_is_one_metric() -> None:
    """AutoML has one objective and no ``refit`` to choose among metrics: a list or dict is
    refused before anything runs, and a callable that returns several metrics after."""
    X, y = make_classification(90, n_features=4, random_state=0)
    for several in ({"acc": "accuracy", "f1": "f1_macro"}, ["accuracy", "f1_macro"]):
        with pytest.raises(ValueError, match="AutoMLClassifier optimises one metric") as info:
            AutoMLClassifier(n_trials=2, models=["logistic"], scoring=several).fit(X, y)
        assert "refit" not in str(info.value)

    def both(estimator: object, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return {"acc": 1.0, "other": 0.0}

    with pytest.raises(ValueError, match=r"returned 2 \(\['acc', 'other'\]\)") as info:
        AutoMLClassifier(n_trials=1, models=["logistic"], cv=2, scoring=both).fit(X, y)
    assert "refit" not in str(info.value)


@pytest.mark.parametrize("cls", [AutoMLClassifier, AutoMLRegressor])
def test_bad_parameters_and_data_are_named_as_the_public_class(cls: type) -> None:
    X, y = make_classification(40, n_features=4, random_state=0)
    name = cls.__name__
    for bad in ({"n_trials": 0}, {"cv": 1}, {"timeout": -1}, {"fit_timeout": 0},
                {"sampler": "tpe"}, {"models": "knn"}, {"scoring": "no_such_metric"}):
        with pytest.raises(ValueError, match=f"'{next(iter(bad))}' parameter of {name} "):
            cls(**bad).fit(X, y)
    with pytest.raises(ValueError, match=f"0 sample\\(s\\) \\(shape=\\(0, 4\\)\\).* {name}"):
        cls(n_trials=2).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match=f"0 feature\\(s\\) \\(shape=\\(40, 0\\)\\).* {name}"):
        cls(n_trials=2).fit(X[:, :0], y)
    with pytest.raises(ValueError, match="Expected a 2D array, got 1D"):
        cls(n_trials=2).fit(X[:, 0], y)


class _RecordingGroupKFold:
    """GroupKFold that keeps the groups each split was given."""

    def __init__(self) -> None:
        from sklearn.model_selection import GroupKFold

        self.inner, self.seen = GroupKFold(3), []

    def get_n_splits(self, X=None, y=None, groups=None):  # type: ignore[no-untyped-def]
        return 3

    def split(self, X, y=None, groups=None):  # type: ignore[no-untyped-def]
        self.seen.append(groups)
        return self.inner.split(X, y, groups)


def test_groups_reach_the_splitter_and_a_table_names_its_features() -> None:
    """``fit`` took no ``groups``, so a group splitter failed ("The 'groups' parameter should
    not be None"); and a DataFrame's column names were not kept as ``feature_names_in_``."""
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=90, n_features=4, random_state=0)
    groups = np.arange(90) % 6
    cv = _RecordingGroupKFold()
    model = AutoMLClassifier(n_trials=2, cv=cv, models=["logistic"], warm_start=0,
                             ensemble_size=0, random_state=0)
    model.fit(pd.DataFrame(X, columns=list("abcd")), y, groups=groups)
    assert cv.seen and all(g is not None and list(g) == list(groups) for g in cv.seen)
    assert list(model.feature_names_in_) == list("abcd")
    model.fit(X, y, groups=groups)  # refitted on an array: the names are gone
    assert not hasattr(model, "feature_names_in_")
