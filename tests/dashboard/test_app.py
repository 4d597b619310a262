"""The dashboard against a real server: uvicorn on a free port over a real SQLite file, its
JSON API read with urllib, and its page driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the dashboard extra is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the dashboard extra is not installed")

import hyperdial as hd  # noqa: E402
from hyperdial.dashboard import create_app  # noqa: E402

CHROMIUM = os.environ.get("HYPERDIAL_CHROMIUM", "/usr/bin/chromium")
ODD_NAME = '<img src=x onerror="document.title=1">'
#: Choices that JSON or JavaScript would merge: None, True, 1, 1.0 and "true" are all apart.
CHOICES = [None, True, 1, 1.0, "true"]


def objective(trial: hd.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    layers = trial.suggest_int("layers", 1, 4)
    for step in range(3):
        trial.report(x * x + layers + 3 - step, step)
    trial.set_user_attr("note", "<b>kept as text</b>")
    return x * x + layers


@pytest.fixture()
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    study = hd.create_study(storage=url, study_name="demo", pruner=hd.pruners.NopPruner(),
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=30)
    pareto = hd.create_study(storage=url, study_name=ODD_NAME,
                             directions=["minimize", "minimize"])
    pareto.optimize(lambda t: (t.suggest_float("a", 0, 1), 1 - t.params["a"] ** 2), n_trials=8)
    pareto.set_metric_names(["error", "size"])
    return url


@pytest.fixture()
def server(url: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    tick = threading.Event()
    while not (srv.started or not thread.is_alive() or time.monotonic() > deadline):
        tick.wait(0.02)  # uvicorn offers a flag to poll, not an event to wait on
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


def study_path(name: str) -> str:
    """A study's API path, its name percent-encoded as the page encodes it (a "/" too)."""
    return "/api/studies/" + urllib.request.quote(name, safe="")


def add_choices_study(url: str, name: str) -> None:
    """A study whose trials take each of CHOICES for "c" (and 1 or "1" for "d"), then one that
    suggests neither but "x" alone."""
    study = hd.create_study(storage=url, study_name=name,
                            sampler=hd.samplers.RandomSampler(seed=0))
    for choice in CHOICES:
        study.enqueue_trial({"c": choice})
    study.optimize(lambda t: float(CHOICES.index(t.suggest_categorical("c", CHOICES))
                                   + len(str(t.suggest_categorical("d", [1, "1"])))),
                   n_trials=len(CHOICES))
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    study.tell(trial, 9.0)


def test_the_api_summarises_every_study(server: str, url: str) -> None:
    studies = {s["name"]: s for s in get(server, "/api/studies")}
    assert set(studies) == {"demo", ODD_NAME}
    demo = studies["demo"]
    assert demo["n_trials"] == 30 and demo["states"]["COMPLETE"] == 30
    assert demo["directions"] == ["minimize"] and demo["n_pareto"] is None
    best = hd.load_study(study_name="demo", storage=url).best_trial
    assert demo["best"]["number"] == best.number and demo["best"]["values"] == [best.value]
    assert studies[ODD_NAME]["best"] is None and studies[ODD_NAME]["n_pareto"] == 8


def test_a_study_page_payload_and_its_version(server: str, url: str) -> None:
    first = get(server, "/api/studies/demo")
    assert first["trials"]["number"] == list(range(30))
    assert len(first["recent"]) == 30 and first["recent"][0]["number"] == 29  # newest first
    assert first["recent"][0]["user_attrs"] == {"note": "<b>kept as text</b>"}
    assert [c["steps"] for c in first["curves"]] == [[0, 1, 2]] * 30
    assert set(first["importances"]) == {"x", "layers"}
    assert first["space"]["layers"] == {"type": "int", "low": 1, "high": 4, "log": False,
                                        "step": 1}
    trials = hd.load_study(study_name="demo", storage=url).trials
    assert first["params"]["x"] == [t.params["x"] for t in trials]
    assert math.isclose(sum(first["importances"].values()), 1.0)
    version = first["version"]
    assert get(server, f"/api/studies/demo?since={version}") == {
        "name": "demo", "version": version, "unchanged": True}
    hd.load_study(study_name="demo", storage=url).optimize(objective, n_trials=2)
    after = get(server, f"/api/studies/demo?since={version}")
    assert after["version"] != version and after["n_trials"] == 32  # one query, new events
    study = hd.load_study(study_name="demo", storage=url)
    study.set_user_attr("note", "renamed")  # the study's attributes are news too
    assert "unchanged" not in get(server, f"/api/studies/demo?since={after['version']}")
    multi = get(server, "/api/studies/" + urllib.request.quote(ODD_NAME, safe=""))
    assert len(multi["pareto"]) == 8 and multi["importances"] is None
    assert multi["metric_names"] == ["error", "size"] and multi["user_attrs"] == {}
    assert first["metric_names"] is None
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(server, "/api/studies/nope")
    assert missing.value.code == 404
    assert json.loads(missing.value.read()) == {"detail": "no study named 'nope'"}


def test_a_name_with_a_slash_is_served(server: str, url: str) -> None:
    """A "/" arrives decoded from %2F: the route still takes the whole name, never the study
    whose name it ends or starts with (nor redirects "a/" to "a"). By query, any name."""
    names = ["a", "a/b", "a/", "/a", "a/../b", "a//b", "/", ".", ".."]
    for name in names:
        hd.create_study(storage=url, study_name=name)
    assert set(names) <= {s["name"] for s in get(server, "/api/studies")}
    for name in names:
        assert get(server, study_path(name))["name"] == name
        assert get(server, "/api/study?name=" + urllib.request.quote(name, safe=""))["name"] == name
    version = get(server, study_path("a/b"))["version"]
    assert get(server, study_path("a/b") + f"?since={version}") == {
        "name": "a/b", "version": version, "unchanged": True}
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(server, study_path("a/nope"))
    assert json.loads(missing.value.read()) == {"detail": "no study named 'a/nope'"}


def test_a_missing_parameter_is_not_the_none_choice(url: str) -> None:
    """Categoricals go by their choice's position, as JSON merges 1 and 1.0 and has one null
    for the None choice and for a trial without the parameter; labels as the Python plots."""
    add_choices_study(url, "choices")
    page = create_app(url).state.dashboard.study("choices")
    assert page["space"]["c"] == {"type": "categorical", "choices": CHOICES}
    assert page["params"]["c"] == [0, 1, 2, 3, 4, None]
    assert page["params"]["d"][-1] is None and set(page["params"]["d"][:-1]) <= {0, 1}
    assert page["params"]["x"][:-1] == [None] * 5 and page["params"]["x"][-1] is not None
    assert page["choice_labels"] == {"c": ["None", "True", "1", "1.0", "true"],
                                     "d": ["1", "'1'"]}  # str(), or repr() where two meet


def test_a_small_study_and_a_range_widened_during_it(url: str) -> None:
    """Five trials have importances (PED-ANOVA's best 2 of them, as the plot's); a parameter
    whose range or choices grew is shown over all its values."""
    study = hd.create_study(storage=url, study_name="grew",
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1 if t.number < 2 else 10) + len(
        t.suggest_categorical("c", ["a"] if t.number < 2 else ["a", "bb"])), n_trials=5)
    page = create_app(url).state.dashboard.study("grew")
    assert page["space"]["x"] == {"type": "float", "low": 0.0, "high": 10.0, "log": False,
                                  "step": None}
    assert page["space"]["c"] == {"type": "categorical", "choices": ["a", "bb"]}
    assert page["params"]["x"] == [t.params["x"] for t in study.trials]
    assert page["params"]["c"] == [["a", "bb"].index(t.params["c"]) for t in study.trials]
    assert set(page["importances"]) == {"x", "c"} and page["importances_note"] is None


def test_the_app_never_writes(url: str) -> None:
    db = Path(url[len("sqlite:///"):])
    before = db.read_bytes()
    app_state = create_app(url).state.dashboard
    app_state.studies()
    app_state.study("demo")
    assert db.read_bytes() == before


@pytest.fixture()
def page(server: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (the dev extra has it)")
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.skip(f"LOUD SKIP: no Chromium at {CHROMIUM} (apt-get install chromium, or set "
                    "HYPERDIAL_CHROMIUM); the dashboard's browser test did not run")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        browser.close()
        assert not errors, errors


def test_the_page_lists_studies_and_follows_a_study_live(page: Any, server: str,
                                                          url: str) -> None:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(server + "/?interval=200")
    page.wait_for_selector("text=2 studies")
    names = page.locator("#studies tbody td:first-child").all_text_contents()
    assert sorted(names) == sorted(["demo", ODD_NAME])  # the odd name is text, not markup
    assert page.locator("#studies img").count() == 0 and page.title() == "hyperdial dashboard"

    page.locator("tr.study", has_text="demo").click()
    page.wait_for_selector("#summary:has-text('30 trials')")
    page.wait_for_selector("#history .main-svg")  # Plotly drew the history
    page.wait_for_selector("#importances .main-svg")
    page.wait_for_selector("#parallel .main-svg")
    assert page.locator("#trials tbody tr").count() == 30
    assert page.locator("#trials tbody tr").first.locator("td").first.inner_text() == "29"
    assert "<b>kept as text</b>" in page.locator("#trials tbody").inner_text()

    hd.load_study(study_name="demo", storage=url).optimize(objective, n_trials=5)
    page.wait_for_selector("#summary:has-text('35 trials')")  # no reload: the page polls
    assert page.locator("#trials tbody tr").count() == 35
    assert not console, console  # no request failed (a missing favicon.ico, say)

    page.goto(server + "/?interval=200")
    page.locator("tr.study", has_text="onerror").click()  # the two-objective study
    page.wait_for_selector("#history .xtitle:has-text('error (minimize)')")  # metric names
    page.wait_for_selector("#history .ytitle:has-text('size (minimize)')")

    page.goto(server + "/?interval=200#/study/nope")
    page.wait_for_selector("#error:has-text(\"no study named 'nope'\")")
    page.goto(server + "/?interval=200#/study/%E0%A4%A")  # no percent-encoded text
    page.wait_for_selector("#error:has-text('%E0%A4%A is not percent-encoded text')")


def test_the_page_opens_odd_names_and_keeps_choices_apart(page: Any, server: str,
                                                         url: str) -> None:
    add_choices_study(url, "a/b")
    for name, n in ((".", 1), ("..", 2)):  # names a browser resolves in a path
        hd.create_study(storage=url, study_name=name).optimize(objective, n_trials=n)
    page.goto(server + "/?interval=200")
    page.wait_for_selector("text=5 studies")
    page.locator("tr.study", has_text="a/b").click()
    page.wait_for_selector("#summary:has-text('6 trials')")
    page.wait_for_selector("#parallel .main-svg")
    c, d, x, _ = page.evaluate("document.getElementById('parallel').data[0].dimensions")
    # each choice at its own labelled place; the trial without "c" below them, marked
    assert c["values"] == [0, 1, 2, 3, 4, -1] and c["tickvals"] == [-1, 0, 1, 2, 3, 4]
    assert c["ticktext"] == ["(not set)", "None", "True", "1", "1.0", "true"]
    assert d["ticktext"] == ["(not set)", "1", "'1'"]
    unset = x["tickvals"][0]  # a number axis too: not drawn at 0, a value it never took
    assert x["ticktext"][0] == "(not set)" and unset < 0 and x["range"] == [unset, 1]
    assert x["values"][:5] == [unset] * 5 and 0 <= x["values"][5] <= 1
    # the table and the best trial label each choice as the parallel plot does
    shown = page.locator("#trials tbody td:nth-child(4)").all_text_contents()
    assert [p.split(",")[0] for p in shown[1:]] == ["c=true", "c=1.0", "c=1", "c=True", "c=None"]
    assert "(c=None, d=" in page.locator("#best").inner_text()  # None scores best

    for name, n in ((".", 1), ("..", 2)):
        page.locator("#home").click()  # back to the list, without loading the page again
        page.locator(f'tr.study[data-name="{name}"]').click()
        page.wait_for_selector(f"#summary:has-text('{n} trials')")
        assert page.locator("#study-title").inner_text() == name


def test_infeasible_trials_are_marked_and_never_the_best(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = hd.create_study(storage=url, study_name="c")
    for value, constraint in ((0.1, 1.0), (0.5, -1.0), (0.3, 0.0)):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_constraint("c", constraint)
        study.tell(trial, value)
    page = create_app(url).state.dashboard.study("c")
    assert page["trials"]["feasible"] == [False, True, True]
    assert page["best"]["number"] == 2
    assert page["recent"][-1]["constraints"] == {"c": 1.0}


def test_the_dashboard_follows_a_postgresql_study(pg_url: str) -> None:
    study = hd.create_study(storage=pg_url, study_name="pg", pruner=hd.pruners.NopPruner())
    study.optimize(objective, n_trials=5)
    board = create_app(pg_url).state.dashboard
    first = board.study("pg")
    assert first["n_trials"] == 5 and [s["name"] for s in board.studies()] == ["pg"]
    assert board.study("pg", since=first["version"])["unchanged"]
    study.optimize(objective, n_trials=3)
    later = board.study("pg", since=first["version"])
    assert later["n_trials"] == 8 and later["trials"]["number"] == list(range(8))


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_reading_beside_a_writing_worker_process(tmp_path: Path, kind: str) -> None:
    """A worker process writes 200 trials into the SQLite or journal file while the dashboard
    reads it over and over: no read fails or blocks the worker, a version names one state of
    the study (the same version, the same trials), and the last read holds every trial."""
    import subprocess
    import sys

    url = (f"sqlite:///{tmp_path / 'busy.db'}" if kind == "sqlite"
           else f"journal:///{tmp_path / 'busy.jsonl'}")
    hd.create_study(storage=url, study_name="busy")
    script = ("import hyperdial as hd\n"
              f"s = hd.load_study(study_name='busy', storage={url!r})\n"
              "s.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=200)\n")
    worker = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    board = create_app(url).state.dashboard
    seen: dict[int, set[tuple[int, int]]] = {}
    while worker.poll() is None:
        page = board.study("busy")
        seen.setdefault(page["version"], set()).add((page["n_trials"],
                                                     page["states"]["COMPLETE"]))
    assert worker.wait(60) == 0, worker.stderr.read() if worker.stderr else ""
    final = board.study("busy")
    assert final["n_trials"] == 200 and final["states"]["COMPLETE"] == 200
    assert len(seen) >= 2 and all(len(states) == 1 for states in seen.values())


def test_the_page_says_when_every_completed_trial_is_infeasible(page: Any, server: str,
                                                               url: str) -> None:
    """It said "No completed trial yet" of a study whose completed trials all break a
    constraint (the CLI's best says it has no feasible trial)."""
    study = hd.create_study(storage=url, study_name="broken")
    for _ in range(3):
        trial = study.ask()
        trial.suggest_float("a", 0, 1)
        trial.set_constraint("c", 1.0)
        study.tell(trial, 1.0)
    page.goto(server + "/?interval=200#/study/broken")
    page.wait_for_selector("#best:has-text('No feasible trial yet')")
    assert "breaks a constraint" in page.locator("#best").inner_text()


def test_the_page_greys_infeasible_trials_and_writes_huge_numbers(page: Any, server: str,
                                                                  url: str) -> None:
    """A Pareto front's infeasible trials apart, in grey; values near 1e299 as numbers, not
    as digits or markup, and the parallel plot's title clear of its axes' names."""
    pareto = hd.create_study(storage=url, study_name="constrained",
                             directions=["minimize", "minimize"])
    for a in (0.1, 0.4, 0.7, 0.9):
        trial = pareto.ask()
        trial.suggest_float("a", 0, 1)
        trial.set_constraint("a <= 0.5", a - 0.5)
        pareto.tell(trial, (a, 1 - a))
    huge = hd.create_study(storage=url, study_name="huge",
                           sampler=hd.samplers.RandomSampler(seed=0))
    huge.optimize(lambda t: 3.7e18 if t.number == 0 else 1e299 * t.suggest_float("x", 1, 9),
                  n_trials=5)

    page.goto(server + "/?interval=200#/study/constrained")
    page.wait_for_selector("#history .main-svg")
    traces = page.evaluate("document.getElementById('history').data")
    assert [(t["name"], t["x"]) for t in traces] == [
        ("trial", []), ("Pareto front", [0.1, 0.4]), ("infeasible", [0.7, 0.9])]
    assert traces[2]["marker"]["color"] == "#bbbbbb"

    page.goto(server + "/?interval=200#/study/huge")
    # The hash changes the study in place: the previous study's plots and table stay until
    # the new one's arrive, so wait for its 5 rows (the constrained study has 4).
    page.wait_for_function("() => document.querySelectorAll('#trials tbody tr').length === 5")
    page.wait_for_selector("#parallel .main-svg")
    assert page.locator("#trials tbody tr").last.locator("td").nth(2).inner_text() == (
        "3.70000e+18")
    texts = page.locator("#parallel text").all_text_contents()
    assert texts and not any("<sup>" in t for t in texts)
    title, names = page.evaluate("""() => [
        document.querySelector('#parallel .gtitle').getBoundingClientRect().bottom,
        [...document.querySelectorAll('#parallel .axis-title')].map(
            (e) => e.getBoundingClientRect().top)]""")
    assert len(names) == 2 and title <= min(names)


def test_names_like_plotly_markup_are_drawn_as_written(page: Any, server: str,
                                                         url: str) -> None:
    """Plotly reads <b>, <br> and <a href> in its labels: parameter and metric names were
    drawn bold, broken over lines, or as a link; a mapping user attribute showed as
    "[object Object]" and an infinite one as "-" (a missing value)."""
    study = hd.create_study(storage=url, study_name="markup",
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.set_metric_names(["<b>loss</b><br>2nd"])

    def marked(trial: hd.Trial) -> float:
        trial.set_user_attr("d", {"k": [1, 2]})
        trial.set_user_attr("inf", float("inf"))
        trial.suggest_categorical("choice", ["<i>tilted</i>", "plain"])
        return (trial.suggest_float("<b>bold</b>", 0, 1)
                + trial.suggest_int("<a href='https://example.org'>link</a>", 0, 3))

    study.optimize(marked, n_trials=12)
    page.goto(server + "/?interval=200#/study/markup")
    page.wait_for_selector("#importances .main-svg")
    page.wait_for_selector("#parallel .main-svg")
    for plot in ("history", "importances", "parallel"):
        assert page.locator(f"#{plot} svg a").count() == 0  # no link drawn
    shown = " ".join(page.locator("#importances text, #parallel text, #history text")
                     .all_text_contents())
    assert "<b>bold</b>" in shown and "<a href='https://example.org'>link</a>" in shown
    assert "<b>loss</b><br>2nd (minimize)" in shown
    assert "<i>tilted</i>" in shown  # a choice's tick label: Plotly draws it as written
    attrs = page.locator("#trials tbody tr").first.locator("td").nth(5).inner_text()
    assert attrs == 'd={"k": [1, 2]}, inf=inf'


def test_a_study_made_again_under_its_name_is_news(tmp_path: Path) -> None:
    """The version was the last event read, counted within the study: a study deleted and
    made again under its name reached the old version, and a page kept the old study."""
    from hyperdial.dashboard import Dashboard

    url = f"sqlite:///{tmp_path / 'again.db'}"
    board = Dashboard(url)
    version: int | None = None
    for seed in (0, 1):
        study = hd.create_study(study_name="demo", storage=url,
                                sampler=hd.samplers.RandomSampler(seed=seed))
        study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=10)
        page = board.study("demo", since=version)
        assert "unchanged" not in page and page["best"]["values"] == [study.best_value]
        version = page["version"]
        if seed == 0:
            hd.delete_study(study_name="demo", storage=url)
    assert board.study("demo", since=version)["unchanged"]
    assert 0 <= version < 2**48


def test_infinite_constraints_and_attributes_keep_their_sign(tmp_path: Path) -> None:
    """``+inf`` (always broken) and ``-inf`` (always met) constraints both came out null, and
    the best trial's infinite user attribute null where ``recent`` showed "inf"."""
    from hyperdial.dashboard import Dashboard

    url = f"sqlite:///{tmp_path / 'inf.db'}"
    study = hd.create_study(study_name="s", storage=url)
    for bound in (math.inf, -math.inf):
        trial = study.ask()
        trial.set_constraint("c", bound)
        trial.set_user_attr("scale", math.inf)
        study.tell(trial, 1.0)
    page = Dashboard(url).study("s")
    assert [t["constraints"] for t in page["recent"]] == [{"c": "-inf"}, {"c": "inf"}]
    assert page["best"]["number"] == 1 and page["best"]["user_attrs"] == {"scale": "inf"}
