"""Trade accuracy against model size: a random forest on scikit-learn's digits, tuned for
validation error and for its total number of tree nodes (a proxy for memory and latency).

With two objectives there is no single best trial; the study keeps the Pareto front, the
trials that no other trial beats on both. The script prints it, smallest model first::

    python examples/multiobjective_forest.py
"""

from __future__ import annotations

from _digits import digits_split

import hyperdial as hd


def objective(trial: hd.Trial) -> tuple[float, float]:
    """(validation error, total tree nodes) of a random forest, both to minimise."""
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
    return 1.0 - float(model.score(x_val, y_val)), float(nodes)


def main(n_trials: int = 60, storage: str | None = None) -> hd.Study:
    study = hd.create_study(study_name="forest-digits", storage=storage, load_if_exists=True,
                            directions=["minimize", "minimize"],
                            sampler=hd.samplers.NSGAIISampler(seed=0, population_size=12))
    study.optimize(objective, n_trials=n_trials)
    front = sorted(study.best_trials, key=lambda t: t.values[1])
    print(f"{len(front)} trials on the Pareto front of {len(study.trials)}:")
    for t in front:
        error, nodes = t.values
        print(f"  error {error:.4f}  nodes {nodes:>7.0f}  {t.params}")
    return study


if __name__ == "__main__":
    main()
