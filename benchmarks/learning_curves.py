"""Learning-curve problems for the multi-fidelity benchmark: real models trained epoch by epoch.

Each problem maps a configuration to a validation-loss curve over ``MAX_EPOCHS`` epochs:
an MLPClassifier and an SGDClassifier on digits (``partial_fit``, one pass per epoch), gradient
boosting on breast cancer (``warm_start``, ``TREES_PER_EPOCH`` more trees per epoch) and a tiny
PyTorch MLP on digits (one thread). Every curve is deterministic for its configuration, and
`CurveCache` trains each configuration lazily, only as far as anyone has asked, and remembers
it: every optimiser is scored on identical curves, and a configuration visited twice costs its
training once.

Configurations are snapped to a grid before training (`CurveProblem.snap`: two points per
decade on log scales, quarters of the range otherwise, a few hundred cells per problem), so the
curves are piecewise constant over the space, like a tabular benchmark, and nearby proposals
of different optimisers share their training. Optimisers still search the continuous space.
Digits is cut to 700 training and 400 validation images to keep an epoch at a few ms.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from benchmarks._common import torch_epoch
from benchmarks.problems import Config, Param, Space, categorical, integer, real

MAX_EPOCHS = 27
TREES_PER_EPOCH = 2


class Learner(Protocol):
    def epoch(self) -> float:
        """Train one more epoch; return the validation loss."""
        ...


@dataclass(frozen=True)
class CurveProblem:
    """A space and a way to build a learner for one configuration."""

    name: str
    space: Space
    learner: Callable[[Config], Learner]

    def snap(self, config: Mapping[str, Any]) -> Config:
        """``config`` on the problem's grid (the key of its curve)."""
        return {p.name: _snap(p, config[p.name]) for p in self.space}


def _snap(p: Param, value: Any) -> Any:
    if p.kind == "categorical":
        return value
    if p.log:
        snapped = 10 ** (round(math.log10(value) * 2) / 2)
    else:
        width = (p.high - p.low) / 4
        snapped = p.low + round((value - p.low) / width) * width
    snapped = min(max(snapped, p.low), p.high)
    return round(snapped) if p.kind == "int" else float(f"{snapped:.6g}")


@dataclass
class CurveCache:
    """Learning curves of one problem, trained lazily and remembered."""

    problem: CurveProblem
    curves: dict[tuple[Any, ...], list[float]] = field(default_factory=dict)
    learners: dict[tuple[Any, ...], Learner] = field(default_factory=dict)
    epochs_trained: int = 0

    def loss(self, config: Mapping[str, Any], epoch: int) -> float:
        """Validation loss of ``config`` after ``epoch`` epochs (1-based)."""
        snapped = self.problem.snap(config)
        key = tuple(sorted(snapped.items()))
        curve = self.curves.setdefault(key, [])
        while len(curve) < epoch:
            if key not in self.learners:
                self.learners[key] = self.problem.learner(snapped)
            curve.append(float(self.learners[key].epoch()))
            self.epochs_trained += 1
            if len(curve) == MAX_EPOCHS:
                del self.learners[key]
        return curve[epoch - 1]


# -- data ------------------------------------------------------------------------------------
@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    xt, xv, yt, yv = train_test_split(x, y, train_size=700, test_size=400, random_state=0,
                                      stratify=y)
    return xt, xv, yt, yv


@functools.cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.4, random_state=0, stratify=y))


def _error(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(1.0 - np.mean(model.predict(x) == y))


# -- learners --------------------------------------------------------------------------------
class _PartialFit:
    """A scikit-learn estimator with ``partial_fit``, one pass over digits per epoch."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def epoch(self) -> float:
        xt, xv, yt, yv = _digits()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.partial_fit(xt, yt, classes=np.arange(10))
        return _error(self.model, xv, yv)


def _mlp(config: Config) -> Learner:
    from sklearn.neural_network import MLPClassifier

    return _PartialFit(MLPClassifier(
        hidden_layer_sizes=(config["hidden"],), alpha=config["alpha"],
        learning_rate_init=config["learning_rate_init"], batch_size=64, random_state=0))


def _sgd(config: Config) -> Learner:
    from sklearn.linear_model import SGDClassifier

    return _PartialFit(SGDClassifier(
        loss=config["loss"], alpha=config["alpha"], learning_rate="constant",
        eta0=config["eta0"], random_state=0))


class _Boosting:
    """Gradient boosting grown ``TREES_PER_EPOCH`` trees at a time; validation log loss."""

    def __init__(self, config: Config) -> None:
        from sklearn.ensemble import GradientBoostingClassifier

        self.model = GradientBoostingClassifier(
            n_estimators=0, learning_rate=config["learning_rate"], max_depth=config["max_depth"],
            subsample=config["subsample"], warm_start=True, random_state=0)

    def epoch(self) -> float:
        from sklearn.metrics import log_loss

        xt, xv, yt, yv = _breast_cancer()
        self.model.n_estimators += TREES_PER_EPOCH
        self.model.fit(xt, yt)
        return float(log_loss(yv, self.model.predict_proba(xv)))


class _Torch:
    """A two-layer PyTorch MLP on digits, Adam, minibatches of 100 in a seeded order."""

    def __init__(self, config: Config) -> None:
        import torch

        torch.set_num_threads(1)
        self.gen = torch.Generator().manual_seed(0)
        width = config["width"]
        self.net = torch.nn.Sequential(
            torch.nn.Linear(64, width), torch.nn.ReLU(), torch.nn.Linear(width, 10))
        with torch.no_grad():  # initial weights from the seeded generator
            for param in self.net.parameters():
                param.uniform_(-1.0, 1.0, generator=self.gen).mul_(1.0 / math.sqrt(
                    param.shape[-1]))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config["lr"],
                                    weight_decay=config["weight_decay"])

    def epoch(self) -> float:
        import torch

        xt, xv, yt, yv = (torch.as_tensor(a) for a in _digits())
        xt, xv = xt.float(), xv.float()
        self.net.train()
        torch_epoch(self.net, self.opt, xt, yt, 100, self.gen)
        self.net.eval()
        with torch.no_grad():
            return float((self.net(xv).argmax(1) != yv).float().mean())


def _torch_mlp(config: Config) -> Learner:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _Torch(config)


PROBLEMS: dict[str, CurveProblem] = {p.name: p for p in (
    CurveProblem("mlp_digits_lc", (
        integer("hidden", 8, 128, log=True), real("alpha", 1e-6, 1e-1, log=True),
        real("learning_rate_init", 1e-4, 0.3, log=True)), _mlp),
    CurveProblem("sgd_digits_lc", (
        categorical("loss", ("hinge", "log_loss", "modified_huber")),
        real("alpha", 1e-7, 1e-1, log=True), real("eta0", 1e-5, 1.0, log=True)), _sgd),
    CurveProblem("gb_breast_cancer_lc", (
        real("learning_rate", 1e-3, 1.0, log=True), integer("max_depth", 1, 8),
        real("subsample", 0.2, 1.0)), _Boosting),
    CurveProblem("torch_mlp_digits_lc", (
        integer("width", 8, 256, log=True), real("lr", 1e-4, 0.3, log=True),
        real("weight_decay", 1e-7, 1e-1, log=True)), _torch_mlp),
)}


def suggest(trial: Any, space: Space) -> Config:
    """Suggest ``space`` on a hyperdial or an Optuna trial (they share these method names)."""
    config: Config = {}
    for p in space:
        if p.kind == "categorical":
            config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return config
