"""The public benchmark suite of BENCHMARKS.md: frozen problems in a library-neutral form.

Each problem has a name, a trial budget, its known optimum (None for the ML ones, whose
reference is the best value ever seen), a space as a tuple of :class:`Param` and a
deterministic ``evaluate(config) -> float`` to minimise. Peers translate the space into
their own form (``peers.py``); nothing here imports an optimiser.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Choice = str | int
Config = dict[str, Any]


@dataclass(frozen=True)
class Param:
    """One dimension: a float or int in [low, high] (log-scaled or not), or a categorical.

    ``parent``/``parent_value`` make the param active only when the categorical ``parent``
    takes that value; parents always come before their children in a space.
    """

    name: str
    kind: Literal["float", "int", "categorical"]
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Choice, ...] = ()
    parent: str | None = None
    parent_value: Choice | None = None

    def is_active(self, config: Mapping[str, Any]) -> bool:
        """Whether this param applies given the values chosen so far."""
        return self.parent is None or config.get(self.parent) == self.parent_value


def _when(when: tuple[str, Choice] | None) -> dict[str, Any]:
    return {} if when is None else {"parent": when[0], "parent_value": when[1]}


def real(
    name: str, low: float, high: float, *, log: bool = False, when: tuple[str, Choice] | None = None
) -> Param:
    """A float param, optionally conditional on ``when = (parent, value)``."""
    return Param(name, "float", low, high, log, **_when(when))


def integer(
    name: str, low: int, high: int, *, log: bool = False, when: tuple[str, Choice] | None = None
) -> Param:
    """An int param with bounds included."""
    return Param(name, "int", low, high, log, **_when(when))


def categorical(
    name: str, choices: tuple[Choice, ...], *, when: tuple[str, Choice] | None = None
) -> Param:
    """An unordered choice."""
    return Param(name, "categorical", choices=choices, **_when(when))


Space = tuple[Param, ...]


def active_config(space: Space, config: Mapping[str, Any]) -> Config:
    """The active params of ``config`` in space order; extra and inactive keys are dropped.

    Peers that cannot express conditions (skopt, nevergrad) sample every param; this is
    where their inactive values are ignored.
    """
    out: Config = {}
    for p in space:
        if p.is_active(out):
            out[p.name] = config[p.name]
    return out


def sample_config(space: Space, rng: np.random.Generator) -> Config:
    """One uniform random configuration (log-uniform for log params): `random` and the pools."""
    config: Config = {}
    for p in space:
        if not p.is_active(config):
            continue
        if p.kind == "categorical":
            config[p.name] = p.choices[int(rng.integers(len(p.choices)))]
        elif p.kind == "float":
            u = (
                rng.uniform(math.log(p.low), math.log(p.high))
                if p.log
                else rng.uniform(p.low, p.high)
            )
            config[p.name] = float(math.exp(u)) if p.log else float(u)
        elif p.log:
            u = rng.uniform(math.log(p.low - 0.5), math.log(p.high + 0.5))
            config[p.name] = int(min(max(round(math.exp(u)), p.low), p.high))
        else:
            config[p.name] = int(rng.integers(int(p.low), int(p.high) + 1))
    return config


@dataclass(frozen=True)
class Problem:
    """A minimisation problem: budget, optimum (None: best ever seen), default seed count."""

    name: str
    space: Space
    budget: int
    optimum: float | None
    seeds: int
    objective: Callable[[Config], float]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for p in self.space:
            if p.parent is not None and p.parent not in seen:
                raise ValueError(f"{self.name}: parent {p.parent!r} must come before {p.name!r}")
            seen.add(p.name)

    def evaluate(self, config: Mapping[str, Any]) -> float:
        """The objective on the active part of ``config`` (deterministic)."""
        return float(self.objective(active_config(self.space, config)))


# --- synthetic functions (pure numpy) -------------------------------------------------


def branin(x1: float, x2: float) -> float:
    """Branin-Hoo; minimum 0.397887 at (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
HARTMANN6_ARGMIN = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)


def hartmann6(x: np.ndarray) -> float:
    """Hartmann 6-d on [0, 1]^6; minimum -3.32237 at HARTMANN6_ARGMIN."""
    return float(-_H6_ALPHA @ np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)))


def ackley(x: np.ndarray) -> float:
    """Ackley (a=20, b=0.2, c=2pi); minimum 0 at the origin."""
    return float(
        -20 * np.exp(-0.2 * np.sqrt(np.mean(x**2)))
        - np.exp(np.mean(np.cos(2 * np.pi * x)))
        + 20
        + math.e
    )


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock; minimum 0 at (1, ..., 1)."""
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _box_problem(
    name: str, fn: Callable[[np.ndarray], float], n: int, low: float, high: float, optimum: float
) -> Problem:
    """A synthetic problem on the box [low, high]^n, params x0..x{n-1}, 100 trials, 10 seeds."""
    names = [f"x{i}" for i in range(n)]
    return Problem(
        name,
        space=tuple(real(x, low, high) for x in names),
        budget=100,
        optimum=optimum,
        seeds=10,
        objective=lambda c: fn(np.array([c[x] for x in names], dtype=float)),
    )


# --- mixed6: a shifted sphere whose centre and floor depend on the categoricals --------

# kind -> centre (x, lr, depth, width) and floor; act -> shift of the x centre and floor.
_MIXED_KIND: dict[str, tuple[tuple[float, float, int, int], float]] = {
    "a": ((-3.0, 1e-4, 15, 20), 0.6),
    "b": ((2.5, 1e-1, 4, 500), 0.3),
    "c": ((1.5, 3e-3, 7, 100), 0.0),
    "d": ((-1.0, 3e-2, 12, 8), 0.9),
}
_MIXED_ACT: dict[str, tuple[float, float]] = {
    "relu": (0.0, 0.0),
    "tanh": (1.0, 0.2),
    "sigmoid": (-1.5, 0.5),
}
MIXED6_ARGMIN: Config = {"x": 1.5, "lr": 3e-3, "depth": 7, "width": 100, "kind": "c", "act": "relu"}


def _mixed_unit(x: float, lr: float, depth: float, width: float) -> np.ndarray:
    """Map the numeric params of mixed6 to [0, 1] each (log scale for lr and width)."""
    return np.array(
        [(x + 5) / 10, (math.log10(lr) + 5) / 5, (depth - 1) / 19, math.log10(width) / 3]
    )


def mixed6(config: Config) -> float:
    """Floor of (kind, act) + 10 x squared distance to their centre in the unit box; min 0."""
    (cx, clr, cdepth, cwidth), kind_floor = _MIXED_KIND[config["kind"]]
    shift, act_floor = _MIXED_ACT[config["act"]]
    u = _mixed_unit(config["x"], config["lr"], config["depth"], config["width"])
    centre = _mixed_unit(cx + shift, clr, cdepth, cwidth)
    return kind_floor + act_floor + 10 * float(np.sum((u - centre) ** 2))


# --- conditional: branch A is easy with a floor of 0.5, branch B is narrow with a floor of 0


_COND_KIND = {"p": 0.8, "q": 0.0, "r": 0.4}
CONDITIONAL_ARGMIN: Config = {"model": "B", "x": 1.0, "y": -2.0, "kind": "q"}


def conditional(config: Config) -> float:
    """A: 0.5 + a bowl in (log lr, layers); B: 0.5 x squared distance to (1, -2) + kind floor."""
    if config["model"] == "A":
        return (
            0.5
            + 0.5 * ((math.log10(config["lr"]) + 2.5) / 2.5) ** 2
            + 0.02 * (config["layers"] - 3) ** 2
        )
    return 0.5 * ((config["x"] - 1) ** 2 + (config["y"] + 2) ** 2) + _COND_KIND[config["kind"]]


# --- ML problems: scikit-learn bundled datasets, cached per process --------------------


@functools.cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return data.data, data.target


@functools.cache
def _digits400() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x, _, y, _ = train_test_split(
        data.data, data.target, train_size=400, stratify=data.target, random_state=0
    )
    return x, y


def _cv_loss(estimator: Any, x: np.ndarray, y: np.ndarray) -> float:
    """1 - mean accuracy over 3 stratified shuffled folds (seed 0), with a scaler in front."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence warnings at max_iter=20 are expected
        scores = cross_val_score(
            make_pipeline(StandardScaler(), estimator), x, y, cv=cv, scoring="accuracy"
        )
    return 1.0 - float(np.mean(scores))


def svc_breast_cancer(config: Config) -> float:
    """SVC(C, gamma) on breast cancer."""
    from sklearn.svm import SVC

    return _cv_loss(SVC(C=config["C"], gamma=config["gamma"]), *_breast_cancer())


def mlp_digits(config: Config) -> float:
    """A one-hidden-layer MLP, 20 epochs, on 400 digits."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(config["hidden"],),
        alpha=config["alpha"],
        learning_rate_init=config["learning_rate_init"],
        batch_size=config["batch_size"],
        activation=config["activation"],
        max_iter=20,
        random_state=0,
    )
    return _cv_loss(model, *_digits400())


SUITE: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem(
            "branin",
            space=(real("x1", -5, 10), real("x2", 0, 15)),
            budget=100,
            optimum=0.397887,
            seeds=10,
            objective=lambda c: branin(c["x1"], c["x2"]),
        ),
        _box_problem("hartmann6", hartmann6, 6, 0, 1, optimum=-3.32237),
        _box_problem("ackley10", ackley, 10, -5, 10, optimum=0.0),
        _box_problem("rosenbrock5", rosenbrock, 5, -5, 10, optimum=0.0),
        Problem(
            "mixed6",
            space=(
                real("x", -5, 5),
                real("lr", 1e-5, 1, log=True),
                integer("depth", 1, 20),
                integer("width", 1, 1000, log=True),
                categorical("kind", ("a", "b", "c", "d")),
                categorical("act", ("relu", "tanh", "sigmoid")),
            ),
            budget=100,
            optimum=0.0,
            seeds=10,
            objective=mixed6,
        ),
        Problem(
            "conditional",
            space=(
                categorical("model", ("A", "B")),
                real("lr", 1e-5, 1, log=True, when=("model", "A")),
                integer("layers", 1, 8, when=("model", "A")),
                real("x", -5, 5, when=("model", "B")),
                real("y", -5, 5, when=("model", "B")),
                categorical("kind", ("p", "q", "r"), when=("model", "B")),
            ),
            budget=100,
            optimum=0.0,
            seeds=10,
            objective=conditional,
        ),
        Problem(
            "svc_breast_cancer",
            space=(real("C", 1e-3, 1e3, log=True), real("gamma", 1e-5, 10, log=True)),
            budget=50,
            optimum=None,
            seeds=5,
            objective=svc_breast_cancer,
        ),
        Problem(
            "mlp_digits",
            space=(
                integer("hidden", 8, 256, log=True),
                real("alpha", 1e-6, 0.1, log=True),
                real("learning_rate_init", 1e-4, 0.1, log=True),
                categorical("batch_size", (32, 64, 128)),
                categorical("activation", ("relu", "tanh")),
            ),
            budget=50,
            optimum=None,
            seeds=5,
            objective=mlp_digits,
        ),
    )
}
