"""Several worker processes on one study: start the ``hyperdial run`` command a few times on
the same SQLite file, as you would in several terminals or as the tasks of a batch job.

The workers share nothing but the database. Each trial number is taken inside a write
transaction, so the numbers come out unique and without gaps, and a sampler in one worker sees
the trials the others have finished (and those still running, as pending). Needs the ``cli``
and ``sklearn`` extras::

    python examples/parallel_workers.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hyperdial as hd

OBJECTIVE = f"{Path(__file__).with_name('svm_breast_cancer.py')}:objective"


def main(n_workers: int = 4, n_trials: int = 15,
         storage: str = "sqlite:///hyperdial.db") -> hd.Study:
    """Run ``n_workers`` processes of ``n_trials`` trials each on one study; return it.

    A second run continues the study: the summary counts the trials this run's workers ran
    (numbered after the earlier ones) and the best of all."""
    name = "svm-parallel"
    study = hd.create_study(study_name=name, storage=storage, direction="maximize",
                            load_if_exists=True)
    before = len(study.trials)
    command = [sys.executable, "-m", "hyperdial.cli", "run", OBJECTIVE, "--study", name,
               "--storage", storage, "--direction", "maximize", "--n-trials", str(n_trials),
               "--quiet"]
    # each worker would print the study's best trial: the summary below says it once
    workers = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(n_workers)]
    failed = [w.args for w in workers if w.wait() != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} worker(s) failed")
    study = hd.load_study(study_name=name, storage=storage)
    numbers = sorted(t.number for t in study.trials if t.number >= before)
    print(f"{n_workers} workers finished {len(numbers)} trials, numbered "
          f"{numbers[0]}..{numbers[-1]} ({len(study.trials)} in the study); best CV accuracy "
          f"{study.best_value:.4f} with {study.best_params}")
    return study


if __name__ == "__main__":
    main()
