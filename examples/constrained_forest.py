"""Tune under a budget: the most accurate random forest on scikit-learn's digits whose trees
hold at most 1,500 nodes in total (a proxy for memory and latency on a small device).

The objective sets the budget as a constraint (`trial.set_constraint`, ``<= 0`` is met), so
the default sampler steers away from forests over it and `study.best_trial` is the best one
within it::

    python examples/constrained_forest.py
"""

from __future__ import annotations

from _digits import forest_on_digits

import hyperdial as hd

NODE_BUDGET = 1500


def objective(trial: hd.Trial) -> float:
    """Validation error of a random forest; its node count over the budget is a constraint."""
    error, nodes = forest_on_digits(trial)
    trial.set_user_attr("nodes", nodes)
    trial.set_constraint("nodes over budget", nodes - NODE_BUDGET)
    return error


def main(n_trials: int = 40, storage: str | None = None, seed: int | None = 0) -> hd.Study:
    study = hd.create_study(study_name="forest-under-budget", storage=storage,
                            load_if_exists=True, sampler=hd.samplers.AutoSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    best = study.best_trial
    within = sum(t.constraints["nodes over budget"] <= 0 for t in study.trials)
    print(f"{within} of {len(study.trials)} forests within {NODE_BUDGET} nodes; the best: "
          f"error {best.value:.4f} with {best.user_attrs['nodes']} nodes, {best.params}")
    return study


if __name__ == "__main__":
    main()
