"""XGBoost and LightGBM pruning callbacks, run for real (skipped, loudly, when not installed)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification

import hyperdial as hd

xgb = pytest.importorskip("xgboost", reason="xgboost is not installed: pip install "
                                            "'hyperdial[xgboost]' to test its callback")
lgb = pytest.importorskip("lightgbm", reason="lightgbm is not installed: pip install "
                                             "'hyperdial[lightgbm]' to test its callback")

from hyperdial.integrations.lightgbm import LightGBMPruningCallback  # noqa: E402
from hyperdial.integrations.xgboost import XGBoostPruningCallback  # noqa: E402


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=300, n_features=10, random_state=0)
    return X[:200], y[:200], X[200:], y[200:]


class _PruneAt(hd.pruners.Pruner):
    """Prunes once a trial has reported ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def decide(self, history: hd.History, trial: hd.TrialRecord) -> hd.pruners.Decision:
        done = self.step in trial.intermediate_values
        return hd.pruners.Decision.PRUNE if done else hd.pruners.Decision.CONTINUE


def _run(objective: Any, prune_at: int) -> list[hd.TrialRecord]:
    study = hd.create_study(pruner=_PruneAt(prune_at))
    study.optimize(objective, n_trials=1)
    return study.trials


def test_xgboost_reports_each_round_and_prunes(data: Any) -> None:
    X, y, Xv, yv = data

    def objective(trial: hd.Trial) -> float:
        callback = XGBoostPruningCallback(trial, "validation_0-logloss")
        model = xgb.XGBClassifier(n_estimators=20, max_depth=2, callbacks=[callback])
        model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
        return float(model.evals_result()["validation_0"]["logloss"][-1])

    (complete,) = _run(objective, prune_at=100)
    assert complete.state is hd.TrialState.COMPLETE
    assert sorted(complete.intermediate_values) == list(range(20))
    assert complete.intermediate_values[19] == pytest.approx(complete.value)
    (pruned,) = _run(objective, prune_at=4)
    assert pruned.state is hd.TrialState.PRUNED and pruned.last_step == 4


def test_xgboost_cv_and_a_wrong_key(data: Any) -> None:
    X, y, _, _ = data

    def objective(trial: hd.Trial) -> float:
        cb = XGBoostPruningCallback(trial, "test-logloss")
        res = xgb.cv({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, y),
                     num_boost_round=5, nfold=2, callbacks=[cb], as_pandas=False)
        return float(res["test-logloss-mean"][-1])

    (trial,) = _run(objective, prune_at=100)
    assert trial.value == pytest.approx(trial.intermediate_values[4])

    def wrong(t: hd.Trial) -> float:
        model = xgb.XGBClassifier(n_estimators=2, callbacks=[XGBoostPruningCallback(t, "v-auc")])
        model.fit(X, y, eval_set=[(X, y)], verbose=False)
        return 0.0

    with pytest.raises(KeyError, match="validation_0-logloss"):
        hd.create_study().optimize(wrong, n_trials=1)


def test_xgboost_a_metric_whose_name_holds_a_hyphen(data: Any) -> None:
    X = data[0]
    rng = np.random.default_rng(0)
    times = np.exp(X[:, 0] + rng.normal(size=len(X)) * 0.3)
    dtrain = xgb.DMatrix(X)
    dtrain.set_float_info("label_lower_bound", times)
    dtrain.set_float_info("label_upper_bound", times)

    def objective(trial: hd.Trial) -> float:
        log: dict[str, Any] = {}
        xgb.train({"objective": "survival:aft", "eval_metric": "aft-nloglik", "nthread": 1},
                  dtrain, num_boost_round=4, evals=[(dtrain, "validation")], evals_result=log,
                  verbose_eval=False,
                  callbacks=[XGBoostPruningCallback(trial, "validation-aft-nloglik")])
        return float(log["validation"]["aft-nloglik"][-1])

    (trial,) = _run(objective, prune_at=100)
    assert trial.state is hd.TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3]
    assert trial.intermediate_values[3] == pytest.approx(trial.value)

    def wrong(t: hd.Trial) -> float:
        xgb.train({"objective": "survival:aft", "eval_metric": "aft-nloglik", "nthread": 1},
                  dtrain, num_boost_round=1, evals=[(dtrain, "validation")], verbose_eval=False,
                  callbacks=[XGBoostPruningCallback(t, "validation-nloglik")])
        return 0.0

    with pytest.raises(KeyError, match="validation-aft-nloglik"):
        hd.create_study().optimize(wrong, n_trials=1)
    with pytest.raises(ValueError, match="<eval name>-<metric>"):
        XGBoostPruningCallback(hd.create_study().ask(), "logloss")


def test_lightgbm_reports_each_round_and_prunes(data: Any) -> None:
    X, y, Xv, yv = data

    def objective(trial: hd.Trial) -> float:
        callback = LightGBMPruningCallback(trial, "binary_logloss")
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                            lgb.Dataset(X, y), num_boost_round=15,
                            valid_sets=[lgb.Dataset(Xv, yv)], callbacks=[callback])
        return float(booster.best_score["valid_0"]["binary_logloss"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # LightGBM's notes on tiny data
        (complete,) = _run(objective, prune_at=100)
        (pruned,) = _run(objective, prune_at=3)
    assert complete.state is hd.TrialState.COMPLETE
    assert sorted(complete.intermediate_values) == list(range(15))
    assert pruned.state is hd.TrialState.PRUNED and pruned.last_step == 3


def test_lightgbm_resumed_in_one_trial_reports_on_from_its_rounds(data: Any) -> None:
    """Steps counted from each ``lgb.train`` call's first round: training resumed with
    ``init_model`` reported steps 0, 1, 2 again, and the trial dropped them as repeats (the
    pruner judged stale values). Optuna reports the booster's round, as now."""
    X, y, Xv, yv = data
    params = {"objective": "binary", "num_threads": 1, "verbose": -1}
    train = lgb.Dataset(X, y, free_raw_data=False)
    valid = lgb.Dataset(Xv, yv, reference=train, free_raw_data=False)
    trial = hd.create_study().ask()
    first = lgb.train(params, train, 3, valid_sets=[valid], keep_training_booster=True,
                      callbacks=[LightGBMPruningCallback(trial, "binary_logloss")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "reported step ... already" warning
        lgb.train(params, train, 3, valid_sets=[valid], init_model=first,
                  callbacks=[LightGBMPruningCallback(trial, "binary_logloss")])
    assert sorted(trial.intermediate_values) == list(range(6))


def test_lightgbm_cv_and_a_missing_metric(data: Any) -> None:
    X, y, _, _ = data
    params = {"objective": "binary", "verbose": -1, "num_leaves": 4}

    def objective(trial: hd.Trial) -> float:
        cb = LightGBMPruningCallback(trial, "binary_logloss")
        res = lgb.cv(params, lgb.Dataset(X, y), num_boost_round=4, nfold=2, callbacks=[cb])
        return float(res["valid binary_logloss-mean"][-1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        (trial,) = _run(objective, prune_at=100)
        assert trial.value == pytest.approx(trial.intermediate_values[3])

        def wrong(t: hd.Trial) -> float:
            lgb.train(params, lgb.Dataset(X, y), num_boost_round=2,
                      valid_sets=[lgb.Dataset(X, y)], callbacks=[LightGBMPruningCallback(t, "auc")])
            return 0.0

        with pytest.raises(ValueError, match="no 'auc'"):
            hd.create_study().optimize(wrong, n_trials=1)


def test_lightgbm_refuses_a_metric_against_the_study_direction(data: Any) -> None:
    """As Optuna's callback: LightGBM says whether a metric is better when higher, and a
    study that maximises accuracy but prunes on log loss would stop its best trials."""
    X, y, Xv, yv = data
    params = {"objective": "binary", "verbose": -1, "num_leaves": 4, "metric": ["auc",
                                                                              "binary_logloss"]}

    def train(trial: hd.Trial, metric: str) -> float:
        lgb.train(params, lgb.Dataset(X, y), num_boost_round=3, valid_sets=[lgb.Dataset(Xv, yv)],
                  callbacks=[LightGBMPruningCallback(trial, metric)])
        return 0.0

    def cv(trial: hd.Trial) -> float:
        lgb.cv(params, lgb.Dataset(X, y), num_boost_round=2, nfold=2,
               callbacks=[LightGBMPruningCallback(trial, "binary_logloss")])
        return 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for direction, metric in (("maximize", "binary_logloss"), ("minimize", "auc")):
            study = hd.create_study(direction=direction)
            with pytest.raises(ValueError, match=f"inconsistent .* {metric!r} is better when"):
                study.optimize(lambda t, m=metric: train(t, m), n_trials=1)
            assert study.trials[0].intermediate_values == {}  # refused before any report
        with pytest.raises(ValueError, match="a metric to be maximized"):
            hd.create_study(direction="maximize").optimize(cv, n_trials=1)
        for direction, metric in (("maximize", "auc"), ("minimize", "binary_logloss")):
            study = hd.create_study(direction=direction)
            study.optimize(lambda t, m=metric: train(t, m), n_trials=1)
            assert study.trials[0].state is hd.TrialState.COMPLETE


def test_xgboost_refuses_a_built_in_metric_against_the_study_direction(data: Any) -> None:
    X, y, Xv, yv = data

    def fit(trial: hd.Trial, key: str, metric: Any) -> float:
        model = xgb.XGBClassifier(n_estimators=3, max_depth=2, eval_metric=metric,
                                  callbacks=[XGBoostPruningCallback(trial, key)])
        model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
        return 0.0

    def accuracy(y_true: np.ndarray, y_score: np.ndarray) -> float:
        return float(((y_score > 0.5) == y_true).mean())

    cases = (("maximize", "validation_0-logloss", "logloss", False),
             ("minimize", "validation_0-auc", "auc", False),
             ("maximize", "validation_0-error@0.7", "error@0.7", False),
             ("maximize", "validation_0-auc", "auc", True),
             ("maximize", "validation_0-accuracy", accuracy, True))  # custom: its own business
    for direction, key, metric, fine in cases:
        study = hd.create_study(direction=direction)
        if fine:
            study.optimize(lambda t, k=key, m=metric: fit(t, k, m), n_trials=1)
            assert study.trials[0].state is hd.TrialState.COMPLETE
        else:
            with pytest.raises(ValueError, match="inconsistent .* study directions"):
                study.optimize(lambda t, k=key, m=metric: fit(t, k, m), n_trials=1)
