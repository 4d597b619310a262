"""The sampler contract: decide *what* to try next from an immutable history."""

from __future__ import annotations

import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from hyperdial._checks import resolve_seed
from hyperdial.history import History
from hyperdial.space import EMPTY_SPACE, Distribution, SearchSpace, plain, single_space
from hyperdial.trial import TrialRecord, TrialState

#: Constraint values of a completed trial, ``<= 0`` feasible (typically read from user attrs).
ConstraintsFunc = Callable[[TrialRecord], Sequence[float]]


def constraint_values(constraints_func: ConstraintsFunc | None,
                      trials: Sequence[TrialRecord]) -> np.ndarray:
    """The ``(n, k)`` constraint values of ``trials``: what ``constraints_func`` returns, or,
    without one, the values set by `Trial.set_constraint`, one column per key any trial has
    (``k = 0``: unconstrained). NaN where a trial lacks a value the others have, or gave NaN
    (samplers treat NaN as violated); ``-inf`` stays (always satisfied) and ``+inf`` too
    (violated), as `hyperdial.trial.violation` and Optuna read them."""
    if constraints_func is None:
        keys = sorted({k for t in trials if t.system_attrs for k in t.constraints})
        if not keys:  # the common case, on every proposal: no pass over the trials
            return np.empty((len(trials), 0))
        rows = [np.array([t.constraints.get(k, np.nan) for k in keys]) for t in trials]
    else:
        rows = [np.atleast_1d(np.asarray(constraints_func(t), dtype=float)).ravel()
                for t in trials]
    width = max((r.size for r in rows), default=0)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, :r.size] = r
    return out


def checked_constraints(values: Any) -> tuple[float, ...]:
    """What a ``constraints_func`` returned, as the tuple of floats a study stores; ValueError
    saying why for anything else: a bare number or a string (not a sequence), a non-number,
    NaN (as Optuna refuses it). ``±inf`` are kept: always satisfied, always violated."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"constraints_func must return a sequence of numbers, got {values!r}")
    out = []
    for v in values:
        v = plain(v)
        if isinstance(v, bool) or not isinstance(v, Real):
            raise ValueError(f"constraints_func returned {v!r} of type {type(v).__name__}, "
                             "not a number")
        if math.isnan(v):
            raise ValueError(f"constraints_func returned NaN among {list(values)!r}")
        out.append(float(v))
    return tuple(out)


class _KeySeed:
    """Seeds a generator from a key such as ``[seed, trial number]`` by hashing it (BLAKE2b):
    one trial's stream on every worker and after a resume, independent of its neighbours',
    in a quarter of the time `numpy.random.SeedSequence` takes (the loop makes one per trial).
    A numpy ``ISeedSequence`` by registration in `_generator`.
    """

    __slots__ = ("entropy",)

    def __init__(self, entropy: list[int]) -> None:
        self.entropy = entropy  # read back by `Sampler.trial_number`

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        """``n_words`` words of the hash stream: block ``i`` (64 bytes) hashes the key salted
        with ``i``. Every generator numpy seeds here wants one block (PCG64: 32 bytes)."""
        dtype = np.dtype(dtype)
        key = repr(self.entropy).encode()
        size = n_words * dtype.itemsize
        raw = _blake2b(key, digest_size=64, salt=_FIRST_SALT).digest()
        if size > 64:
            raw += b"".join(_blake2b(key, digest_size=64, salt=i.to_bytes(16, "little")).digest()
                            for i in range(1, -(-size // 64)))
        state: np.ndarray = np.frombuffer(raw, dtype=dtype, count=n_words).copy()
        return state


_FIRST_SALT = (0).to_bytes(16, "little")  # block 0's


_blake2b: Any = None  # hashlib.blake2b, once `_generator` has run


def _generator(key: list[int]) -> np.random.Generator:
    """A PCG64 generator seeded by hashing ``key``. numpy.random and hashlib load on the first
    call, not with ``import hyperdial`` (15 ms of its import time)."""
    global _blake2b
    if _blake2b is None:
        import hashlib

        from numpy.random.bit_generator import ISeedSequence

        ISeedSequence.register(_KeySeed)
        _blake2b = hashlib.blake2b
    # numpy's stubs name SeedSequence only; PCG64 takes any ISeedSequence
    return np.random.Generator(np.random.PCG64(_KeySeed(key)))  # type: ignore[arg-type]


class Sampler(ABC):
    """Proposes parameters. Output depends on ``(history, space, rng)`` only.

    Subclasses implement `propose`. A study calls it once per trial with the joint space from
    `infer_space` (empty by default: every parameter is then proposed on its own, when the
    objective first asks for it), and once more for each parameter outside that space.
    """

    #: When True, two trials of a study never receive the same proposal (the study enforces
    #: it atomically through the storage); used by finite designs such as grids.
    exclusive: ClassVar[bool] = False

    #: False for a sampler that proposes without looking at other trials (random search): a
    #: worker of a parallel study then does not read the other workers' trials between its
    #: own, only when something asks for them (a pruner, a callback, ``study.trials``), and
    #: the study hands its methods an empty history. Not inherited: a subclass reads the
    #: history unless its own class body says otherwise.
    reads_history: ClassVar[bool] = True

    #: True for a sampler with finitely many proposals decided one parameter at a time (brute
    #: force): before each trial the study asks `exhausted`, and ends with `SearchExhausted`
    #: when it says so.
    finite: bool = False

    #: True for a sampler that models running trials (kriging believer, constant liar): the
    #: study then publishes each trial's joint proposal as it starts, and shows a sampler the
    #: running trials of every worker with their proposals as parameters.
    uses_pending: bool = False

    #: Attributes a pickled (or deep-copied) sampler leaves out and `_fresh_caches` rebuilds:
    #: locks, which cannot be pickled, and caches of what histories or the seed determine.
    _caches: ClassVar[tuple[str, ...]] = ()

    #: The constraints of a completed trial (``<= 0`` feasible), for samplers that take them
    #: as a function (Optuna 4's way); None for the others. See `stored_constraints_func`.
    constraints_func: ConstraintsFunc | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "reads_history" not in cls.__dict__:
            cls.reads_history = True

    def __init__(self, *, seed: int | None = None) -> None:
        self.reseed(seed)

    def _fresh_caches(self) -> None:  # noqa: B027 - optional hook: most samplers cache nothing
        """Create the attributes named in `_caches`, empty."""

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._caches}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fresh_caches()

    def reseed(self, seed: int | None) -> None:
        """Set the seed; None draws a fresh one from the OS. A negative seed is refused here,
        at construction, as numpy's and scipy's generators (which some samplers seed with it)
        would refuse it only when a later trial first reaches them."""
        resolved = resolve_seed(seed)
        if resolved < 0:
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self.seed = resolved

    def reseed_rng(self) -> None:
        """Optuna's name: reseed with a fresh seed from the OS (``reseed(None)``), so that
        copies of one sampler stop proposing alike. A seeded study no longer replays."""
        self.reseed(None)

    def rng(self, number: int, name: str | None = None) -> np.random.Generator:
        """The generator for trial ``number`` (and parameter ``name``): the same on every
        worker and after a resume, so a seeded study replays exactly."""
        key = [self.seed, number]
        if name is not None:
            key.append(zlib.crc32(name.encode()))
        return _generator(key)

    def trial_number(self, rng: np.random.Generator) -> int | None:
        """The trial number that `rng` built ``rng`` for (None for a per-parameter generator
        or a foreign one): samplers that index a sequence by trial (QMC) read it here."""
        entropy = getattr(getattr(rng.bit_generator, "seed_seq", None), "entropy", None)
        if isinstance(entropy, list) and len(entropy) == 2 and entropy[0] == self.seed:
            return int(entropy[1])
        return None

    def stored_constraints_func(self) -> ConstraintsFunc | None:
        """The function whose values the study stores with each trial that completes, as its
        constraints (system attributes ``constraints:0``, ``constraints:1``, ... in the write
        that ends it), so that `Study.best_trial`, ``best_trials``, `History.feasible`, the
        plots and the CLI keep to the trials it finds feasible. The study calls it with the
        finished record (state COMPLETE, its values and user attributes); a trial whose
        function raises or returns anything but a sequence of non-NaN numbers is told FAIL
        with the reason. By default `constraints_func` (None: nothing stored); a sampler
        that wraps another returns the wrapped one's."""
        return self.constraints_func

    def infer_space(self, history: History) -> SearchSpace:
        """The space to propose jointly at the start of a trial (none by default)."""
        return EMPTY_SPACE

    @abstractmethod
    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        """Return values for the active parameters of ``space``."""

    def propose_param(self, history: History, name: str, dist: Distribution,
                      rng: np.random.Generator, partial: Mapping[str, Any]) -> Any:
        """A value for one parameter outside the joint space, given the values this trial
        holds already (``partial``, in the order it suggested them). By default `propose` on
        the parameter's own space: only a sampler that follows a trial's path needs more."""
        return self.propose(history, single_space(name, dist), rng)[name]

    def exhausted(self, history: History) -> bool:
        """Whether a `finite` sampler has nothing left to propose."""
        return False

    def crowded(self, history: History) -> bool:
        """Whether everything a `finite` sampler has left is held by running trials (with the
        parameters they have so far), so that a trial started now would repeat one of them."""
        return False

    def propose_batch(self, history: History, space: SearchSpace, n: int,
                      rng: np.random.Generator) -> list[dict[str, Any]]:
        """Propose ``n`` configurations at once; each later one sees the earlier ones as running."""
        out: list[dict[str, Any]] = []
        trials = list(history.trials)
        base = len(trials)
        for i in range(n):
            params = self.propose(replace(history, trials=tuple(trials), known_space=None),
                                  space, rng)
            out.append(params)
            trials.append(TrialRecord(number=base + i, state=TrialState.RUNNING, params=params,
                                      distributions={k: space[k] for k in params}))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
