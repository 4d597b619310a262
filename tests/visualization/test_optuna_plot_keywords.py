"""Optuna's plot keywords (``target_name``, ``include_dominated_trials``, ``targets``,
``constraints_func``, a list of studies with ``error_bar``, ``plot_edf(study=...)``,
``is_available``): the numbers are computed once (``_series``) and both back ends take them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.visualization import _series as series

StudyMaker = Callable[..., hd.Study]


@pytest.fixture(params=["plotly", "matplotlib"])
def backend(request: pytest.FixtureRequest) -> ModuleType:
    pytest.importorskip(request.param)
    if request.param == "plotly":
        from hyperdial import visualization
        return visualization
    import matplotlib

    matplotlib.use("Agg")
    from hyperdial.visualization import matplotlib as mvis
    return mvis


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    plt.close("all")


def _two_objectives(n: int = 30) -> hd.Study:
    def objective(trial: hd.Trial) -> tuple[float, float]:
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        return x + 0.5 * y, y + 0.5 * x

    study = hd.create_study(directions=["minimize", "minimize"],
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n)
    return study


def test_optunas_signatures_are_accepted_by_both_back_ends(backend: ModuleType) -> None:
    for name, keywords in {
            "plot_param_importances": {"target", "target_name"},
            "plot_pareto_front": {"target_names", "include_dominated_trials", "targets",
                                  "constraints_func"},
            "plot_optimization_history": {"target", "target_name", "error_bar"},
            "plot_edf": {"study", "target", "target_name"}}.items():
        assert keywords <= set(inspect.signature(getattr(backend, name)).parameters), name
    assert backend.is_available() is True


def test_importances_take_a_target_name(backend: ModuleType) -> None:
    study = _two_objectives()
    drawn = backend.plot_param_importances(study, target=lambda t: t.values[0],
                                           target_name="flops")
    title = (drawn.layout.xaxis.title.text if backend.__name__.endswith("visualization")
             else drawn.get_xlabel())
    assert "flops" in title


def test_pareto_front_without_dominated_trials_and_with_targets() -> None:
    study = _two_objectives()
    names, groups = series.pareto_groups(study, None, include_dominated_trials=False)
    assert [g.label for g in groups] == ["Trial", "Best trial"]
    assert groups[0].trials == [] and {t.number for t in groups[1].trials} == {
        t.number for t in study.best_trials}
    names, groups = series.pareto_groups(study, ["p", "q"],
                                         targets=lambda t: (t.values[1], t.params["x"]))
    assert names == ["p", "q"]
    front = groups[1]  # the front is still by the objectives; drawn at the targets
    assert front.columns == [[t.values[1] for t in front.trials],
                             [t.params["x"] for t in front.trials]]
    many = hd.create_study(directions=["minimize"] * 4)
    many.optimize(lambda t: (t.suggest_float("x", 0, 1),) * 4, n_trials=3)
    names, _ = series.pareto_groups(many, None, targets=lambda t: t.values[:3])
    assert names == ["Objective 0", "Objective 1", "Objective 2"]
    with pytest.raises(ValueError, match="2 or 3 values"):
        series.pareto_groups(many, None, targets=lambda t: t.values)


def test_pareto_front_draws_infeasible_trials_apart(backend: ModuleType) -> None:
    study = _two_objectives()

    def constraints(t: hd.FrozenTrial) -> list[float]:
        return [t.params["x"] - 0.5]

    _, groups = series.pareto_groups(study, None, constraints_func=constraints)
    off, on, bad = groups
    assert bad.label == "Infeasible trial"
    assert {t.number for t in bad.trials} == {t.number for t in study.trials
                                              if t.params["x"] > 0.5}
    assert all(t.params["x"] <= 0.5 for t in on.trials + off.trials)
    drawn = backend.plot_pareto_front(study, constraints_func=constraints,
                                      include_dominated_trials=True)
    if backend.__name__.endswith("visualization"):
        assert [d.name for d in drawn.data] == ["Trial", "Best trial", "Infeasible trial"]
        assert len(drawn.data[2].x) == len(bad.trials)
    else:
        assert [c.get_label() for c in drawn.collections] == [
            "Trial", "Best trial", "Infeasible trial"]


def _runs(values: list[list[float]]) -> list[hd.Study]:
    out = []
    for run in values:
        study = hd.create_study()
        for v in run:
            study.add_trial(hd.trial.create_trial(value=v, params={},
                                                  distributions={}))
        out.append(study)
    return out


def test_error_bar_is_the_mean_and_std_of_the_best_so_far_over_studies(
        backend: ModuleType) -> None:
    studies = _runs([[3.0, 1.0, 2.0], [1.0, 2.0, 0.0]])
    band = series.history_band([h for _, h in series.history_series_list(studies, None)])
    np.testing.assert_allclose(band.mean, [2.0, 1.5, 1.0])
    np.testing.assert_allclose(band.std, [1.0, 0.5, 1.0])
    np.testing.assert_allclose(band.best_mean, [2.0, 1.0, 0.5])  # best: [3, 1, 1], [1, 1, 0]
    np.testing.assert_allclose(band.best_std, [1.0, 0.0, 0.5])
    drawn = backend.plot_optimization_history(studies, error_bar=True)
    if backend.__name__.endswith("visualization"):
        np.testing.assert_allclose(drawn.data[1].y, [2.0, 1.0, 0.5])
        np.testing.assert_allclose(drawn.data[0].error_y.array, [1.0, 0.5, 1.0])
    else:
        assert drawn.get_legend() is not None


def test_a_list_of_studies_draws_each_with_its_name(backend: ModuleType) -> None:
    studies = _runs([[3.0, 1.0], [1.0, 2.0, 0.0]])
    drawn = backend.plot_optimization_history(studies)
    if backend.__name__.endswith("visualization"):
        assert len(drawn.data) == 4
        assert drawn.data[1].name == f"Best value of {studies[0].study_name}"
        assert list(drawn.data[3].y) == [1.0, 1.0, 0.0]
    else:
        labels = [t.get_text() for t in drawn.get_legend().get_texts()]
        assert f"Best value of {studies[1].study_name}" in labels


def test_a_shorter_run_stops_counting_at_its_last_trial() -> None:
    band = series.history_band([h for _, h in series.history_series_list(
        _runs([[3.0], [1.0, 2.0, 0.0]]), None)])
    np.testing.assert_allclose(band.best_mean, [2.0, 1.0, 0.0])


def test_plot_edf_takes_optunas_study_keyword(backend: ModuleType,
                                             make_study: StudyMaker) -> None:
    first, second = make_study(), make_study("maximize")
    assert backend.plot_edf(study=[first, second]) is not None
    assert backend.plot_edf(study=first) is not None
    with pytest.raises(ValueError, match="empty list"):
        backend.plot_edf(study=[])
