"""Population-based training of a linear classifier on scikit-learn's digits: the step size and
the L2 penalty change *during* training, and the script prints the schedule PBT found.

A population of models trains side by side, one epoch per step. Every few epochs the worst
quarter copies the weights of the best quarter (a pickled checkpoint) and perturbs the
hyperparameters it copied, so each member's hyperparameters can change as its weights settle.
The script prints the best member's schedule, epoch range by epoch range::

    python examples/pbt_sgd_digits.py
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _digits import digits_split

import hyperdial as hd
from hyperdial.schedulers import PopulationBasedTraining, schedule

SPACE = {
    "eta0": hd.Float(1e-4, 1.0, log=True),  # constant step size of SGD
    "alpha": hd.Float(1e-6, 1e-1, log=True),  # L2 penalty
}


class SGDTrainable:
    """One member of the population: an SGDClassifier trained an epoch per `step`."""

    def __init__(self, config: dict[str, Any]) -> None:
        from sklearn.linear_model import SGDClassifier

        self.config = config
        self.model = SGDClassifier(loss="log_loss", learning_rate="constant", random_state=0,
                                   **config)

    def step(self) -> float:
        """One more epoch; returns the validation error (the study minimises it)."""
        x_train, x_val, y_train, y_val = digits_split()
        with warnings.catch_warnings():  # a large step size may overflow: a bad member
            warnings.simplefilter("ignore", RuntimeWarning)
            self.model.partial_fit(x_train, y_train, classes=np.unique(y_train))
        return 1.0 - float(self.model.score(x_val, y_val))

    def save(self, path: Path) -> None:
        (path / "model.pkl").write_bytes(pickle.dumps(self.model))

    def load(self, path: Path) -> None:
        """The weights from a checkpoint, trained on with this member's own hyperparameters."""
        self.model = pickle.loads((path / "model.pkl").read_bytes())
        self.model.set_params(**self.config)


def main(population_size: int = 8, n_steps: int = 24, storage: str | None = None) -> hd.Study:
    study = hd.create_study(study_name="pbt-sgd-digits", storage=storage, direction="minimize")
    pbt = PopulationBasedTraining(population_size=population_size, perturbation_interval=4,
                                  seed=0)
    pbt.optimize(study, SGDTrainable, SPACE, n_steps=n_steps)
    print(f"best validation error {study.best_value:.4f}; the best member's schedule:")
    for row in schedule(study):
        print(f"  epochs {row.start + 1:>2}-{row.end:<2}  eta0={row.params['eta0']:.2e}  "
              f"alpha={row.params['alpha']:.2e}")
    return study


if __name__ == "__main__":
    main()
