"""One adapter per optimiser: ``run(problem, seed, budget) -> values in evaluation order``.

Every peer library is imported inside its adapter, so a missing one only makes that peer
unavailable. Optuna and hyperdial share one define-by-run adapter (same trial API); the
others get the space translated into their own form, conditions included where the
library has them (hyperopt, SMAC) and flattened otherwise (skopt, nevergrad), in which
case ``Problem.evaluate`` ignores the inactive values.
"""

from __future__ import annotations

import importlib
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks.problems import Param, Problem, sample_config

Values = list[float | None]


class Unavailable(Exception):
    """The peer cannot run here (library missing or lacking the API); not a benchmark failure."""


@dataclass(frozen=True)
class Peer:
    """An optimiser: name, modules it needs (checked and versioned by the cell), adapter."""

    name: str
    modules: tuple[str, ...]
    run: Callable[[Problem, int, int], Values]


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`Unavailable` saying why."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"cannot import {module}: {exc}") from exc


def _coerce(p: Param, value: Any) -> Any:
    """A peer's raw value as the problem's own type (numpy scalars, float ints, rounding)."""
    if p.kind == "categorical":
        return p.choices[[str(c) for c in p.choices].index(str(value))]
    if p.kind == "int":
        return int(min(max(round(float(value)), p.low), p.high))
    return float(value)


def _evaluate_raw(problem: Problem, raw: Mapping[str, Any]) -> float:
    """Evaluate a flat mapping of raw values that may hold inactive params."""
    return problem.evaluate(
        {p.name: _coerce(p, raw[p.name]) for p in problem.space if p.name in raw}
    )


# --- random (ours) ------------------------------------------------------------------------


def _random(problem: Problem, seed: int, budget: int) -> Values:
    rng = np.random.default_rng(seed)
    return [problem.evaluate(sample_config(problem.space, rng)) for _ in range(budget)]


# --- define-by-run: Optuna and hyperdial ------------------------------------------------


def _suggest(trial: Any, p: Param) -> Any:
    if p.kind == "categorical":
        return trial.suggest_categorical(p.name, list(p.choices))
    if p.kind == "int":
        return trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
    return trial.suggest_float(p.name, p.low, p.high, log=p.log)


def define_by_run_objective(problem: Problem) -> Callable[[Any], float]:
    """An Optuna-style objective that suggests the active params in space order, then evaluates."""

    def objective(trial: Any) -> float:
        config: dict[str, Any] = {}
        for p in problem.space:
            if p.is_active(config):
                config[p.name] = _suggest(trial, p)
        return problem.evaluate(config)

    return objective


def _api(module: ModuleType, name: str) -> Any:
    """``module.name``, or :class:`Unavailable` while a library under construction lacks it."""
    found = getattr(module, name, None)
    if found is None:
        raise Unavailable(f"{module.__name__} has no {name}")
    return found


def _study_peer(
    module: str, make_sampler: Callable[[ModuleType, int], Any]
) -> Callable[[Problem, int, int], Values]:
    """An adapter for a library with ``create_study(direction=, sampler=)`` and ``optimize``."""

    def run(problem: Problem, seed: int, budget: int) -> Values:
        create_study = _api(require(module), "create_study")
        study = create_study(
            direction="minimize", sampler=make_sampler(require(f"{module}.samplers"), seed)
        )
        study.optimize(define_by_run_objective(problem), n_trials=budget)
        return [t.value for t in study.trials]

    return run


# --- hyperopt: native conditional space -------------------------------------------------


def _hyperopt_node(hp: ModuleType, space: tuple[Param, ...], p: Param) -> Any:
    if p.kind == "categorical":
        children = [c for c in space if c.parent == p.name]
        if not children:
            return hp.choice(p.name, list(p.choices))
        return hp.choice(
            p.name,
            [
                {
                    p.name: v,
                    **{
                        c.name: _hyperopt_node(hp, space, c)
                        for c in children
                        if c.parent_value == v
                    },
                }
                for v in p.choices
            ],
        )
    if p.kind == "int" and p.log:
        return hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
    if p.kind == "int":
        return hp.uniformint(p.name, p.low, p.high)
    if p.log:
        return hp.loguniform(p.name, math.log(p.low), math.log(p.high))
    return hp.uniform(p.name, p.low, p.high)


def _flatten(sample: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperopt's nested sample (a chosen branch is a dict) as one flat mapping."""
    flat: dict[str, Any] = {}
    for key, value in sample.items():
        flat.update(_flatten(value) if isinstance(value, Mapping) else {key: value})
    return flat


def _hyperopt_tpe(problem: Problem, seed: int, budget: int) -> Values:
    hyperopt = require("hyperopt")
    space = {
        p.name: _hyperopt_node(hyperopt.hp, problem.space, p)
        for p in problem.space
        if p.parent is None
    }
    trials = hyperopt.Trials()
    hyperopt.fmin(
        lambda sample: _evaluate_raw(problem, _flatten(sample)),
        space,
        algo=hyperopt.tpe.suggest,
        max_evals=budget,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return [float(v) for v in trials.losses()]


# --- scikit-optimize: flattened space ---------------------------------------------------


def _skopt_gp(problem: Problem, seed: int, budget: int) -> Values:
    skopt = require("skopt")
    from skopt.space import Categorical, Integer, Real

    prior = {True: "log-uniform", False: "uniform"}
    dims = [
        Categorical(list(p.choices), name=p.name)
        if p.kind == "categorical"
        else (Integer if p.kind == "int" else Real)(p.low, p.high, prior=prior[p.log], name=p.name)
        for p in problem.space
    ]
    names = [p.name for p in problem.space]
    result = skopt.gp_minimize(
        lambda x: _evaluate_raw(problem, dict(zip(names, x, strict=True))),
        dims,
        n_calls=budget,
        random_state=seed,
    )
    return [float(v) for v in result.func_vals]


# --- nevergrad: flattened space ---------------------------------------------------------


def _nevergrad_param(ng: ModuleType, p: Param) -> Any:
    if p.kind == "categorical":
        return ng.p.Choice(list(p.choices))
    scalar = (
        ng.p.Log(lower=p.low, upper=p.high) if p.log else ng.p.Scalar(lower=p.low, upper=p.high)
    )
    return scalar.set_integer_casting() if p.kind == "int" else scalar


def _nevergrad(problem: Problem, seed: int, budget: int) -> Values:
    ng = require("nevergrad")
    parametrization = ng.p.Dict(**{p.name: _nevergrad_param(ng, p) for p in problem.space})
    parametrization.random_state = np.random.RandomState(seed)
    optimizer = ng.optimizers.NGOpt(parametrization=parametrization, budget=budget, num_workers=1)
    values: Values = []
    for _ in range(budget):
        candidate = optimizer.ask()
        value = _evaluate_raw(problem, candidate.value)
        optimizer.tell(candidate, value)
        values.append(value)
    return values


# --- SMAC3: native conditions, ask/tell so the evaluation order is explicit ---------------


def _configspace(cs_module: ModuleType, problem: Problem, seed: int) -> Any:
    cs = cs_module.ConfigurationSpace(seed=seed)
    for p in problem.space:
        if p.kind == "categorical":
            cs.add(cs_module.Categorical(p.name, list(p.choices)))
        elif p.kind == "int":
            cs.add(cs_module.Integer(p.name, (int(p.low), int(p.high)), log=p.log))
        else:
            cs.add(cs_module.Float(p.name, (p.low, p.high), log=p.log))
    for p in problem.space:
        if p.parent is not None:
            cs.add(cs_module.EqualsCondition(cs[p.name], cs[p.parent], p.parent_value))
    return cs


def _smac(problem: Problem, seed: int, budget: int) -> Values:
    smac = require("smac")
    cs_module = require("ConfigSpace")
    from smac.runhistory.dataclasses import TrialValue

    def target(config: Any, seed: int = 0) -> float:
        return _evaluate_raw(problem, dict(config))

    with tempfile.TemporaryDirectory() as out:
        scenario = smac.Scenario(
            _configspace(cs_module, problem, seed),
            deterministic=True,
            n_trials=budget,
            seed=seed,
            output_directory=out,
        )
        facade = smac.HyperparameterOptimizationFacade(
            scenario, target, overwrite=True, logging_level=40
        )
        values: Values = []
        for _ in range(budget):
            info = facade.ask()
            value = target(info.config)
            facade.tell(info, TrialValue(cost=value))
            values.append(value)
    return values


def _by_name(cls: str) -> Callable[[ModuleType, int], Any]:
    """A hyperdial sampler factory by class name, with its defaults and the cell's seed."""
    return lambda samplers, seed: _api(samplers, cls)(seed=seed)


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer("random", ("numpy",), _random),
        Peer(
            "optuna-tpe",
            ("optuna",),
            _study_peer("optuna", lambda s, seed: s.TPESampler(seed=seed, multivariate=True)),
        ),
        Peer(
            "optuna-tpe-uni",
            ("optuna",),
            _study_peer("optuna", lambda s, seed: s.TPESampler(seed=seed, multivariate=False)),
        ),
        Peer(
            "optuna-cmaes",
            ("optuna", "cmaes"),
            _study_peer("optuna", lambda s, seed: s.CmaEsSampler(seed=seed)),
        ),
        Peer(
            "optuna-gp",
            ("optuna", "torch"),
            _study_peer("optuna", lambda s, seed: s.GPSampler(seed=seed)),
        ),
        Peer("hyperopt-tpe", ("hyperopt",), _hyperopt_tpe),
        Peer("skopt-gp", ("skopt",), _skopt_gp),
        Peer("nevergrad", ("nevergrad",), _nevergrad),
        Peer("smac", ("smac", "ConfigSpace"), _smac),
        Peer(
            "hyperdial-random",
            ("hyperdial",),
            _study_peer("hyperdial", lambda s, seed: _api(s, "RandomSampler")(seed=seed)),
        ),
        Peer(
            "hyperdial-qmc",
            ("hyperdial",),
            _study_peer("hyperdial", lambda s, seed: _api(s, "QMCSampler")(seed=seed)),
        ),
        Peer(
            "hyperdial-tpe-uni",
            ("hyperdial",),
            _study_peer("hyperdial",
                        lambda s, seed: _api(s, "TPESampler")(seed=seed, multivariate=False)),
        ),
        *(
            Peer(f"hyperdial-{short}", ("hyperdial",), _study_peer("hyperdial", _by_name(cls)))
            for short, cls in (("tpe", "TPESampler"), ("gp", "GPSampler"),
                               ("cmaes", "CmaEsSampler"), ("auto", "AutoSampler"))
        ),
    )
}
