"""`hyperdial.visualization.matplotlib`: each drawing holds the numbers of the study."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib

matplotlib.use("Agg")  # no display here

import matplotlib.pyplot as plt

import hyperdial as hd
from hyperdial.visualization import matplotlib as mvis

StudyMaker = Callable[..., hd.Study]
ChoiceStudyMaker = Callable[[Sequence[Any]], hd.Study]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def completed(study: hd.Study) -> list[hd.FrozenTrial]:
    return [t for t in study.trials if t.state is hd.TrialState.COMPLETE]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_history_draws_each_value_and_the_best_so_far(direction: str,
                                                      make_study: StudyMaker) -> None:
    study = make_study(direction)
    ax = mvis.plot_optimization_history(study)
    done = completed(study)
    dots = ax.collections[0].get_offsets()
    assert dots[:, 0].tolist() == [t.number for t in done]
    assert dots[:, 1].tolist() == [t.value for t in done]
    values = np.array([t.value for t in done])
    best = np.minimum.accumulate(values) if direction == "minimize" \
        else np.maximum.accumulate(values)
    assert ax.lines[0].get_ydata().tolist() == best.tolist()
    assert ax.get_ylabel() == "Objective value"


def test_intermediate_values_one_line_per_trial_pruned_dotted(make_study: StudyMaker) -> None:
    study = make_study()
    ax = mvis.plot_intermediate_values(study)
    assert len(ax.lines) == len(study.trials)
    for line, trial in zip(ax.lines, study.trials, strict=True):
        assert list(line.get_ydata()) == [trial.intermediate_values[s]
                                          for s in sorted(trial.intermediate_values)]
        assert (line.get_linestyle() == ":") == (trial.state is hd.TrialState.PRUNED)


def test_intermediate_values_of_several_objectives_match_the_plotly_ones(
        vector_report_study: hd.Study) -> None:
    from hyperdial import visualization as vis

    ax = mvis.plot_intermediate_values(vector_report_study)
    traces = vis.plot_intermediate_values(vector_report_study).data
    assert [line.get_label() for line in ax.lines] == [trace.name for trace in traces]
    for line, trace in zip(ax.lines, traces, strict=True):
        assert list(line.get_ydata()) == list(trace.y)


def test_slice_has_a_panel_per_parameter_log_where_the_scale_is(make_study: StudyMaker) -> None:
    study = make_study()
    axes = mvis.plot_slice(study, ["lr", "depth"])
    assert axes.shape == (1, 2)
    assert [ax.get_title() for ax in axes[0]] == ["lr", "depth"]
    assert axes[0, 0].get_xscale() == "log" and axes[0, 1].get_xscale() == "linear"
    lr = axes[0, 0].collections[0].get_offsets()
    assert lr[:, 0].tolist() == [t.params["lr"] for t in completed(study)]


def test_slice_titles_of_long_names_are_wrapped_clear_of_each_other() -> None:
    names = ["optimizer_learning_rate_initial_value", "model.encoder.layers.attention_dropout",
             "x"]
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: sum(t.suggest_float(n, 0, 1) for n in names), n_trials=4)
    axes = mvis.plot_slice(study)
    fig = axes[0, 0].figure
    fig.canvas.draw()
    assert [ax.get_title().replace("\n", "") for ax in axes[0]] == names
    boxes = [ax.title.get_window_extent() for ax in axes[0]]
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(boxes))
    suptitle = fig.texts[0].get_window_extent()
    assert suptitle.y0 >= max(box.y1 for box in boxes)  # above the wrapped titles


def test_rank_fills_the_lower_triangle_darkest_at_the_best(make_study: StudyMaker) -> None:
    study = make_study()
    axes = mvis.plot_rank(study)
    assert axes.shape == (2, 2) and not axes[0, 1].get_visible()
    assert (axes[0, 0].get_xlabel(), axes[0, 0].get_ylabel()) == ("", "act")
    assert (axes[1, 1].get_xlabel(), axes[1, 0].get_ylabel()) == ("act", "depth")
    shade = np.asarray(axes[0, 0].collections[0].get_array())
    values = [t.value for t in completed(study)]
    assert shade[int(np.argmin(values))] == 1.0 and shade[int(np.argmax(values))] == 0.0
    assert axes[0, 0].get_xscale() == "log"


def test_importances_are_bars_that_sum_to_one(make_study: StudyMaker) -> None:
    ax = mvis.plot_param_importances(make_study())
    widths = [bar.get_width() for bar in ax.patches]
    assert len(widths) == 3 and sum(widths) == pytest.approx(1.0)
    assert widths == sorted(widths)  # largest on top


@pytest.mark.parametrize("m", [2, 3])
def test_pareto_front_in_red_axes_named_by_the_metric_names(m: int) -> None:
    study = hd.create_study(directions=["minimize"] * m,
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: tuple(t.suggest_float(f"x{i}", 0, 1) for i in range(m)),
                   n_trials=20)
    study.set_metric_names(["error", "size", "cost"][:m])
    ax = mvis.plot_pareto_front(study)
    others, front = ax.collections
    assert len(front.get_offsets()) == len(study.best_trials)
    assert len(others.get_offsets()) + len(study.best_trials) == 20
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("error", "size")
    with pytest.raises(ValueError, match="2 or 3 objectives"):
        mvis.plot_pareto_front(hd.create_study(directions=["minimize"] * 4))
    with pytest.raises(ValueError, match=f"{m + 1} target names for {m} objectives"):
        mvis.plot_pareto_front(study, target_names=["a", "b", "c", "d"][:m + 1])


def test_edf_climbs_to_one_per_study(make_study: StudyMaker) -> None:
    ax = mvis.plot_edf([make_study(), make_study("maximize")], target=lambda t: abs(t.value))
    assert len(ax.lines) == 2
    for line in ax.lines:
        share = line.get_ydata()
        assert share[-1] == 1.0 and np.all(np.diff(share) > 0)


def test_no_completed_trial_and_no_matplotlib_are_clear_errors(
        monkeypatch: pytest.MonkeyPatch, make_study: StudyMaker) -> None:
    with pytest.raises(ValueError, match="no trial has completed"):
        mvis.plot_slice(hd.create_study())
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="hyperdial\\[viz\\]"):
        mvis.plot_optimization_history(make_study())


def test_contour_draws_the_same_surface_as_the_plotly_one(make_study: StudyMaker) -> None:
    from hyperdial import visualization as vis

    study = make_study()
    ax = mvis.plot_contour(study, ["lr", "depth"], n_grid=12, n_samples=16)
    plotly_surface = np.array(vis.plot_contour(study, ["lr", "depth"], n_grid=12,
                                               n_samples=16).data[0].z)
    filled = next(c for c in ax.collections if hasattr(c, "levels"))
    assert filled.levels.min() <= plotly_surface.min()
    assert filled.levels.max() >= plotly_surface.max()
    dots = ax.collections[-1].get_offsets()
    assert len(dots) == len(completed(study)) and ax.get_xscale() == "log"


def test_contour_of_a_categorical_of_one_choice_fills_its_band(
        make_choice_study: ChoiceStudyMaker) -> None:
    ax = mvis.plot_contour(make_choice_study(["adam"]), ["x", "k"], n_grid=6, n_samples=4)
    assert ax.get_ylim() == (-0.5, 0.5)
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["adam"]


def test_parallel_coordinate_one_line_per_trial_scaled_to_each_axis(
        make_study: StudyMaker) -> None:
    study = make_study()
    ax = mvis.plot_parallel_coordinate(study)
    done = completed(study)
    assert len(ax.lines) - len(ax.get_xticks()) == len(done)  # the rest are the axes' rules
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Objective value", "lr (log10)", "act", "depth"]
    trial_lines = [line for line in ax.lines if len(line.get_ydata()) == 4]
    ys = np.array([line.get_ydata() for line in trial_lines])
    assert ys.min() == 0.0 and ys.max() == 1.0
    # the best trial (the lowest value) is drawn last, on top, at the bottom of the value axis
    assert trial_lines[-1].get_ydata()[0] == 0.0
    assert trial_lines[0].get_ydata()[0] == 1.0  # the worst first


def test_timeline_has_a_bar_per_trial(make_study: StudyMaker) -> None:
    study = make_study()
    ax = mvis.plot_timeline(study)
    assert len(ax.patches) == len(study.trials)
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"COMPLETE", "PRUNED"}
    with pytest.raises(ValueError, match="n_recent_trials"):
        mvis.plot_timeline(study, n_recent_trials=0)


def test_hypervolume_history_matches_the_plotly_one() -> None:
    from hyperdial import visualization as vis

    study = hd.create_study(directions=["minimize", "minimize"],
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.params["x"] ** 0.5),
                   n_trials=15)
    (line,) = mvis.plot_hypervolume_history(study, [2.0, 2.0]).lines
    trace = vis.plot_hypervolume_history(study, [2.0, 2.0]).data[0]
    assert list(line.get_ydata()) == list(trace.y)
    assert np.all(np.diff(line.get_ydata()) >= 0)


def test_parallel_coordinate_of_parameters_no_trial_holds_together_is_a_value_error(
        branch_study: hd.Study) -> None:
    with pytest.raises(ValueError, match=r"no completed trial holds all of \['lr', 'c'\]"):
        mvis.plot_parallel_coordinate(branch_study, params=["lr", "c"])


@pytest.mark.parametrize(("choices", "labels"), [
    ([None, "a"], ["None", "a"]),
    (["a", 1], ["a", "1"]),
    ([None, "a", 1, 1.0, True], ["None", "a", "1", "1.0", "True"]),
])
def test_categorical_choices_of_any_type_each_get_their_own_labelled_position(
        choices: list[Any], labels: list[str], make_choice_study: ChoiceStudyMaker) -> None:
    study = make_choice_study(choices)
    done = completed(study)
    assert len({repr(t.params["k"]) for t in done}) == len(choices)  # each was drawn
    positions = [t.distributions["k"].index(t.params["k"]) for t in done]
    panel = mvis.plot_slice(study, ["k"])[0, 0]
    rank = mvis.plot_rank(study, ["x", "k"])[0, 0]  # one pair: k against x
    contour = mvis.plot_contour(study, ["x", "k"], n_grid=6, n_samples=4)
    for ax, k, axis in ((panel, 0, panel.xaxis), (rank, 1, rank.yaxis),
                        (contour, 1, contour.yaxis)):
        assert ax.collections[-1].get_offsets()[:, k].tolist() == positions
        assert [tick.get_text() for tick in axis.get_ticklabels()] == labels
        assert axis.get_ticklocs().tolist() == list(range(len(choices)))
