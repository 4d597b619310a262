"""QMCSampler: trial n takes point n of one seeded Sobol / Halton sequence."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from scipy.stats import qmc

import hyperdial as hd
from hyperdial._encode import encode
from hyperdial.history import History
from hyperdial.samplers import QMCSampler, RandomSampler, Sampler
from hyperdial.space import Categorical, Float, Int, SearchSpace
from hyperdial.trial import TrialRecord, TrialState

SPACE = SearchSpace({"x": Float(-5.0, 5.0), "lr": Float(1e-5, 1e-1, log=True),
                     "n": Int(0, 1000)})


def history_of(space: SearchSpace) -> History:
    """One completed trial, which makes ``space`` the joint space."""
    first = TrialRecord(0, TrialState.COMPLETE, params={}, distributions=dict(space),
                        values=(0.0,))
    return History((first,))


def proposals(sampler: Sampler, numbers: range | list[int],
              space: SearchSpace = SPACE) -> np.ndarray:
    history = history_of(space)
    rows = [sampler.propose(history, space, sampler.rng(n)) for n in numbers]
    return encode(space, rows)


@pytest.mark.parametrize("qmc_type", ["sobol", "halton"])
def test_more_even_than_random_search(qmc_type: str) -> None:
    for seed in range(3):
        u_qmc = proposals(QMCSampler(qmc_type=qmc_type, seed=seed), range(128))
        u_random = proposals(RandomSampler(seed=seed), range(128))
        assert qmc.discrepancy(u_qmc) < 0.5 * qmc.discrepancy(u_random)


def test_trial_n_takes_point_n_whatever_the_order() -> None:
    """Workers ask for trial numbers in any order; a resumed study goes on where it stopped."""
    sequential = proposals(QMCSampler(seed=3), range(40))
    shuffled = list(np.random.default_rng(0).permutation(40))
    out_of_order = proposals(QMCSampler(seed=3), shuffled)
    np.testing.assert_array_equal(out_of_order, sequential[shuffled])
    np.testing.assert_array_equal(proposals(QMCSampler(seed=3), range(20, 40)), sequential[20:])


def test_points_are_those_of_scipys_sequence() -> None:
    space = SearchSpace({"u": Float(0.0, 1.0), "v": Float(0.0, 1.0)})
    expected = qmc.Sobol(2, scramble=True, seed=11).random(16)
    np.testing.assert_allclose(proposals(QMCSampler(seed=11), range(16), space), expected,
                               rtol=1e-12)


def test_same_seed_same_points_other_seed_other_points() -> None:
    first = proposals(QMCSampler(seed=5), range(16))
    np.testing.assert_array_equal(proposals(QMCSampler(seed=5), range(16)), first)
    assert not np.allclose(proposals(QMCSampler(seed=6), range(16)), first)
    reseeded = QMCSampler(seed=6)
    reseeded.reseed(5)
    np.testing.assert_array_equal(proposals(reseeded, range(16)), first)


def test_without_scrambling_the_seed_does_not_matter() -> None:
    first = proposals(QMCSampler(scramble=False, seed=1), range(8))
    np.testing.assert_array_equal(proposals(QMCSampler(scramble=False, seed=2), range(8)), first)
    history = history_of(SPACE)
    sampler = QMCSampler(scramble=False, seed=1)
    assert sampler.propose(history, SPACE, sampler.rng(0)) == {"x": -5.0, "lr": 1e-5, "n": 0}


def test_joint_space_is_that_of_completed_trials() -> None:
    assert QMCSampler(seed=0).infer_space(history_of(SPACE)) == SPACE


def test_first_trials_and_parameters_outside_the_joint_space_are_random() -> None:
    sampler = QMCSampler(seed=0)
    empty = History(())
    assert sampler.infer_space(empty) == SearchSpace()
    assert sampler.propose(empty, SearchSpace(), sampler.rng(0)) == {}
    alone = SearchSpace({"y": Categorical(("a", "b", "c"))})
    draws = [sampler.propose(empty, alone, sampler.rng(n, "y"))["y"] for n in range(30)]
    assert set(draws) == {"a", "b", "c"}
    assert draws == [QMCSampler(seed=0).propose(empty, alone, sampler.rng(n, "y"))["y"]
                     for n in range(30)]


def test_index_without_a_trial_generator_is_the_number_of_trials() -> None:
    sampler = QMCSampler(seed=2)
    history = history_of(SPACE)
    other_rng = np.random.default_rng(99)
    assert sampler.propose(history, SPACE, other_rng) == \
        sampler.propose(history, SPACE, sampler.rng(len(history.trials)))


def test_batch_is_consecutive_points() -> None:
    sampler = QMCSampler(seed=4)
    history = history_of(SPACE)
    batch = sampler.propose_batch(history, SPACE, 5, sampler.rng(7))
    np.testing.assert_array_equal(encode(SPACE, batch), proposals(QMCSampler(seed=4), range(7, 12)))


def test_ten_thousand_trials_stay_fast() -> None:
    sampler = QMCSampler(seed=0)
    history = history_of(SPACE)
    start = time.perf_counter()
    for n in range(10_000):
        sampler.propose(history, SPACE, sampler.rng(n))
    assert time.perf_counter() - start < 5.0


def test_study_uses_the_sequence() -> None:
    study = hd.create_study(sampler=QMCSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0) ** 2, n_trials=33)
    xs = np.array([t.params["x"] for t in study.trials[1:]])  # trial 0 is random
    expected = qmc.Sobol(1, scramble=True, seed=0).random(64)[1:33, 0]
    np.testing.assert_allclose(xs, expected, rtol=1e-12)


def test_invalid_type_is_refused() -> None:
    with pytest.raises(ValueError, match="qmc_type must be one of"):
        QMCSampler(qmc_type="lhs")


def test_scipy_is_imported_only_when_a_point_is_drawn() -> None:
    code = ("import sys, hyperdial.samplers as s; s.QMCSampler(seed=0); "
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
