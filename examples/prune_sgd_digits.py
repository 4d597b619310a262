"""Stop hopeless training runs early: a linear classifier on scikit-learn's digits, trained one
epoch at a time with ``partial_fit``, tuned by TPE under Hyperband.

Each epoch reports the validation error; Hyperband's brackets stop the runs that trail their
bracket at its rungs, so most configurations cost a few epochs instead of ``MAX_EPOCHS``. The
script prints how much training that saved against running every trial to the end::

    python examples/prune_sgd_digits.py
"""

from __future__ import annotations

import warnings

import numpy as np
from _digits import digits_split, print_pruning_summary

import hyperdial as hd

MAX_EPOCHS = 27


def objective(trial: hd.Trial) -> float:
    """Validation error of an SGDClassifier after ``MAX_EPOCHS`` epochs (to minimise)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(
        loss=trial.suggest_categorical("loss", ["hinge", "log_loss", "modified_huber"]),
        penalty=trial.suggest_categorical("penalty", ["l2", "l1", "elasticnet"]),
        alpha=trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
        learning_rate="constant",
        eta0=trial.suggest_float("eta0", 1e-4, 1.0, log=True),
        random_state=0,
    )
    x_train, x_val, y_train, y_val = digits_split()
    classes = np.unique(y_train)
    error = 1.0
    for epoch in range(1, MAX_EPOCHS + 1):
        with warnings.catch_warnings():  # a large step size may overflow: that is a bad trial
            warnings.simplefilter("ignore", (ConvergenceWarning, RuntimeWarning))
            model.partial_fit(x_train, y_train, classes=classes)
        error = 1.0 - float(model.score(x_val, y_val))
        trial.report(error, step=epoch)
        if trial.should_prune():
            raise hd.TrialPruned()
    return error


def main(n_trials: int = 60, storage: str | None = None) -> hd.Study:
    study = hd.create_study(
        study_name="sgd-digits", storage=storage, direction="minimize", load_if_exists=True,
        sampler=hd.samplers.TPESampler(seed=0),
        pruner=hd.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS,
                                          reduction_factor=3, seed=0))
    study.optimize(objective, n_trials=n_trials)
    print_pruning_summary(study, MAX_EPOCHS)
    return study


if __name__ == "__main__":
    main()
