"""Gaussian-process Bayesian optimisation: a Matérn-5/2 GP and log expected improvement.

The algebra lives in `hyperdial.samplers._gp_math`; this class turns a history into training
data, fits, and searches the acquisition function over a mixed space.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from hyperdial._encode import decode, decode_value, encode, encode_column, n_values, snap
from hyperdial.history import History
from hyperdial.samplers import _gp_math as gpm
from hyperdial.samplers._optuna_args import accepted
from hyperdial.samplers.base import ConstraintsFunc, Sampler, constraint_values
from hyperdial.space import Categorical, SearchSpace, grid_index, grid_value
from hyperdial.trial import TrialRecord, TrialState, failed_on_its_own

#: Standardised losses above this many robust standard deviations are log-compressed.
_WARP_AT = 2.0


def _one_blas_thread() -> AbstractContextManager[Any]:
    """Run BLAS on one thread where threadpoolctl is installed: the GP's matrices are small
    (at most ``max_observations`` rows), and OpenBLAS threads then cost more than they save."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return nullcontext()
    limiter: AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limiter


def warp_losses(y: np.ndarray) -> np.ndarray:
    """Standardise losses robustly and compress the bad tail; the order is kept.

    Centre by the median, scale by the inter-quartile range (the standard deviation, or 1, when
    that is zero); values more than ``_WARP_AT`` above are replaced by ``_WARP_AT + log1p(excess)``
    so that a few diverged trials do not flatten the rest; then standardise to mean 0, sd 1.
    """
    med = float(np.median(y))
    q1, q3 = np.percentile(y, [25.0, 75.0])
    scale = float(q3 - q1) / 1.349
    if not scale > 0.0:
        scale = float(np.std(y)) or 1.0
    z = (y - med) / scale
    z = np.where(z > _WARP_AT, _WARP_AT + np.log1p(np.maximum(z - _WARP_AT, 0.0)), z)
    sd = float(np.std(z))
    out: np.ndarray = (z - z.mean()) / (sd if sd > 0.0 else 1.0)
    return out


def scalarise(losses: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """ParEGO's augmented Chebyshev scalarisation of min-max normalised losses ``(n, m)``."""
    lo, hi = losses.min(axis=0), losses.max(axis=0)
    f = (losses - lo) / np.where(hi > lo, hi - lo, 1.0)
    out: np.ndarray = np.max(f * weights, axis=1) + rho * f @ weights
    return out


def trust_region(centre: np.ndarray, stall: int, lengthscales: np.ndarray,
                 is_cat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A box around the best point ``centre`` (TuRBO, Eriksson et al. 2019), as ``(low, high)``.

    Its side starts at half the cube and halves after every ``max(3, d / 2)`` trials without
    improvement (``stall``), cycling back to half the cube after six halvings; each side is
    stretched by that dimension's relative length scale. Categorical columns are left whole.
    """
    d = len(centre)
    side = 0.5 ** (1 + (stall // max(3, -(-d // 2))) % 6)
    rel = lengthscales / np.exp(np.mean(np.log(lengthscales)))
    half = 0.5 * side * np.clip(rel, 0.25, 4.0)
    low = np.where(is_cat, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(is_cat, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def local_rows(x: np.ndarray, box: tuple[np.ndarray, np.ndarray],
               lengthscales: np.ndarray) -> np.ndarray:
    """Which rows of ``x`` a trust region's local GP is trained on: those inside the box
    ``(low, high)`` grown to twice its side about its centre, or, when fewer, the
    ``max(2 d + 2, 10)`` rows nearest its centre in length-scale units."""
    low, high = box
    width = high - low
    near: np.ndarray = np.all((x >= low - width / 2) & (x <= high + width / 2), axis=1)
    k = min(len(x), max(2 * x.shape[1] + 2, 10))
    if near.sum() < k:
        scaled = (x - (low + high) / 2) / lengthscales
        near = np.zeros(len(x), dtype=bool)
        near[np.argsort(np.sum(scaled * scaled, axis=1), kind="stable")[:k]] = True
    return near


def _believe(post: gpm.Posterior, x: np.ndarray, y: np.ndarray, hyper: gpm.Hyper,
             is_cat: np.ndarray, pending: np.ndarray,
             best: float | None) -> tuple[gpm.Posterior, float | None]:
    """Kriging believer: the model refitted with the ``pending`` points observed at its
    posterior mean, and the best loss counting them as observed."""
    believed = post.predict(pending)[0]
    post = gpm.posterior(np.vstack([x, pending]), np.concatenate([y, believed]), hyper, is_cat)
    return post, None if best is None else min(best, float(believed.min()))


def impute_inactive(x: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Give the GP a value where a trial lacks a parameter (NaN: inactive in its branch): the
    centre of the cube for numbers, a category of its own (-1) for categorical columns."""
    out: np.ndarray = np.where(np.isnan(x), np.where(is_cat, -1.0, 0.5)[None, :], x)
    return out


@dataclass(frozen=True)
class Branch:
    """One pattern of active parameters seen in a conditional space, as the acquisition
    search treats it: ``fixed`` holds the values held constant (NaN = searched)."""

    inactive: np.ndarray  # (d,) bool: parameters the branch lacks
    fixed: np.ndarray  # (d,) imputed values of inactive columns, the branch's parent choices
    members: np.ndarray  # rows of the training data in this branch


#: Most branches (activity patterns of a conditional space) the acquisition search visits.
MAX_BRANCHES = 8


def find_branches(raw: np.ndarray, y: np.ndarray, is_cat: np.ndarray,
                  max_branches: int = MAX_BRANCHES, is_discrete: np.ndarray | None = None,
                  ) -> list[Branch]:
    """The activity patterns of the rows of ``raw`` (NaN = inactive), best branch first.

    A categorical (or, with ``is_discrete``, integer) column whose values in one branch never
    occur in the others selects that branch (a parent such as ``model``, or ``n_layers`` for
    per-layer widths): with a single value it is held at that value, so that the acquisition
    search never pairs a branch's parameters with another branch's parent. An integer parent
    takes no more values than there are branches where it is active; one that does (a batch
    size every branch asks for) is searched in each, though a branch tried once holds one
    value of it that no other holds (it was held there, and the branch repeated it for good).
    Only the
    ``max_branches`` branches with the best losses are searched.
    """
    nan = np.isnan(raw)
    patterns, inverse = np.unique(nan, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort([y[inverse == p].min() for p in range(len(patterns))], kind="stable")
    imputed = impute_inactive(np.full((1, raw.shape[1]), np.nan), is_cat)[0]
    parents = (is_cat if is_discrete is None else is_cat | is_discrete).copy()
    for j in np.flatnonzero(parents & ~is_cat):  # (a categorical parent may map several
        # choices to one branch: ridge and lasso both asking for alpha)
        active = ~nan[:, j]
        parents[j] = np.unique(raw[active, j]).size <= np.unique(inverse[active]).size
    out = []
    for p in order[:max_branches]:
        members = np.flatnonzero(inverse == p)
        fixed = np.where(patterns[p], imputed, np.nan)
        for j in np.flatnonzero(parents & ~patterns[p]):
            inside = np.unique(raw[members, j])
            others = raw[(inverse != p) & ~nan[:, j], j]
            if inside.size == 1 and others.size and not np.isin(inside, others).any():
                fixed[j] = inside[0]
        out.append(Branch(patterns[p], fixed, members))
    return out


class GPSampler(Sampler):
    """Bayesian optimisation with a Gaussian process, for expensive objectives and small budgets.

    Args:
        seed: seeds every random choice (with the trial number).
        n_startup_trials: completed trials before the GP is used; until then trial ``n`` takes
            point ``n`` of a scrambled Sobol sequence seeded by ``seed``.
        deterministic_objective: fix the observation noise near zero instead of fitting it.
        max_observations: most trials the GP is trained on; past it, the best half plus a
            random subset of the others (keeps suggestion time bounded).
        n_candidates: quasi-random candidates scored before the gradient search.
        n_restarts: starts of the acquisition's L-BFGS-B search (best candidates).
        n_fit_restarts: starts of the hyperparameter fit (the prior mode plus random draws).
        local_every: one trial in this many (one objective, one branch) searches only a trust
            region around the best point, sized by how long the best has stood; 0: never.
            Global expected improvement alone keeps exploring in many dimensions; these local
            steps refine the best basin (see ``docs/gp.md``). None (default): every trial in
            purely numerical spaces of 4 or more parameters, where the step fits a GP of its
            own to the trials near the region (TuRBO-1), one trial in three otherwise.
        constraints_func: constraint values of a completed trial, ``<= 0`` feasible (for
            example read from its user attributes); each constraint gets a GP and the
            acquisition is weighted by the probability that all hold. Without it, the values
            trials set with `Trial.set_constraint`, if any.

    Pending (running) trials enter the model at the posterior mean (kriging believer), so
    parallel workers and `propose_batch` spread out. Several objectives are scalarised with
    ParEGO's augmented Chebyshev function and weights drawn per trial.
    """

    uses_pending = True

    def __init__(self, *, seed: int | None = None, n_startup_trials: int = 10,
                 deterministic_objective: bool = False, max_observations: int = 300,
                 n_candidates: int = 2048, n_restarts: int = 5, n_fit_restarts: int = 2,
                 local_every: int | None = None,
                 constraints_func: ConstraintsFunc | None = None,
                 independent_sampler: Sampler | None = None,
                 warn_independent_sampling: bool | None = None) -> None:
        accepted("GPSampler", "independent_sampler",
                 None if independent_sampler is None else type(independent_sampler).__name__,
                 "ignored; parameters the GP does not model are drawn uniformly at random")
        accepted("GPSampler", "warn_independent_sampling", warn_independent_sampling,
                 "ignored; hyperdial does not warn when a parameter is sampled on its own")
        if (n_startup_trials < 0 or max_observations < 2 or n_candidates < 1 or n_restarts < 0
                or (local_every is not None and local_every < 0)):
            raise ValueError("invalid GPSampler settings")
        self.n_startup_trials = int(n_startup_trials)
        self.deterministic_objective = bool(deterministic_objective)
        self.max_observations = int(max_observations)
        self.n_candidates = int(n_candidates)
        self.n_restarts = int(n_restarts)
        self.n_fit_restarts = max(int(n_fit_restarts), 1)
        self.local_every = None if local_every is None else int(local_every)
        self.constraints_func = constraints_func
        self._fresh_caches()
        super().__init__(seed=seed)

    _caches = ("_lock", "_fits")

    def _fresh_caches(self) -> None:
        self._lock = threading.Lock()
        # Fitted hyperparameters keyed by a digest of the exact training data and settings: a
        # hit gives the very result a fresh fit would, so the cache only saves time.
        self._fits: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def infer_space(self, history: History) -> SearchSpace:
        return history.completed_covering_space

    # -- proposal --------------------------------------------------------------------------------
    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        u = rng.random(len(space))  # parameters the GP does not model stay random
        known = history.completed_covering_space
        names = [n for n, d in space.items() if known.get(n) == d]
        gp_space = SearchSpace({n: space[n] for n in names})
        # A pruned trial counts at its value, its last report: pessimistic for a curve that
        # was still improving, and enough to keep the search from proposing it again.
        completed = [t for t in history.with_states(TrialState.COMPLETE, TrialState.PRUNED)
                     if t.values is not None and any(n in t.params for n in names)]
        losses = history.loss(completed) if completed else np.empty((0, history.n_objectives))
        ok = np.all(np.isfinite(losses), axis=1)
        completed = [t for t, keep in zip(completed, ok, strict=True) if keep]
        if not names or len(completed) < max(self.n_startup_trials, 2):
            start = self._startup_point(len(space), rng)
            return decode(space, self._unrepeated(history, space, start if start is not None
                                                  else u, rng))[0]
        with _one_blas_thread():
            row = self._optimise(history, gp_space, completed, losses[ok], rng)
        index = {n: j for j, n in enumerate(space)}
        for j, n in enumerate(names):
            if not np.isnan(row[j]):  # a parameter inactive in the chosen branch stays random
                u[index[n]] = row[j]
        return decode(space, u)[0]

    @staticmethod
    def _unrepeated(history: History, space: SearchSpace, point: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """``point``, or when it decodes to a configuration already tried or running (points
        of a small discrete space collide), the first of up to ten uniform draws that does
        not."""
        tried = tried_rows(space, [t for t in history.trials
                                   if t.state.is_finished() or t.state is TrialState.RUNNING])
        dists, whole = list(space.values()), np.zeros(len(space), dtype=bool)
        for _ in range(10):
            if untried(tried, whole, snap(dists, point[None, :]))[0]:
                break
            point = rng.random(len(space))
        return point

    def _startup_point(self, d: int, rng: np.random.Generator) -> np.ndarray | None:
        number = self.trial_number(rng)
        if number is None or number >= 1024:
            return None
        from scipy.stats import qmc

        n = 1 << max(number, 1).bit_length()
        points: np.ndarray = qmc.Sobol(d, scramble=True, seed=self.seed).random(n)
        point: np.ndarray = points[number]
        return point

    def _training_data(self, history: History, space: SearchSpace,
                       completed: list[TrialRecord], losses: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encoded parameters, warped losses and which of ``completed`` they come from."""
        if losses.shape[1] > 1:
            y = scalarise(losses, rng.dirichlet(np.ones(losses.shape[1])))
        else:
            y = losses[:, 0]
        x = encode(space, [t.params for t in completed])  # NaN where a trial lacks a parameter
        idx = np.arange(len(y))
        if len(y) > self.max_observations:
            keep_best = self.max_observations // 2
            order = np.argsort(y, kind="stable")
            rest = rng.choice(order[keep_best:], self.max_observations - keep_best,
                              replace=False)
            idx = np.sort(np.concatenate([order[:keep_best], rest]))
            x, y = x[idx], y[idx]
        return x, warp_losses(y), idx

    def _fit(self, x: np.ndarray, y: np.ndarray, is_cat: np.ndarray,
             fixed_noise: float | None) -> np.ndarray:
        digest = hashlib.blake2b(digest_size=16)
        for part in (x, y, is_cat.astype(float),
                     np.array([fixed_noise or -1.0, self.n_fit_restarts, self.seed % 2**53])):
            digest.update(np.ascontiguousarray(part, dtype=float).tobytes())
        key = digest.digest()
        with self._lock:
            cached = self._fits.get(key)
        if cached is not None:
            return cached
        d = x.shape[1]
        theta0 = gpm.default_theta(d, fixed_noise)
        # Extra starts depend on (seed, data size) only, never on earlier calls.
        fit_rng = np.random.default_rng([self.seed % 2**63, len(y), 0x6A9])
        lo, hi = np.array(gpm.theta_bounds(d, fixed_noise)).T
        extra = fit_rng.uniform(lo, hi, size=(self.n_fit_restarts - 1, len(theta0)))
        # Hyperparameters from at most 150 points; the posterior then uses all of them.
        sub = np.arange(len(y)) if len(y) <= 150 else np.sort(
            fit_rng.choice(len(y), 150, replace=False))
        theta = gpm.fit_map(x[sub], y[sub], is_cat, np.vstack([theta0, extra]), fixed_noise)
        with self._lock:
            self._fits[key] = theta
            while len(self._fits) > 16:
                self._fits.popitem(last=False)
        return theta

    def _optimise(self, history: History, space: SearchSpace, completed: list[TrialRecord],
                  losses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        dists = list(space.values())
        is_cat = np.array([isinstance(d, Categorical) for d in dists])
        raw, y, rows = self._training_data(history, space, completed, losses, rng)
        x = impute_inactive(raw, is_cat)
        fixed_noise = 1e-6 if self.deterministic_objective else None
        hyper = gpm.Hyper.from_theta(self._fit(x, y, is_cat, fixed_noise), x.shape[1],
                                     fixed_noise)
        post = gpm.posterior(x, y, hyper, is_cat)
        constraints, feasible = self._constraint_models(x, is_cat, [completed[i] for i in rows],
                                                        fixed_noise)
        # Improvement counts from the best observed (warped) loss, as in Optuna's and BoTorch's
        # log EI. From the lowest posterior mean at the trials, which the fitted noise lifts
        # above a sharp minimum, two seeds in ten stayed at a face of the cube on ackley10.
        best: float | None = float(np.min(y[feasible])) if feasible.any() else None
        branches = find_branches(raw, y, is_cat,
                                 is_discrete=np.array([n_values(d) is not None for d in dists]))
        number = self.trial_number(rng)
        # Local model in purely numerical spaces of 4 or more dimensions (see ``docs/gp.md``):
        # in 2-D the global GP already resolves the box (svc_breast_cancer lost with it), and
        # with categoricals the box keeps every category, so its trials are not local.
        local_model = not is_cat.any() and x.shape[1] >= 4
        every = self.local_every if self.local_every is not None else 1 if local_model else 3
        box = None
        if (every and len(branches) == 1 and number is not None and losses.shape[1] == 1
                and number % every == every - 1):
            in_order = losses[np.argsort([t.number for t in completed], kind="stable"), 0]
            stall = len(in_order) - 1 - int(np.argmin(in_order))
            centre = x[int(np.argmin(np.where(feasible, y, np.inf)))] if best is not None \
                else x[int(np.argmin(y))]
            box = trust_region(centre, stall, hyper.lengthscales, is_cat)
        model = global_model = (x, y, hyper)
        global_post, global_best = post, best
        if box is not None and best is not None and local_model:
            local = self._local_model(x, y, feasible, is_cat, box, hyper, fixed_noise)
            if local is not None:
                model, post, best = local
        pending = [t for t in history.running if any(n in t.params for n in space)]
        tried = tried_rows(space, [*completed, *pending, *_crashed(history, completed)])
        xp = impute_inactive(encode(space, [t.params for t in pending]), is_cat) if pending \
            else None
        n_cand = max(self.n_candidates // len(branches), min(self.n_candidates, 256))

        def search(post: gpm.Posterior, model: tuple[np.ndarray, np.ndarray, gpm.Hyper],
                   best: float | None, box: tuple[np.ndarray, np.ndarray] | None,
                   ) -> np.ndarray:
            """The best point of every branch, with the pending trials believed."""
            if xp is not None:
                post, best = _believe(post, *model, is_cat, xp, best)
            acquisition = Acquisition(post, best, constraints, xp)
            best_row, best_acq = np.empty(0), -np.inf
            for branch in branches:
                good = x[branch.members[np.argsort(y[branch.members], kind="stable")[:5]]]
                row, acq = _maximise(acquisition, dists, good, rng, n_cand, self.n_restarts,
                                     branch.fixed, box,
                                     fresh=partial(untried, tried, branch.inactive))
                if acq > best_acq:
                    best_row, best_acq = np.where(branch.inactive, np.nan, row), acq
            return best_row

        best_row = search(post, model, best, box)
        if box is not None and best_row.size and not untried(
                tried, np.isnan(best_row), best_row[None, :])[0]:
            # The box has shrunk until every configuration in it was tried (a discrete space
            # around its optimum): search the whole space rather than repeat one. Only there
            # can a point be a repeat, so continuous spaces never take this path.
            best_row = search(global_post, global_model, global_best, None)
        return best_row

    def _local_model(self, x: np.ndarray, y: np.ndarray, feasible: np.ndarray,
                     is_cat: np.ndarray, box: tuple[np.ndarray, np.ndarray],
                     global_hyper: gpm.Hyper, fixed_noise: float | None,
                     ) -> tuple[tuple[np.ndarray, np.ndarray, gpm.Hyper], gpm.Posterior,
                                float] | None:
        """The GP of a trust-region step: fitted to the trials near the region only (`local_rows`)
        with their losses standardised among themselves, as in TuRBO. Fitted to the whole
        history, the GP spends its noise and length scales on the global landscape and cannot
        tell apart the small differences that matter inside a small box. Returns its training
        data and hyperparameters, posterior and best loss; None when every trial is near (a
        large box), where the global model serves."""
        near = local_rows(x, box, global_hyper.lengthscales)
        if near.all() or not (near & feasible).any():
            return None
        xl, yl = x[near], warp_losses(y[near])
        d = x.shape[1]
        hyper = gpm.Hyper.from_theta(self._fit(xl, yl, is_cat, fixed_noise), d, fixed_noise)
        return (xl, yl, hyper), gpm.posterior(xl, yl, hyper, is_cat), float(
            np.min(yl[feasible[near]]))

    def _constraint_models(self, x: np.ndarray, is_cat: np.ndarray, trials: list[TrialRecord],
                           fixed_noise: float | None,
                           ) -> tuple[tuple[tuple[gpm.Posterior, float], ...], np.ndarray]:
        """One GP per constraint on the standardised values, with the standardised threshold
        0, and which training rows are feasible (all of them without constraints)."""
        c = constraint_values(self.constraints_func, trials)
        if not c.shape[1]:
            return (), np.ones(len(trials), dtype=bool)
        models = []
        for col in c.T:  # a missing value or +inf counts as the worst one seen (violated),
            finite = col[np.isfinite(col)]  # -inf as the best one (satisfied)
            worst = float(finite.max()) if finite.size and finite.max() > 0.0 else 1.0
            best = float(finite.min()) if finite.size and finite.min() <= 0.0 else -1.0
            col = np.where(col == -np.inf, best, np.where(np.isfinite(col), col, worst))
            mean, sd = float(col.mean()), float(col.std()) or 1.0
            yc = (col - mean) / sd
            hyper = gpm.Hyper.from_theta(self._fit(x, yc, is_cat, fixed_noise), x.shape[1],
                                         fixed_noise)
            models.append((gpm.posterior(x, yc, hyper, is_cat), -mean / sd))
        return tuple(models), np.all(c <= 0.0, axis=1)  # NaN compares False: infeasible

    def __repr__(self) -> str:
        return (f"GPSampler(seed={self.seed}, n_startup_trials={self.n_startup_trials}, "
                f"deterministic_objective={self.deterministic_objective})")


#: Radius of the repulsion around running trials, in length scales (see `Acquisition`), and
#: at most `REPEL_REACH` of the cube: length scales reach 100 (a nearly linear objective).
REPEL_RADIUS = 0.005
REPEL_REACH = 0.01


@dataclass(frozen=True)
class Acquisition:
    """Log expected improvement below ``best`` times the probability that every constraint GP
    is at most its threshold; without a feasible trial yet (``best`` None), the probability of
    feasibility alone.

    Times, for each running trial in ``pending``, ``1 - exp(-r^2 / (2 REPEL_RADIUS^2))`` at a
    distance of ``r`` length scales from it, each at most ``REPEL_REACH / REPEL_RADIUS``
    (local penalisation with a fixed radius, never wider than a hundredth of the cube): the
    kriging believer lowers the expected improvement at a running trial only to the noise's
    level, and once the model is confident its maximum sat right beside it (16 asks within
    5e-4 of one another). Beyond a twentieth of a length scale the factor is 1 within
    1e-20."""

    post: gpm.Posterior
    best: float | None
    constraints: tuple[tuple[gpm.Posterior, float], ...] = ()
    pending: np.ndarray | None = None

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        out = (gpm.log_ei(*self.post.predict(rows), self.best) if self.best is not None
               else np.zeros(len(rows)))
        for post, threshold in self.constraints:
            out = out + gpm.log_pof(post, rows, threshold)
        repelled: np.ndarray = out + self._repel_value(rows)
        return repelled

    def with_grad(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.best is not None:
            val, grad = gpm.log_ei_and_grad(self.post, rows, self.best)
        else:
            val, grad = np.zeros(len(rows)), np.zeros_like(rows)
        for post, threshold in self.constraints:
            v, g = gpm.log_pof_and_grad(post, rows, threshold)
            val, grad = val + v, grad + g
        repel, repel_grad = self._repel(rows)
        return val + repel, grad + repel_grad

    def _repel_z(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``r^2 / (2 REPEL_RADIUS^2)`` from each row to each running trial (clipped away
        from 0), and the capped length scales; None without running trials."""
        if self.pending is None or not len(self.pending):
            return None
        scales = np.minimum(self.post.hyper.lengthscales, REPEL_REACH / REPEL_RADIUS)
        z = gpm.scaled_sq_dists(rows, self.pending, scales, self.post.is_cat) / (
            2 * REPEL_RADIUS ** 2)
        return np.maximum(z, 1e-300), scales

    def _repel_value(self, rows: np.ndarray) -> np.ndarray | float:
        """The log of the repulsion factor (scoring thousands of candidates needs no more)."""
        found = self._repel_z(rows)
        return 0.0 if found is None else np.sum(np.log(-np.expm1(-found[0])), axis=1)

    def _repel(self, rows: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
        """The log of the repulsion factor and its gradient (numeric columns)."""
        found = self._repel_z(rows)
        if found is None:
            return 0.0, 0.0
        z, scales = found
        # d/dx log(1 - e^-z) = z'(x) / (e^z - 1), z'(x) = (x - p) / (l^2 REPEL_RADIUS^2)
        weight = 1.0 / np.expm1(np.minimum(z, 700.0))
        diff = (rows[:, None, :] - self.pending[None, :, :]) / (  # type: ignore[index]
            scales ** 2 * REPEL_RADIUS ** 2)
        grad = np.einsum("nm,nmd->nd", weight, diff) * ~self.post.is_cat
        return np.sum(np.log(-np.expm1(-z)), axis=1), grad


# -- acquisition search over a mixed space ---------------------------------------------------------
def category_choices(acq: Acquisition, j: int, k: int) -> np.ndarray:
    """The encoded categories of column ``j`` (of ``k``) worth scoring: the kernel compares
    categories by equality only, so all those no model was trained on score alike, and the
    ones seen plus the first unseen one hold the best of the ``k`` (the one a scan of all
    picks, as ties go to the first). Scanning all of 5,000 choices took seconds a trial."""
    models = (acq.post, *(post for post, _ in acq.constraints))
    seen = np.unique(np.concatenate([np.floor(m.x[:, j] * k) for m in models]))
    seen = seen[(seen >= 0) & (seen < k)].astype(int)  # -1: the column was inactive
    if len(seen) + 1 >= k:
        return (np.arange(k) + 0.5) / k
    first_unseen = np.setdiff1d(np.arange(len(seen) + 1), seen)[0]
    return (np.sort(np.append(seen, first_unseen)) + 0.5) / k


def _neighbours(d: Any, u: float) -> list[float]:
    """Encodings of the grid values next to the continuous point ``u``: the value it rounds
    to and the values one step below and above (those in range)."""
    k, last = grid_index(d, decode_value(d, u)), grid_index(d, d.high)
    values = [grid_value(d, j) for j in (k - 1, k, k + 1) if 0 <= j <= last]
    return sorted({float(e) for e in encode_column(d, values)})


def _maximise(acq: Acquisition, dists: list[Any], good: np.ndarray, rng: np.random.Generator,
              n_candidates: int, n_restarts: int, fixed: np.ndarray,
              box: tuple[np.ndarray, np.ndarray] | None = None,
              fresh: Callable[[np.ndarray], np.ndarray] | None = None,
              ) -> tuple[np.ndarray, float]:
    """The encoded point of highest acquisition and that value: score quasi-random and local
    candidates, polish the best few with L-BFGS-B over the numerical columns, then search
    discrete columns exactly. Columns where ``fixed`` is not NaN keep that value. With
    ``fresh`` (which rows are not configurations already tried), the best fresh point of
    those searched and of the one-column changes of the winner, if any is fresh."""
    from scipy.stats import qmc

    d = len(dists)
    held = ~np.isnan(fixed)
    is_cat = np.array([isinstance(dist, Categorical) for dist in dists])
    discrete = np.array([n_values(dist) is not None and not isinstance(dist, Categorical)
                         for dist in dists]) & ~held
    seed = int(rng.integers(2**63))
    n_sobol = 1 << max(n_candidates - 1, 1).bit_length()
    low, high = box if box is not None else (np.zeros(d), np.ones(d))
    cands = [low + (high - low) * qmc.Sobol(d, scramble=True, seed=seed).random(n_sobol)[
        :n_candidates]]
    n_local = max(n_candidates // 4, 1)
    base = good[rng.integers(len(good), size=n_local)]
    local = np.clip(base + rng.normal(0.0, 0.05, size=base.shape), low, high)
    flip = is_cat[None, :] & (rng.random(base.shape) < 1.0 / max(d, 2))
    local[flip] = rng.random(int(flip.sum()))
    cands.append(local)
    cand = np.where(held, fixed, snap(dists, np.vstack(cands)))
    score = acq(cand)
    top = cand[np.argsort(-score, kind="stable")[:max(n_restarts, 1)]]
    if n_restarts > 0:
        polished = gpm.maximize_batch(acq.with_grad, top, ~is_cat & ~held, maxiter=50, box=box)
        top = np.vstack([top, polished])

    # Discrete columns: each point tries the grid values around it (numbers) or every category,
    # one column at a time, twice over.
    top = _snap_to_best_neighbours(top, dists, discrete, acq)
    cat_cols = np.flatnonzero(is_cat & ~held)
    for _ in range(2 if len(cat_cols) else 0):
        for j in cat_cols:
            k = n_values(dists[j])
            assert k is not None
            choices = category_choices(acq, int(j), k)
            trial = np.repeat(top, len(choices), axis=0)
            trial[:, j] = np.tile(choices, len(top))
            vals = acq(trial).reshape(len(top), len(choices))
            top[:, j] = choices[np.argmax(vals, axis=1)]
    vals = acq(top)
    i = int(np.argmax(vals))
    if fresh is not None and not fresh(top[i:i + 1])[0]:
        # A discrete optimum can be a configuration already tried: with a fitted noise level
        # its expected improvement stays positive, and the GP would propose it again and
        # again (15-19 distinct architectures in 100 trials on benchmarks/nas.py).
        pool = np.vstack([top, _one_column_changes(top[i], dists, held), cand])
        ok = fresh(pool)
        if ok.any():
            pool_vals = np.where(ok, acq(pool), -np.inf)
            pick = int(np.argmax(pool_vals))
            return pool[pick], float(pool_vals[pick])
    best_row: np.ndarray = top[i]
    return best_row, float(vals[i])


def _one_column_changes(row: np.ndarray, dists: list[Any], held: np.ndarray) -> np.ndarray:
    """``row`` with one discrete column moved: to every other category, or to the grid values
    next to it."""
    out = [row[None, :]]
    for j, dist in enumerate(dists):
        if held[j] or n_values(dist) is None:
            continue
        options = (np.asarray(encode_column(dist, list(dist.choices))) if isinstance(
            dist, Categorical) else np.asarray(_neighbours(dist, float(row[j]))))
        moved = np.repeat(row[None, :], len(options), axis=0)
        moved[:, j] = options
        out.append(moved)
    return np.vstack(out)


def _crashed(history: History, completed: list[TrialRecord]) -> list[TrialRecord]:
    """Failed trials that count as tried: a configuration that crashed was proposed again
    and again (the model never sees it), as brute force counts it tried. Only those that hold
    a whole configuration (the parameters of some completed trial: one that failed halfway
    would match every point of its branch) and that failed on their own (`failed_on_its_own`:
    not a dead worker's, or one cut short by Ctrl-C, which a rerun should try)."""
    shapes = {frozenset(t.params) for t in completed}
    return [t for t in history.with_states(TrialState.FAIL)
            if frozenset(t.params) in shapes and failed_on_its_own(t)]


def tried_rows(space: SearchSpace, trials: list[TrialRecord]) -> np.ndarray:
    """The encoded configurations of ``trials`` that a point of ``space`` can repeat: those
    whose parameters all lie in it (a running trial that has asked for none yet, or one with
    a parameter outside the space, cannot be repeated there)."""
    rows = [t.params for t in trials if t.params and all(n in space for n in t.params)]
    return encode(space, rows) if rows else np.empty((0, len(space)))


def untried(tried: np.ndarray, inactive: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which encoded ``rows`` of a branch (its ``inactive`` columns blanked here) repeat none
    of the ``tried`` rows (NaN: a parameter the trial did not have).

    A row repeats a trial when it agrees with it on every parameter the trial had: a
    define-by-run objective asks for the same parameters given the same values, so it would
    evaluate the same configuration whatever else the row holds (a width for a layer that
    its depth then leaves out, say).
    """
    blanked = np.where(inactive, np.nan, rows)
    out: np.ndarray = np.ones(len(blanked), dtype=bool)
    if not len(tried):
        return out
    free = np.isnan(tried)[None, :, :]
    chunk = max(1, 2**22 // tried.size)  # rows at a time: a few MB of comparisons
    for start in range(0, len(blanked), chunk):
        part = blanked[start:start + chunk, None, :]
        same = np.abs(part - tried[None, :, :]) < 1e-12  # NaN compares False
        out[start:start + chunk] = ~np.any(np.all(free | same, axis=2), axis=1)
    return out


def _snap_to_best_neighbours(top: np.ndarray, dists: list[Any], discrete: np.ndarray,
                             acq: Any) -> np.ndarray:
    out: np.ndarray = top.copy()
    for j in np.flatnonzero(discrete):
        for i in range(len(out)):
            options = _neighbours(dists[j], float(out[i, j]))
            trial = np.repeat(out[i:i + 1], len(options), axis=0)
            trial[:, j] = options
            out[i, j] = options[int(np.argmax(acq(trial)))]
    return out
