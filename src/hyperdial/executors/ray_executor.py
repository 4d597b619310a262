"""`RayExecutor`: the executor contract on a Ray cluster (``pip install 'hyperdial[ray]'``).

Each submitted callable runs as a Ray task on the cluster this process is connected to
(``ray.init(address=...)``; without a call, Ray starts a local one on first use, as it always
does), and its future is a plain `concurrent.futures.Future` (Ray's ``ObjectRef.future()``), so
`optimize_distributed` and ``concurrent.futures.wait`` take it as they take a process pool's.
Ray re-runs a task whose worker process died (``max_retries``, Ray's system-failure retries):
an `optimize_distributed` task simply joins the study again, which hands out trial numbers
and keeps every finished trial.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from hyperdial._optional import require

T = TypeVar("T")


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


class RayExecutor:
    """Runs tasks on Ray with ``num_cpus`` each (other ``options``: any of Ray's task
    options, such as ``num_gpus``, ``resources`` or ``max_retries``).

    >>> executor = RayExecutor(num_cpus=1)                        # doctest: +SKIP
    >>> optimize_distributed(executor, objective, study_name="s",  # doctest: +SKIP
    ...                      storage="postgresql+psycopg://host/db", n_trials=500, n_tasks=8)
    """

    def __init__(self, num_cpus: float = 1, **options: Any) -> None:
        ray = require("ray", "ray")
        self._ray = ray
        self._task = ray.remote(_call).options(num_cpus=num_cpus, **options)
        self._refs: list[Any] = []
        self._closed = False

    def __repr__(self) -> str:
        return f"RayExecutor(submitted={len(self._refs)}, closed={self._closed})"

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` as a Ray task; the future holds its result or error."""
        if self._closed:
            raise RuntimeError("cannot submit to a RayExecutor after shutdown()")
        ref = self._task.remote(fn, args, kwargs)
        self._refs.append(ref)
        future: Future[T] = ref.future()
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Accept no more tasks; with ``wait``, return once every submitted one has ended
        (the cluster itself stays up: it is not ours to stop)."""
        self._closed = True
        if wait and self._refs:
            self._ray.wait(self._refs, num_returns=len(self._refs))

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)
