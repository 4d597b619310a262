"""Quasi-Monte Carlo search: trial ``n`` takes point ``n`` of a seeded low-discrepancy sequence."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np

from hyperdial._encode import decode
from hyperdial.history import History
from hyperdial.samplers._optuna_args import accepted
from hyperdial.samplers.base import Sampler
from hyperdial.space import SearchSpace


def _pow2_ceil(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


class QMCSampler(Sampler):
    """Covers the space more evenly than random search with a Sobol or Halton sequence.

    Trial ``number`` takes point ``number`` of the sequence, so parallel workers and resumed
    studies draw disjoint points of one and the same sequence. The sequence's scrambling is
    seeded by ``seed`` (not by the per-trial generator): every worker must be given the same
    seed (``seed=None`` draws a fresh one per sampler object). Without scrambling, ``seed`` plays
    no part and the first point is the corner ``(0, ..., 0)``, i.e. every lower bound.

    Define-by-run: the joint space is that of the completed trials (`History.completed_space`),
    so the first trials, proposed before any trial completes, and any parameter outside that
    space are drawn independently at random from the per-trial generator.

    The study tells `propose` the trial number through the generator it passes
    (``self.rng(number)``); with any other generator the point index is ``len(history.trials)``,
    the number the next trial receives when the history holds every earlier trial.
    """

    TYPES: ClassVar[tuple[str, ...]] = ("sobol", "halton")

    def __init__(self, *, qmc_type: str = "sobol", scramble: bool = True,
                 seed: int | None = None, warn_independent_sampling: bool | None = None) -> None:
        accepted("QMCSampler", "warn_independent_sampling", warn_independent_sampling,
                 "ignored; parameters outside the joint space are drawn at random without a "
                 "warning")
        if qmc_type not in self.TYPES:
            raise ValueError(f"qmc_type must be one of {self.TYPES}, got {qmc_type!r}")
        self.qmc_type = qmc_type
        self.scramble = bool(scramble)
        super().__init__(seed=seed)

    _caches = ("_lock", "_engines", "_points")

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._fresh_caches()

    def _fresh_caches(self) -> None:
        self._lock = threading.Lock()
        self._engines: dict[int, Any] = {}  # dimension -> scipy engine, advanced in step
        self._points: dict[int, np.ndarray] = {}  # dimension -> every point drawn so far

    def infer_space(self, history: History) -> SearchSpace:
        return history.completed_space

    def points(self, d: int, start: int, n: int) -> np.ndarray:
        """Points ``start .. start + n - 1`` of the ``d``-dimensional sequence, shape ``(n, d)``.

        Points are drawn once, in power-of-two blocks (Sobol's balance property), and kept.
        """
        stop = start + n
        with self._lock:
            drawn = self._points.get(d, np.empty((0, d)))
            if stop > len(drawn):
                if d not in self._engines:
                    self._engines[d] = self._engine(d)
                more = self._engines[d].random(max(_pow2_ceil(stop), 64) - len(drawn))
                drawn = self._points[d] = np.vstack([drawn, more])
        return drawn[start:stop]

    def _engine(self, d: int) -> Any:
        from scipy.stats import qmc  # slow to import: only when a sampler first needs it

        engine_cls = qmc.Sobol if self.qmc_type == "sobol" else qmc.Halton
        return engine_cls(d, scramble=self.scramble, seed=self.seed)

    def _first_index(self, history: History, rng: np.random.Generator) -> int | None:
        """Index of the first point: the trial number that `Sampler.rng` put in ``rng``; None
        for a per-parameter generator (draw at random); else ``len(history.trials)``."""
        number = self.trial_number(rng)
        if number is not None:
            return number
        entropy = getattr(getattr(rng.bit_generator, "seed_seq", None), "entropy", None)
        if isinstance(entropy, list) and entropy[:1] == [self.seed]:
            return None
        return len(history.trials)

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        return self.propose_batch(history, space, 1, rng)[0]

    def propose_batch(self, history: History, space: SearchSpace, n: int,
                      rng: np.random.Generator) -> list[dict[str, Any]]:
        """``n`` consecutive points, from the trial number onwards (QMC ignores pending trials)."""
        if not space:
            return [{} for _ in range(n)]
        start = self._first_index(history, rng)
        u = rng.random((n, len(space))) if start is None else self.points(len(space), start, n)
        return decode(space, u)
