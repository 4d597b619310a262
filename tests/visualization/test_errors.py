"""What no plot can draw is a clear ValueError, the same in both back ends."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

import hyperdial as hd


@pytest.fixture(params=["plotly", "matplotlib"])
def backend(request: pytest.FixtureRequest) -> ModuleType:
    pytest.importorskip(request.param)
    if request.param == "plotly":
        from hyperdial import visualization
        return visualization
    from hyperdial.visualization import matplotlib
    return matplotlib


@pytest.mark.parametrize("name", ["plot_optimization_history", "plot_edf",
                                  "plot_param_importances", "plot_hypervolume_history",
                                  "plot_pareto_front"])
def test_plots_of_a_study_without_a_completed_trial_are_value_errors(
        backend: ModuleType, name: str) -> None:
    """(The Pareto front was an empty figure.)"""
    plot = getattr(backend, name)
    several = name in ("plot_hypervolume_history", "plot_pareto_front")
    args = ([1.0, 1.0],) if name == "plot_hypervolume_history" else ()
    directions = ["minimize", "minimize"] if several else ["minimize"]
    failed = hd.create_study(directions=directions)
    failed.optimize(lambda t: t.suggest_float("x", 0, 1) / 0, n_trials=2,
                    catch=(ZeroDivisionError,))
    for study in (hd.create_study(directions=directions), failed):
        with pytest.raises(ValueError, match="no trial has completed yet"):
            plot(study, *args)


def test_a_hypervolume_history_of_one_objective_is_a_value_error(backend: ModuleType) -> None:
    """It drew the best value as a one-dimensional "hypervolume"."""
    study = hd.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    with pytest.raises(ValueError, match="needs a study with several objectives"):
        backend.plot_hypervolume_history(study, [2.0])


def test_a_parameter_no_completed_trial_holds_is_a_value_error_naming_it(
        backend: ModuleType, make_study: Callable[..., hd.Study]) -> None:
    study = make_study()
    for plot in (backend.plot_slice, backend.plot_parallel_coordinate, backend.plot_rank,
                 backend.plot_contour):
        with pytest.raises(ValueError, match=r"no completed trial holds \['zz'\]"):
            plot(study, ["lr", "zz"])
    with pytest.raises(ValueError, match=r"no completed trial holds \['zz'\]"):
        backend.plot_param_importances(study, params=["zz"])


def test_a_rank_plot_of_no_parameter_is_a_value_error(backend: ModuleType) -> None:
    constant = hd.create_study()
    constant.optimize(lambda t: 1.0, n_trials=3)
    for params in (None, []):
        with pytest.raises(ValueError, match="a rank plot needs at least one parameter"):
            backend.plot_rank(constant, params)


def test_a_contour_of_one_parameter_twice_is_a_value_error_naming_it(
        backend: ModuleType, make_study: Callable[..., hd.Study]) -> None:
    with pytest.raises(ValueError, match="two parameters, got 'lr' twice"):
        backend.plot_contour(make_study(), ["lr", "lr"])
