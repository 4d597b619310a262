"""The progress bar of `Study.optimize`, drawn with rich (the ``cli`` extra)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hyperdial.trial import TrialRecord


class RichProgress:
    """Counts finished trials (or elapsed time when only a timeout bounds the run) on stderr,
    so that a command's results on stdout stay clean."""

    def __init__(self, total: int | None, timeout: float | None) -> None:
        self._by_time = total is None and timeout is not None
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn() if not self._by_time else TextColumn(""),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[best]}"),
            console=Console(stderr=True), transient=False)
        self._task = self._progress.add_task("trials", total=total if not self._by_time
                                             else timeout, best="")
        self._start = 0.0

    def __enter__(self) -> RichProgress:
        import time

        self._start = time.monotonic()
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def advance(self, record: TrialRecord, best: float | None) -> None:
        import time

        label = "" if best is None else f"best {best:.6g}"
        if self._by_time:
            self._progress.update(self._task, completed=time.monotonic() - self._start, best=label)
        else:
            self._progress.update(self._task, advance=1, best=label)
