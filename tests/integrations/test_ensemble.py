"""Ensemble selection: the greedy kernel, out-of-fold assembly, scoring known predictions."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    get_scorer,
    log_loss,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import KFold, ShuffleSplit
from sklearn.svm import SVC

from hyperdial.integrations._ensemble import (
    VotingEnsemble,
    ensemble_selection,
    fold_predictions,
    out_of_fold,
    predictions,
    scorer_of,
)


def _neg_mse(y: np.ndarray):  # type: ignore[no-untyped-def]
    return lambda values: -float(np.mean((values - y) ** 2))


def test_members_with_opposite_errors_are_averaged() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    noise = rng.normal(size=200)
    members = [y + noise, y - noise, y + 3 * noise]
    counts = ensemble_selection(members, _neg_mse(y), 50)
    assert counts[0] > 0 and counts[1] > 0  # together they cancel out
    assert counts[2] == 0
    assert abs(int(counts[0]) - int(counts[1])) <= 1


def test_a_member_that_adds_nothing_gets_no_weight() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=100)
    good = y + 0.1 * rng.normal(size=100)
    counts = ensemble_selection([good, good + 2.0], _neg_mse(y), 20)
    assert counts[0] >= 1 and counts[1] == 0  # adding the biased one only hurts


def test_ties_go_to_the_earlier_member_and_the_later_round() -> None:
    y = np.zeros(10)
    same = np.ones(10)
    assert ensemble_selection([same, same.copy()], _neg_mse(y), 5).tolist() == [5, 0]
    # accuracy-like ties: a 50/50 pair scores as well as the first member alone, and so does
    # every later round that adds the first one again: the last of them is kept
    first, second = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    plateau = ensemble_selection([first, second], lambda v: float(v[0] >= v[1]), 6)
    assert plateau.tolist() == [6, 0]


def test_a_worse_round_after_the_best_is_not_kept() -> None:
    y = np.array([0.0, 0.0])
    members = [np.array([1.0, -1.0]), np.array([-1.0, 1.0]), np.array([3.0, 3.0])]
    counts = ensemble_selection(members, _neg_mse(y), 3)
    assert counts.tolist() == [1, 1, 0]  # round 2 averages to 0; round 3 can only add error


def test_selection_needs_members() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ensemble_selection([], _neg_mse(np.zeros(3)), 5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6), st.integers(1, 30))
def test_the_ensemble_never_scores_below_its_best_member(seed: int, n_members: int,
                                                         size: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=40)
    members = [y + rng.normal(scale=rng.uniform(0.1, 2.0), size=40) for _ in range(n_members)]
    score = _neg_mse(y)
    counts = ensemble_selection(members, score, size)
    assert counts.sum() >= 1 and counts.sum() <= size
    average = sum(c * m for c, m in zip(counts, members, strict=True)) / counts.sum()
    assert score(average) >= max(score(m) for m in members) - 1e-12


def test_out_of_fold_places_each_fold_and_aligns_classes() -> None:
    classes = np.array([0, 1, 2])
    parts = [(np.array([0, 2]), np.array([0, 2]), np.array([[0.3, 0.7], [0.6, 0.4]])),
             (np.array([1, 3]), classes, np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]))]
    oof = out_of_fold(parts, 4, classes)
    assert oof is not None
    np.testing.assert_allclose(oof, [[0.3, 0.0, 0.7], [0.2, 0.3, 0.5],
                                     [0.6, 0.0, 0.4], [1.0, 0.0, 0.0]])


def test_out_of_fold_needs_folds_that_cover_every_sample_once() -> None:
    X, y = make_classification(60, random_state=0)
    for splitter, whole in ((KFold(3, shuffle=True, random_state=0), True),
                            (ShuffleSplit(3, test_size=0.3, random_state=0), False)):
        parts = []
        for train, test in splitter.split(X):
            model = LinearRegression().fit(X[train], y[train])
            parts.append(fold_predictions(model, X[test], test))
        assert (out_of_fold(parts, len(y), None) is not None) is whole


def test_a_classifier_without_probabilities_votes_for_its_class() -> None:
    X, y = make_classification(80, random_state=0)
    svc = SVC().fit(X, y)
    votes = predictions(svc, X)
    assert votes.shape == (80, 2)
    np.testing.assert_array_equal(svc.classes_[votes.argmax(axis=1)], svc.predict(X))
    np.testing.assert_array_equal(votes.sum(axis=1), 1.0)


@pytest.mark.parametrize(("name", "metric"), [
    ("accuracy", lambda y, p, c: accuracy_score(y, c[p.argmax(axis=1)])),
    ("roc_auc", lambda y, p, c: roc_auc_score(y, p[:, 1])),
    ("neg_log_loss", lambda y, p, c: -log_loss(y, p)),
])
def test_any_scorer_scores_known_probabilities(name: str, metric) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    y = np.array(["no", "yes"])[rng.integers(0, 2, size=50)]
    p1 = rng.uniform(0.05, 0.95, size=50)
    values = np.column_stack([1 - p1, p1])
    classes = np.array(["no", "yes"])
    got = scorer_of(get_scorer(name), y, classes)(values)
    assert got == pytest.approx(metric(y, values, classes))


def test_regression_scorer_and_ensemble_average() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=100)
    values = y + rng.normal(size=100)
    assert scorer_of(get_scorer("r2"), y, None)(values) == pytest.approx(r2_score(y, values))
    a, b = LinearRegression().fit(X, y), LinearRegression(fit_intercept=False).fit(X, y)
    ensemble = VotingEnsemble([a, b], [0.75, 0.25])
    np.testing.assert_allclose(ensemble.predict(X), 0.75 * a.predict(X) + 0.25 * b.predict(X))
    with pytest.raises(AttributeError):
        ensemble.predict_proba(X)


def test_classification_ensemble_mixes_probabilities_and_votes() -> None:
    X, y = make_classification(120, n_classes=3, n_informative=4, random_state=0)
    logistic, svc = LogisticRegression(max_iter=500).fit(X, y), SVC().fit(X, y)
    ensemble = VotingEnsemble([logistic, svc], [0.5, 0.5], np.array([0, 1, 2]))
    proba = ensemble.predict_proba(X)
    expected = 0.5 * logistic.predict_proba(X) + 0.5 * predictions(svc, X)
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(ensemble.predict(X), proba.argmax(axis=1))
