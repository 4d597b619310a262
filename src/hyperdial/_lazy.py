"""Classes imported on first use, so that ``import hyperdial`` loads only what a study needs."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


def _load(package: str, module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"{package}.{module}"), name)


def module_getattr(package: str, classes: Mapping[str, str],
                   submodules: Collection[str] = ()) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` (PEP 562) that imports ``classes[name]`` (a submodule
    of ``package``) the first time ``name`` is asked for, and the ``submodules`` themselves
    (``package.name`` without importing it first, as Optuna's names are reached)."""

    def __getattr__(name: str) -> Any:
        if name in classes:
            return _load(package, classes[name], name)
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class LazyRegistry(Mapping[str, type[T]], Generic[T]):
    """Names (as the CLI spells them) to classes, each imported when first looked up."""

    def __init__(self, package: str, classes: Mapping[str, str],
                 names: Mapping[str, str]) -> None:
        self._package, self._classes, self._names = package, classes, dict(names)

    def __getitem__(self, key: str) -> type[T]:
        cls = self._names[key]
        return cast("type[T]", _load(self._package, self._classes[cls], cls))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
