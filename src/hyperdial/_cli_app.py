"""The click commands behind ``hyperdial`` (imported by `hyperdial.cli.main` once click is there).

Every subcommand is one small function on three helpers: `open_storage`, `open_study` and the
renderers of `hyperdial._cli_render`. Hyperdial's exceptions become one-line errors in one
place, `App.invoke`, except those an objective raises, which `run` reports as the objective's.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import logging
import re
import socket
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from hyperdial import _cli_render as r
from hyperdial import _loop, exceptions, pruners, samplers
from hyperdial._checks import check_study_name, safe_url
from hyperdial._optional import require
from hyperdial.exceptions import DuplicatedStudy, HyperdialError, StudyNotFound
from hyperdial.history import History
from hyperdial.storage import Storage, get_storage, storage_file
from hyperdial.study import (
    Study,
    copy_study,
    create_study,
    get_all_study_summaries,
    load_study,
)
from hyperdial.trial import TrialRecord, TrialState, state_counts

DEFAULT_STORAGE = "sqlite:///hyperdial.db"
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class BadArgument(click.ClickException):
    """A bad option value, reported in one line (click's UsageError adds the usage text)."""

    exit_code = 2


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (database errors run over several)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class App(click.Group):
    """The command group; maps hyperdial and database errors to one-line click errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (HyperdialError, SQLAlchemyError) as exc:
            url: str = ctx.meta.get("hyperdial.storage", "")
            line = first_line(exc)
            shown = safe_url(url)
            named = url and isinstance(exc, (StudyNotFound, DuplicatedStudy))  # else it says where
            where = f" ({shown})" if named and shown not in line else ""
            raise click.ClickException(line + where) from None


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hyperdial")
def app() -> None:
    """Inspect, export, copy and run hyperdial studies.

    Every command takes --storage URL (default sqlite:///hyperdial.db, or $HYPERDIAL_STORAGE).
    """


def storage_option(func: F) -> F:
    return click.option(
        "--storage", "url", envvar="HYPERDIAL_STORAGE", show_envvar=True,
        default=DEFAULT_STORAGE, show_default=True, metavar="URL",
        help="Storage URL: sqlite:///file.db, postgresql+psycopg://user@host/db, "
             "journal:///file.jsonl.")(func)


# -- shared helpers -------------------------------------------------------------------------
def open_storage(url: str, *, create: bool = False) -> Storage:
    """Open a storage, closed when the command ends; an SQLite file must exist unless ``create``."""
    ctx = click.get_current_context()
    ctx.meta["hyperdial.storage"] = url
    try:
        path = storage_file(url)
    except ValueError as exc:  # (a journal URL with options: one line, not a traceback)
        raise click.ClickException(f"cannot open storage {safe_url(url)}: {exc}") from None
    if not create and path is not None and not path.exists():
        raise click.ClickException(f"no database file {path} (give --storage URL or set "
                                   "HYPERDIAL_STORAGE)")
    try:
        storage = get_storage(url)
    except (ValueError, ImportError, OSError, SQLAlchemyError) as exc:
        why = first_line(exc)  # the storage's own "cannot open URL: ..." needs no prefix
        raise click.ClickException(why if why.startswith("cannot open") else
                                   f"cannot open storage {safe_url(url)}: {why}") from None
    ctx.call_on_close(storage.close)
    return storage


def open_study(storage: Storage, name: str) -> Study:
    """Load a study for reading: no heartbeats, so opening it writes nothing."""
    return load_study(study_name=name, storage=storage, heartbeat_interval=None)


def positive(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise BadArgument(f"{name} must be positive, got {value}")


def check_seed(value: int | None, high: int | None = None) -> None:
    """A --seed that the generators take: 0 or more (below ``high`` when given)."""
    if value is not None and (value < 0 or (high is not None and value >= high)):
        limit = "0 or more" if high is None else f"in 0..{high - 1}"
        raise BadArgument(f"--seed must be {limit}, got {value}")


#: The prefix of the module name an objective's file is loaded under (`load_objective`).
OBJECTIVE_MODULE = "_hyperdial_objective_"


def load_objective(target: str) -> tuple[Callable[..., Any], ModuleType]:
    """The function FUNCTION of FILE.py (imported with the file's folder on sys.path), and
    the module the file became."""
    file, sep, name = target.rpartition(":")
    if not sep or not file or not name.isidentifier():
        raise BadArgument(f"expected FILE.py:FUNCTION, got {target!r}")
    path = Path(file).resolve()
    if not path.is_file():
        raise click.ClickException(f"no such file: {file}")
    module_name = OBJECTIVE_MODULE + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"cannot import {file} as a Python module")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules[module_name] = module  # pickling by reference (process executors) finds it
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: its own frames, then one line (as `run`
        # reports an objective's error), not importlib's and click's frames before them
        sys.modules.pop(module_name, None)
        frames = exc.__traceback__
        while frames is not None and frames.tb_frame.f_code.co_filename != str(path):
            frames = frames.tb_next
        traceback.print_exception(type(exc), exc, frames)
        said = f": {first_line(exc)}" if str(exc).strip() else ""
        raise click.ClickException(f"importing {file} failed: {type(exc).__name__}{said}"
                                   ) from None
    func = getattr(module, name, None)
    if func is None:
        defined = sorted(k for k, v in vars(module).items()
                         if callable(v) and getattr(v, "__module__", None) == module_name)
        raise click.ClickException(f"{file} has no function {name!r} (it defines: "
                                   f"{', '.join(defined) or 'none'})")
    if not callable(func):
        raise click.ClickException(f"{file}:{name} is not callable (it is a "
                                   f"{type(func).__name__})")
    return func, module


def exception_class(name: str, own: ModuleType | None = None) -> type[Exception]:
    """An exception class by name, for ``--catch``: a name that ``own`` (the module the
    objective's file became) defines or imports, a builtin (``ValueError``) or one of
    hyperdial's (``StudyNotFound``), or a dotted path (``numpy.linalg.LinAlgError``;
    ``myfile.Diverged`` for the objective's own file, which is loaded under another module
    name, so an import would give another class)."""
    module, _, attr = name.rpartition(".")
    own_file = getattr(own, "__file__", None)
    own_stem = Path(own_file).stem if own_file else None
    if not module:
        places: list[Any] = [own, builtins, exceptions]
    elif module == own_stem:
        places = [own]
    else:
        try:
            places = [importlib.import_module(module)]
        except ImportError:
            places = []
    found = next((got for place in places if place is not None
                  and (got := getattr(place, attr, None)) is not None), None)
    if not (isinstance(found, type) and issubclass(found, Exception)):
        raise BadArgument(f"--catch: {name!r} is not an exception class (try ValueError, a "
                          "class the objective's file defines, or a dotted path such as "
                          "numpy.linalg.LinAlgError)")
    return found


def catch_name(cls: type[BaseException]) -> str:
    """What ``--catch`` takes for ``cls``: its name where `exception_class` finds it by name
    (builtins, hyperdial's, the objective's file), else its dotted path."""
    if cls.__module__ in ("builtins", exceptions.__name__) or cls.__module__.startswith(
            OBJECTIVE_MODULE):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


#: Where the code that calls an objective lives: hyperdial, and contextlib, which runs the
#: frames of the trial loop's context managers (its heartbeat).
LOOP_FILES = (str(Path(__file__).parent), contextlib.__file__)


def objective_frames(exc: BaseException) -> TracebackType | None:
    """The traceback of ``exc`` from the objective's first frame on: the frame that
    hyperdial's trial loop called (with --n-jobs, in a worker thread, behind the thread pool's
    frames); None when the objective did not raise ``exc`` (hyperdial's storage did, or
    starting a trial failed)."""
    tb = exc.__traceback__
    while tb is not None:
        called = tb.tb_next
        if (tb.tb_frame.f_code is _loop._run_trial.__code__ and called is not None
                and not called.tb_frame.f_code.co_filename.startswith(LOOP_FILES)):
            return called
        tb = tb.tb_next
    return None


def sampler_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` from the first frame of a sampler's method on (None if it has none)."""
    while tb is not None and not isinstance(tb.tb_frame.f_locals.get("self"), samplers.Sampler):
        tb = tb.tb_next
    return tb


def last_failed(study: Study, matches: Callable[[TrialRecord], bool]) -> int | None:
    """The number of the latest failed trial of ``study`` that ``matches`` (None: none does)."""
    failed = [t.number for t in study.trials if t.state is TrialState.FAIL and matches(t)]
    return failed[-1] if failed else None


def report_run_error(exc: Exception, study: Study) -> Exception:
    """What ends `run` when ``exc`` comes out of `Study.optimize`. An error of the objective
    (hyperdial's exceptions too, which it may raise) or of the sampler: its traceback is
    printed from their own frames on, and the one-line error to raise returned. Anything else
    is ``exc`` itself: a storage error, which `App.invoke` reports in one line, or a bug of
    hyperdial's, with its whole traceback."""
    name = type(exc).__name__
    kept = "marked FAIL; every finished trial is kept"
    frames = objective_frames(exc)
    if frames is not None:
        traceback.print_exception(type(exc), exc, frames)
        # its trial: the latest failed one whose stored traceback ends the same way
        last_line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        number = last_failed(study, lambda t: str(t.system_attrs.get("traceback", ""))
                             .strip().endswith(last_line))
        which = "a trial" if number is None else f"trial {number}"
        if sampler_frames(frames) is not None:  # raised as the objective asked for a value
            return click.ClickException(f"the sampler raised {name} in {which} when the "
                                        f"objective suggested a parameter, {kept}")
        return click.ClickException(f"the objective raised {name} in {which}, {kept} (--catch "
                                    f"{catch_name(type(exc))} fails such trials and goes on)")
    if isinstance(exc, (HyperdialError, SQLAlchemyError)):
        return exc
    reason = f"starting it failed: {name}: "
    number = last_failed(study, lambda t: (t.fail_reason or "").startswith(reason))
    if number is None:  # no trial failed to start: not an error of the sampler's
        return exc
    sampler = sampler_frames(exc.__traceback__)
    traceback.print_exception(type(exc), exc, sampler)
    what = (f"the sampler raised {name} while starting trial {number}" if sampler is not None
            else f"starting trial {number} failed with {name}")
    return click.ClickException(f"{what} (the objective did not run), {kept}")


def from_registry(kind: str, registry: Mapping[str, Callable[..., T]], name: str,
                  **kwargs: Any) -> T:
    """``registry[name](**kwargs)``, or one line saying which names exist or why the named
    one cannot be built from the command line."""
    cls = registry.get(name.lower())
    if cls is None:
        raise BadArgument(f"unknown {kind} {name!r}; available: {', '.join(sorted(registry))}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # arguments it needs, or a combination it refuses
        raise click.ClickException(f"{kind} {name!r} cannot be built from the command line: "
                                   f"{exc}") from None


def make_sampler(name: str | None, seed: int | None) -> samplers.Sampler | None:
    """A sampler from the registry by name (the default, auto, when only a seed is given)."""
    if name is None and seed is None:
        return None
    return from_registry("sampler", samplers.SAMPLERS, name or "auto", seed=seed)


def make_pruner(name: str | None) -> pruners.Pruner | None:
    """A pruner from the registry by name, with its defaults (None: the study's default)."""
    return None if name is None else from_registry("pruner", pruners.PRUNERS, name)


@contextlib.contextmanager
def quiet_logs(quiet: bool) -> Iterator[None]:
    """With ``quiet``, silence hyperdial's warnings (failed trials) for the block."""
    logger = logging.getLogger("hyperdial")
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# -- subcommands -----------------------------------------------------------------------------
@app.command()
@storage_option
def studies(url: str) -> None:
    """List the studies: directions, trials by state, best value."""
    rows = []
    for summary in get_all_study_summaries(open_storage(url)):
        counts, best = summary.state_counts, summary.best_trials
        best_cell = ("-" if not best else r.fmt(best[0].value) if len(summary.directions) == 1
                     else f"front of {len(best)}")
        rows.append([summary.study_name, r.fmt_directions(summary.directions),
                     str(summary.n_trials),
                     *(str(counts[s]) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                                TrialState.FAIL, TrialState.RUNNING)),
                     best_cell, r.fmt_time(summary.datetime_start)])
    if not rows:
        click.echo(f"no studies in {safe_url(url)}", err=True)
        return
    r.show(r.table(["name", "directions", "trials", "complete", "pruned", "fail",
                    "running", "best", "created"], rows, numeric=range(2, 8)))


@app.command()
@click.argument("study")
@click.option("--limit", type=int, metavar="N", help="Show only the N most recent trials.")
@click.option("--state", type=click.Choice([s.value for s in TrialState], case_sensitive=False),
              help="Show only trials in this state.")
@storage_option
def trials(study: str, limit: int | None, state: str | None, url: str) -> None:
    """List the trials of STUDY."""
    positive("--limit", limit)
    s = open_study(open_storage(url), study)
    every = s.trials
    shown = [t for t in every if state is None or t.state.value == state.upper()]
    if limit is not None:
        shown = shown[-limit:]
    which = f" ({state.upper()} only)" if state else ""
    r.show(f"study {study!r}: {len(shown)} of {r.plural(len(every), 'trial')}{which}",
           r.trials_table(shown, len(s.directions), metric_names=s.metric_names))


def print_best(s: Study) -> list[TrialRecord]:
    """Print the best trial (or the Pareto front); returns the completed trials ranked."""
    history = s.history()
    best = r.ranked(history)
    if not best:
        raise click.ClickException(
            f"study {s.study_name!r} has no completed trial" if not history.completed else
            f"study {s.study_name!r} has no feasible completed trial (every completed trial "
            "breaks a constraint set with trial.set_constraint)")
    directions = r.fmt_directions(s.directions)
    if history.n_objectives == 1:
        r.show(f"best trial of {s.study_name!r} ({directions})", r.best_table(best[0]))
    else:
        r.show(f"Pareto front of {s.study_name!r} ({directions}): {r.plural(len(best), 'trial')}",
               r.trials_table(best, history.n_objectives, user_attrs=True,
                              metric_names=s.metric_names))
    return best


@app.command()
@click.argument("study")
@storage_option
def best(study: str, url: str) -> None:
    """Show the best trial of STUDY, or its Pareto front."""
    print_best(open_study(open_storage(url), study))


def pick_objective(study: str, history: History, metric_names: Sequence[str] | None,
                   objective: str | None) -> int | None:
    """The objective that ``--objective N|NAME`` names (a 0-based number or a metric name),
    to judge a study of several by; None for a study of one, which is judged by itself."""
    names = list(metric_names or ())
    n = history.n_objectives
    if objective is None:
        if n == 1:
            return None
        raise BadArgument(f"study {study!r} has {n} objectives: choose one with "
                          "--objective N|NAME")
    index = names.index(objective) if objective in names else (
        int(objective) if objective.isdecimal() else -1)
    if not 0 <= index < n:
        also = f" or one of {', '.join(map(repr, names))}" if names else ""
        raise BadArgument(f"--objective must be a number in 0..{n - 1}{also}, got {objective!r}")
    return None if n == 1 else index


def objective_target(history: History, index: int) -> Callable[[TrialRecord], float]:
    """Objective ``index`` as the ``target`` that hyperdial's importance and plots take:
    lower is better, so a maximised objective is negated."""
    sign = history.sign(index)

    def target(t: TrialRecord) -> float:
        assert t.values is not None  # completed trials only
        return sign * t.values[index]
    return target


def objective_label(metric_names: Sequence[str] | None, index: int) -> str:
    return metric_names[index] if metric_names else f"objective {index}"


@app.command()
@click.argument("study")
@click.option("--objective", metavar="N|NAME",
              help="With several objectives: judge by this one (0-based number or metric "
                   "name).")
@click.option("--interactions", is_flag=True,
              help="Also the pair interactions (Sobol indices of a Gaussian-process model).")
@storage_option
def importance(study: str, objective: str | None, interactions: bool, url: str) -> None:
    """Which parameters of STUDY mattered (PED-ANOVA shares), and which act together."""
    from hyperdial.importance import get_param_interactions
    from hyperdial.visualization._series import importances

    s = open_study(open_storage(url), study)
    history = s.history()
    index = pick_objective(study, history, s.metric_names, objective)
    target = None if index is None else objective_target(history, index)
    if not history.completed:
        raise click.ClickException(f"study {study!r} has no completed trial")
    try:  # a study too small for the top 10% to hold 2 trials: its best 2, as the plot does
        shares = importances(history, None, None, target)
        pairs = get_param_interactions(history, target=target) if interactions else {}
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    n = len(history.completed)
    top = "top 10%" if n > 10 else "best 2"  # what `importances` judges by
    of = "" if index is None else f" for {objective_label(s.metric_names, index)}"
    r.show(f"parameter importance in {study!r}{of} (PED-ANOVA, {top} of "
           f"{r.plural(n, 'completed trial')})",
           r.table(["parameter", "share"], [[k, f"{v:.3f}"] for k, v in shares.items()],
                   numeric=[1]))
    if interactions:
        r.show("pair interactions (share of the modelled variance)",
               r.table(["parameters", "share"],
                       [[f"{a} x {b}", f"{v:.3f}"] for (a, b), v in pairs.items()],
                       numeric=[1]))


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0: every one; the dashboard has no login).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@storage_option
def dashboard(host: str, port: int, url: str) -> None:
    """Serve a live web dashboard of every study in the storage (needs the dashboard
    extra); it only reads, so it can run beside the workers."""
    storage = open_storage(url)
    try:  # every piece of the extra, checked before anything is served
        from hyperdial.dashboard import create_app

        app = create_app(storage)
        uvicorn = require("uvicorn", "dashboard")
    except ImportError as exc:
        raise click.ClickException(f"hyperdial dashboard needs the dashboard extra: "
                                   f"{first_line(exc)}") from None
    sock = listen(host, port)  # a taken port or a bad host: one line, before any banner
    port = sock.getsockname()[1]  # the real one for --port 0
    where = f"[{host}]" if ":" in host else host
    click.echo(f"hyperdial dashboard of {safe_url(url)} on http://{where}:{port}/ (Ctrl-C stops)")
    with sock, contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops: exit 0
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    click.echo("hyperdial dashboard stopped")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server (as uvicorn binds one); ClickException
    with the reason if it cannot be."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
        raise click.ClickException(f"cannot serve the dashboard on {host}:{port}: {why}") from None
    return sock


@app.command()
@click.argument("data", metavar="DATA.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--target", required=True, metavar="COLUMN", help="The column to predict.")
@click.option("--task", type=click.Choice(["auto", "classification", "regression"]),
              default="auto", show_default=True,
              help="auto: regression for a numeric target with more than 20 distinct values.")
@click.option("--study", "study_name", metavar="NAME",
              help="Study to create or resume (default: automl-<file name>).")
@click.option("--n-trials", type=int, default=50, show_default=True, metavar="N")
@click.option("--timeout", type=float, metavar="S", help="Stop starting trials after S seconds.")
@click.option("--fit-timeout", type=float, metavar="S",
              help="Stop a fit (one configuration on one fold) after S seconds; it fails.")
@click.option("--models", metavar="A,B", help="Built-in families to search (default: all).")
@click.option("--cv", type=int, default=5, show_default=True, metavar="K", help="CV folds.")
@click.option("--scoring", metavar="NAME", help="A scikit-learn scorer name (default: "
              "accuracy or R²).")
@click.option("--test-size", type=float, default=0.2, show_default=True, metavar="F",
              help="Share of the rows held out to test the final model (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, metavar="N",
              help="Seed of the split and the search.")
@click.option("--ensemble-size", type=int, default=50, show_default=True, metavar="N",
              help="Rounds of ensemble selection over the best configurations (0: predict "
              "with the best one alone).")
@click.option("--output", "-o", metavar="FILE.joblib", help="Save the fitted model here.")
@storage_option
def automl(data: str, target: str, task: str, study_name: str | None, n_trials: int,
           timeout: float | None, fit_timeout: float | None, models: str | None, cv: int,
           scoring: str | None, test_size: float, seed: int, ensemble_size: int,
           output: str | None, url: str) -> None:
    """Pick a scikit-learn model and its hyperparameters for DATA.csv (needs the sklearn and
    pandas extras); warm-started by the storage's earlier AutoML studies."""
    positive("--n-trials", n_trials)
    positive("--timeout", timeout)
    positive("--fit-timeout", fit_timeout)
    check_seed(seed, 2**32)  # scikit-learn's random_state
    if ensemble_size < 0:
        raise BadArgument(f"--ensemble-size must be >= 0, got {ensemble_size}")
    if not 0.0 <= test_size < 1.0:
        raise BadArgument(f"--test-size must be in [0, 1), got {test_size}")
    try:
        pd = require("pandas", "pandas")
        from sklearn.model_selection import train_test_split

        from hyperdial.integrations import automl as auto
    except ImportError as exc:
        raise click.ClickException(f"hyperdial automl needs the sklearn and pandas extras: "
                                   f"{first_line(exc)}") from None
    try:  # (bad input: one line, never a traceback)
        frame = pd.read_csv(data)
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise BadArgument(f"{data} is not a readable CSV table: {first_line(exc)}") from None
    if target not in frame.columns:
        raise BadArgument(f"{data} has no column {target!r} (it has: "
                          f"{', '.join(map(str, frame.columns))})")
    frame = frame.dropna(subset=[target])
    X, y = frame.drop(columns=[target]), frame[target]
    if task == "auto":
        numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
        task = "regression" if numeric and y.nunique() > 20 else "classification"
    X_test = y_test = None
    if test_size:
        try:
            X, X_test, y, y_test = train_test_split(
                X, y, test_size=test_size, random_state=seed,
                stratify=y if task == "classification" else None)
        except ValueError as exc:  # too few rows, or of a class, to hold some out
            raise BadArgument(f"--test-size {test_size}: {first_line(exc)}") from None
    estimator = auto.AutoMLClassifier if task == "classification" else auto.AutoMLRegressor
    search = estimator(n_trials=n_trials, timeout=timeout, fit_timeout=fit_timeout, cv=cv,
                       scoring=scoring,
                       models=models.split(",") if models else None, random_state=seed,
                       ensemble_size=ensemble_size, storage=url,
                       study_name=study_name or f"automl-{Path(data).stem}")
    try:
        search.fit(X, y)
    except ValueError as exc:
        raise BadArgument(first_line(exc)) from None
    board = search.leaderboard()
    r.show(r.table(["model", "CV score", "trials"],
                   [[row["model"], f"{row['score']:.4f}", str(row["trials"])] for row in board],
                   numeric=[1, 2]))
    click.echo(f"{task}: best {search.best_model_}, CV score {search.best_score_:.4f} "
               f"({len(search.study_.trials)} trials in study {search.study_.study_name!r}, "
               f"{len(search.warm_start_configs_)} warm-started)")
    if search.ensemble_ is not None:
        click.echo("predicting with an ensemble of " + ", ".join(
            f"{row['model']} (trial {row['trial']}) {row['weight']:.2f}"
            for row in search.ensemble_members_))
    if X_test is not None:
        from sklearn.metrics import get_scorer

        score = (get_scorer(scoring)(search, X_test, y_test) if scoring
                 else search.score(X_test, y_test))
        click.echo(f"held-out score on {len(X_test)} rows: {score:.4f}")
    if output:
        import joblib

        joblib.dump(search, output)  # it predicts as it did here: ensemble or best pipeline
        click.echo(f"model saved to {output}")


PLOTS = {"history": "plot_optimization_history", "intermediate": "plot_intermediate_values",
         "slice": "plot_slice", "parallel": "plot_parallel_coordinate",
         "contour": "plot_contour", "importance": "plot_param_importances",
         "pareto": "plot_pareto_front", "timeline": "plot_timeline", "edf": "plot_edf",
         "rank": "plot_rank"}
#: The plots that draw chosen parameters (``params=``); the others draw none.
PLOTS_OF_PARAMS = ("slice", "parallel", "contour", "importance", "rank")
#: The plots of one value (``target=``): of a study of several objectives, the --objective one.
PLOTS_OF_ONE_VALUE = ("history", "slice", "parallel", "contour", "importance", "edf", "rank")


@app.command()
@click.argument("study")
@click.option("--kind", type=click.Choice(list(PLOTS)), default="history", show_default=True,
              help="Which plot (hyperdial.visualization).")
@click.option("--params", "params", multiple=True, metavar="NAME",
              help="Parameters to plot (repeat; contour needs exactly two).")
@click.option("--objective", metavar="N|NAME",
              help="With several objectives: the one to draw (0-based number or metric name), "
                   "in the plots of one value.")
@click.option("--output", "-o", required=True, metavar="FILE.html",
              help="Where to write the figure, as a standalone HTML page.")
@storage_option
def plot(study: str, kind: str, params: tuple[str, ...], objective: str | None, output: str,
         url: str) -> None:
    """Draw a plot of STUDY into an HTML file (needs the viz extra)."""
    try:
        import plotly  # noqa: F401 - checked here for one clear line
    except ImportError:
        raise click.ClickException("hyperdial plot needs the viz extra: pip install "
                                   "'hyperdial[viz]'") from None
    from hyperdial import visualization

    if kind == "contour" and (len(params) != 2 or len(set(params)) != 2):
        raise BadArgument("--kind contour needs two different --params")
    for option, given, kinds in (("--params", params, PLOTS_OF_PARAMS),
                                 ("--objective", objective, PLOTS_OF_ONE_VALUE)):
        if given and kind not in kinds:
            raise BadArgument(f"{option} does not apply to --kind {kind} (only to "
                              f"{', '.join(kinds)})")
    s = open_study(open_storage(url), study)
    history = s.history()
    if kind == "pareto" and history.n_objectives not in (2, 3):
        raise BadArgument(f"--kind pareto draws a study of 2 or 3 objectives; {study!r} has "
                          f"{history.n_objectives}")
    kwargs: dict[str, Any] = {}
    if kind in PLOTS_OF_PARAMS:
        held = {name for t in history.completed for name in t.params}
        unknown = [name for name in params if name not in held]
        if unknown and held:  # (with no completed trial, the plot says so itself)
            raise BadArgument(f"--params {', '.join(unknown)}: no completed trial of {study!r} "
                              f"holds it; they hold {', '.join(sorted(held))}")
        kwargs["params"] = list(params) or None
    index = (pick_objective(study, history, s.metric_names, objective)
             if kind in PLOTS_OF_ONE_VALUE else None)
    if index is not None:  # the plots take lower as better: a maximised one is drawn negated
        label = objective_label(s.metric_names, index)
        kwargs.update(target=objective_target(history, index),
                      target_name=label if history.sign(index) > 0 else f"-{label} (maximised)")
    try:
        fig = getattr(visualization, PLOTS[kind])(history, **kwargs)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        fig.write_html(output, include_plotlyjs=True)  # standalone: works offline
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote the {kind} plot of {study!r} to {output}")


@app.command()
@click.argument("study")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="File to write (default: stdout).")
@storage_option
def export(study: str, fmt: str, output: Any, url: str) -> None:
    """Write every trial of STUDY as CSV or JSON."""
    s = open_study(open_storage(url), study)
    if fmt == "json":
        r.write_json(s.trials, output)
    else:
        r.write_csv(s.trials, len(s.directions), output, s.metric_names)


@app.command()
@click.argument("study")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@storage_option
def delete(study: str, yes: bool, url: str) -> None:
    """Delete STUDY and all its trials, and the checkpoints population-based training kept
    for it beside the database."""
    storage = open_storage(url)
    info = storage.get_study(study)
    if not yes:
        try:
            ok = click.confirm(f"Delete study {study!r} and its "
                               f"{r.plural(info.n_trials, 'trial')} from {safe_url(url)}?",
                               err=True)
        except click.Abort:
            click.echo(err=True)
            raise click.ClickException("no confirmation (stdin is closed); pass --yes to delete "
                                       "without asking") from None
        if not ok:
            raise click.ClickException(f"study {study!r} was not deleted")
    from hyperdial.schedulers._run import holds_checkpoints

    if holds_checkpoints(url, info.id, study):  # population-based training kept checkpoints
        from hyperdial.schedulers import delete_study as delete_with_checkpoints

        delete_with_checkpoints(study_name=study, storage=storage)
        click.echo(f"deleted study {study!r} and its checkpoints")
        return
    storage.delete_study(study)
    click.echo(f"deleted study {study!r}")


@app.command()
@click.argument("study")
@click.argument("new_name")
@storage_option
def rename(study: str, new_name: str, url: str) -> None:
    """Rename STUDY to NEW_NAME."""
    storage = open_storage(url)
    try:
        check_study_name(new_name, "NEW_NAME")
    except ValueError as exc:
        raise BadArgument(str(exc)) from None
    storage.rename_study(study, new_name)
    click.echo(f"renamed study {study!r} to {new_name!r}")


@app.command()
@click.argument("study")
@click.option("--to-storage", required=True, metavar="URL", help="Storage to copy into.")
@click.option("--to-name", metavar="NAME", help="Name of the copy (default: the same).")
@storage_option
def copy(study: str, to_storage: str, to_name: str | None, url: str) -> None:
    """Copy STUDY and its trials to another storage or name."""
    if to_name is not None:
        try:
            check_study_name(to_name, "--to-name")
        except ValueError as exc:
            raise BadArgument(str(exc)) from None
    source = open_storage(url)
    source.get_study(study)  # a missing study names its storage, and no target file is made
    target = open_storage(to_storage, create=True) if to_storage != url else source
    copy_study(from_study_name=study, from_storage=source, to_storage=target,
               to_study_name=to_name)
    click.echo(f"copied study {study!r} to {safe_url(to_storage)} as {to_name or study!r}")


@app.command()
@click.argument("target", metavar="FILE.py:FUNCTION")
@click.option("--study", "study_name", required=True, metavar="NAME",
              help="Study to create or resume.")
@click.option("--n-trials", type=int, required=True, metavar="N", help="Trials to run.")
@click.option("--timeout", type=float, metavar="S", help="Stop starting trials after S seconds.")
@click.option("--sampler", metavar="NAME", help="Sampler, by its name in "
              "hyperdial.samplers.SAMPLERS (default: auto).")
@click.option("--seed", type=int, metavar="N", help="Seed of the sampler.")
@click.option("--pruner", metavar="NAME", help="Pruner, by its name in "
              "hyperdial.pruners.PRUNERS, with its defaults (default: median for one "
              "objective, nop for several).")
@click.option("--direction", "directions", multiple=True,
              type=click.Choice(["minimize", "maximize"], case_sensitive=False),
              help="Repeat once per objective (default: minimize, or the study's own).")
@click.option("--n-jobs", type=int, default=1, show_default=True, metavar="N",
              help="Trials run at once, in threads (-1: one per CPU).")
@click.option("--catch", "catch_names", multiple=True, metavar="EXCEPTION",
              help="An exception (ValueError, or a dotted path) that fails its trial and lets "
                   "the run go on; repeatable. Others stop the run.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the best trial.")
@storage_option
def run(target: str, study_name: str, n_trials: int, timeout: float | None, sampler: str | None,
        seed: int | None, pruner: str | None, directions: tuple[str, ...], n_jobs: int,
        catch_names: tuple[str, ...], quiet: bool, url: str) -> None:
    """Optimise FILE.py:FUNCTION in a study, created or resumed.

    FUNCTION takes a trial and returns the value(s) to optimise, as for Study.optimize.
    """
    try:
        check_study_name(study_name, "--study")
    except ValueError as exc:
        raise BadArgument(str(exc)) from None
    positive("--n-trials", n_trials)
    positive("--timeout", timeout)
    if n_jobs != -1:
        positive("--n-jobs", n_jobs)
    check_seed(seed)
    objective, module = load_objective(target)
    catch = tuple(exception_class(name, module) for name in catch_names)
    chosen = make_sampler(sampler, seed)
    chosen_pruner = make_pruner(pruner)
    storage = open_storage(url, create=True)
    if not directions:  # resume with the study's own directions
        try:
            directions = tuple(d.value for d in storage.get_study(study_name).directions)
        except StudyNotFound:
            directions = ("minimize",)
    try:
        s = create_study(study_name=study_name, storage=storage, directions=list(directions),
                         sampler=chosen, pruner=chosen_pruner, load_if_exists=True)
    except ValueError as exc:  # --direction against the study's own directions
        raise BadArgument(str(exc)) from None
    done: list[TrialRecord] = []  # this run's trials (other workers may share the study)
    with quiet_logs(quiet):
        try:
            s.optimize(objective, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                       catch=catch, callbacks=[lambda _, record: done.append(record)],
                       show_progress_bar=not quiet and sys.stderr.isatty())
        except KeyboardInterrupt:
            counts = state_counts(done)
            click.echo(f"\ninterrupted: this run finished {r.plural(len(done), 'trial')} ("
                       f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} "
                       f"pruned, {counts[TrialState.FAIL]} failed), kept with the others in "
                       f"study {study_name!r} ({len(s.trials)} in total; any trial cut short is "
                       "marked failed). Run the same command to go on.", err=True)
            sys.exit(130)  # the shell's code for a run ended by Ctrl-C
        except Exception as exc:
            raise report_run_error(exc, s) from None
    if not quiet:
        counts = state_counts(done)
        click.echo(f"study {study_name!r}: ran {r.plural(len(done), 'trial')} ("
                   f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
                   f"{counts[TrialState.FAIL]} failed), {len(s.trials)} in total")
    ranked = print_best(s)
    if not quiet and len(s.directions) == 1:
        r.show("top 5 trials", r.trials_table(ranked[:5], 1, metric_names=s.metric_names))
