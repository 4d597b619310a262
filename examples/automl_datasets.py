"""AutoML on two datasets in one storage: the second search starts from what the first found.

`AutoMLClassifier` picks the model family and its hyperparameters for scikit-learn's wine data,
then for its breast-cancer data. Both studies live in one SQLite file, with the meta-features
of their data; the second begins with the best configuration of the nearest earlier study
(here the only one), then the shipped portfolio, before its sampler takes over::

    python examples/automl_datasets.py
"""

from __future__ import annotations

from typing import Any

from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.model_selection import train_test_split

from hyperdial.integrations.automl import AutoMLClassifier


def search(name: str, loader: Any, storage: str, n_trials: int, cv: int) -> AutoMLClassifier:
    """Search on 75 % of the data, then score the refitted best on the other 25 %."""
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    automl = AutoMLClassifier(n_trials=n_trials, cv=cv, random_state=0, storage=storage,
                              study_name=name).fit(X_train, y_train)
    print(f"{name}: {automl.best_model_} (CV {automl.best_score_:.4f}, held out "
          f"{automl.score(X_test, y_test):.4f}); tried first: "
          f"{[c['model'] for c in automl.warm_start_configs_]}")
    for row in automl.leaderboard():
        print(f"  {row['model']:>24} {row['score']:.4f} ({row['trials']} trials)")
    return automl


def main(n_trials: int = 30, cv: int = 5,
         storage: str = "sqlite:///automl.db") -> tuple[AutoMLClassifier, AutoMLClassifier]:
    wine = search("wine", load_wine, storage, n_trials, cv)
    cancer = search("breast-cancer", load_breast_cancer, storage, n_trials, cv)
    return wine, cancer


if __name__ == "__main__":
    main()
