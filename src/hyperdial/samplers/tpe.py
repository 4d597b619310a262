"""Tree-structured Parzen Estimator: the state around the kernels of `_parzen`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from hyperdial._encode import decode
from hyperdial.history import History
from hyperdial.samplers import _parzen as pz
from hyperdial.samplers._evolution import violations
from hyperdial.samplers._optuna_args import accepted
from hyperdial.samplers.base import ConstraintsFunc, Sampler, constraint_values
from hyperdial.space import Categorical, Distribution, SearchSpace
from hyperdial.trial import TrialRecord, TrialState


@dataclass(frozen=True)
class _Ranked:
    """Trials a proposal learns from, best first, and how many of them are "good"."""

    trials: tuple[TrialRecord, ...]
    n_good: int
    numbers: np.ndarray
    n_finished: int = 0  # the first n_finished trials are finished (the rest pending)
    n_pruned: int = 0  # of which this many were pruned (ranked after the completed ones)
    good_weights: np.ndarray | None = None  # several objectives: hypervolume contributions
    loss: np.ndarray | None = None  # one objective: the completed trials' losses, in rank order


class _Columns:
    """Coordinates of every trial's parameters, one column per (name, distribution), indexed
    by trial number and filled once per trial record (finished records never change; a pending
    one is read again when the history holds a new record for it). Columns are NaN where a
    trial lacks the parameter or had it with another distribution."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[int, TrialRecord] = {}
        self.canon: dict[Distribution, Distribution] = {}
        self.cols: dict[tuple[str, Distribution], np.ndarray] = {}

    def update(self, trials: Sequence[TrialRecord]) -> None:
        new = [t for t in trials if self.records.get(t.number) is not t]
        if not new:
            return
        size = max(t.number for t in new) + 1
        buckets: dict[tuple[str, Distribution], tuple[list[int], list[Any]]] = {}
        for t in new:
            if t.number in self.records:  # a pending trial changed: forget what it held
                for col in self.cols.values():
                    if t.number < col.size:
                        col[t.number] = np.nan
            self.records[t.number] = t
            for name, d in t.distributions.items():
                if name in t.params:
                    nums, vals = buckets.setdefault((name, self.canon.setdefault(d, d)),
                                                    ([], []))
                    nums.append(t.number)
                    vals.append(t.params[name])
        for k, (nums, vals) in buckets.items():
            col = self.cols.get(k, np.empty(0))
            if col.size < size:
                col = np.concatenate([col, np.full(max(size, 2 * col.size) - col.size, np.nan)])
                self.cols[k] = col
            d = k[1]
            col[nums] = (pz.category_index(d, vals) if isinstance(d, Categorical)
                         else pz.to_coords(d, vals))

    def column(self, name: str, d: Distribution, numbers: np.ndarray) -> np.ndarray:
        """Coordinates of ``name`` (as ``d``) for the trials ``numbers``."""
        col = self.cols.get((name, self.canon.get(d, d)))
        if col is None:
            return np.full(numbers.size, np.nan)
        out: np.ndarray = col[np.minimum(numbers, col.size - 1)]
        return np.where(numbers < col.size, out, np.nan)

    def union_space(self, numbers: np.ndarray) -> SearchSpace:
        """Every parameter that the trials ``numbers`` held with one and the same
        distribution."""
        seen: dict[str, Distribution] = {}
        clash: set[str] = set()
        for (name, d), col in self.cols.items():
            if numbers.size and not np.isnan(col[np.minimum(numbers, col.size - 1)]
                                             [numbers < col.size]).all():
                if name in seen:
                    clash.add(name)
                seen[name] = d
        return SearchSpace({k: d for k, d in seen.items() if k not in clash})


def _decompose(patterns: np.ndarray) -> list[np.ndarray]:
    """Split columns into disjoint groups that every row either holds whole or not at all.

    ``patterns`` is a boolean (n_patterns, n_params) matrix; returns lists of column indices,
    ordered by their first column. Columns no row holds are left out."""
    groups: list[frozenset[int]] = []
    for row in patterns:
        s = frozenset(np.flatnonzero(row).tolist())
        split = [part for g in groups for part in (g & s, g - s) if part]
        covered = frozenset().union(*groups) if groups else frozenset()
        rest = s - covered
        groups = split + ([rest] if rest else [])
    return [np.array(sorted(g)) for g in sorted(groups, key=min)]


class TPESampler(Sampler):
    """Tree-structured Parzen Estimator (Bergstra et al. 2011; Watanabe 2023).

    After ``n_startup_trials`` finished trials (completed, or pruned after a report) proposed at
    random, trials are split into a good set (the best ``gamma(n)``) and a bad set; a Parzen
    estimator is fitted to each, ``l(x)`` and ``g(x)``, and the best of ``n_ei_candidates``
    points drawn from ``l`` by ``log l - log g`` is proposed. See ``docs/tpe.md`` for every
    choice made here.

    Args:
        seed: seed of the per-trial generators (`Sampler.rng`).
        n_startup_trials: finished trials (completed or pruned after reporting) proposed at
            random before the model is used; pruned ones count, as they do in the ranking.
        n_ei_candidates: points drawn from ``l(x)`` per proposal.
        gamma: size of the good set from the number of finished trials (for a parameter that
            only some trials hold, a branch, from the number of those trials and among them;
            trials tied at the boundary share its places).
        prior_weight: weight of the prior kernel (uniform-ish over the space); > 0.
        multivariate: one joint (product-kernel) estimator for the joint space instead of
            one estimator per parameter.
        group: with ``multivariate``, decompose a conditional space into groups of parameters
            that always appear together and model each group jointly. Off by default (as in
            Optuna): the parameters every trial holds are modelled jointly, the others one by
            one, which explores a sparsely observed branch better (see ``docs/tpe.md``).
        constant_liar: running (and waiting) trials count as bad, so parallel workers spread.
        consider_endpoints: the univariate bandwidth rule sees the bounds as neighbours.
        weights: observation weights from their count (oldest first).
        rank_weighted: with one objective, the good set's kernels are also weighted by rank,
            ``1 / (1 + rank)`` (`pz.rank_weights`), so ``l(x)`` centres on the best trials;
            off: every good trial weighs the same, as in Optuna.
        min_bandwidth: with one objective, the smallest bandwidth of every numeric kernel, as a
            fraction of the parameter's range (in (0, 1]; Watanabe 2023's minimum bandwidth
            factor). ``None``: the "magic clip" of hyperopt and Optuna, ``1 / min(100, k + 1)``
            for an estimator of ``k`` kernels, which several objectives always use. "auto"
            (default): with ``multivariate``, 0.05 while every trial it learns from
            completed, the magic clip once pruned trials are among them, whose early values
            rank configurations only roughly (multi-fidelity); univariate, the magic clip,
            which scored higher there. See ``docs/tpe.md``.
        constraints_func: constraint values of a completed trial, ``<= 0`` feasible (Optuna
            4's way; the study stores them with the trial): given, it takes the place of the
            values set by `Trial.set_constraint` in the ranking, feasible trials first.
        consider_prior, consider_magic_clip, warn_independent_sampling: Optuna's deprecated
            arguments, accepted with a FutureWarning: the prior is always used;
            ``consider_magic_clip=True`` is ``min_bandwidth=None``; no warning is given for
            parameters sampled on their own.
    """

    def __init__(self, *, seed: int | None = None, n_startup_trials: int = 10,
                 n_ei_candidates: int = 24, gamma: Callable[[int], int] = pz.default_gamma,
                 prior_weight: float = 1.0, multivariate: bool = True, group: bool = False,
                 constant_liar: bool = False, consider_endpoints: bool = False,
                 weights: Callable[[int], np.ndarray] = pz.default_weights,
                 rank_weighted: bool = True,
                 min_bandwidth: float | str | None = "auto",
                 constraints_func: ConstraintsFunc | None = None,
                 consider_prior: bool | None = None, consider_magic_clip: bool | None = None,
                 warn_independent_sampling: bool | None = None) -> None:
        accepted("TPESampler", "consider_prior", consider_prior,
                 "the prior is always used, weighted by prior_weight (as Optuna 5 does)")
        accepted("TPESampler", "consider_magic_clip", consider_magic_clip,
                 "min_bandwidth=None is the magic clip (taken here when min_bandwidth is "
                 "left at 'auto')" if consider_magic_clip else
                 "ignored; min_bandwidth sets the smallest bandwidth (default 'auto')")
        accepted("TPESampler", "warn_independent_sampling", warn_independent_sampling,
                 "ignored; hyperdial does not warn when a parameter is sampled on its own")
        if consider_magic_clip and min_bandwidth == "auto":
            min_bandwidth = None
        if n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")
        if n_ei_candidates < 1:
            raise ValueError(f"n_ei_candidates must be >= 1, got {n_ei_candidates}")
        if not prior_weight > 0:
            raise ValueError(f"prior_weight must be > 0, got {prior_weight}")
        for name, func in (("gamma", gamma), ("weights", weights)):
            if not callable(func):
                raise TypeError(f"{name} must be a function of the number of trials, got "
                                f"{func!r}")
        if (isinstance(min_bandwidth, Real) and not isinstance(min_bandwidth, bool)
                and 0 < min_bandwidth <= 1):
            min_bandwidth = float(min_bandwidth)
        elif min_bandwidth not in (None, "auto"):
            raise ValueError(
                f"min_bandwidth must be in (0, 1], None or 'auto', got {min_bandwidth!r}")
        self.n_startup_trials = int(n_startup_trials)
        self.n_ei_candidates = int(n_ei_candidates)
        self.gamma = gamma
        self.prior_weight = float(prior_weight)
        self.multivariate = bool(multivariate)
        self.group = bool(group)
        self.constant_liar = bool(constant_liar)
        self.uses_pending = self.constant_liar
        self.consider_endpoints = bool(consider_endpoints)
        self.weights = weights
        self.rank_weighted = bool(rank_weighted)
        self.min_bandwidth = min_bandwidth
        if constraints_func is not None and not callable(constraints_func):
            raise TypeError(f"constraints_func must be a function of a trial, got "
                            f"{constraints_func!r}")
        self.constraints_func = constraints_func
        super().__init__(seed=seed)

    _caches = ("_columns", "_pareto_memo")

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._fresh_caches()

    def _fresh_caches(self) -> None:
        self._columns = _Columns()
        self._pareto_memo: tuple[Any, np.ndarray, np.ndarray] | None = None

    @contextmanager
    def _columns_for(self, trials: Sequence[TrialRecord]) -> Iterator[_Columns]:
        """The column cache, brought up to date with ``trials`` and locked while in use (a
        private one when trial numbers repeat, as in a hand-made history)."""
        if len({t.number for t in trials}) != len(trials):
            cols = _Columns()
            cols.update(trials)
            yield cols
            return
        with self._columns.lock:
            self._columns.update(trials)
            yield self._columns

    # -- the sampler contract ---------------------------------------------------------------
    def infer_space(self, history: History) -> SearchSpace:
        if not self.multivariate:
            return SearchSpace()
        if self.group:
            done = history.completed
            with self._columns_for(done) as cols:
                return cols.union_space(np.array([t.number for t in done], dtype=np.int64))
        return history.completed_space

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        n_learned = len(history.completed) + sum(
            1 for t in history.with_states(TrialState.PRUNED) if t.intermediate_values)
        # With one objective, pruned trials alone are enough to learn from (ranked by depth,
        # then value, as in Optuna): Hyperband's aggressive brackets complete few trials.
        if n_learned < max(self.n_startup_trials, 1) or (
                history.n_objectives > 1 and not history.completed):
            return decode(space, rng.random((1, len(space))))[0]
        ranked = self._rank(history)
        names = list(space)
        dists = [space[n] for n in names]
        with self._columns_for(ranked.trials) as cols:
            coords = np.column_stack([cols.column(n, d, ranked.numbers)
                                      for n, d in zip(names, dists, strict=True)])
        has = ~np.isnan(coords)
        out: dict[str, Any] = {}
        for group in self._groups(has, history, names):
            member = np.asarray(has[:, group].all(axis=1))
            out.update(self._propose_group([names[j] for j in group], [dists[j] for j in group],
                                           coords[:, group], member, ranked, rng,
                                           history.n_objectives == 1))
        return space.restrict(out) if space.is_conditional else out

    # -- steps ------------------------------------------------------------------------------
    def _rank(self, history: History) -> _Ranked:
        """Completed trials by loss (Pareto fronts for several objectives), then pruned trials
        (deepest first, then by their last value), then, with constant liar, pending ones."""
        done = history.completed
        pruned: list[TrialRecord] = []
        if history.n_objectives == 1:
            pruned = [t for t in history.with_states(TrialState.PRUNED)
                      if t.intermediate_values]
            sign = history.sign()

            def key(t: TrialRecord) -> tuple[float, float]:
                step = t.last_step  # (computed once per record)
                assert step is not None
                v = t.intermediate_values[step]
                val = float(v if isinstance(v, (int, float)) else v[0]) * sign
                return (-float(step), val if val == val else float("inf"))

            pruned.sort(key=key)
        n_finished = len(done) + len(pruned)
        n_good = min(max(self._gamma(n_finished), 1), n_finished)
        loss = history.loss()
        good_weights = ranked_loss = None
        broken = violations(constraint_values(self.constraints_func, done))
        if broken.any():  # constrained (set_constraint, constraints_func): feasible trials
            # first, by loss, then the others by how far they break them (Optuna's ranking)
            ok, bad = np.flatnonzero(broken == 0.0), np.flatnonzero(broken > 0.0)
            order = np.concatenate([ok[pz.loss_order(loss[ok], n_good)],
                                    bad[np.argsort(broken[bad], kind="stable")]])
            if history.n_objectives > 1:
                good = order[:n_good]
                good_weights = pz.hypervolume_weights(loss[good], broken[good] == 0.0)
            loss = np.where(broken[:, None] > 0.0, np.inf, loss)
        elif history.n_objectives > 1:
            order, good_weights = self._pareto_order(loss, n_good)
        else:
            order = pz.loss_order(loss, n_good)
        if history.n_objectives == 1:
            ranked_loss = np.where(np.isnan(loss[order, 0]), np.inf, loss[order, 0])
        trials = [done[i] for i in order] + pruned
        if self.constant_liar:
            trials += history.with_states(TrialState.RUNNING, TrialState.WAITING)
        return _Ranked(tuple(trials), n_good, np.array([t.number for t in trials], dtype=np.int64),
                       n_finished, len(pruned), good_weights, ranked_loss)

    def _pareto_order(self, loss: np.ndarray, n_good: int) -> tuple[np.ndarray, np.ndarray]:
        """Several objectives: the order of `pz.loss_order` and the good set's hypervolume
        weights, kept for the last loss matrix (the independent TPE ranks once per parameter)."""
        key = (loss.shape, loss.tobytes(), n_good)
        memo = self._pareto_memo
        if memo is not None and memo[0] == key:
            return memo[1], memo[2]
        order = pz.loss_order(loss, n_good)
        weights = pz.hypervolume_weights(loss[order[:n_good]])
        self._pareto_memo = (key, order, weights)
        return order, weights

    def _groups(self, has: np.ndarray, history: History, names: list[str]) -> list[np.ndarray]:
        """Column groups proposed jointly; the rest one by one."""
        n_done = len(history.completed)
        if not self.multivariate:
            return [np.array([j]) for j in range(len(names))]
        done_rows = has[:n_done]  # the ranking lists the completed trials first
        if self.group:  # patterns of completed trials only: pending ones may be partial
            if done_rows.shape[1] <= 62:  # unique rows through one integer key per row
                keys = done_rows.astype(np.int64) @ (np.int64(1) << np.arange(done_rows.shape[1]))
                first = np.unique(keys, return_index=True)[1]
                groups = _decompose(done_rows[first])
            else:
                groups = _decompose(np.unique(done_rows, axis=0))
        else:
            joint = np.flatnonzero(done_rows.all(axis=0))
            groups = [joint] if joint.size else []
        covered = set(np.concatenate(groups).tolist()) if groups else set()
        return groups + [np.array([j]) for j in range(len(names)) if j not in covered]

    def _propose_group(self, names: list[str], dists: list[Distribution], coords: np.ndarray,
                       member: np.ndarray, ranked: _Ranked, rng: np.random.Generator,
                       single_objective: bool) -> dict[str, Any]:
        """Propose the parameters ``names`` jointly from the trials flagged in ``member``
        (``coords``: their coordinates, one row per ranked trial)."""
        space = SearchSpace(dict(zip(names, dists, strict=True)))
        idx = np.flatnonzero(member)
        if idx.size == 0:
            return decode(space, rng.random((1, len(names))))[0]
        numeric = [j for j, d in enumerate(dists) if not isinstance(d, Categorical)]
        cat = [j for j, d in enumerate(dists) if isinstance(d, Categorical)]
        num = coords[np.ix_(idx, np.array(numeric, dtype=np.intp))]
        cats = coords[np.ix_(idx, np.array(cat, dtype=np.intp))].astype(np.int64)
        numbers = ranked.numbers[idx]
        # The good/bad split: the global one where every finished trial holds these parameters;
        # within the trials that hold them otherwise (a branch of a conditional space), so a
        # branch's parameters learn from its best trials even while another branch leads.
        n_good = int(np.count_nonzero(idx < ranked.n_good))
        n_member = int(np.count_nonzero(idx < ranked.n_finished))
        if ranked.good_weights is None and 0 < n_member < ranked.n_finished:
            n_good = min(max(self._gamma(n_member), 1), n_member)
        loss = None if ranked.loss is None else ranked.loss[idx[idx < ranked.loss.size]]
        share = pz.good_shares(idx.size, n_good, loss)
        n_choices = [len(dists[j].choices) for j in cat]  # type: ignore[union-attr]
        dims = [pz.dim_of(dists[j]) for j in numeric]  # type: ignore[arg-type]
        # Jointly modelled columns take Scott's rule, except continuous ones of a single
        # objective: the neighbour gaps there, as Optuna 5 (measurements in docs/tpe.md).
        joint = self.multivariate and len(numeric) > 1
        scott = np.array([joint and (dim.kind != "cont" or not single_objective)
                          for dim in dims], dtype=bool)
        mixtures = []
        for good, part_share in ((True, share), (False, 1.0 - share)):
            part = part_share > 0
            if good and ranked.good_weights is not None:
                w = ranked.good_weights[idx[part]]
            else:
                order = np.argsort(np.argsort(numbers[part], kind="stable"), kind="stable")
                w = self._weights(int(part.sum()))[order]
                if good and self.rank_weighted:  # the good rows come best first
                    w = w * pz.rank_weights(w.size, loss)
            mixtures.append(pz.fit(num[part], cats[part], w * part_share[part], n_choices,
                                   prior_weight=self.prior_weight, scott=scott,
                                   consider_endpoints=self.consider_endpoints,
                                   min_bandwidth=self._floor(ranked) if single_objective
                                   else None))
        z, c = pz.best_candidate(mixtures[0], mixtures[1], rng, self.n_ei_candidates, dims)
        out: dict[str, Any] = {}
        for k, j in enumerate(numeric):
            out[names[j]] = pz.from_coords(dists[j], z[k:k + 1])[0]  # type: ignore[arg-type]
        for k, j in enumerate(cat):
            out[names[j]] = dists[j].choices[int(c[k])]  # type: ignore[union-attr]
        return out

    def _floor(self, ranked: _Ranked) -> float | None:
        """The bandwidth floor of a proposal from ``ranked`` (see ``min_bandwidth``)."""
        if isinstance(self.min_bandwidth, str):  # "auto"
            return None if ranked.n_pruned or not self.multivariate else pz.MIN_BANDWIDTH
        return self.min_bandwidth

    def _gamma(self, n: int) -> int:
        """``gamma(n)``, checked to be an int >= 0: a float or a negative size was silently
        truncated or raised to 1."""
        size = self.gamma(n)
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) \
                or size < 0:
            raise ValueError(f"gamma must return an int >= 0; gamma({n}) returned {size!r}")
        return int(size)

    def _weights(self, n: int) -> np.ndarray:
        """``weights(n)``, checked as Optuna checks it: its first ``n`` values (Optuna also
        drops the rest) finite, non-negative and not all zero. A negative one made
        "Probabilities contain NaN", a short array an IndexError, and all zeros passed
        silently."""
        w = np.asarray(self.weights(n), dtype=float)
        if w.ndim != 1 or len(w) < n:
            raise ValueError(f"weights must return an array of length n; weights({n}) "
                             f"returned shape {w.shape}")
        w = w[:n]
        if np.any(w < 0):
            raise ValueError(f"weights must not return negative values; weights({n}) "
                             f"returned {w}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"weights must not return infinite or NaN values; weights({n}) "
                             f"returned {w}")
        if n and not w.sum() > 0:
            raise ValueError(f"weights must not return all-zero values; weights({n}) "
                             f"returned {w}")
        return w

    def __repr__(self) -> str:
        return (f"TPESampler(seed={self.seed}, multivariate={self.multivariate}, "
                f"group={self.group}, constant_liar={self.constant_liar}, "
                f"rank_weighted={self.rank_weighted}, min_bandwidth={self.min_bandwidth!r})")
