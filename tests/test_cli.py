"""The ``hyperdial`` command, on real SQLite files: in-process (CliRunner) and as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("click")
pytest.importorskip("rich")

from click.testing import CliRunner, Result

import hyperdial as hd
from hyperdial import _cli_app, cli
from hyperdial.trial import TrialState

OBJECTIVES = '''
from neighbour import CENTRE  # the objective's folder is on sys.path
from hyperdial import TrialPruned

def quadratic(trial):
    x = trial.suggest_float("x", -5.0, 5.0)
    n = trial.suggest_int("n", 0, 3)
    trial.set_user_attr("tag", "q")
    trial.report(x * x, step=0)
    trial.report(float("nan"), step=1)
    return (x - CENTRE) ** 2 + n

def two(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    return x, (1.0 - x) ** 2

def broken(trial):
    trial.suggest_float("x", 0.0, 1.0)
    raise RuntimeError("boom")

def curve(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(1, 10):
        trial.report(x + 1.0 / step, step)
        if trial.should_prune():
            raise TrialPruned()
    return x

NOT_A_FUNCTION = 42
'''


@pytest.fixture(autouse=True)
def _restore_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`run` puts the objective's folder on sys.path and its modules in sys.modules."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in ("neighbour", "_hyperdial_objective_objectives"):
        sys.modules.pop(name, None)


@pytest.fixture
def objectives(tmp_path: Path) -> Path:
    path = tmp_path / "objectives.py"
    path.write_text(OBJECTIVES)
    (tmp_path / "neighbour.py").write_text("CENTRE = 1.0\n")
    return path


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hd.db'}"


def invoke(*args: str, url: str | None = None, input: str | None = None) -> Result:
    extra = ["--storage", url] if url is not None else []
    return CliRunner().invoke(_cli_app.app, [*args, *extra], input=input)


def ok(*args: str, url: str | None = None, input: str | None = None) -> str:
    result = invoke(*args, url=url, input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def one_line_error(result: Result) -> str:
    """The error message, checked to be a single line on stderr with no traceback."""
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def numbers(table: str) -> list[int]:
    """Trial numbers: the first cell of each table row."""
    return [int(m) for m in re.findall(r"^(\d+) ", table, re.MULTILINE)]


def run_quadratic(objectives: Path, url: str, *extra: str, n: int = 10) -> str:
    return ok("run", f"{objectives}:quadratic", "--study", "quad", "--n-trials", str(n),
              "--seed", "0", *extra, url=url)


def test_run_then_inspect_export_rename_delete(objectives: Path, url: str, tmp_path: Path) -> None:
    out = run_quadratic(objectives, url)
    assert "ran 10 trials (10 complete, 0 pruned, 0 failed)" in out
    assert "best trial of 'quad' (minimize)" in out and "top 5 trials" in out

    studies = ok("studies", url=url)
    row = next(line.split() for line in studies.splitlines() if line.split()[:1] == ["quad"])
    assert row[1:7] == ["minimize", "10", "10", "0", "0", "0"]

    rows = ok("trials", "quad", url=url).splitlines()
    assert rows[0] == "study 'quad': 10 of 10 trials"
    assert sum(" COMPLETE " in line for line in rows) == 10
    assert "x=" in rows[-1] and "n=" in rows[-1]
    last = ok("trials", "quad", "--limit", "3", url=url)
    assert "3 of 10 trials" in last and numbers(last) == [7, 8, 9]
    assert "0 of 10 trials (FAIL only)" in ok("trials", "quad", "--state", "fail", url=url)

    best = ok("best", "quad", url=url)
    records = json.loads(ok("export", "quad", "--format", "json", url=url))
    top = min(records, key=lambda r: r["values"][0])
    assert re.search(rf"^ trial +{top['number']}$", best, re.MULTILINE) and "tag=q" in best

    assert len(records) == 10
    assert set(records[0]) == {"number", "state", "values", "params", "intermediate_values",
                               "user_attrs", "system_attrs", "datetime_start",
                               "datetime_complete", "duration"}
    first = records[0]
    assert first["state"] == "COMPLETE" and set(first["params"]) == {"x", "n"}
    assert first["intermediate_values"] == {"0": pytest.approx(first["params"]["x"] ** 2),
                                            "1": "nan"}  # strict JSON has no NaN
    assert first["user_attrs"] == {"tag": "q"}
    assert datetime.fromisoformat(first["datetime_complete"]) >= datetime.fromisoformat(
        first["datetime_start"])

    table = list(csv.DictReader(io.StringIO(ok("export", "quad", "--format", "csv", url=url))))
    assert len(table) == 10
    assert list(table[0]) == ["number", "value", "datetime_start", "datetime_complete",
                              "duration", "params_n", "params_x", "user_attrs_tag", "state",
                              "fail_reason"]  # Study.trials_dataframe's (Optuna's order)
    assert [r["state"] for r in table] == [r["state"] for r in records]
    assert [float(r["duration"]) for r in table] == [r["duration"] for r in records]
    assert [r["datetime_start"] for r in table] == [r["datetime_start"] for r in records]
    assert [float(r["value"]) for r in table] == [r["values"][0] for r in records]

    target = tmp_path / "out" / "trials.json"
    target.parent.mkdir()
    assert ok("export", "quad", "--format", "json", "--output", str(target), url=url) == ""
    assert json.loads(target.read_text()) == records

    assert ok("rename", "quad", "renamed", url=url).strip() == "renamed study 'quad' to 'renamed'"
    assert "no study named 'quad'" in one_line_error(invoke("best", "quad", url=url))
    assert ok("delete", "renamed", "--yes", url=url).strip() == "deleted study 'renamed'"
    assert invoke("studies", url=url).stderr.startswith("no studies in")


def test_a_parameter_set_to_none_reads_none_in_tables(url: str) -> None:
    study = hd.create_study(study_name="none", storage=url)
    for act in (None, "relu"):
        study.enqueue_trial({"act": act})
        trial = study.ask()
        trial.suggest_categorical("act", [None, "relu"])
        study.tell(trial, 1.0)
    table = ok("trials", "none", url=url)
    assert "act=None" in table and "act=-" not in table and "act=relu" in table


def test_multi_objective_shows_the_pareto_front(objectives: Path, url: str) -> None:
    out = ok("run", f"{objectives}:two", "--study", "mo", "--n-trials", "8", "--seed", "1",
             "--direction", "minimize", "--direction", "minimize", url=url)
    assert "Pareto front of 'mo' (minimize, minimize)" in out and "top 5" not in out
    best = ok("best", "mo", url=url)
    front = int(best.splitlines()[0].rsplit(":", 1)[1].split()[0])
    assert front == 8 and len(numbers(best)) == 8  # x against (1-x)²: nothing is dominated
    assert "front of" in ok("studies", url=url)
    header = ok("export", "mo", url=url).splitlines()[0].split(",")
    assert header[1:3] == ["values_0", "values_1"]
    hd.load_study(study_name="mo", storage=url).set_metric_names(["error", "size"])
    header = ok("export", "mo", url=url).splitlines()[0].split(",")
    assert header[1:3] == ["values_error", "values_size"]
    for command in ("best", "trials"):  # the tables title the values by the names too
        first = next(line for line in ok(command, "mo", url=url).splitlines() if "#" in line)
        assert first.split()[:4] == ["#", "state", "error", "size"], first


def test_run_resumes_a_study_with_its_own_direction(objectives: Path, url: str) -> None:
    run_quadratic(objectives, url, "--direction", "maximize", n=3)
    out = run_quadratic(objectives, url, "--quiet", n=4)
    assert out.splitlines()[0] == "best trial of 'quad' (maximize)" and "top 5" not in out
    assert "4 of 7 trials" in ok("trials", "quad", "--limit", "4", url=url)
    error = one_line_error(invoke("run", f"{objectives}:quadratic", "--study", "quad",
                                  "--n-trials", "1", "--direction", "minimize", url=url))
    assert "exists with directions ['maximize']" in error


def test_failing_objective_is_stored_and_reported(objectives: Path, url: str) -> None:
    result = invoke("run", f"{objectives}:broken", "--study", "b", "--n-trials", "3", url=url)
    assert result.exit_code == 1
    # the objective's own frames, then one line; none of hyperdial's or click's frames
    head, _, last = result.stderr.strip().rpartition("\n")
    assert f'File "{objectives}", line ' in head and "RuntimeError: boom" in head
    assert "_loop.py" not in head and "click" not in head
    assert last == ("Error: the objective raised RuntimeError in trial 0, marked FAIL; every "
                    "finished trial is kept (--catch RuntimeError fails such trials and goes on)")
    assert "RuntimeError: boom" in ok("export", "b", url=url)
    assert "1 of 1 trial (FAIL only)" in ok("trials", "b", "--state", "FAIL", url=url)
    assert "no completed trial" in one_line_error(invoke("best", "b", url=url))


def test_caught_exceptions_fail_their_trials_and_the_run_goes_on(objectives: Path,
                                                                 url: str) -> None:
    result = invoke("run", f"{objectives}:broken", "--study", "c", "--n-trials", "3",
                    "--catch", "RuntimeError", url=url)
    assert "ran 3 trials (0 complete, 0 pruned, 3 failed)" in result.stdout
    assert "no completed trial" in one_line_error(result)  # nothing to show as the best
    assert "3 of 3 trials (FAIL only)" in ok("trials", "c", "--state", "FAIL", url=url)
    for bad in ("Nope", "json.dumps", "no_such_module.Error"):
        error = one_line_error(invoke("run", f"{objectives}:broken", "--study", "c",
                                      "--n-trials", "1", "--catch", bad, url=url))
        assert f"--catch: {bad!r} is not an exception class" in error


def test_catch_takes_the_advice_it_gives(tmp_path: Path, url: str) -> None:
    """An exception class of the objective's own file, or one of hyperdial's, was named in the
    advice (--catch Diverged, --catch StudyNotFound) but refused, and its dotted path was
    accepted but never matched: the CLI loads the file under another module name."""
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "myexc.py").write_text(
        "class Diverged(Exception):\n    pass\n\n"
        "def objective(trial):\n"
        "    x = trial.suggest_float('x', 0, 1)\n"
        "    if trial.number % 2:\n        raise Diverged('nan loss')\n"
        "    return x\n")
    target = f"{folder / 'myexc.py'}:objective"
    stopped = invoke("run", target, "--study", "e", "--n-trials", "4", url=url)
    assert stopped.exit_code == 1 and stopped.stderr.strip().splitlines()[-1].endswith(
        "(--catch Diverged fails such trials and goes on)")
    for name in ("Diverged", "myexc.Diverged"):
        result = invoke("run", target, "--study", f"e-{name}", "--n-trials", "4", "--catch",
                        name, url=url)
        assert result.exit_code == 0 and "(2 complete, 0 pruned, 2 failed)" in result.stdout
    assert invoke("run", target, "--study", "f", "--n-trials", "1", "--catch",
                  "StudyNotFound", url=url).exit_code == 0  # hyperdial's, by its name
    # a class the file imports (the review: looked up in the objective's module, not the
    # file's, it was refused when the objective came from a third file)
    (folder / "errs.py").write_text("class Failure(Exception):\n    pass\n")
    (folder / "train.py").write_text(
        "from errs import Failure\n\n"
        "def objective(trial):\n"
        "    raise Failure(trial.suggest_float('x', 0, 1))\n")
    (folder / "main.py").write_text("from errs import Failure\nfrom train import objective\n")
    result = invoke("run", f"{folder / 'main.py'}:objective", "--study", "g", "--n-trials", "2",
                    "--catch", "Failure", url=url)
    assert "(0 complete, 0 pruned, 2 failed)" in result.stdout


def test_an_objective_file_that_fails_to_import_shows_its_own_frames(tmp_path: Path,
                                                                     url: str) -> None:
    """A syntax or import error in the objective's file came with about 12 frames of click
    and importlib before the user's."""
    for name, source, error in (("broken_import.py", "import no_such_module_xyz\n",
                                 "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
                                ("broken_syntax.py", "def objective(t:\n    return 1\n",
                                 "SyntaxError: '(' was never closed")):
        (tmp_path / name).write_text(source)
        result = invoke("run", f"{tmp_path / name}:objective", "--study", "s", "--n-trials",
                        "1", url=url)
        head, last = _stderr_parts(result)
        assert result.exit_code == 1 and last.startswith("Error: importing ") and error in last
        assert str(tmp_path / name) in head and "importlib" not in head and "click" not in head


def test_a_journal_url_with_options_is_one_line(tmp_path: Path) -> None:
    result = invoke("studies", url=f"journal:///{tmp_path}/j.jsonl?timeout=5")
    assert result.exit_code == 1 and "takes no options" in one_line_error(result)


def test_delete_asks_first(objectives: Path, url: str) -> None:
    run_quadratic(objectives, url, n=2)
    refused = invoke("delete", "quad", url=url, input="")
    assert "pass --yes" in refused.stderr.strip().splitlines()[-1] and refused.exit_code == 1
    assert "was not deleted" in invoke("delete", "quad", url=url, input="n\n").stderr
    assert "quad" in ok("studies", url=url)
    assert "deleted study 'quad'" in ok("delete", "quad", url=url, input="y\n")
    assert invoke("studies", url=url).stdout == ""


def test_copy_to_another_storage(objectives: Path, url: str, tmp_path: Path) -> None:
    run_quadratic(objectives, url, n=3)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert "as 'backup'" in ok("copy", "quad", "--to-storage", other, "--to-name", "backup",
                               url=url)
    assert ok("export", "backup", "--format", "json", url=other) == ok(
        "export", "quad", "--format", "json", url=url)
    ok("copy", "quad", "--to-storage", url, "--to-name", "twin", url=url)
    assert "already exists" in one_line_error(
        invoke("copy", "quad", "--to-storage", url, url=url))


def test_storage_from_environment(objectives: Path, url: str) -> None:
    run_quadratic(objectives, url, n=2)
    result = CliRunner(env={"HYPERDIAL_STORAGE": url}).invoke(_cli_app.app, ["studies"])
    assert result.exit_code == 0 and "quad" in result.stdout


def _newer_schema(tmp_path: Path) -> str:
    path = tmp_path / "newer.db"
    url = f"sqlite:///{path}"
    from hyperdial.storage import get_storage

    get_storage(url).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE hyperdial_meta SET value = '999' WHERE key LIKE '%version%'")
    db.close()
    return url


def _foreign_db(tmp_path: Path) -> str:
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    db.close()
    return f"sqlite:///{path}"


def _garbage(tmp_path: Path) -> str:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(("args", "storage", "expected"), [
    (["best", "nope"], None, "no study named 'nope'"),
    (["trials", "nope"], None, "no study named 'nope'"),
    (["studies"], "missing", "no database file"),
    (["studies"], "bad-url", "cannot open storage"),
    (["studies"], "foreign", "not a hyperdial"),
    (["studies"], "garbage", "not a hyperdial"),
    (["studies"], "folder", "is a folder; name a database file inside it"),
    (["studies"], "newer", "upgrade hyperdial"),
    (["rename", "nope", "x"], None, "no study named 'nope'"),
    (["run", "{dir}/missing.py:f", "--study", "s", "--n-trials", "3"], None, "no such file"),
    (["run", "{file}:nope", "--study", "s", "--n-trials", "3"], None,
     "has no function 'nope' (it defines: broken, curve, quadratic, two)"),
    (["run", "{file}:two", "--study", "s", "--n-trials", "2", "--n-jobs", "0"], None,
     "--n-jobs must be positive"),
    (["run", "{file}:NOT_A_FUNCTION", "--study", "s", "--n-trials", "3"], None, "not callable"),
    (["run", "{file}", "--study", "s", "--n-trials", "3"], None, "expected FILE.py:FUNCTION"),
    (["run", "{file}:two", "--study", "s", "--n-trials", "0"], None,
     "--n-trials must be positive, got 0"),
    (["run", "{file}:two", "--study", "s", "--n-trials", "2", "--sampler", "nope"], None,
     "unknown sampler 'nope'; available: "),
    (["run", "{file}:two", "--study", "s", "--n-trials", "2", "--sampler", "grid"], None,
     "sampler 'grid' cannot be built"),
    (["run", "{file}:two", "--study", "s", "--n-trials", "2", "--pruner", "nope"], None,
     "unknown pruner 'nope'; available: hyperband, median, nop, "),
    (["run", "{file}:two", "--study", "s", "--n-trials", "2", "--pruner", "percentile"], None,
     "pruner 'percentile' cannot be built"),
    (["run", "{file}:two", "--study", "s", "--n-trials", "2", "--pruner", "threshold"], None,
     "pruner 'threshold' cannot be built from the command line: give lower, upper or both"),
    (["trials", "quad", "--limit", "-1"], None, "--limit must be positive"),
])
def test_errors_are_one_line(args: list[str], storage: str | None, expected: str,
                             objectives: Path, url: str, tmp_path: Path) -> None:
    run_quadratic(objectives, url, n=1)
    urls = {None: url, "missing": f"sqlite:///{tmp_path / 'none.db'}",
            "bad-url": "nosuchdb://x", "foreign": _foreign_db, "garbage": _garbage,
            "newer": _newer_schema, "folder": lambda tmp: f"sqlite:///{tmp}"}
    target = urls[storage]
    target = target(tmp_path) if callable(target) else target
    args = [a.format(dir=tmp_path, file=objectives) for a in args]
    error = one_line_error(invoke(*args, url=target))
    assert expected in error
    assert error.count("cannot open") <= 1, error


def test_a_read_only_sqlite_uri_is_read(objectives: Path, url: str) -> None:
    run_quadratic(objectives, url, n=3)
    path = url[len("sqlite:///"):]
    assert "quad" in ok("studies", url=f"sqlite:///file:{path}?mode=ro&uri=true")


def test_password_is_masked_in_messages() -> None:
    assert _cli_app.safe_url("postgresql+psycopg://me:s3cret@db/hd") == \
        "postgresql+psycopg://me:***@db/hd"
    assert _cli_app.safe_url("sqlite:///a.db") == "sqlite:///a.db"


def test_missing_extra_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "click", None)
    monkeypatch.delitem(sys.modules, "hyperdial._cli_app")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["studies"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == cli.MISSING_EXTRA + "\n"


def _console_script() -> str:
    script = Path(sys.executable).parent / "hyperdial"
    if not script.exists():
        pytest.skip("the hyperdial console script is not installed")
    return str(script)


def test_console_script_end_to_end(objectives: Path, url: str, tmp_path: Path) -> None:
    exe = _console_script()
    env = {**os.environ, "HYPERDIAL_STORAGE": url, "NO_COLOR": "1"}

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=60, check=False)

    done = sh("run", "objectives.py:quadratic", "--study", "sub", "--n-trials", "10",
              "--seed", "3", "--n-jobs", "2")
    assert done.returncode == 0, done.stderr
    assert "ran 10 trials (10 complete" in done.stdout and done.stderr == ""
    exported = sh("export", "sub", "--format", "json")
    assert len(json.loads(exported.stdout)) == 10
    failed = sh("best", "missing-study")
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.strip().splitlines() == [
        f"Error: no study named 'missing-study' in {url}, which holds 'sub'"]


HANGS_ON_THIRD = '''
import pathlib, threading

def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    if trial.number == 2:  # tell the test where we are, then wait for its Ctrl-C
        pathlib.Path("third-started").touch()
        threading.Event().wait()
    return x
'''


def test_ctrl_c_keeps_the_finished_trials_says_so_and_the_run_resumes(
        url: str, tmp_path: Path) -> None:
    exe = _console_script()
    (tmp_path / "hang.py").write_text(HANGS_ON_THIRD)
    env = {**os.environ, "HYPERDIAL_STORAGE": url, "NO_COLOR": "1"}
    run = [exe, "run", "hang.py:objective", "--study", "c", "--n-trials", "5", "--seed", "0"]
    proc = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path,  # Ctrl-C as from a terminal, not ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "third-started").exists():  # polls a file the run writes
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted: this run finished 2 trials (2 complete, 0 pruned, 0 failed)" in err
    assert "3 in total" in err and "Run the same command to go on." in err
    trials = hd.load_study(study_name="c", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.FAIL]
    assert "interrupted" in trials[2].system_attrs["fail_reason"]
    (tmp_path / "hang.py").write_text(HANGS_ON_THIRD.replace("== 2", "== -1"))
    resumed = subprocess.run([*run[:5], "--n-trials", "2", "-q"], capture_output=True,
                             text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert len(hd.load_study(study_name="c", storage=url).trials) == 5


def test_importance_ranks_the_parameters_and_pairs(objectives: Path, url: str) -> None:
    """quadratic is (x - 1)^2 + n: x decides, n adds a step; on two objectives one is chosen."""
    run_quadratic(objectives, url, "--sampler", "random", n=60)
    out = ok("importance", "quad", "--interactions", url=url)
    rows = re.findall(r"^(\w+)\s+([\d.]+)$", out, re.MULTILINE)
    assert [name for name, _ in rows][:2] == ["x", "n"]
    assert math.isclose(sum(float(v) for _, v in rows), 1.0, abs_tol=0.002)
    assert "x x n" in out
    ok("run", f"{objectives}:two", "--study", "mo", "--n-trials", "30", "--seed", "1",
       "--sampler", "random", "--direction", "minimize", "--direction", "minimize",
       url=url)
    assert "--objective" in one_line_error(invoke("importance", "mo", url=url))
    assert "x" in ok("importance", "mo", "--objective", "1", url=url)
    assert "0..1" in one_line_error(invoke("importance", "mo", "--objective", "2", url=url))
    ok("run", f"{objectives}:quadratic", "--study", "few", "--n-trials", "2", url=url)
    assert "needs 3 completed trials" in one_line_error(invoke("importance", "few", url=url))
    hd.create_study(study_name="empty", storage=url)
    assert "no completed trial" in one_line_error(invoke("importance", "empty", url=url))


def test_plot_writes_a_standalone_page(objectives: Path, url: str, tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    run_quadratic(objectives, url, "--sampler", "random", n=20)
    for kind, extra in (("history", ()), ("slice", ("--params", "x")),
                        ("contour", ("--params", "x", "--params", "n")), ("importance", ()),
                        ("timeline", ()), ("edf", ())):
        page = tmp_path / f"{kind}.html"
        assert "wrote the" in ok("plot", "quad", "--kind", kind, *extra, "-o", str(page),
                                 url=url)
        html = page.read_text()
        assert "plotly" in html and len(html) > 100_000  # plotly.js inlined: works offline
    assert "two different --params" in one_line_error(
        invoke("plot", "quad", "--kind", "contour", "-o", str(tmp_path / "c.html"), url=url))
    assert "2 or 3 objectives" in one_line_error(
        invoke("plot", "quad", "--kind", "pareto", "-o", str(tmp_path / "p.html"), url=url))


def test_plot_takes_params_where_they_apply(objectives: Path, url: str, tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    run_quadratic(objectives, url, "--sampler", "random", n=20)
    page = tmp_path / "rank.html"
    assert "wrote the" in ok("plot", "quad", "--kind", "rank", "--params", "x", "--params", "n",
                             "-o", str(page), url=url)
    for kind in ("rank", "slice", "parallel", "importance"):  # each checks the names it gets
        assert "zz" in one_line_error(invoke("plot", "quad", "--kind", kind, "--params", "zz",
                                             "-o", str(page), url=url))
    assert "--params does not apply to --kind history" in one_line_error(
        invoke("plot", "quad", "--kind", "history", "--params", "x", "-o", str(page), url=url))
    assert f"cannot write {tmp_path / 'no' / 'p.html'}: No such file or directory" in \
        one_line_error(invoke("plot", "quad", "-o", str(tmp_path / "no" / "p.html"), url=url))


@pytest.mark.parametrize(("pruner", "pruned"), [(None, True), ("nop", False),
                                                 ("hyperband", True)])
def test_run_prunes_with_the_default_or_the_named_pruner(
        pruner: str | None, pruned: bool, objectives: Path, url: str) -> None:
    extra = ("--pruner", pruner) if pruner else ()
    out = ok("run", f"{objectives}:curve", "--study", f"c-{pruner}", "--n-trials", "30",
             "--seed", "0", "--sampler", "random", *extra, url=url)
    counts = re.search(r"ran 30 trials \((\d+) complete, (\d+) pruned, 0 failed\)", out)
    assert counts is not None
    assert (int(counts.group(2)) > 0) is pruned


def test_best_and_top_trials_keep_to_feasible_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = hd.create_study(storage=url, study_name="c")
    for value, constraint in ((0.1, 1.0), (0.5, 0.0), (0.3, -2.0)):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_constraint("c", constraint)
        study.tell(trial, value)
    best = ok("best", "c", url=url)
    assert re.search(r"^ trial +2$", best, re.MULTILINE)  # 0.1 breaks its constraint


def test_the_dashboard_command_serves_the_storage(objectives: Path, url: str,
                                                  tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason="the dashboard extra is not installed")
    exe = _console_script()
    run_quadratic(objectives, url, n=5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([exe, "dashboard", "--storage", url, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # printed before it starts serving
        assert f"on http://127.0.0.1:{port}/" in banner
        studies = None
        deadline = time.monotonic() + 60
        while studies is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=5) as response:
                    studies = json.loads(response.read())
            except (ConnectionError, urllib.error.URLError):
                threading.Event().wait(0.05)  # not listening yet: uvicorn is starting
        assert studies is not None, server.stderr.read() if server.stderr else ""
        assert [(s["name"], s["n_trials"]) for s in studies] == [("quad", 5)]
        server.send_signal(signal.SIGINT)  # how it stops: no "Aborted!", exit 0 (it was 1)
        out, err = server.communicate(timeout=30)
        assert server.returncode == 0 and "Aborted" not in err
        assert out.strip().endswith("hyperdial dashboard stopped")
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)
    missing = invoke("dashboard", url=f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.exit_code == 1 and "no database file" in one_line_error(missing)


@pytest.mark.parametrize("module", ["fastapi", "uvicorn", "plotly"])
def test_the_dashboard_without_its_extra_says_which(objectives: Path, url: str, module: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run_quadratic(objectives, url, n=2)
    monkeypatch.setitem(sys.modules, module, None)  # importing it now fails
    result = invoke("dashboard", url=url)
    assert result.exit_code == 1
    assert one_line_error(result) == ("Error: hyperdial dashboard needs the dashboard extra: "
                                      f"this needs {module}: pip install 'hyperdial[dashboard]'")


@pytest.fixture
def wine_csv(tmp_path: Path) -> Path:
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def test_automl_on_a_csv_reports_saves_and_warm_starts_the_next(wine_csv: Path, url: str,
                                                                 tmp_path: Path) -> None:
    import joblib
    import pandas as pd

    model = tmp_path / "model.joblib"
    out = ok("automl", str(wine_csv), "--target", "target", "--n-trials", "5", "--cv", "3",
             "--models", "knn,logistic", "-o", str(model), url=url)
    assert "classification: best " in out and "study 'automl-wine'" in out
    held_out = re.search(r"held-out score on 36 rows: (\d\.\d+)", out)
    assert held_out is not None and float(held_out.group(1)) > 0.8
    study = hd.load_study(study_name="automl-wine", storage=url)
    assert len(study.trials) == 5 and study.user_attrs["automl_task"] == "classification"
    frame = pd.read_csv(wine_csv)
    loaded = joblib.load(model)  # the fitted AutoML model, string labels and all
    assert set(loaded.predict(frame.drop(columns=["target"]))) <= set(frame["target"])
    assert ("predicting with an ensemble of" in out) == (loaded.ensemble_ is not None)
    # Another dataset in the same storage starts from the best configuration found above.
    shuffled = frame.sample(frac=1.0, random_state=1)
    other = tmp_path / "wine2.csv"
    shuffled.to_csv(other, index=False)
    ok("automl", str(other), "--target", "target", "--n-trials", "2", "--cv", "3",
       "--models", "knn,logistic", "--test-size", "0", url=url)
    first = hd.load_study(study_name="automl-wine2", storage=url).trials[0]
    assert first.params == study.best_params and first.user_attrs["warm_start"]


def test_automl_guesses_regression_and_refuses_bad_input(wine_csv: Path, url: str) -> None:
    out = ok("automl", str(wine_csv), "--target", "proline", "--n-trials", "3", "--cv", "3",
             "--models", "ridge", "--fit-timeout", "60", url=url)
    assert "regression: best ridge" in out
    assert "--fit-timeout must be" in one_line_error(invoke(
        "automl", str(wine_csv), "--target", "target", "--fit-timeout", "0", url=url))
    assert "no column 'nope'" in one_line_error(invoke("automl", str(wine_csv), "--target",
                                                       "nope", url=url))
    assert "--test-size must be" in one_line_error(invoke(
        "automl", str(wine_csv), "--target", "target", "--test-size", "1.5", url=url))
    assert "--ensemble-size must be >= 0" in one_line_error(invoke(
        "automl", str(wine_csv), "--target", "target", "--ensemble-size", "-1", url=url))
    assert "unknown classification model 'svr'" in one_line_error(invoke(
        "automl", str(wine_csv), "--target", "target", "--models", "svr", url=url))
    # bad data: one line, not pandas' or scikit-learn's traceback
    empty = wine_csv.with_name("empty.csv")
    empty.write_text("")
    result = invoke("automl", str(empty), "--target", "target", url=url)
    assert result.exit_code == 2 and "is not a readable CSV table" in one_line_error(result)
    tiny = wine_csv.with_name("tiny.csv")
    tiny.write_text("a,target\n1,1\n2,2\n")
    result = invoke("automl", str(tiny), "--target", "target", "--cv", "2", url=url)
    assert result.exit_code == 2 and "--test-size 0.2: The least populated class" in (
        one_line_error(result))


# -- management commands: the right storage named, nothing left behind ------------------------
def test_copy_of_a_missing_study_names_the_source_and_creates_no_target(
        objectives: Path, url: str, tmp_path: Path) -> None:
    run_quadratic(objectives, url, n=2)
    new = tmp_path / "new.db"
    result = invoke("copy", "typo", "--to-storage", f"sqlite:///{new}", url=url)
    assert one_line_error(result) == f"Error: no study named 'typo' in {url}, which holds 'quad'"
    assert result.exit_code == 1 and not new.exists()
    for bad in ("", "   "):
        result = invoke("copy", "quad", "--to-storage", f"sqlite:///{new}", "--to-name", bad,
                        url=url)
        assert result.exit_code == 2 and "--to-name must be a non-empty string" in (
            one_line_error(result))
        assert not new.exists()


def test_rename_to_a_blank_name_is_refused(objectives: Path, url: str) -> None:
    run_quadratic(objectives, url, n=2)
    result = invoke("rename", "quad", "  ", url=url)
    assert result.exit_code == 2 and "NEW_NAME must be a non-empty string" in one_line_error(
        result)
    assert hd.get_all_study_names(url) == ["quad"]


def test_studies_lists_a_study_whose_stored_name_is_not_a_string(tmp_path: Path) -> None:
    """Journals written before rename checked names may hold a None name."""
    path = tmp_path / "j.jsonl"
    hd.create_study(study_name="a", storage=f"journal:///{path}")
    with path.open("a") as f:
        f.write(json.dumps({"t": 0.0, "op": "rename_study",
                            "args": {"name": "a", "new_name": None}}) + "\n")
    assert re.search(r"^None +minimize", ok("studies", url=f"journal:///{path}"), re.MULTILINE)


def test_best_when_no_completed_trial_is_feasible_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inf.db'}"
    study = hd.create_study(storage=url, study_name="c")
    trial = study.ask()
    trial.set_constraint("c", 1.0)
    study.tell(trial, 0.5)
    assert one_line_error(invoke("best", "c", url=url)) == (
        "Error: study 'c' has no feasible completed trial (every completed trial breaks a "
        "constraint set with trial.set_constraint)")
    hd.create_study(storage=url, study_name="empty")
    assert one_line_error(invoke("best", "empty", url=url)) == (
        "Error: study 'empty' has no completed trial")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The addresses of the sockets `dashboard` hands to uvicorn, which serves nothing here."""
    pytest.importorskip("fastapi", reason="the dashboard extra is not installed")
    import uvicorn

    addresses: list[tuple[str, int]] = []

    def run(self: Any, sockets: list[socket.socket] | None = None) -> None:
        addresses.extend(sock.getsockname() for sock in sockets or [])

    monkeypatch.setattr(uvicorn.Server, "run", run)
    # uvicorn's logging set up on the CliRunner's stderr, closed after the command, broke a
    # later module's first log line (Keras's, when collected after this file)
    monkeypatch.setattr(uvicorn.Config, "configure_logging", lambda self: None)
    return addresses


def test_the_dashboard_on_a_taken_port_or_a_bad_host_says_so_in_one_line(
        objectives: Path, url: str, served: list[tuple[str, int]]) -> None:
    run_quadratic(objectives, url, n=2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("dashboard", "--port", str(port), url=url)
    assert result.exit_code == 1 and result.stdout == ""  # no banner for a server never up
    assert one_line_error(result).startswith(
        f"Error: cannot serve the dashboard on 127.0.0.1:{port}: ")
    result = invoke("dashboard", "--host", "192.0.2.1", url=url)  # no interface has it
    assert result.exit_code == 1 and result.stdout == ""
    assert one_line_error(result).startswith("Error: cannot serve the dashboard on 192.0.2.1:")
    assert served == []


def test_the_dashboard_on_port_0_prints_the_port_it_bound(
        objectives: Path, url: str, served: list[tuple[str, int]]) -> None:
    run_quadratic(objectives, url, n=2)
    banner = ok("dashboard", "--port", "0", url=url)
    ((host, port),) = served
    assert host == "127.0.0.1" and port != 0
    assert banner == (f"hyperdial dashboard of {url} on http://127.0.0.1:{port}/ (Ctrl-C stops)\n"
                      "hyperdial dashboard stopped\n")


# -- whose error ends a run; bad option values; one objective of several ----------------------
def _stderr_parts(result: Result) -> tuple[str, str]:
    """The traceback a failed run printed, and its last line."""
    head, _, last = result.stderr.strip().rpartition("\n")
    return head, last


def test_a_hyperdial_error_in_the_objective_is_the_objectives(url: str, tmp_path: Path) -> None:
    """It kept no traceback and named the run's storage, as if opening it had failed."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    hd.create_study(study_name="elsewhere", storage=other)
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "objectives.py").write_text(
        "import hyperdial as hd\n\n"
        "def loads(trial):\n"
        "    trial.suggest_float('x', 0, 1)\n"
        f"    return hd.load_study(study_name='reference', storage={other!r}).best_value\n")
    result = invoke("run", f"{folder / 'objectives.py'}:loads", "--study", "s", "--n-trials",
                    "2", url=url)
    assert result.exit_code == 1
    head, last = _stderr_parts(result)
    assert head.startswith("Traceback") and "in loads" in head and "StudyNotFound" in head
    assert last == ("Error: the objective raised StudyNotFound in trial 0, marked FAIL; every "
                    "finished trial is kept (--catch StudyNotFound fails such trials and goes "
                    "on)")
    assert "1 of 1 trial (FAIL only)" in ok("trials", "s", "--state", "fail", url=url)


def test_with_several_jobs_the_traceback_starts_in_the_objective(objectives: Path,
                                                                 url: str) -> None:
    result = invoke("run", f"{objectives}:broken", "--study", "b", "--n-trials", "4",
                    "--n-jobs", "2", url=url)
    head, last = _stderr_parts(result)
    first_frame = head.splitlines()[1]
    assert first_frame.startswith(f'  File "{objectives}", line '), head
    assert "concurrent" not in head and "threading" not in head and "_loop.py" not in head
    assert last.startswith("Error: the objective raised RuntimeError in trial ")


def test_a_sampler_that_fails_to_start_a_trial_is_not_the_objective(
        objectives: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trial 1 fails as it starts (the sampler raises proposing it); --catch cannot help."""
    propose = hd.samplers.RandomSampler.propose

    def fails_after_a_trial(self: Any, history: Any, space: Any, rng: Any) -> dict[str, Any]:
        if history.completed:
            raise ValueError("no proposal")
        return propose(self, history, space, rng)

    monkeypatch.setattr(hd.samplers.RandomSampler, "infer_space",
                        lambda self, history: history.completed_space)
    monkeypatch.setattr(hd.samplers.RandomSampler, "propose", fails_after_a_trial)
    monkeypatch.setattr(hd.samplers.RandomSampler, "reads_history", True)  # as it now does
    result = invoke("run", f"{objectives}:quadratic", "--study", "s", "--n-trials", "3",
                    "--sampler", "random", "--catch", "ValueError", url=url)
    assert result.exit_code == 1
    head, last = _stderr_parts(result)
    assert "in fails_after_a_trial" in head.splitlines()[1] and "ValueError: no proposal" in head
    assert last == ("Error: the sampler raised ValueError while starting trial 1 (the "
                    "objective did not run), marked FAIL; every finished trial is kept")
    trials = hd.load_study(study_name="s", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert trials[1].fail_reason == "starting it failed: ValueError: no proposal"


def test_a_sampler_that_fails_as_the_objective_suggests_is_named(objectives: Path,
                                                                url: str) -> None:
    result = invoke("run", f"{objectives}:quadratic", "--study", "s", "--n-trials", "3",
                    "--sampler", "bruteforce", url=url)
    head, last = _stderr_parts(result)
    assert f'File "{objectives}", line ' in head.splitlines()[1]  # where it suggested
    assert "BruteForceSampler needs finite distributions" in head
    assert last == ("Error: the sampler raised ValueError in trial 0 when the objective "
                    "suggested a parameter, marked FAIL; every finished trial is kept")


@pytest.mark.parametrize(("args", "expected"), [
    (["run", "{file}:quadratic", "--study", "", "--n-trials", "1"],
     "--study must be a non-empty string, got ''"),
    (["run", "{file}:quadratic", "--study", "s", "--n-trials", "1", "--seed", "-1"],
     "--seed must be 0 or more, got -1"),
    (["automl", "{file}", "--target", "y", "--seed", "-1"],
     "--seed must be in 0..4294967295, got -1"),  # scikit-learn's random_state
    (["run", "{file}:quadratic", "--study", "mo", "--n-trials", "1", "--direction", "maximize"],
     "exists with directions ['minimize', 'minimize']"),
    (["importance", "mo", "--objective", "5"], "--objective must be a number in 0..1, got '5'"),
    (["importance", "mo"], "study 'mo' has 2 objectives: choose one with --objective N|NAME"),
    (["plot", "mo", "--kind", "contour"], "--kind contour needs two different --params"),
    (["plot", "quad", "--kind", "contour", "--params", "x", "--params", "x"],
     "--kind contour needs two different --params"),  # (exited 1)
    (["plot", "mo", "--params", "x"], "--params does not apply to --kind history"),
    (["plot", "quad", "--kind", "slice", "--params", "zz"],
     "--params zz: no completed trial of 'quad' holds it; they hold"),  # (exited 1)
    (["plot", "mo", "--kind", "timeline", "--objective", "0"],
     "--objective does not apply to --kind timeline"),
    (["plot", "mo", "--kind", "slice"],
     "study 'mo' has 2 objectives: choose one with --objective N|NAME"),
    (["plot", "quad", "--kind", "pareto"],
     "--kind pareto draws a study of 2 or 3 objectives; 'quad' has 1"),
])
def test_bad_option_values_exit_with_2(args: list[str], expected: str, objectives: Path,
                                       url: str, tmp_path: Path) -> None:
    run_quadratic(objectives, url, n=2)
    ok("run", f"{objectives}:two", "--study", "mo", "--n-trials", "2", "--direction",
       "minimize", "--direction", "minimize", url=url)
    if args[0] == "plot":
        pytest.importorskip("plotly")
        args = [*args, "-o", str(tmp_path / "p.html")]
    result = invoke(*(a.format(file=objectives) for a in args), url=url)
    error = one_line_error(result)
    assert result.exit_code == 2 and expected in error
    assert "target=" not in error and "targets=" not in error


def test_plot_and_importance_take_one_objective_of_several(objectives: Path, url: str,
                                                           tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    ok("run", f"{objectives}:two", "--study", "mo", "--n-trials", "12", "--seed", "0",
       "--sampler", "random", "--direction", "minimize", "--direction", "maximize", url=url)
    page = tmp_path / "p.html"
    for kind in ("history", "slice", "parallel", "rank", "importance", "edf"):
        assert "wrote the" in ok("plot", "mo", "--kind", kind, "--objective", "1", "-o",
                                 str(page), url=url)
    assert "objective 1" in ok("importance", "mo", "--objective", "1", url=url)
    hd.load_study(study_name="mo", storage=url).set_metric_names(["x", "gap"])
    ok("plot", "mo", "--objective", "gap", "-o", str(page), url=url)
    assert "-gap (maximised)" in page.read_text()  # drawn negated: lower is better there
    ok("plot", "mo", "--objective", "x", "-o", str(page), url=url)
    assert "(maximised)" not in page.read_text()
    assert "parameter importance in 'mo' for gap (" in ok("importance", "mo", "--objective",
                                                           "gap", url=url)
    error = one_line_error(invoke("plot", "mo", "--objective", "size", "-o", str(page),
                                  url=url))
    assert error == "Error: --objective must be a number in 0..1 or one of 'x', 'gap', got 'size'"


def test_importance_of_a_small_study_is_judged_by_its_best_two_as_its_plot(
        objectives: Path, url: str, tmp_path: Path) -> None:
    """`importance` refused 5 trials ("raise target_quantile") that `plot` drew."""
    run_quadratic(objectives, url, "--sampler", "random", n=5)
    out = ok("importance", "quad", url=url)
    assert out.startswith("parameter importance in 'quad' (PED-ANOVA, best 2 of 5 completed "
                          "trials)")
    from hyperdial.visualization._series import importances

    shown = dict(re.findall(r"^(\w+)\s+([\d.]+)$", out, re.MULTILINE))
    drawn = importances(hd.load_study(study_name="quad", storage=url).history(), None, None,
                        None)
    assert {k: float(v) for k, v in shown.items()} == pytest.approx(drawn, abs=1e-3)


def test_export_of_a_study_without_trials_has_the_fixed_columns(url: str) -> None:
    hd.create_study(study_name="empty", storage=url)
    assert ok("export", "empty", url=url) == (
        "number,value,datetime_start,datetime_complete,duration,state,fail_reason\n")
    hd.create_study(study_name="mo", storage=url, directions=["minimize", "maximize"])
    assert ok("export", "mo", url=url).startswith("number,values_0,values_1,datetime_start,")


def test_json_export_keeps_infinite_constraints_apart(url: str) -> None:
    """Both +inf (always broken) and -inf (always met) constraints were written as null, so
    the file no longer told an infeasible trial from a feasible one."""
    study = hd.create_study(study_name="inf", storage=url, directions=["minimize", "minimize"])
    for bound in (math.inf, -math.inf):
        trial = study.ask()
        trial.set_constraint("c", bound)
        study.tell(trial, (0.0, 0.0))
    records = json.loads(ok("export", "inf", "--format", "json", url=url))
    assert [r["system_attrs"]["constraints:c"] for r in records] == ["inf", "-inf"]
    assert [float(r["system_attrs"]["constraints:c"]) for r in records] == [math.inf, -math.inf]


def test_an_unsupported_storage_scheme_lists_the_supported_ones(tmp_path: Path) -> None:
    error = one_line_error(invoke("studies", url="foo://bar"))
    assert "sqlite:///" in error and "postgresql+psycopg://" in error and "journal:///" in error
