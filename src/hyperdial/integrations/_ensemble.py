"""Ensemble selection over the models a search has cross-validated.

Caruana et al. (2004), as Auto-sklearn uses it: from the out-of-fold predictions of the best
configurations, build a weighted average greedily, adding with replacement, at each of
``size`` rounds, the model that makes the average score best; a model's weight is how many
rounds picked it, up to the last round that scored best. Adding with replacement lets a strong
model weigh more than a weak one, and every choice is made on predictions for data the model
was not trained on.

A classifier's predictions are class probabilities; a classifier without ``predict_proba``
(an SVC, say) votes with all its mass on the class it predicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier

#: One fold's predictions as a worker returns them: the fold's test indices, the classes the
#: fitted model knows (None for a regressor) and its predictions for those rows.
FoldPredictions = tuple[np.ndarray, "np.ndarray | None", np.ndarray]


def predictions(model: Any, X: Any) -> np.ndarray:
    """What a fitted ``model`` contributes to an average: class probabilities (columns in
    ``model.classes_`` order, one-hot for a classifier without ``predict_proba``) or, for a
    regressor, its predictions."""
    values: np.ndarray
    if not is_classifier(model):
        values = np.asarray(model.predict(X), dtype=float)
    elif hasattr(model, "predict_proba"):
        values = np.asarray(model.predict_proba(X), dtype=float)
    else:
        predicted = np.asarray(model.predict(X))
        values = (predicted[:, None] == np.asarray(model.classes_)[None, :]).astype(float)
    return values


def fold_predictions(model: Any, X_test: Any, test: np.ndarray) -> FoldPredictions:
    """`predictions` on one fold's test rows, with what `out_of_fold` needs to place them."""
    classes = np.asarray(model.classes_) if is_classifier(model) else None
    return np.asarray(test), classes, predictions(model, X_test)


def aligned(values: np.ndarray, own: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Probability columns in ``own`` class order moved to ``classes`` order (a class the
    model never saw gets 0)."""
    out = np.zeros((values.shape[0], len(classes)))
    out[:, np.searchsorted(classes, own)] = values
    return out


def out_of_fold(parts: Sequence[FoldPredictions], n_samples: int,
                classes: np.ndarray | None) -> np.ndarray | None:
    """Every fold's predictions placed at its test rows: one prediction per sample, made by
    the model that did not train on it. None unless the test folds cover every sample exactly
    once (a ``KFold``-like splitter; shuffle splits leave some out and repeat others)."""
    seen = np.zeros(n_samples, dtype=int)
    out = np.zeros(n_samples if classes is None else (n_samples, len(classes)))
    for test, own, values in parts:
        seen[test] += 1
        out[test] = values if classes is None or own is None else aligned(values, own, classes)
    return out if bool(np.all(seen == 1)) else None


def ensemble_selection(members: Sequence[np.ndarray], score: Callable[[np.ndarray], float],
                       size: int) -> np.ndarray:
    """Greedy selection with replacement over ``size`` rounds: how many times each member
    was chosen, at the last round whose average scored best (Caruana's "best nested
    ensemble", so the result never scores below the best single member; among rounds that
    tie, as a coarse score such as accuracy often does, the last is the most even average).

    ``members`` are aligned out-of-fold predictions (best first: ties go to the earlier one);
    ``score`` (higher is better) scores an average of them.
    """
    if not members:
        raise ValueError("ensemble selection needs at least one member")
    counts = np.zeros(len(members), dtype=int)
    best_counts, best_score = counts, 0.0
    total = np.zeros_like(members[0], dtype=float)
    for rounds in range(1, size + 1):
        scores = [score((total + m) / rounds) for m in members]
        pick = int(np.argmax(scores))  # the first of the best
        counts = counts.copy()
        counts[pick] += 1
        total += members[pick]
        if rounds == 1:
            best_counts, best_score = counts, scores[pick]
        elif scores[pick] >= best_score - 1e-12 * max(1.0, abs(best_score)):
            best_counts, best_score = counts, max(scores[pick], best_score)
    return best_counts


class _Fixed(BaseEstimator):  # type: ignore[misc]
    """Known predictions posing as a fitted model, so that any scikit-learn scorer (accuracy,
    ROC AUC, log loss, R², one's own) can score them; ``X`` is ignored."""

    def __init__(self, values: np.ndarray, classes: np.ndarray | None = None) -> None:
        self.values = values
        self.classes = classes

    def predict(self, X: Any) -> np.ndarray:
        if self.classes is None:
            return self.values
        return np.asarray(self.classes[np.argmax(self.values, axis=1)])


class _FixedClassifier(ClassifierMixin, _Fixed):  # type: ignore[misc]
    @property
    def classes_(self) -> np.ndarray | None:
        return self.classes

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.values


class _FixedRegressor(RegressorMixin, _Fixed):  # type: ignore[misc]
    pass


def scorer_of(scorer: Callable[..., float], y: Any,
              classes: np.ndarray | None) -> Callable[[np.ndarray], float]:
    """A function scoring out-of-fold predictions of ``y`` with a scikit-learn ``scorer``."""
    X = np.zeros((len(y), 1))

    def score(values: np.ndarray) -> float:
        fixed = (_FixedRegressor(values) if classes is None
                 else _FixedClassifier(values, classes))
        return float(scorer(fixed, X, y))

    return score


class VotingEnsemble(BaseEstimator):  # type: ignore[misc]
    """Fitted models and their weights: the weighted average of their probabilities (a
    classifier; the class with the highest, as its prediction) or of their predictions."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float],
                 classes: np.ndarray | None = None) -> None:
        self.members = members
        self.weights = weights
        self.classes = classes

    def _average(self, X: Any) -> np.ndarray:
        total: np.ndarray | None = None
        for model, weight in zip(self.members, self.weights, strict=True):
            values = predictions(model, X)
            if self.classes is not None:
                values = aligned(values, np.asarray(model.classes_), self.classes)
            total = weight * values if total is None else total + weight * values
        assert total is not None
        return total / float(np.sum(self.weights))

    def predict(self, X: Any) -> np.ndarray:
        average = self._average(X)
        if self.classes is None:
            return average
        return np.asarray(self.classes[np.argmax(average, axis=1)])

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("a regression ensemble has no predict_proba")
        return self._average(X)
