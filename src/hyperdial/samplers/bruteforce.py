"""Brute force: every combination of a finite define-by-run space once, conditional branches
included, in a seeded random order; the study ends when none is left.

Unlike `GridSampler`, nothing is declared: the tree of combinations is learned from the trials
as the objective suggests its parameters. A trial's path is its parameters in the order it
suggested them; a value is proposed from those not tried yet under the trial's path so far,
else from those whose subtree still has untried combinations. A subtree is done when every
value of its parameter leads to a done subtree, or, at its end, when a trial finished there
(complete, pruned or failed: a failing combination is not retried forever).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperdial._encode import n_values
from hyperdial.history import History
from hyperdial.samplers.base import Sampler
from hyperdial.samplers.grid import grid_values
from hyperdial.space import Categorical, Distribution, SearchSpace
from hyperdial.trial import TrialRecord, TrialState


class _Node:
    """The combinations under one path: the parameter suggested next there (its name and
    distribution) and the subtree under each of its values, by position in its value list."""

    __slots__ = ("children", "dist", "ended", "held", "name", "running", "size")

    def __init__(self) -> None:
        self.name: str | None = None
        self.dist: Distribution | None = None
        self.size = 0  # how many values the parameter has
        self.children: dict[int, _Node] = {}
        self.ended = False  # a finished trial's path ends here
        self.running = 0  # running trials whose paths, as far as they have gone, pass here
        self.held = False  # a running trial whose path is presumably whole ends here

    def done(self) -> bool:
        if self.name is None:
            return self.ended
        return len(self.children) == self.size and all(c.done() for c in self.children.values())

    def free(self, strict: bool = True) -> bool:
        """Somewhere below, a combination that no trial has ended and none is running on;
        with ``strict`` False, none holds (running trials whose paths may go on do not
        count)."""
        if self.name is None:
            return not (self.ended or (self.running if strict else self.held))
        return len(self.children) < self.size or any(
            c.free(strict) for c in self.children.values())

    def n_free(self) -> int:
        """How many combinations below are free (`free`), a value no trial has taken
        counting as one."""
        if self.name is None:
            return int(self.free())
        return self.size - len(self.children) + sum(c.n_free() for c in self.children.values())

    def child(self, name: str, value: Any) -> _Node | None:
        """The subtree under ``name = value`` (None: no trial has taken it)."""
        if name != self.name or self.dist is None:
            return None
        position = _position(name, self.dist, value)
        return None if position is None else self.children.get(position)


def _count(name: str, dist: Distribution) -> int:
    """How many values a finite distribution has; ValueError naming ``name`` for a
    continuous float."""
    n = n_values(dist)
    if n is None:
        raise ValueError(f"parameter {name!r}: BruteForceSampler needs finite distributions; "
                         "give the float a step or list its values")
    return n


def _position(name: str, dist: Distribution, value: Any) -> int | None:
    """Where ``value`` sits in the list of ``dist``'s values (None: not one of them)."""
    if isinstance(dist, Categorical):
        return dist.index(value) if dist.contains(value) else None
    last = _count(name, dist) - 1  # refuses a continuous float
    step = dist.step if dist.step is not None else 1
    position = round((value - dist.low) / step)  # (3 * 0.1 > 0.3: compare positions)
    return position if 0 <= position <= last else None


def _tree(trials: Sequence[TrialRecord]) -> _Node:
    """The combinations the trials have taken, finished or running. A running trial's path
    may go on past the parameters it has so far: it holds its node when a finished trial
    ended after the same parameter names (a combination of that shape is whole)."""
    root = _Node()
    shapes = {tuple(t.params) for t in trials if t.state.is_finished()}
    for t in trials:
        if t.state is TrialState.WAITING or not (t.params or t.state.is_finished()):
            continue  # nothing taken yet
        runs = not t.state.is_finished()
        node = root
        node.running += runs
        for name, value in t.params.items():
            dist = t.distributions[name]
            if node.name is None:
                node.name, node.dist = name, dist
                node.size = _count(name, dist)
            position = _position(name, dist, value)
            if node.name != name or node.dist != dist or position is None:
                break  # another order, space or value than the tree's: the objective does
                # not suggest deterministically; the rest of this path is not counted
            node = node.children.setdefault(position, _Node())
            node.running += runs
        else:
            if runs:
                node.held = node.held or tuple(t.params) in shapes
            else:
                node.ended = True
    return root


class BruteForceSampler(Sampler):
    """Tries every combination of a finite space once: categoricals, integers and stepped
    floats, with the parameters that exist only under some values (define-by-run
    conditionals) explored under each of them. Each parameter's value is drawn at random
    among those with untried combinations left; when none is left the study ends
    (`SearchExhausted`, which `optimize` takes as a clean end).

    Threads of one process (``optimize(n_jobs=...)``) see each other's parameters as they are
    suggested and steer clear of them while untried combinations are left, and a worker that
    could only repeat a running one waits for a trial to end (`crowded`). Worker processes see
    another's parameters only when it reports or ends, so they may repeat some. The objective
    must suggest its parameters in an order that earlier values determine.
    """

    finite = True

    def exhausted(self, history: History) -> bool:
        root = _tree(history.trials)
        return (root.name is not None or root.ended) and root.done()

    def crowded(self, history: History) -> bool:
        return not _tree(history.trials).free(strict=False)

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in space:  # parents come before their children
            cond = space.conditions.get(name)
            if cond is None or (cond.parent in out and cond.holds(out)):
                out[name] = self.propose_param(history, name, space[name], rng, out)
        return out

    def propose_param(self, history: History, name: str, dist: Distribution,
                      rng: np.random.Generator, partial: Mapping[str, Any]) -> Any:
        _count(name, dist)  # refuses a continuous float with brute force's own words
        values = grid_values(name, dist).choices
        node: _Node | None = _tree(history.trials)
        for key, value in partial.items():
            node = node.child(key, value) if node is not None else None
        if node is None or node.name not in (None, name) or node.dist not in (None, dist):
            node = _Node()  # a path no trial has taken: everything under it is new
        # A free combination drawn uniformly (a value no trial has taken counts as one), as
        # Optuna's sampler does; when none is free, a value whose subtree is not done (running
        # trials may go on past what they have so far) with the fewest running there; else any.
        weights = np.array([node.children[i].n_free() if i in node.children else 1
                            for i in range(len(values))], dtype=float)
        if weights.any():
            return values[int(rng.choice(len(values), p=weights / weights.sum()))]
        busy = {i: child.running for i, child in node.children.items() if not child.done()}
        todo = [i for i, n in busy.items() if n == min(busy.values())] or list(range(len(values)))
        return values[todo[int(rng.integers(len(todo)))]]
