"""Hyperparameter importance: which parameters mattered for reaching the best results.

`get_param_importances` (Optuna's name and signature) asks an `ImportanceEvaluator`;
`get_param_interactions` scores pairs with `SobolImportanceEvaluator` (below). The default
evaluator is PED-ANOVA (Watanabe et al., IJCAI 2023, "PED-ANOVA: Efficiently quantifying
hyperparameter importance in arbitrary subspaces"): for each parameter, compare the
distribution of its values among the *top* trials (the best ``target_quantile``) with their
distribution in a *region* (the best ``region_quantile``, by default every trial). A parameter
whose good values are spread like all of its values did not matter; one whose good values
gather where the others do not did. The measure is the Pearson divergence between the two,
each a one-dimensional Parzen estimator on a grid over the parameter's range; the paper shows
it equals the local functional-ANOVA variance of the indicator "in the top quantile", so the
parameters' shares add up like fANOVA's. It needs numpy only and costs milliseconds for
thousands of trials, where random-forest fANOVA takes minutes.

`SobolImportanceEvaluator` is functional ANOVA of the objective itself (Sobol 1993; Hutter et
al. 2014 do it with random forests): a Gaussian process is fitted to the trials, and the
variance of its mean over the space is split into each parameter's main effect and each
pair's interaction by pick-freeze Monte Carlo on quasi-random points (Saltelli et al. 2010).
It answers which pairs interact, which PED-ANOVA cannot (see ``docs/importance.md``).

Optuna's random-forest evaluators are here too, behind the ``sklearn`` extra:
`FanovaImportanceEvaluator` (Hutter et al. 2014's main effects, per tree over the tree's
partition of the space) and `MeanDecreaseImpurityImportanceEvaluator` (the forest's
``feature_importances_``).
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hyperdial._encode import encode, encode_column, n_values, snap
from hyperdial.history import History
from hyperdial.space import Categorical, Distribution, Float, Int, SearchSpace, covering
from hyperdial.trial import TrialRecord

if TYPE_CHECKING:
    from hyperdial.study import Study

#: A trial's value for importance, lower is better (for one objective of several, say).
Target = Callable[[TrialRecord], float]


class ImportanceEvaluator(ABC):
    """Scores parameters by how much they mattered; higher is more important."""

    #: True when each parameter is judged on the trials that hold it, so that parameters of a
    #: conditional space are scored too; False when every trial must hold them all.
    per_parameter: ClassVar[bool] = False

    @abstractmethod
    def evaluate(self, history: History, params: Sequence[str],
                 target: Target | None = None) -> dict[str, float]:
        """Non-negative, unnormalised importance of each of ``params``."""

    def shares(self, history: History, params: Sequence[str],
               target: Target | None = None) -> dict[str, float]:
        """The importances as shares: of their sum here (all 0 when nothing mattered)."""
        scores = self.evaluate(history, params, target)
        total = sum(scores.values())
        return {k: (v / total if total > 0 else 0.0) for k, v in scores.items()}


# -- kernels -------------------------------------------------------------------------------------


def grid_pdf(u: np.ndarray, grid: np.ndarray, prior_weight: float) -> np.ndarray:
    """A Parzen estimator of the unit-scale values ``u`` as a probability vector over ``grid``:
    one Gaussian per value (Scott's bandwidth, at least one grid step), each normalised over the
    grid, mixed with a uniform prior of weight ``prior_weight``."""
    step = 1.0 / max(len(grid) - 1, 1)
    sd = float(np.std(u)) if len(u) > 1 else 0.0
    sigma = max(1.059 * sd * len(u) ** -0.2, step)
    k = np.exp(-0.5 * ((grid[None, :] - u[:, None]) / sigma) ** 2)
    k /= k.sum(axis=1, keepdims=True)
    mix: np.ndarray = (k.sum(axis=0) + prior_weight / len(grid)) / (len(u) + prior_weight)
    return mix


def category_pdf(index: np.ndarray, k: int, prior_weight: float) -> np.ndarray:
    """Frequencies of the category indices ``index`` over ``k`` choices, with a uniform prior
    of weight ``prior_weight``."""
    counts = np.bincount(index, minlength=k).astype(float)
    pdf: np.ndarray = (counts + prior_weight / k) / (len(index) + prior_weight)
    return pdf


def pearson_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """``sum q (p / q - 1)^2``: how far the probability vector ``p`` is from ``q``."""
    q = q + 1e-12
    return float(q @ ((p + 1e-12) / q - 1.0) ** 2)


def value_grid(d: Distribution, n_steps: int) -> np.ndarray:
    """Unit-cube points along a parameter: its categories' or values' own positions when it
    has at most ``n_steps`` of them, else ``n_steps`` evenly spaced points."""
    count = n_values(d)
    if isinstance(d, Categorical):
        return encode_column(d, list(d.choices))
    if count is not None and count <= n_steps:
        if isinstance(d, Int):
            values: list[float] = list(range(d.low, d.high + 1, d.step))
        else:
            assert isinstance(d, Float) and d.step is not None
            values = [d.low + i * d.step for i in range(count)]
        return encode_column(d, values)
    return np.linspace(0.0, 1.0, n_steps)


# -- PED-ANOVA -----------------------------------------------------------------------------------


class PedAnovaImportanceEvaluator(ImportanceEvaluator):
    """PED-ANOVA: importance for reaching the best ``target_quantile`` of the trials.

    Args:
        target_quantile: the top trials whose values are examined (``gamma'`` in the paper).
        region_quantile: the trials that define the region the importance is local to
            (``gamma``); 1.0 is every completed trial.
        evaluate_on_local: compare the top trials with the region's trials (True: importance
            during this study, where the sampler went); False compares them with the uniform
            distribution over the search space.
        n_steps: grid points for continuous parameters.
        prior_weight: weight of the uniform prior in every estimator (keeps a few trials from
            making a spike).
    """

    per_parameter = True

    def __init__(self, *, target_quantile: float = 0.1, region_quantile: float = 1.0,
                 evaluate_on_local: bool = True, n_steps: int = 50,
                 prior_weight: float = 1.0) -> None:
        if not 0.0 < target_quantile < region_quantile <= 1.0:
            raise ValueError("need 0 < target_quantile < region_quantile <= 1, got "
                             f"{target_quantile!r} and {region_quantile!r}")
        if n_steps < 2 or not prior_weight > 0.0:
            raise ValueError("n_steps must be >= 2 and prior_weight > 0")
        self.target_quantile = float(target_quantile)
        self.region_quantile = float(region_quantile)
        self.evaluate_on_local = bool(evaluate_on_local)
        self.n_steps = int(n_steps)
        self.prior_weight = float(prior_weight)

    def evaluate(self, history: History, params: Sequence[str],
                 target: Target | None = None) -> dict[str, float]:
        """Each parameter is judged on the trials that hold it, one *regime* per distribution
        it was asked with (a conditional parameter: the branch's trials). A regime holding a
        share ``alpha`` of the top trials and ``beta`` of the region's adds
        ``alpha**2 / beta`` times its own divergence, as in Optuna 5 (after Watanabe et al.);
        an unconditional parameter has one regime of weight 1. Regimes of fewer than 2
        trials, or whose distribution has one value, add nothing."""
        trials, loss, _ = _usable(history, (), target)
        order = np.argsort(loss, kind="stable")
        # A quantile keeps every trial tied with its cut (as Optuna's filter does): cut by
        # trial order instead, a constant objective would give the earliest trials as the
        # "top" and a made-up importance. The ties count before the top is judged too small.
        ranked = loss[order]
        n_top, n_region = (int(np.searchsorted(ranked, ranked[math.ceil(q * len(trials)) - 1],
                                               side="right"))
                           for q in (self.target_quantile, self.region_quantile))
        if n_top < 2:
            raise ValueError(
                f"PED-ANOVA needs at least 2 trials in the top {self.target_quantile:.0%}, "
                f"and {len(trials)} completed trial(s) give {n_top}: run more trials or raise "
                "target_quantile")
        top = {trials[i].number for i in order[:n_top]}
        region = [trials[i] for i in order[:n_region]]
        absent = sorted(set(params).difference(n for t in trials for n in t.params))
        if absent:
            raise ValueError(f"no completed trial holds {absent}")
        out = {}
        for name in params:
            out[name] = 0.0
            for d, members in regimes(region, name).items():
                best = [t for t in members if t.number in top]
                if len(members) < 2 or not best or n_values(d) == 1:
                    continue
                p_top = self._pdf(d, [t.params[name] for t in best])
                if self.evaluate_on_local:
                    p_ref = self._pdf(d, [t.params[name] for t in members])
                else:
                    p_ref = np.full(len(p_top), 1.0 / len(p_top))
                alpha, beta = len(best) / n_top, len(members) / n_region
                out[name] += alpha ** 2 / beta * pearson_divergence(p_top, p_ref)
        return out

    def _pdf(self, d: Distribution, values: list[object]) -> np.ndarray:
        u = encode_column(d, values)
        if isinstance(d, Categorical):
            k = len(d.choices)
            return category_pdf(np.minimum((u * k).astype(int), k - 1), k, self.prior_weight)
        return grid_pdf(u, value_grid(d, self.n_steps), self.prior_weight)


class SobolImportanceEvaluator(ImportanceEvaluator):
    """Functional ANOVA of a Gaussian-process model of the objective.

    The GP (the package's Matérn-5/2 model, maximum a posteriori hyperparameters) is fitted to
    at most ``max_trials`` completed trials (a random subset beyond), on the values
    standardised. Main effects and pair interactions are variances of its mean, estimated
    from ``n_samples`` quasi-random pairs of points: for a set ``u`` of parameters, the
    variance of the mean given ``u`` is ``Var - mean((f(A) - f(C_u))^2) / 2``, where ``C_u``
    takes ``u`` from point A and the rest from point B. A pair's interaction is that of the
    pair less the two main effects. Importances are the main effects (first-order Sobol
    indices); parameters are treated as independent and uniform on the encoded scale (log
    scales included), which is the search space's own measure, a categorical one over the
    categories the trials took (the model knows nothing of the others).

    Args:
        n_samples: quasi-random pairs of points (a power of two).
        max_trials: most trials the GP is fitted to.
        seed: seeds the subset and the quasi-random points.
    """

    def __init__(self, *, n_samples: int = 1024, max_trials: int = 300, seed: int = 0) -> None:
        if n_samples < 64 or n_samples & (n_samples - 1) or max_trials < 5:
            raise ValueError("n_samples must be a power of two >= 64 and max_trials >= 5")
        self.n_samples = int(n_samples)
        self.max_trials = int(max_trials)
        self.seed = int(seed)

    def evaluate(self, history: History, params: Sequence[str],
                 target: Target | None = None) -> dict[str, float]:
        return self.evaluate_pairs(history, params, target, pairs=False)[0]

    def shares(self, history: History, params: Sequence[str],
               target: Target | None = None) -> dict[str, float]:
        """First-order Sobol indices: main effects as shares of the total variance. They sum
        to less than 1 by what interactions explain (a pure interaction leaves both near 0)."""
        single, _, total = self.evaluate_pairs(history, params, target, pairs=False)
        return {k: (v / total if total > 0 else 0.0) for k, v in single.items()}

    def evaluate_pairs(self, history: History, params: Sequence[str],
                       target: Target | None = None, *, pairs: bool = True,
                       ) -> tuple[dict[str, float], dict[tuple[str, str], float], float]:
        """Main effects, pair interactions (empty unless ``pairs``) and the total variance,
        all of the model's mean loss, in the loss's units squared."""
        from scipy.stats import qmc

        mean = surrogate(history, params, target, max_trials=self.max_trials, seed=self.seed,
                         merge_ranges=True, seen_categories=True)
        d = len(params)
        ab = qmc.Sobol(2 * d, scramble=True, seed=self.seed).random(self.n_samples)
        a, b = ab[:, :d], ab[:, d:]
        f_a = mean(a)
        total = float(np.var(np.concatenate([f_a, mean(b)])))

        def closed(cols: list[int]) -> float:  # variance of the mean given these columns
            c = b.copy()
            c[:, cols] = a[:, cols]
            return max(total - 0.5 * float(np.mean((f_a - mean(c)) ** 2)), 0.0)

        single = {name: closed([i]) for i, name in enumerate(params)}
        interactions = {
            (params[i], params[j]): max(closed([i, j]) - single[params[i]] - single[params[j]],
                                        0.0)
            for i in range(d) for j in range(i + 1, d)} if pairs else {}
        return single, interactions, total


# -- random forests (Optuna's fANOVA and mean decrease in impurity) ------------------------------


class _ForestEvaluator(ImportanceEvaluator):
    """A scikit-learn random forest fitted to the completed trials (the parameters on the
    unit cube of `hyperdial._encode`, categoricals by their positions), on their losses."""

    def __init__(self, *, n_trees: int = 64, max_depth: int = 64, seed: int | None = None
                 ) -> None:
        if n_trees < 1 or max_depth < 1:
            raise ValueError(f"n_trees and max_depth must be >= 1, got {n_trees}, {max_depth}")
        self.n_trees = int(n_trees)
        self.max_depth = int(max_depth)
        self.seed = seed

    def _fit(self, history: History, params: Sequence[str], target: Target | None) -> Any:
        from hyperdial._optional import require

        ensemble = require("sklearn.ensemble", "sklearn")
        trials, loss, space = _usable(history, params, target, merge_ranges=True)
        forest = ensemble.RandomForestRegressor(
            n_estimators=self.n_trees, max_depth=self.max_depth, min_samples_split=2,
            min_samples_leaf=1, random_state=self.seed)
        forest.fit(encode(space, [t.params for t in trials]), loss)
        return forest


class MeanDecreaseImpurityImportanceEvaluator(_ForestEvaluator):
    """Optuna's mean decrease in impurity: a random forest's ``feature_importances_`` (how
    much each parameter's splits lower the squared error, averaged over the trees). Needs
    scikit-learn (``pip install "hyperdial[sklearn]"``).

    Args:
        n_trees: trees of the forest.
        max_depth: deepest a tree grows.
        seed: the forest's ``random_state``.
    """

    def evaluate(self, history: History, params: Sequence[str],
                 target: Target | None = None) -> dict[str, float]:
        forest = self._fit(history, params, target)
        return {n: float(v) for n, v in zip(params, forest.feature_importances_, strict=True)}


class FanovaImportanceEvaluator(_ForestEvaluator):
    """Optuna's fANOVA (Hutter et al., ICML 2014, "An efficient approach for assessing
    hyperparameter importance"): a random forest is fitted to the trials; in each tree, the
    share of the variance of its prediction over the search space (uniform on the encoded
    unit cube) that each parameter's main effect explains, the variance of the tree's
    prediction averaged over all other parameters; the shares averaged over the trees. Needs
    scikit-learn (``pip install "hyperdial[sklearn]"``). Arguments as
    `MeanDecreaseImpurityImportanceEvaluator`.
    """

    def evaluate(self, history: History, params: Sequence[str],
                 target: Target | None = None) -> dict[str, float]:
        forest = self._fit(history, params, target)
        shares = np.zeros(len(params))
        for tree in forest.estimators_:
            shares += tree_main_effects(tree.tree_, len(params))
        return {n: float(v) for n, v in zip(params, shares / len(forest.estimators_),
                                            strict=True)}


def tree_leaves(tree: Any, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fitted scikit-learn tree's leaves as boxes of the unit cube: their lower and upper
    corners, shape (leaves, d), and their predictions."""
    lows, highs, values = [], [], []
    stack = [(0, np.zeros(d), np.ones(d))]
    while stack:
        node, low, high = stack.pop()
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:  # a leaf
            lows.append(low)
            highs.append(high)
            values.append(float(tree.value[node].ravel()[0]))
            continue
        j, cut = tree.feature[node], min(max(float(tree.threshold[node]), 0.0), 1.0)
        left_high, right_low = high.copy(), low.copy()
        left_high[j] = min(high[j], cut)  # x <= threshold goes left
        right_low[j] = max(low[j], cut)
        stack += [(left, low, left_high), (right, right_low, high)]
    return np.array(lows), np.array(highs), np.array(values)


def tree_main_effects(tree: Any, d: int) -> np.ndarray:
    """Each parameter's main effect in one tree, as a share of the variance of the tree's
    prediction over the unit cube (zeros for a constant tree): the variance over ``x_i`` of
    the prediction averaged over the other parameters, which is constant between the tree's
    cuts on ``x_i``."""
    low, high, value = tree_leaves(tree, d)
    width = high - low
    volume = width.prod(axis=1)
    mean = float(volume @ value)
    total = float(volume @ value ** 2) - mean ** 2
    out = np.zeros(d)
    if not total > 1e-12 * max(mean ** 2, 1.0):
        return out
    for i in range(d):
        cuts = np.unique(np.concatenate([[0.0, 1.0], low[:, i], high[:, i]]))
        mid = 0.5 * (cuts[:-1] + cuts[1:])
        inside = (low[None, :, i] <= mid[:, None]) & (mid[:, None] < high[None, :, i])
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(width[:, i] > 0, volume / width[:, i], 0.0)
        marginal = inside @ (weight * value)  # the prediction averaged over the others
        out[i] = max(float(np.diff(cuts) @ marginal ** 2) - mean ** 2, 0.0) / total
    return out


def surrogate(history: History, params: Sequence[str], target: Target | None = None, *,
              max_trials: int = 300, seed: int = 0, merge_ranges: bool = False,
              seen_categories: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """A Gaussian-process model of the objective over ``params``: a function from rows of the
    unit cube (one column per parameter, in order) to the model's mean loss (the objective
    turned into minimisation, or ``target``). Fitted on standardised losses, by maximum a
    posteriori, to at most ``max_trials`` completed trials (a random subset, drawn with
    ``seed``, beyond). The cube is that of each parameter's first distribution, or with
    ``merge_ranges`` of the union of its ranges where only its range changed (see
    `_usable`). With ``seen_categories``, a categorical column is read as one of the
    categories the trials took, evenly (the cube's measure over those): where no trial has
    been, the model's mean is its prior, which made up effects for a category never tried."""
    from hyperdial.samplers import _gp_math as gpm

    trials, loss, space = _usable(history, params, target, merge_ranges=merge_ranges)
    if len(trials) < 5:
        raise ValueError(f"a Gaussian-process model needs at least 5 completed trials, "
                         f"got {len(trials)}")
    rng = np.random.default_rng(seed)
    if len(trials) > max_trials:
        keep = np.sort(rng.choice(len(trials), max_trials, replace=False))
        trials, loss = [trials[i] for i in keep], loss[keep]
    dists = list(space.values())
    is_cat = np.array([isinstance(d, Categorical) for d in dists])
    x = encode(space, [t.params for t in trials])
    big = float(np.max(np.abs(loss))) or 1.0  # standardised in units of it: a square of
    unit = loss / big  # values near 1e200 overflows, and the model was all NaN
    unit_centre, unit_scale = float(unit.mean()), float(unit.std()) or 1.0
    y = (unit - unit_centre) / unit_scale
    centre, scale = unit_centre * big, unit_scale * big
    d = len(params)
    starts = np.vstack([gpm.default_theta(d, None),
                        rng.uniform(*np.array(gpm.theta_bounds(d, None)).T)])
    post = gpm.posterior(x, y, gpm.Hyper.from_theta(gpm.fit_map(x, y, is_cat, starts), d, None),
                         is_cat)

    seen = [(j, np.unique(np.minimum((x[:, j] * len(dist.choices)).astype(int),
                                     len(dist.choices) - 1)), len(dist.choices))
            for j, dist in enumerate(dists) if seen_categories and isinstance(dist, Categorical)]

    def mean(rows: np.ndarray) -> np.ndarray:
        if seen:
            rows = rows.copy()
            for j, taken, k in seen:
                cell = np.minimum((rows[:, j] * len(taken)).astype(int), len(taken) - 1)
                rows[:, j] = (taken[cell] + 0.5) / k
        out: np.ndarray = centre + scale * post.predict(snap(dists, rows))[0]
        return out

    return mean


def target_values(history: History, trials: Sequence[TrialRecord],
                  target: Target | None) -> np.ndarray:
    """Each trial's value to judge or plot: ``target``, or the single objective's value."""
    if target is not None:
        return np.array([float(target(t)) for t in trials])
    if history.n_objectives > 1:
        raise ValueError("with several objectives, pass target= (a function of a trial, lower "
                         "is better), e.g. target=lambda t: t.values[0]")
    return np.array([t.values[0] for t in trials])  # type: ignore[index]


def regimes(trials: Sequence[TrialRecord], name: str) -> dict[Distribution, list[TrialRecord]]:
    """The trials holding parameter ``name``, grouped by the distribution it had."""
    out: dict[Distribution, list[TrialRecord]] = {}
    for t in trials:
        d = t.distributions.get(name)
        if d is not None:
            out.setdefault(d, []).append(t)
    return out


def _usable(history: History, params: Sequence[str], target: Target | None, *,
            merge_ranges: bool = False) -> tuple[list[TrialRecord], np.ndarray, SearchSpace]:
    """Completed trials holding every one of ``params``, their losses (``target``, or the
    single objective turned into minimisation), and the space of ``params`` they share. A
    parameter asked with several distributions (its range changed during the study) is
    judged on the trials holding its first one, with a warning that says how many; with
    ``merge_ranges``, where they differ only in range or choices, on every trial over the
    union of the ranges and choices (`covering`: one encoding for all, so a choice's position
    means the same in every trial)."""
    trials = [t for t in history.completed if all(n in t.params for n in params)]
    if not trials:
        raise ValueError("no completed trial" + (f" holds all of {list(params)}" if params
                                                 else " to judge"))
    space: dict[str, Distribution] = {}
    for name in params:
        dists = list(regimes(trials, name))
        one = covering(dists, add_choices=merge_ranges) if merge_ranges or len(dists) == 1 \
            else None
        if one is None:
            before, one = len(trials), dists[0]
            trials = [t for t in trials if t.distributions[name] == one]
            warnings.warn(f"parameter {name!r} was asked with {len(dists)} distributions "
                          f"({', '.join(map(str, dists))}): it is judged on the {len(trials)} "
                          f"of {before} trials that hold the first", UserWarning, stacklevel=3)
        space[name] = one
    loss = target_values(history, trials, target)
    if target is None:
        loss = history.sign() * loss
    keep = np.isfinite(loss)
    return [t for t, k in zip(trials, keep, strict=True) if k], loss[keep], SearchSpace(space)


def as_history(study: Study | History) -> History:
    """A study's history; a `History` as it is."""
    return study if isinstance(study, History) else study.history()


def param_names(history: History, params: Sequence[str] | None,
                evaluator: ImportanceEvaluator | None = None) -> list[str]:
    """The named parameters; by default those any completed trial holds for an evaluator
    that judges each parameter on its own trials (PED-ANOVA); for another evaluator, those
    every one holds with distributions that `covering` makes one (a range changed during the
    study), with a warning naming the others; without an evaluator (a plot), those every one
    holds with one distribution."""
    if evaluator is not None and not isinstance(evaluator, ImportanceEvaluator):
        raise TypeError(f"evaluator must be one of hyperdial.importance's evaluators (such as "
                        f"FanovaImportanceEvaluator), got {type(evaluator).__module__}."
                        f"{type(evaluator).__qualname__}")
    if params is not None:
        names = list(params)
        twice = sorted(n for n, count in Counter(names).items() if count > 1)
        if twice:
            raise ValueError(f"params names {twice} more than once")
        return names
    if evaluator is None:
        return list(history.completed_space)
    trials = history.completed
    if evaluator.per_parameter:
        return sorted({n for t in trials for n in t.params})
    held = [n for n in (trials[0].distributions if trials else ())
            if all(n in t.params for t in trials)]
    clashes = {n: dists for n in held
               if covering(dists := list(regimes(trials, n)), add_choices=True) is None}
    if clashes:
        warnings.warn(
            f"{type(evaluator).__name__} leaves out {list(clashes)}: each was asked with "
            "distributions that differ in more than their range or choices ("
            + "; ".join(f"{n}: {', '.join(map(str, d))}" for n, d in clashes.items())
            + "), and it judges all trials in one space. Name one in params=[...] to judge it "
            "on the trials that hold its first distribution", UserWarning, stacklevel=3)
    return [n for n in held if n not in clashes]


def _judged(study: Study | History) -> History:
    """The history of ``study``; ValueError without a completed trial (as Optuna: nothing to
    judge is an error, not "no importance")."""
    history = as_history(study)
    if not history.completed:
        raise ValueError("no completed trial to judge parameter importance by")
    return history


def get_param_importances(study: Study | History, *,
                          evaluator: ImportanceEvaluator | None = None,
                          params: Sequence[str] | None = None, target: Target | None = None,
                          normalize: bool = True) -> dict[str, float]:
    """Importance of each parameter, most important first (Optuna's function).

    ``params`` defaults to those every completed trial holds (a conditional parameter can be
    named; then only the trials holding it count). ``target`` turns a trial into the value to
    judge, lower is better; it is needed with several objectives. With ``normalize`` the
    importances are shares (`ImportanceEvaluator.shares`): PED-ANOVA's sum to 1 (all 0 when
    no parameter mattered); Sobol's are of the total variance. Without a completed trial:
    ValueError; with trials but no parameter: ``{}``.
    """
    history = _judged(study)
    evaluator = evaluator or PedAnovaImportanceEvaluator()
    names = param_names(history, params, evaluator)
    if not names:
        return {}
    if target is not None and not np.isfinite(target_values(history, history.completed,
                                                            target)).any():
        raise ValueError(f"target is NaN or infinite for all {len(history.completed)} "
                         "completed trials: nothing to judge")  # (internal errors before)
    scores = (evaluator.shares if normalize else evaluator.evaluate)(history, names, target)
    return dict(sorted(scores.items(), key=lambda kv: -kv[1]))


def get_param_interactions(study: Study | History, *,
                           evaluator: SobolImportanceEvaluator | None = None,
                           params: Sequence[str] | None = None, target: Target | None = None,
                           normalize: bool = True) -> dict[tuple[str, str], float]:
    """Interaction of each pair of parameters, largest first: the part of the objective's
    variance that the two explain *together*, beyond their separate effects (a learning rate
    whose best value depends on the batch size, say).

    Arguments as for `get_param_importances`; the evaluator is a `SobolImportanceEvaluator`.
    With ``normalize`` each value is a share of the model's total variance (second-order
    Sobol indices), else the variance itself. Without a completed trial: ValueError (as
    `get_param_importances`); with fewer than two parameters: ``{}``.
    """
    history = _judged(study)
    evaluator = evaluator or SobolImportanceEvaluator()
    if not isinstance(evaluator, SobolImportanceEvaluator):  # (an AttributeError before)
        raise TypeError(f"interactions come from a SobolImportanceEvaluator, got "
                        f"{type(evaluator).__name__}: pass evaluator=SobolImportanceEvaluator(...) "
                        "or none")
    names = param_names(history, params, evaluator)
    if len(names) < 2:
        return {}
    _, pairs, total = evaluator.evaluate_pairs(history, names, target)
    if normalize:
        pairs = {k: (v / total if total > 0 else 0.0) for k, v in pairs.items()}
    return dict(sorted(pairs.items(), key=lambda kv: -kv[1]))
