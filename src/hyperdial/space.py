"""Search spaces: frozen parameter distributions, conditions and the `SearchSpace` mapping.

A `SearchSpace` is an ordered mapping from parameter name to distribution, with optional
conditions (`lr` exists only when `model == "A"`). Define-by-run studies build the same object
from the trials they have seen; declarative users write it as a dict.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CategoricalChoice = None | bool | int | float | str


def plain(value: Any) -> Any:
    """numpy scalars and arrays, torch tensors: the Python numbers and lists they hold (their
    ``tolist()``); anything else as is. Bounds, choices, values and reports often come out of
    numpy or torch, and what is stored must be plain JSON."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _check_finite(**bounds: float) -> None:
    for label, value in bounds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{label} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{label} must be finite, got {value!r}")


def _check_log(log: Any) -> bool:
    """``log`` as a bool (a numpy bool counts as the bool it holds); TypeError otherwise: a
    truthy string such as ``"false"`` must not turn log scale on."""
    log = plain(log)
    if not isinstance(log, bool):
        raise TypeError(f"log must be a bool, got {log!r}")
    return log


def _check_step(low: float, high: float, step: float) -> None:
    if step <= 0:
        raise ValueError(f"step must be > 0, got {step!r}")
    n = (high - low) / step
    if not math.isfinite(n):
        raise ValueError(f"step {step!r} is too small for the range [{low!r}, {high!r}]: "
                         "the grid has more points than a float can count")
    if abs(n - round(n)) > 1e-8 * max(1.0, abs(n)):
        raise ValueError(f"step {step!r} does not divide the range [{low!r}, {high!r}]")


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``; ``log`` samples in log space, ``step`` grids it."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    #: A stepped grid's `decimal_scale` (None: no grid, or too fine a one), computed once:
    #: every sampled value reads it.
    grid_scale: int | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for label in ("low", "high", "step"):
            object.__setattr__(self, label, plain(getattr(self, label)))
        object.__setattr__(self, "log", _check_log(self.log))
        _check_finite(low=self.low, high=self.high)
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        if self.low >= self.high:
            raise ValueError(f"low ({self.low!r}) must be < high ({self.high!r})")
        if not math.isfinite(self.high - self.low):
            raise ValueError(f"the width of [{self.low!r}, {self.high!r}] overflows a float: "
                             "high - low must be finite")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got low={self.low!r}")
        if self.step is not None:
            if self.log:
                raise ValueError("step and log cannot be combined for a float")
            _check_finite(step=self.step)
            object.__setattr__(self, "step", float(self.step))
            _check_step(self.low, self.high, self.step)
            object.__setattr__(self, "grid_scale",
                               decimal_scale(self.low, self.high, self.step))

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not (self.low <= value <= self.high):
            return False
        if self.step is not None:
            k = (value - self.low) / self.step  # off by rounding: ulps of value, in steps
            slack = 4 * math.ulp(max(abs(self.low), abs(value))) / self.step
            return abs(k - round(k)) < 1e-6 + slack
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log,
                "step": self.step}


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` (both included), optionally log-scaled or stepped."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        for label in ("low", "high", "step"):
            value: object = plain(getattr(self, label))
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{label} must be an integer, got {value!r}")
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                raise ValueError(f"{label} must be an integer, got {value!r}")
            object.__setattr__(self, label, int(value))
        object.__setattr__(self, "log", _check_log(self.log))
        if self.low >= self.high:
            raise ValueError(f"low ({self.low!r}) must be < high ({self.high!r})")
        if self.log and self.low < 1:
            raise ValueError(f"log scale needs low >= 1, got low={self.low!r}")
        if self.log and self.step != 1:
            raise ValueError("step and log cannot be combined for an int")
        if self.log and self.high > sys.float_info.max:
            raise ValueError(f"a log-scaled int's high must be at most {sys.float_info.max!r}, "
                             f"got {self.high!r}")
        if self.step < 1:
            raise ValueError(f"step must be >= 1, got {self.step!r}")
        if (self.high - self.low) % self.step:
            raise ValueError(
                f"step {self.step} does not divide the range [{self.low}, {self.high}]")

    def contains(self, value: Any) -> bool:
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not value.is_integer():
            return False
        return self.low <= value <= self.high and (int(value) - self.low) % self.step == 0

    def to_dict(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log,
                "step": self.step}


def _choice_key(value: Any) -> tuple[str, Any]:
    """Type-aware identity of a choice: True, 1 and 1.0 are different choices (and so are 0.0
    and -0.0, which JSON keeps apart)."""
    return type(value).__name__, value.hex() if isinstance(value, float) else value


@dataclass(frozen=True)
class Categorical:
    """One of a finite tuple of JSON-serialisable choices (None, bool, int, float, str)."""

    choices: tuple[CategoricalChoice, ...]
    # Looked up on every encode: a scan of 5,000 choices per value cost 2 s a trial.
    _keys: tuple[tuple[str, Any], ...] = field(init=False, repr=False, compare=False)
    _positions: dict[tuple[str, Any], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise ValueError(f"choices must be a sequence, got {self.choices!r}")
        choices = tuple(plain(c) for c in self.choices)
        if not choices:
            raise ValueError("choices must not be empty")
        for c in choices:
            if c is not None and not isinstance(c, (bool, int, float, str)):
                raise ValueError(f"choice {c!r} is not None, bool, int, float or str")
            if isinstance(c, float) and not math.isfinite(c):
                raise ValueError(f"choice {c!r} is not finite")
        keys = tuple(_choice_key(c) for c in choices)
        positions = {key: i for i, key in enumerate(keys)}
        if len(positions) != len(keys):
            dup = next(c for i, (c, key) in enumerate(zip(choices, keys, strict=True))
                       if positions[key] != i)
            raise ValueError(f"duplicate choice {dup!r}")
        object.__setattr__(self, "choices", choices)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_positions", positions)

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices (type-aware); ValueError if absent."""
        try:
            return self._positions[_choice_key(plain(value))]
        except (KeyError, TypeError):  # TypeError: an unhashable value is no choice either
            raise ValueError(f"{value!r} is not one of {list(self.choices)!r}") from None

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except (ValueError, TypeError):
            return False
        return True

    def __eq__(self, other: object) -> bool:
        # Type-aware like `index`: Categorical((1,)) and Categorical((True,)) differ.
        if not isinstance(other, Categorical):
            return NotImplemented
        return self._keys == other._keys

    def __hash__(self) -> int:
        return hash(self._keys)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "categorical", "choices": list(self.choices)}


Distribution = Float | Int | Categorical


@dataclass(frozen=True)
class Condition:
    """Makes a parameter active only when ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[CategoricalChoice, ...]

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            values = (values,)
        object.__setattr__(self, "values", tuple(values))

    def holds(self, params: Mapping[str, Any], parent: Distribution | None = None) -> bool:
        """Whether ``params`` gives the parent one of ``values``, told apart by type (True,
        1 and 1.0 differ). With the ``parent`` distribution, the parent's value counts as
        the value samplers write for it (2.0 of an Int is 2; see `canonical`)."""
        if self.parent not in params:
            return False
        value = params[self.parent]
        if parent is not None and not isinstance(parent, Categorical) and parent.contains(value):
            value = canonical(parent, value)
        key = _choice_key(value)
        return any(_choice_key(v) == key for v in self.values)

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "in": list(self.values)}


def grid_value(dist: Float | Int, k: int) -> Any:
    """The ``k``-th value (from 0) of a stepped distribution's grid, as every sampler writes
    it: ``low + k * step`` (an exact int for an Int); for a Float the last one is ``high``
    itself, and none passes it, whatever the rounding of ``k * step``. A grid of short
    decimals holds them as written: step 0.1 from 0 gives 0.3, not the 0.30000000000000004
    of ``3 * 0.1``, so an enqueued 0.3 comes back as 0.3 and ``x == 0.3`` holds."""
    if isinstance(dist, Int):
        return dist.low + k * dist.step
    assert dist.step is not None, "a continuous float has no grid"
    if k >= round((dist.high - dist.low) / dist.step):
        return dist.high
    value = min(dist.low + max(k, 0) * dist.step, dist.high)
    scale = dist.grid_scale
    return value if scale is None else min(round(value * scale) / scale, dist.high)


def decimal_scale(low: float, high: float, step: float) -> int | None:
    """``10 ** places``, where ``places`` decimal places write a grid's ``low`` and ``step``
    exactly (so every ``low + k * step`` too), read from their shortest repr; None where such
    a grid is too fine for a float to hold each decimal. A grid value is
    ``round(x * scale) / scale``: the float nearest that decimal, computed alike in Python
    and numpy (`_encode.decode_column`)."""
    places = max(0, *(-int(Decimal(repr(float(x))).as_tuple().exponent) for x in (low, step)))
    if places > 15:  # (5e-324 has 324)
        return None
    scale = 10 ** places
    # (2**40 leaves the product ``x * scale`` a rounding error far below 0.5)
    return scale if max(abs(low), abs(high)) * scale < 2.0 ** 40 else None


def grid_index(dist: Float | Int, value: Any) -> int:
    """The index in `grid_value`'s numbering of the grid value nearest ``value`` (clipped to
    the grid): exact integer arithmetic for an Int, rounding for a stepped Float."""
    assert dist.step is not None, "a continuous float has no grid"
    if isinstance(dist, Int):
        k, last = (int(value) - dist.low) // dist.step, (dist.high - dist.low) // dist.step
    else:
        k, last = round((value - dist.low) / dist.step), round((dist.high - dist.low) / dist.step)
    return min(max(k, 0), last)


def covering(dists: Sequence[Distribution], *, add_choices: bool = False,
             ) -> Distribution | None:
    """One distribution holding the values of each of ``dists`` (a parameter whose range was
    widened during a study): the one; the union of the ranges of numbers that differ in
    nothing else (floats without a step on one scale, integers on one scale and grid); with
    ``add_choices``, categoricals' choices in the order first seen (for a plot's axis, or a
    model fitted afresh on every trial; not for a sampler's state, which encodes a choice by
    its position, and new choices would move it). None otherwise."""
    unique = list(dict.fromkeys(dists))
    if len(unique) == 1:
        return unique[0]
    if add_choices and all(isinstance(d, Categorical) for d in unique):
        return Categorical(tuple({_choice_key(c): c for d in unique
                                  for c in d.choices}.values()))  # type: ignore[union-attr]
    floats = [d for d in unique if isinstance(d, Float) and d.step is None]
    if len(floats) == len(unique) and len({d.log for d in floats}) == 1:
        return Float(min(d.low for d in floats), max(d.high for d in floats), log=floats[0].log)
    ints = [d for d in unique if isinstance(d, Int)]
    if len(ints) == len(unique) and len({(d.log, d.step, d.low % d.step) for d in ints}) == 1:
        return Int(min(d.low for d in ints), max(d.high for d in ints), log=ints[0].log,
                   step=ints[0].step)
    return None


def canonical(dist: Distribution, value: Any) -> Any:
    """``value`` (which ``dist`` contains) as samplers write it: an int for an Int, a float
    on the step grid for a Float (`grid_value`), the choice itself for a Categorical; so an
    enqueued 3.0 of an Int is 3, and conditions on numbers hold whoever wrote the value."""
    value = plain(value)
    if isinstance(dist, Int):
        return int(value)
    if isinstance(dist, Float):
        if dist.step is None:
            return float(value)
        return grid_value(dist, grid_index(dist, value))
    return dist.choices[dist.index(value)]


def distribution_from_dict(spec: Mapping[str, Any]) -> Distribution:
    """Inverse of ``to_dict``: build a distribution from its JSON form.

    Distributions are immutable, so equal specs share one instance: every trial's events
    repeat the same few, and building one (with its checks) cost a worker more than the rest
    of replaying another worker's trial. Equal means exactly, as JSON tells them apart: 1,
    1.0 and True differ, and so do 0.0 and -0.0.
    """
    kind = spec.get("type")
    try:
        if kind in ("float", "int") and "low" in spec and "high" in spec:
            step = spec.get("step")
            return shared_numeric(Float if kind == "float" else Int, spec["low"], spec["high"],
                                  spec.get("log", False),
                                  1 if kind == "int" and step is None else step)
        if kind == "categorical" and type(spec.get("choices")) is list:
            return _categorical_from_list(spec["choices"])
    except TypeError:  # an unhashable value: the plain build says what is wrong
        pass
    return _from_dict(spec)


def shared_numeric(cls: Any, low: Any, high: Any, log: Any, step: Any) -> Distribution:
    """``cls(low, high, log=log, step=step)``, one instance for each exact set of arguments:
    distributions are immutable, and a study asks for (and replays) the same few on every
    trial. Exact: True, 1 and 1.0 are told apart (a bool bound is refused, which True == 1
    would hide behind an earlier call with 1), and so are -0.0 and 0.0. Errors are not
    cached; an unhashable argument raises TypeError."""
    return _shared_numeric(cls, low, high, log, step, _negative_zeros(low, high, step))


def _negative_zeros(*values: Any) -> tuple[bool, ...] | None:
    """Which of ``values`` are -0.0 (None when none is): equal to 0.0 and hashed alike."""
    signs = tuple(type(v) is float and v == 0.0 and math.copysign(1.0, v) < 0 for v in values)
    return signs if any(signs) else None


@functools.lru_cache(maxsize=2048, typed=True)
def _shared_numeric(cls: Any, low: Any, high: Any, log: Any, step: Any,
                    _negative_zeros: tuple[bool, ...] | None) -> Distribution:
    dist: Distribution = cls(low, high, log=log, step=step)
    return dist


_categoricals: dict[str, Categorical] = {}  # by the repr of their JSON list of choices


def _categorical_from_list(choices: list[Any]) -> Distribution:
    """``Categorical(choices)``, shared by lists with the same ``repr``, which tells every
    JSON value apart; the first 1,024 distinct lists are kept."""
    key = repr(choices)
    found = _categoricals.get(key)
    if found is None:
        found = Categorical(tuple(choices))  # a bad list raises here, and is not kept
        if len(_categoricals) < 1024:
            _categoricals[key] = found
    return found


def _from_dict(spec: Mapping[str, Any]) -> Distribution:
    kind = spec.get("type")
    if kind == "float":
        return Float(spec["low"], spec["high"], log=spec.get("log", False),
                     step=spec.get("step"))
    if kind == "int":
        step = spec.get("step")
        return Int(spec["low"], spec["high"], log=spec.get("log", False),
                   step=1 if step is None else step)
    if kind == "categorical":
        return Categorical(spec["choices"])  # it checks for a sequence (not a string) itself
    raise ValueError(f"unknown distribution type {kind!r} (expected float, int or categorical)")


def _named(name: str, exc: Exception) -> ValueError:
    return ValueError(f"parameter {name!r}: {exc}")


def check_param_name(name: Any) -> None:
    """Raise ValueError unless ``name`` is a non-empty string."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"parameter names must be non-empty strings, got {name!r}")


@dataclass(frozen=True)
class SearchSpace(Mapping[str, Distribution]):
    """An ordered, immutable mapping of parameter names to distributions, with conditions.

    >>> space = SearchSpace({"model": Categorical(("A", "B")), "lr": Float(1e-4, 1.0, log=True)},
    ...                     conditions={"lr": Condition("model", ("A",))})
    >>> space.active({"model": "B"})
    ['model']
    """

    params: Mapping[str, Distribution] = field(default_factory=dict)
    conditions: Mapping[str, Condition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        params = dict(self.params)
        for name, dist in params.items():
            check_param_name(name)
            if not isinstance(dist, (Float, Int, Categorical)):
                raise _named(name, TypeError(f"expected Float, Int or Categorical, got {dist!r}"))
        conditions = dict(self.conditions)
        for name, cond in conditions.items():
            if name not in params:
                raise _named(name, ValueError("has a condition but no distribution"))
            if cond.parent not in params:
                raise _named(name, ValueError(f"condition on unknown parent {cond.parent!r}"))
            parent = params[cond.parent]
            for v in cond.values:
                if not parent.contains(v):
                    raise _named(name, ValueError(
                        f"condition value {v!r} is not a possible value of {cond.parent!r}"))
            conditions[name] = Condition(cond.parent,
                                         tuple(canonical(parent, v) for v in cond.values))
        # Parents must come before children so that `active` can resolve in one pass.
        order: list[str] = []
        visiting: set[str] = set()

        def visit(n: str) -> None:
            if n in order:
                return
            if n in visiting:
                raise _named(n, ValueError("conditions form a cycle"))
            visiting.add(n)
            if n in conditions:
                visit(conditions[n].parent)
            order.append(n)

        for n in params:
            visit(n)
        object.__setattr__(self, "params", {n: params[n] for n in order})
        object.__setattr__(self, "conditions", conditions)

    def __getitem__(self, name: str) -> Distribution:
        return self.params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    # The dict's own views: Mapping's generic ones look every value up through __getitem__,
    # a tenth of a random-search trial in memory.
    def keys(self) -> KeysView[str]:
        return self.params.keys()

    def items(self) -> ItemsView[str, Distribution]:
        return self.params.items()

    def values(self) -> ValuesView[Distribution]:
        return self.params.values()

    def __len__(self) -> int:
        return len(self.params)

    def __hash__(self) -> int:
        # Unordered, as equality is: two spaces with the same parameters in another order
        # are equal and must hash alike.
        return hash((frozenset(self.params.items()), frozenset(self.conditions.items())))

    @property
    def is_conditional(self) -> bool:
        return bool(self.conditions)

    def active(self, params: Mapping[str, Any]) -> list[str]:
        """Names active under ``params`` (a partial assignment is fine), in dependency order."""
        out: list[str] = []
        for name in self.params:
            cond = self.conditions.get(name)
            if cond is None or (cond.parent in out
                                and cond.holds(params, self.params[cond.parent])):
                out.append(name)
        return out

    def restrict(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Drop the values of parameters that are inactive under ``params``."""
        return {n: params[n] for n in self.active(params) if n in params}

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise ValueError if ``params`` is not a complete, in-range, active-only assignment."""
        active = self.active(params)
        for name in active:
            if name not in params:
                raise _named(name, ValueError("is active but has no value"))
            if not self.params[name].contains(params[name]):
                raise _named(name, ValueError(f"{params[name]!r} is outside {self.params[name]}"))
        extra = set(params) - set(active)
        if extra:
            raise ValueError(f"parameters {sorted(extra)} are unknown or inactive")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, dist in self.params.items():
            spec = dist.to_dict()
            if name in self.conditions:
                spec["condition"] = self.conditions[name].to_dict()
            out[name] = spec
        return out

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SearchSpace:
        """Build a space from distributions or their JSON form (``{"type": "float", ...}``)."""
        params: dict[str, Distribution] = {}
        conditions: dict[str, Condition] = {}
        for name, item in spec.items():
            try:
                if isinstance(item, (Float, Int, Categorical)):
                    params[name] = item
                    continue
                if not isinstance(item, Mapping):
                    raise ValueError(f"expected a distribution or a dict, got {item!r}")
                _check_keys(item, _SPEC_KEYS.get(str(item.get("type")), _SPEC_KEYS["float"]))
                params[name] = distribution_from_dict(item)
                if item.get("condition") is not None:
                    c = item["condition"]
                    if isinstance(c, Mapping):
                        _check_keys(c, {"parent", "in"}, "condition")
                    conditions[name] = Condition(c["parent"], c["in"])  # a single value is fine
            except (ValueError, TypeError, KeyError) as exc:
                raise _named(name, exc) from exc
        return cls(params, conditions)


#: The keys of a parameter's JSON form, by type (a typo such as "lgo" was ignored silently).
_NUMBER_KEYS = {"type", "low", "high", "log", "step", "condition"}
_SPEC_KEYS = {"float": _NUMBER_KEYS, "int": _NUMBER_KEYS,
              "categorical": {"type", "choices", "condition"}}


def _check_keys(spec: Mapping[str, Any], known: set[str], what: str = "a parameter") -> None:
    unknown = sorted(map(str, set(spec) - known))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {what}'s spec; it takes "
                         f"{sorted(known)}")


#: The empty space, shared: samplers that propose parameter by parameter return it, and a view
#: with no completed trial has it.
EMPTY_SPACE = SearchSpace()


@functools.lru_cache(maxsize=4096)
def single_space(name: str, dist: Distribution) -> SearchSpace:
    """The space of one parameter, built once per (name, distribution): a study makes one for
    every define-by-run suggestion outside the joint space."""
    return SearchSpace({name: dist})
