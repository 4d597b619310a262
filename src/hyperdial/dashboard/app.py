"""The dashboard's server: a read-only JSON API over a storage, and the page that shows it.

Each study is read through its own `TrialView`, so a refresh costs one query for the events
written since the last one, however many trials the study holds; the page asks with the
version it has and gets ``{"unchanged": true}`` when nothing was written.
Nothing here writes to the storage: a dashboard beside running workers never takes a lock
they wait on (SQLite in WAL mode lets readers run beside the writer).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperdial._export import strict, trial_json
from hyperdial._optional import require
from hyperdial.exceptions import StudyNotFound
from hyperdial.history import History
from hyperdial.space import Categorical, Distribution
from hyperdial.storage import Storage, get_storage
from hyperdial.storage.base import StudyInfo, TrialView
from hyperdial.study import HYPERDIAL_ATTR_PREFIX, METRIC_NAMES_ATTR
from hyperdial.trial import TrialRecord, TrialState, violation
from hyperdial.visualization._series import choice_labels, importances, merged_space

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Trials whose full records (params, attributes) a study's payload carries, newest first.
RECENT = 100
#: Trials whose learning curves it carries (the latest that reported).
CURVES = 50


class Dashboard:
    """Read-only summaries of a storage's studies, each kept up to date incrementally."""

    def __init__(self, storage: str | Storage) -> None:
        self.storage = get_storage(storage)
        self._views: dict[int, TrialView] = {}
        self._lock = threading.Lock()

    def _history(self, info: StudyInfo) -> tuple[History, int]:
        """The study's trials and the version they are at: a 48-bit digest of the study's id,
        the last event read and its attributes (metric names among them), so that a study
        deleted and created again under its name, or renamed objectives, is news to a page
        (the last event id alone repeated; JS reads 48 bits exactly)."""
        with self._lock:
            view = self._views.get(info.id)
            if view is None or view.directions != info.directions:
                view = self._views[info.id] = TrialView(self.storage, info.id, info.directions)
            view.sync()
            history, last = view.history(), view.last_event_id
        state = json.dumps([info.id, last, info.user_attrs], sort_keys=True, default=str)
        digest = hashlib.blake2b(state.encode(), digest_size=6).digest()
        return history, int.from_bytes(digest, "big")

    def studies(self) -> list[dict[str, Any]]:
        """One summary per study: directions, trials by state, best value, last activity."""
        return [self._summary(info, *self._history(info)) for info in self.storage.studies()]

    def study(self, name: str, since: int | None = None) -> dict[str, Any]:
        """Everything the study page shows, or ``{"unchanged": True}`` when the study is
        still at version ``since``. Raises `StudyNotFound`."""
        info = self.storage.get_study(name)
        history, version = self._history(info)
        if since is not None and since == version:
            return {"name": name, "version": version, "unchanged": True}
        front = history.pareto_front() if history.n_objectives > 1 else []
        out = self._summary(info, history, version, front)
        trials = history.trials
        out["metric_names"] = info.user_attrs.get(METRIC_NAMES_ATTR)  # `set_metric_names`
        out["user_attrs"] = {k: v for k, v in info.user_attrs.items()  # as `Study.user_attrs`
                             if not k.startswith(HYPERDIAL_ATTR_PREFIX)}
        out["trials"] = {  # every trial, by column: what the plots need
            "number": [t.number for t in trials],
            "state": [t.state.value for t in trials],
            "values": [None if t.values is None else list(t.values) for t in trials],
            "feasible": [violation(t) == 0.0 for t in trials],
        }
        # the parameters completed trials hold, each over every value they took (a range
        # widened, a choice added)
        space = merged_space(history.completed)
        out["space"] = {name: d.to_dict() for name, d in space.items()}
        out["params"] = {name: _column(trials, name, d) for name, d in space.items()}
        out["choice_labels"] = {name: choice_labels(d) for name, d in space.items()
                                if isinstance(d, Categorical)}  # as the Python plots label them
        out["recent"] = [trial_json(t) | {"constraints": _shown(t.constraints),
                                          "user_attrs": _shown(t.user_attrs)}
                         for t in reversed(trials[-RECENT:])]  # (±inf constraints apart)
        reported = [t for t in trials if t.intermediate_values][-CURVES:]
        out["curves"] = [_curve(t) for t in reported]
        out["pareto"] = [t.number for t in front]
        out["importances"], out["importances_note"] = _importances(history)
        return strict(out)  # type: ignore[no-any-return]

    def _summary(self, info: StudyInfo, history: History, version: int,
                 front: list[TrialRecord] | None = None) -> dict[str, Any]:
        """The list page's row of a study; ``front``: its Pareto front, if already known."""
        if front is None and history.n_objectives > 1:
            front = history.pareto_front()
        counts = dict.fromkeys((s.value for s in TrialState), 0)
        for t in history.trials:
            counts[t.state.value] += 1
        best = history.best() if history.n_objectives == 1 else None
        starts = [t.datetime_start for t in history.trials if t.datetime_start]
        ends = [t.datetime_complete for t in history.trials if t.datetime_complete]
        return strict({  # type: ignore[no-any-return]
            "name": info.name, "version": version,
            "directions": [d.value for d in info.directions],
            "n_trials": len(history.trials), "states": counts,
            "best": None if best is None else trial_json(best) | {
                "user_attrs": _shown(best.user_attrs)},  # as `recent` shows them
            "n_pareto": len(front) if history.n_objectives > 1 and front is not None else None,
            "last_activity": max([*starts, *ends]).isoformat() if starts or ends else None})


def _shown(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """User attributes as the trials table shows them: a number or a string as it is; a
    non-finite number as Python writes it ("inf", JSON has none); a list or a mapping as
    JSON text (the page printed "[object Object]")."""
    def shown(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)
        if isinstance(value, (list, dict)):
            return json.dumps(value, allow_nan=True, ensure_ascii=False)
        return value

    return {key: shown(value) for key, value in attrs.items()}


def _column(trials: Sequence[TrialRecord], name: str, d: Distribution) -> list[Any]:
    """Each trial's value of parameter ``name``, None where it has none; for a categorical the
    position of its choice, as JSON tells neither 1 from 1.0 nor the None choice from no value.
    A trial not complete may hold a choice the completed ones never offered: None too."""
    if not isinstance(d, Categorical):
        return [t.params.get(name) for t in trials]
    positions: list[int | None] = []
    for t in trials:
        try:
            positions.append(d.index(t.params[name]))
        except (KeyError, ValueError):
            positions.append(None)
    return positions


def _curve(trial: TrialRecord) -> dict[str, Any]:
    """A trial's reports by step, each as one number (the first objective's, for a vector)."""
    steps = sorted(trial.intermediate_values)
    values = [trial.intermediate_values[s] for s in steps]
    return {"number": trial.number, "state": trial.state.value, "steps": steps,
            "values": [v if isinstance(v, float) else v[0] for v in values]}


def _importances(history: History) -> tuple[dict[str, float] | None, str | None]:
    """PED-ANOVA shares of a single-objective study, as `plot_param_importances` draws them
    (a study of 3 to 10 trials too), or why there are none."""
    if history.n_objectives != 1:
        return None, "importances are shown for single-objective studies"
    try:
        return importances(history, None, None, None), None
    except ValueError as exc:  # too few trials so far
        return None, str(exc)


def static_dir() -> Path:
    """The page's own files (HTML, JavaScript, CSS)."""
    return Path(str(resources.files("hyperdial.dashboard") / "static"))


def create_app(storage: str | Storage) -> FastAPI:
    """The FastAPI application serving ``storage``'s studies (read-only).

    Routes: ``/`` the page; ``/api/studies`` the summaries; ``/api/studies/{name}?since=V``
    one study (``{"unchanged": true}`` while at version V; the name percent-encoded, a "/" in
    it too), or ``/api/study?name=NAME&since=V`` the same (the page's: a browser resolves a
    name "." or ".." in a path); ``/static/...`` the page's files;
    ``/plotly.min.js`` Plotly's JavaScript from the installed ``plotly`` package.
    """
    require("fastapi", "dashboard")  # one clear line when the extra is missing
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    plotly_js = Path(str(resources.files(require("plotly", "dashboard")) / "package_data"
                         / "plotly.min.js"))
    dashboard = Dashboard(storage)
    app = FastAPI(title="hyperdial dashboard", docs_url=None, redoc_url=None)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static_dir() / "index.html")

    @app.get("/plotly.min.js", include_in_schema=False)
    def plotly_script() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    @app.get("/api/studies")
    def studies() -> list[dict[str, Any]]:
        return dashboard.studies()

    def study(name: str, since: int | None = None) -> dict[str, Any]:
        try:
            return dashboard.study(name, since)
        except StudyNotFound:  # (the storage's message says where it looked: not for a page)
            raise HTTPException(status_code=404, detail=f"no study named {name!r}") from None

    # "path": a name may hold "/", which the server has decoded from %2F before routing.
    app.get("/api/studies/{name:path}")(study)
    app.get("/api/study")(study)  # the name as a query parameter

    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    app.state.dashboard = dashboard
    return app


def run_dashboard(storage: str | Storage, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the dashboard until interrupted (Ctrl-C)."""
    uvicorn = require("uvicorn", "dashboard")
    uvicorn.run(create_app(storage), host=host, port=port, log_level="warning")
