"""`hyperdial.visualization`: each figure holds the study's numbers."""

from __future__ import annotations

import itertools
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial import visualization as vis
from hyperdial.testing.objectives import lr_batch_ridge

StudyMaker = Callable[..., hd.Study]
ChoiceStudyMaker = Callable[[Sequence[Any]], hd.Study]

pytest.importorskip("plotly")


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_history_plots_every_completed_value_and_the_best_so_far(
        direction: str, make_study: StudyMaker) -> None:
    study = make_study(direction)
    fig = vis.plot_optimization_history(study)
    values, best = fig.data
    completed = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]
    assert list(values.x) == [t.number for t in completed]
    assert list(values.y) == [t.value for t in completed]
    running = np.minimum.accumulate if direction == "minimize" else np.maximum.accumulate
    assert np.allclose(best.y, running(np.array(values.y)))
    assert best.y[-1] == study.best_value


def test_history_draws_infeasible_trials_apart_and_never_as_the_best() -> None:
    study = hd.create_study()
    for value, constraint in ((0.5, 1.0), (3.0, 0.0), (0.1, 2.0), (2.0, -1.0)):
        trial = study.ask()
        trial.set_constraint("c", constraint)
        study.tell(trial, value)
    values, best, infeasible = vis.plot_optimization_history(study).data
    assert list(values.x) == [1, 3] and list(infeasible.x) == [0, 2]
    assert np.isnan(best.y[0]) and list(best.y[1:]) == [3.0, 3.0, 2.0]
    assert infeasible.name == "Infeasible trial"


def test_intermediate_values_draw_each_curve_and_dot_the_pruned(make_study: StudyMaker) -> None:
    study = make_study()
    fig = vis.plot_intermediate_values(study)
    assert len(fig.data) == len(study.trials)
    for trace, trial in zip(fig.data, study.trials, strict=True):
        assert list(trace.x) == sorted(trial.intermediate_values)
        assert (trace.line.dash == "dot") == (trial.state is hd.TrialState.PRUNED)


def test_intermediate_values_of_several_objectives_are_a_curve_per_objective(
        vector_report_study: hd.Study) -> None:
    fig = vis.plot_intermediate_values(vector_report_study)
    assert [trace.name for trace in fig.data] == ["Trial 0, loss", "Trial 0, size",
                                                  "Trial 1, loss", "Trial 1, size"]
    drawn = itertools.product(vector_report_study.trials, range(2))
    for trace, (trial, k) in zip(fig.data, drawn, strict=True):
        reports: Any = trial.intermediate_values  # tuples here
        assert list(trace.x) == [0, 1, 2]
        assert list(trace.y) == [reports[s][k] for s in range(3)]
    unnamed = vis.plot_intermediate_values(vector_report_study.history())  # no metric names
    assert unnamed.data[1].name == "Trial 0, objective 1"


def test_slice_has_a_panel_per_parameter_with_log_axes_where_the_scale_is(
        make_study: StudyMaker) -> None:
    study = make_study()
    fig = vis.plot_slice(study)
    assert [a.text for a in fig.layout.annotations] == ["lr", "act", "depth"]
    lr = fig.data[0]
    completed = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]
    assert list(lr.x) == [t.params["lr"] for t in completed]
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis2.type != "log"


def test_parallel_coordinate_axes(make_study: StudyMaker) -> None:
    study = make_study()
    dims = vis.plot_parallel_coordinate(study).data[0].dimensions
    assert [d.label for d in dims] == ["Objective value", "lr (log10)", "act", "depth"]
    assert list(dims[2].ticktext) == ["relu", "tanh"]
    completed = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]
    assert np.allclose(dims[1].values, [np.log10(t.params["lr"]) for t in completed])


def test_importance_bars_put_the_largest_on_top(make_study: StudyMaker) -> None:
    study = make_study()
    bar = vis.plot_param_importances(study).data[0]
    shares = hd.importance.get_param_importances(study)
    assert list(bar.y) == list(shares)[::-1] and list(bar.x) == list(shares.values())[::-1]


@pytest.mark.parametrize("m", [2, 3])
def test_pareto_front_highlights_exactly_the_front(m: int) -> None:
    def objective(trial: hd.Trial) -> tuple[float, ...]:
        x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(m)]
        return tuple(x[i] + 0.5 * x[(i + 1) % m] for i in range(m))

    study = hd.create_study(directions=["minimize"] * m,
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=40)
    others, front = vis.plot_pareto_front(study).data
    assert sorted(front.x) == sorted(t.values[0] for t in study.best_trials)
    assert len(others.x) + len(front.x) == 40
    assert (front.type == "scatter3d") == (m == 3)


def test_several_objectives_need_a_target_and_plots_need_plotly(
        monkeypatch: pytest.MonkeyPatch, make_study: StudyMaker) -> None:
    study = hd.create_study(directions=["minimize", "minimize", "minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1),) * 4, n_trials=3)
    with pytest.raises(ValueError, match="pass target="):
        vis.plot_optimization_history(study)
    assert vis.plot_optimization_history(study, target=lambda t: t.values[0]).data
    with pytest.raises(ValueError, match="2 or 3 objectives"):
        vis.plot_pareto_front(study)
    with pytest.raises(ValueError, match="no trial has completed"):
        vis.plot_slice(hd.create_study())
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ImportError, match=r"hyperdial\[viz\]"):
        vis.plot_optimization_history(make_study())


def test_contour_is_the_partial_dependence_and_finds_the_ridge() -> None:
    """The best learning rate moves with the batch size: along each batch row of the surface,
    the lowest point sits near the true best rate."""
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lr_batch_ridge, n_trials=150)
    surface, dots = vis.plot_contour(study, ["lr", "batch"]).data
    z, lr, batch = np.array(surface.z), np.array(surface.x), np.array(surface.y)
    for row in (0, len(batch) // 2, len(batch) - 1):
        best = 10 ** (-2 + 0.5 * np.log2(batch[row] / 64))
        assert abs(np.log10(lr[int(np.argmin(z[row]))] / best)) < 0.15
    assert len(dots.x) == 150
    by_act = vis.plot_contour(study, ["act", "lr"])
    assert list(by_act.data[0].x) == [0.0, 1.0]  # the choices' positions, labelled
    assert list(by_act.layout.xaxis.ticktext) == ["relu", "tanh"]
    with pytest.raises(ValueError, match="two parameters"):
        vis.plot_contour(study, ["lr"])
    # by default, the two most important parameters
    top = list(hd.importance.get_param_importances(study))[:2]
    assert "lr" in top and "dropout" not in top
    assert np.array_equal(vis.plot_contour(study).data[0].z, vis.plot_contour(study, top).data[0].z)
    one = hd.create_study()
    one.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=30)
    with pytest.raises(ValueError, match="hold 1 in common: name them"):
        vis.plot_contour(one)


def test_contour_by_default_takes_the_two_most_important_parameters_held_together() -> None:
    def objective(trial: hd.Trial) -> float:
        shared = trial.suggest_categorical("b", [True, False])
        if trial.suggest_categorical("kind", ["svm", "rf"]) == "svm":
            return abs(math.log10(trial.suggest_float("svm_C", 1e-3, 1e3, log=True))) + 0 * shared
        return abs(trial.suggest_int("rf_depth", 1, 64, log=True) - 8) / 8

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=60)
    top = list(hd.importance.get_param_importances(study))
    assert set(top[:2]) == {"svm_C", "rf_depth"}  # two branches: no trial holds both
    layout = vis.plot_contour(study, n_grid=8, n_samples=8).layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == (top[0], top[2])


def test_the_default_contour_leaves_out_a_parameter_no_one_axis_shows() -> None:
    """``b`` turned log-scaled halfway: the most important parameter, but no axis shows both
    of its distributions. The default pair failed on it; it is left out with a warning, as
    the other plots of several parameters do."""
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    for log in (False, True):
        study.optimize(lambda t, log=log: 3 * t.suggest_float("b", 1e-3, 1, log=log)
                       + t.suggest_float("a", 0, 1) + 0.1 * t.suggest_float("c", 0, 1),
                       n_trials=20)
    with pytest.warns(UserWarning, match=r"left out \['b'\]"):
        layout = vis.plot_contour(study, n_grid=6, n_samples=4).layout
    assert {layout.xaxis.title.text, layout.yaxis.title.text} == {"a", "c"}
    with pytest.raises(ValueError, match="'b' was asked with distributions that no one axis"):
        vis.plot_contour(study, ["a", "b"])  # named: a clear error (it was a KeyError)


def test_a_contour_spans_a_widened_range_and_grown_choices() -> None:
    """``a`` widened from [0, 1] to [0, 2] and ``c`` gained "zz": the surface covered only the
    first range and choices (its model fitted on the first half of the trials, with a
    warning) while the trials were drawn over all of them."""
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    for high, choices in ((1.0, ["x", "y"]), (2.0, ["x", "y", "zz"])):
        study.optimize(lambda t, high=high, choices=choices: t.suggest_float("a", 0, high)
                       + len(t.suggest_categorical("c", choices)), n_trials=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every trial is modelled: no "judged on 10 of 20"
        fig = vis.plot_contour(study, ["a", "c"], n_grid=6, n_samples=4)
    surface, dots = fig.data[0], fig.data[1]
    assert (min(surface.x), max(surface.x)) == (0.0, 2.0) and max(dots.x) > 1.0
    assert list(surface.y) == [0.0, 1.0, 2.0] and fig.layout.yaxis.ticktext == ("x", "y", "zz")
    grid = np.asarray(surface.z, dtype=float)  # the value grows with len(c): "zz" on top
    assert grid[2].mean() > grid[0].mean() + 0.5


def test_a_small_study_has_importances_and_a_contour() -> None:
    """Ten trials are too few for PED-ANOVA's best 10 % to hold 2: its best 2 are judged."""
    from hyperdial.importance import PedAnovaImportanceEvaluator

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + 2 * t.suggest_float("y", 0, 1),
                   n_trials=10)
    bar = vis.plot_param_importances(study).data[0]
    shares = hd.importance.get_param_importances(
        study, evaluator=PedAnovaImportanceEvaluator(target_quantile=0.2))
    assert list(bar.y) == list(shares)[::-1] and list(bar.x) == list(shares.values())[::-1]
    layout = vis.plot_contour(study, n_grid=8, n_samples=8).layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == tuple(shares)
    two = hd.create_study()
    two.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    for plot in (vis.plot_param_importances, vis.plot_contour):
        with pytest.raises(ValueError, match="importance needs 3 completed trials .*, got 2"):
            plot(two)


def test_contour_of_a_branch_uses_the_trials_that_took_it() -> None:
    def objective(trial: hd.Trial) -> float:
        if trial.suggest_categorical("model", ["a", "b"]) == "a":
            lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
            return (np.log10(lr) + 2) ** 2 + trial.suggest_float("w", 0, 1)
        return 1.0 + trial.suggest_float("c", 0, 1)

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"model": "b"})  # the first trial lacks the plotted parameters
    study.optimize(objective, n_trials=40)
    dots = vis.plot_contour(study, ["lr", "w"]).data[1]
    assert len(dots.x) == sum("lr" in t.params for t in study.trials) > 5
    with pytest.raises(ValueError, match="no completed trial holds"):
        vis.plot_contour(study, ["lr", "c"])


def test_timeline_has_a_bar_per_trial_from_start_to_end(make_study: StudyMaker) -> None:
    study = make_study()
    running = study.ask()
    running.suggest_float("lr", 1e-4, 1.0, log=True)
    fig = vis.plot_timeline(study)
    by_state = {trace.name: trace for trace in fig.data}
    assert set(by_state) == {"COMPLETE", "PRUNED", "RUNNING"}
    complete = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]
    bars = by_state["COMPLETE"]
    assert list(bars.y) == [t.number for t in complete]
    assert list(bars.x) == pytest.approx([t.duration.total_seconds() * 1000  # type: ignore[union-attr]
                                          for t in complete])
    assert list(by_state["RUNNING"].y) == [running.number]
    recent = vis.plot_timeline(study, n_recent_trials=3)
    assert sorted(n for trace in recent.data for n in trace.y) == [28, 29, 30]
    with pytest.raises(ValueError, match="n_recent_trials"):
        vis.plot_timeline(study, n_recent_trials=0)


def test_edf_is_the_share_of_trials_at_or_below_each_value(make_study: StudyMaker) -> None:
    first, second = make_study(), make_study("maximize")
    fig = vis.plot_edf([first, second])
    assert len(fig.data) == 2 and fig.data[0].name == first.study_name
    values = sorted(t.value for t in first.trials if t.state is hd.TrialState.COMPLETE)
    assert list(fig.data[0].x) == values
    assert list(fig.data[0].y) == pytest.approx(np.arange(1, len(values) + 1) / len(values))
    assert len(vis.plot_edf(first).data) == 1
    empty = hd.create_study()
    with pytest.raises(ValueError, match=f"completed yet in study '{empty.study_name}'"):
        vis.plot_edf([first, empty])


def test_hypervolume_history_grows_to_the_hypervolume_of_the_front() -> None:
    from hyperdial._pareto import hypervolume

    study = hd.create_study(directions=["minimize", "maximize"],
                            sampler=hd.samplers.RandomSampler(seed=0))

    def objective(trial: hd.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("x <= 0.9", x - 0.9)
        return x, x ** 0.5 - trial.suggest_float("noise", 0, 0.5)

    study.optimize(objective, n_trials=25)
    volumes = vis.plot_hypervolume_history(study, reference_point=[1.0, 0.0]).data[0].y
    assert all(b >= a for a, b in itertools.pairwise(volumes))
    front = np.array([[t.values[0], -t.values[1]] for t in study.best_trials])  # as losses
    assert volumes[-1] == pytest.approx(hypervolume(front, np.array([1.0, 0.0])))
    feasible = [t.number for t in study.trials if t.params["x"] <= 0.9]
    assert list(vis.plot_hypervolume_history(study, [1.0, 0.0]).data[0].x) == feasible
    with pytest.raises(ValueError, match="reference_point needs 2 finite values"):
        vis.plot_hypervolume_history(study, [1.0])


def test_rank_plot_colours_each_pair_by_the_rank_of_the_value(make_study: StudyMaker) -> None:
    study = make_study()
    fig = vis.plot_rank(study)
    completed = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]

    def drawn(name: str) -> list[Any]:  # a categorical at its choice's position
        values = [t.params[name] for t in completed]
        return [["relu", "tanh"].index(v) for v in values] if name == "act" else values

    # The lower triangle of a 2 x 2 matrix: (lr, act), (lr, depth), (act, depth).
    assert len(fig.data) == 3
    for panel, (x, y) in zip(fig.data, [("lr", "act"), ("lr", "depth"), ("act", "depth")],
                             strict=True):
        assert list(panel.x) == drawn(x)
        assert list(panel.y) == drawn(y)
    assert list(fig.layout.yaxis.ticktext) == ["relu", "tanh"]
    rank = np.asarray(fig.data[0].marker.color)
    assert rank[int(np.argmin([t.value for t in completed]))] == 0.0
    assert rank[int(np.argmax([t.value for t in completed]))] == 1.0
    assert sorted(rank) == pytest.approx(np.linspace(0.0, 1.0, len(completed)))
    assert fig.layout.xaxis.type == "log"  # lr is log-scaled


def test_the_pareto_front_axes_take_the_metric_names() -> None:
    study = hd.create_study(directions=["minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)),
                   n_trials=5)
    assert vis.plot_pareto_front(study).layout.xaxis.title.text == "Objective 0"
    study.set_metric_names(["error", "size"])
    layout = vis.plot_pareto_front(study).layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == ("error", "size")
    assert vis.plot_pareto_front(study, target_names=["a", "b"]).layout.xaxis.title.text == "a"


def test_rank_plot_of_one_parameter_and_of_a_maximisedmake_study(make_study: StudyMaker) -> None:
    study = make_study("maximize")
    fig = vis.plot_rank(study, ["depth"])
    completed = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]
    (dots,) = fig.data
    assert list(dots.y) == [t.value for t in completed]  # the value against the parameter
    rank = np.asarray(dots.marker.color)
    assert rank[int(np.argmax(dots.y))] == 0.0  # maximised: the highest value is the best
    with pytest.raises(ValueError, match="no trial has completed"):
        vis.plot_rank(hd.create_study())


def test_parallel_coordinate_of_parameters_no_trial_holds_together_is_a_value_error(
        branch_study: hd.Study) -> None:
    with pytest.raises(ValueError, match=r"no completed trial holds all of \['lr', 'c'\]"):
        vis.plot_parallel_coordinate(branch_study, params=["lr", "c"])
    dims = vis.plot_parallel_coordinate(branch_study, params=["lr"]).data[0].dimensions
    assert len(dims[0].values) == sum("lr" in t.params for t in branch_study.trials)


@pytest.mark.parametrize(("choices", "labels"), [
    ([None, "a", 1, 1.0, True], ["None", "a", "1", "1.0", "True"]),
    (["1", 1, None], ["'1'", "1", "None"]),  # the text of "1" and 1 meet: reprs tell apart
])
def test_slice_and_rank_draw_each_categorical_choice_at_its_own_labelled_position(
        choices: list[Any], labels: list[str], make_choice_study: ChoiceStudyMaker) -> None:
    study = make_choice_study(choices)
    completed = [t for t in study.trials if t.state is hd.TrialState.COMPLETE]
    assert len({repr(t.params["k"]) for t in completed}) == len(choices)  # each was drawn
    positions = [t.distributions["k"].index(t.params["k"]) for t in completed]
    fig = vis.plot_slice(study, ["k"])
    assert list(fig.data[0].x) == positions  # None is no null that plotly.js would drop
    assert list(fig.layout.xaxis.ticktext) == labels
    assert list(fig.layout.xaxis.tickvals) == list(range(len(choices)))
    fig = vis.plot_rank(study, ["x", "k"])
    assert list(fig.data[0].y) == positions and list(fig.layout.yaxis.ticktext) == labels


def test_a_parameter_whose_range_or_choices_grew_is_drawn_over_all_its_values() -> None:
    """Its distribution covering every trial's value; one whose scale changed, left out."""
    def objective(trial: hd.Trial) -> float:
        wide = trial.number >= 4
        c = trial.suggest_categorical("c", ["a", "b", "z"] if wide else ["a", "b"])
        trial.suggest_float("lr", 1e-3, 1.0, log=wide)  # a log scale added: no one axis
        return trial.suggest_float("x", 0, 10 if wide else 1) + (c == "z")

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=12)
    with pytest.warns(UserWarning, match=r"left out \['lr'\]: each was asked with"):
        fig = vis.plot_slice(study)
    assert [a.text for a in fig.layout.annotations] == ["c", "x"]
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "z"]
    assert list(fig.data[0].x) == [["a", "b", "z"].index(t.params["c"]) for t in study.trials]
    assert list(fig.data[1].x) == [t.params["x"] for t in study.trials]
    assert max(fig.data[1].x) > 1  # the widened range's values too
    with pytest.warns(UserWarning, match="lr"):
        dims = vis.plot_parallel_coordinate(study).data[0].dimensions
    assert [d.label for d in dims] == ["Objective value", "c", "x"]
    assert len(vis.plot_rank(study, ["c", "x"]).data[0].x) == 12
    with pytest.raises(ValueError, match="'lr' was asked with distributions that no one axis"):
        vis.plot_slice(study, ["lr"])
