r"""Tune an SVM (C, gamma, kernel) on scikit-learn's bundled breast-cancer data.

Run it through the CLI, which stores every trial in SQLite and shows a progress bar::

    hyperdial run examples/svm_breast_cancer.py:objective --study svm --direction maximize \
        --n-trials 60

or as a script: ``python examples/svm_breast_cancer.py``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

import hyperdial as hd


@lru_cache(maxsize=1)
def _data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return x, y


def objective(trial: hd.Trial) -> float:
    """Mean 3-fold stratified CV accuracy of a scaled SVC (to maximise)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    c = trial.suggest_float("C", 1e-3, 1e3, log=True)
    kernel = trial.suggest_categorical("kernel", ["rbf", "poly", "sigmoid", "linear"])
    gamma = trial.suggest_float("gamma", 1e-5, 10.0, log=True) if kernel != "linear" else "scale"
    model = make_pipeline(StandardScaler(), SVC(C=c, kernel=kernel, gamma=gamma))
    x, y = _data()
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return float(cross_val_score(model, x, y, cv=cv).mean())


def main(n_trials: int = 60, storage: str | None = None) -> hd.Study:
    study = hd.create_study(study_name="svm-breast-cancer", storage=storage,
                            direction="maximize", load_if_exists=True,
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n_trials)
    return study


if __name__ == "__main__":
    best = main().best_trial
    print(f"best accuracy {best.value:.4f} with {dict(best.params)}")
