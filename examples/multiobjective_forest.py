"""Trade accuracy against model size: a random forest on scikit-learn's digits, tuned for
validation error and for its total number of tree nodes (a proxy for memory and latency).

With two objectives there is no single best trial; the study keeps the Pareto front, the
trials that no other trial beats on both. The script prints it, smallest model first::

    python examples/multiobjective_forest.py
"""

from __future__ import annotations

from _digits import forest_on_digits

import hyperdial as hd


def objective(trial: hd.Trial) -> tuple[float, float]:
    """(validation error, total tree nodes) of a random forest, both to minimise."""
    error, nodes = forest_on_digits(trial)
    return error, float(nodes)


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
