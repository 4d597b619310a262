"""The executor contract: `concurrent.futures`' ``submit`` and ``shutdown``, nothing more.

Thread and process pools satisfy it as they are, as does Dask's ``client.get_executor()``;
`SimulatedExecutor` runs tasks on virtual workers against a virtual clock.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


@runtime_checkable
class Executor(Protocol):
    """Runs callables somewhere and hands back futures of their results."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)``; its future holds the result or the exception."""
        ...

    def shutdown(self, wait: bool = True) -> None:
        """Accept no more tasks; with ``wait``, return once the submitted ones are done."""
        ...
