"""What several examples share: scikit-learn's bundled 8x8 digits, split 50/50 (stratified,
seed 0) and standardised with the training half's statistics, a random forest on them, and the
summary the pruning examples print."""

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


def epochs_trained(study: Any, first_epoch: int = 1) -> int:
    """Epochs the study's trials trained in all: each reports once an epoch, numbered from
    ``first_epoch``, so its last report is its last epoch."""
    return sum(t.last_step - first_epoch + 1 for t in study.trials if t.last_step is not None)


def print_pruning_summary(study: Any, max_epochs: int, first_epoch: int = 1) -> None:
    """How many trials were pruned, what share of full training they used, the best."""
    pruned = sum(t.state.value == "PRUNED" for t in study.trials)
    used, full = epochs_trained(study, first_epoch), max_epochs * len(study.trials)
    print(f"{len(study.trials)} trials, {pruned} pruned; {used} epochs trained, "
          f"{used / full:.0%} of the {full} that full training of every trial takes")
    print(f"best validation error {study.best_value:.4f} with {study.best_params}")
