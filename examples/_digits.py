"""What several examples share: scikit-learn's bundled 8x8 digits, split 50/50 (stratified,
seed 0) and standardised with the training half's statistics, and a random forest on them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, x_val, y_train, y_val)``, computed once per process."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.5, stratify=y,
                                                      random_state=0)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_val), y_train, y_val


def forest_on_digits(trial: Any) -> tuple[float, int]:
    """A random forest with ``trial``'s suggested size and shape, fitted on the training half:
    ``(validation error, total tree nodes)``, the nodes a proxy for memory and latency."""
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=trial.suggest_int("n_estimators", 5, 100, log=True),
        max_depth=trial.suggest_int("max_depth", 2, 16),
        max_features=trial.suggest_float("max_features", 0.05, 1.0, log=True),
        min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 16, log=True),
        random_state=0, n_jobs=1)
    x_train, x_val, y_train, y_val = digits_split()
    model.fit(x_train, y_train)
    nodes = sum(tree.tree_.node_count for tree in model.estimators_)
    return 1.0 - float(model.score(x_val, y_val)), int(nodes)
