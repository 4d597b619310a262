"""A hard time limit per call: each call runs in a worker process, and one that runs too long
is stopped by killing its process (Python cannot stop a thread).

The workers are a loky process pool, the kind joblib and scikit-learn use: started by
spawning (no fork of a process that holds threads, OpenMP pools or database connections),
kept from one batch of calls to the next, and killable. The pool is this object's own, not
joblib's shared one, so killing it never breaks a joblib ``Parallel`` elsewhere.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from typing import Any

#: A call as joblib's ``delayed`` makes it: ``(function, args, kwargs)``.
Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class _Outcome:
    """What stands in a call's place when it returned nothing."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: A call still running at the limit, stopped.
LATE = _Outcome("LATE")
#: A call whose worker process died under it.
DIED = _Outcome("DIED")
#: A call not run: another call of its group gave up on it (`LimitedPool.run`).
SKIPPED = _Outcome("SKIPPED")


def _warm(*args: Any) -> None:
    """Nothing: a first task whose arguments (a call's) make a fresh worker import what the
    calls need, before any call's clock starts."""


class LimitedPool:
    """``n_workers`` processes running calls of at most ``limit`` seconds each.

    Use it as a context manager (or `close` it): its workers live until then.
    """

    def __init__(self, n_workers: int, limit: float) -> None:
        self.n_workers = n_workers
        self.limit = limit
        self._pool: Any = None

    def __enter__(self) -> LimitedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (any call still running with them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, kill_workers=True)
            self._pool = None

    def _started(self, example: Call) -> Any:
        if self._pool is None:
            from joblib.externals.loky import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=self.n_workers)
            warm = [self._pool.submit(_warm, *example[1]) for _ in range(self.n_workers)]
            for future in warm:
                future.result()
        return self._pool

    def run(self, calls: Sequence[Call], groups: Sequence[Hashable] | None = None,
            gives_up: Callable[[Any], bool] | None = None) -> list[Any]:
        """The results of ``calls``, in order, with `LATE` in place of a call still running
        ``limit`` seconds after it was handed to a worker (its data transfer included) and
        `DIED` for one whose worker process died under it (killed, out of memory, a crash in
        native code). A call that raises raises here.

        When calls run late the workers are killed with them: the calls that were running
        beside them start again, from the beginning and with a fresh clock, on new workers.
        When a worker dies, the pool breaks for every call it was running, so those calls run
        again one at a time: the one that breaks it alone is the one that died.

        With ``groups`` (one per call: the folds of a configuration, say), once ``gives_up``
        holds for an outcome of a call (a result, `LATE` or `DIED`), the calls of its group
        that have not started, or that must start again, do not run: `SKIPPED` in their place.
        A group that gives up thus costs one stopped call, and one restart of the workers, not
        one of each per call.
        """
        results: list[Any] = [None] * len(calls)
        queue = deque(range(len(calls)))
        solo: deque[int] = deque()  # calls that shared a pool whose worker died
        running: dict[Future[Any], tuple[int, float]] = {}
        given_up: set[Hashable] = set()

        def settle(i: int, outcome: Any) -> None:
            results[i] = outcome
            if groups is not None and gives_up is not None and gives_up(outcome):
                given_up.add(groups[i])

        def wanted(i: int) -> bool:
            if groups is not None and groups[i] in given_up:
                results[i] = SKIPPED
                return False
            return True

        while queue or solo or running:
            width = 1 if solo else self.n_workers
            source = solo if solo else queue
            while source and len(running) < width:
                i = source.popleft()
                if not wanted(i):
                    continue
                func, args, kwargs = calls[i]
                future = self._started(calls[i]).submit(func, *args, **kwargs)
                running[future] = (i, time.monotonic())
            if not running:  # what was left to start was skipped
                continue
            deadline = min(start for _, start in running.values()) + self.limit
            wait(running, timeout=max(0.0, deadline - time.monotonic()),
                 return_when=FIRST_COMPLETED)
            sharing = len(running)
            broken = []
            for future in [f for f in running if f.done()]:  # a late one may have just ended
                i, _ = running.pop(future)
                try:
                    settle(i, future.result())
                except BrokenExecutor:
                    broken.append(i)
            if broken:
                if sharing == 1:
                    settle(broken[0], DIED)
                else:
                    solo.extend(sorted([*broken, *(i for i, _ in running.values())]))
                running.clear()
                self.close()
                continue
            now = time.monotonic()
            late = [f for f, (_, start) in running.items() if now - start >= self.limit]
            if late:
                for future in late:
                    settle(running.pop(future)[0], LATE)
                (solo if solo else queue).extendleft(
                    sorted((i for i, _ in running.values() if wanted(i)), reverse=True))
                running.clear()
                self.close()
        return results
