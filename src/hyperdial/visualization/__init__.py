"""Plots of a study, as plotly figures, under Optuna's names (``optuna.visualization``).

Each function takes a `Study` (or a `History`) and returns a ``plotly.graph_objects.Figure``:
show it with ``fig.show()``, save it with ``fig.write_html(path)``. Needs the ``viz`` extra
(``pip install "hyperdial[viz]"``). With several objectives, pass ``target`` (a function of a
trial; lower is better for the best-so-far line) where one value is plotted. The same plots
drawn with matplotlib, for static figures: `hyperdial.visualization.matplotlib`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hyperdial._lazy import module_getattr
from hyperdial._optional import require
from hyperdial.history import History
from hyperdial.importance import Target, as_history
from hyperdial.samplers.base import ConstraintsFunc
from hyperdial.visualization._series import (
    STATE_COLOURS,
    Column,
    Targets,
    contour_grid,
    curves,
    edf_series,
    history_band,
    history_series_list,
    hypervolume_series,
    importance_bars,
    is_pruned,
    lower_is_better,
    parallel_axes,
    pareto_groups,
    rank_panels,
    slice_panels,
    timeline_bars,
)

if TYPE_CHECKING:
    from hyperdial.importance import ImportanceEvaluator
    from hyperdial.study import Study


def _plotly() -> Any:
    return require("plotly.graph_objects", "viz")


def _axis(c: Column) -> dict[str, Any]:
    """The settings of an axis drawing ``c``: a log scale, or a categorical's labels at their
    positions with every choice in view."""
    if c.ticks is not None:
        return {"tickvals": list(range(len(c.ticks))), "ticktext": c.ticks,
                "range": [-0.5, len(c.ticks) - 0.5]}
    return {"type": "log"} if c.log else {}


def is_available() -> bool:
    """Whether the plots can be drawn: plotly imports (Optuna's
    ``visualization.is_available``)."""
    return importlib.util.find_spec("plotly") is not None


def plot_optimization_history(study: Study | History | Sequence[Study | History], *,
                              target: Target | None = None,
                              target_name: str = "Objective value",
                              error_bar: bool = False) -> Any:
    """Each completed trial's value by trial number, and the best so far (by the study's
    direction; lowest when ``target`` is given). Trials that break a constraint
    (`Trial.set_constraint`) are drawn apart, in grey, and never count as the best.

    ``study`` may be a list of studies: each is drawn with its name, or with ``error_bar``
    as one history, the mean and standard deviation over the studies of the values and of
    the best so far at each trial number (Optuna's ``error_bar``; repeated runs of a
    sampler, say)."""
    go = _plotly()
    group = history_series_list(study, target)
    traces = []
    if error_bar:
        b = history_band([h for _, h in group])
        upper, lower = b.best_mean + b.best_std, b.best_mean - b.best_std
        traces = [
            go.Scatter(x=b.numbers, y=b.mean, mode="markers", name=target_name,
                       error_y={"type": "data", "array": b.std, "visible": True}),
            go.Scatter(x=b.best_numbers, y=b.best_mean, mode="lines", name="Best value",
                       line={"shape": "hv"}),
            go.Scatter(x=b.best_numbers, y=upper, mode="lines", line={"width": 0,
                       "shape": "hv"}, showlegend=False, hoverinfo="skip"),
            go.Scatter(x=b.best_numbers, y=lower, mode="lines", line={"width": 0,
                       "shape": "hv"}, fill="tonexty", fillcolor="rgba(255,0,0,0.2)",
                       showlegend=False, hoverinfo="skip")]
    for name, h in ([] if error_bar else group):
        x, y, ok = h.numbers, h.values, h.feasible
        of = f" of {name}" if len(group) > 1 else ""
        traces += [go.Scatter(x=x[ok], y=y[ok], mode="markers", name=target_name + of),
                   go.Scatter(x=x, y=h.best, mode="lines", name="Best value" + of,
                              line={"shape": "hv"})]
        if not ok.all():
            traces.append(go.Scatter(x=x[~ok], y=y[~ok], mode="markers",
                                     name="Infeasible trial" + of,
                                     marker={"color": "#cccccc"}))
    fig = go.Figure(traces)
    fig.update_layout(title="Optimization history", xaxis_title="Trial",
                      yaxis_title=target_name)
    return fig


def plot_intermediate_values(study: Study | History) -> Any:
    """Every trial's reported values by step (learning curves); pruned trials dotted. Reports
    of several values (a study of several objectives) are one curve per objective, named by
    the study's metric names."""
    go = _plotly()
    traces = [go.Scatter(x=c.steps, y=c.values, mode="lines+markers", name=c.label,
                         legendgroup=f"Trial {c.trial.number}",
                         line={"dash": "dot" if is_pruned(c.trial) else "solid"})
              for c in curves(study)]
    fig = go.Figure(traces)
    fig.update_layout(title="Intermediate values", xaxis_title="Step",
                      yaxis_title="Intermediate value", showlegend=len(traces) <= 20)
    return fig


def plot_slice(study: Study | History, params: Sequence[str] | None = None, *,
               target: Target | None = None, target_name: str = "Objective value") -> Any:
    """One panel per parameter: each completed trial's value against that parameter (log axes
    for log-scaled ones), coloured by trial number."""
    go = _plotly()
    from plotly.subplots import make_subplots

    panels = slice_panels(as_history(study), params, target)
    fig = make_subplots(rows=1, cols=max(len(panels), 1), shared_yaxes=True,
                        subplot_titles=[p.name for p in panels])
    for col, panel in enumerate(panels, start=1):
        fig.add_trace(go.Scatter(
            x=panel.x.values, y=panel.y, mode="markers", name=panel.name, showlegend=False,
            marker={"color": panel.numbers, "colorscale": "Blues",
                    "showscale": col == len(panels), "colorbar": {"title": "Trial"}}),
            row=1, col=col)
        fig.update_xaxes(_axis(panel.x), row=1, col=col)
    fig.update_layout(title="Slice plot", yaxis_title=target_name)
    return fig


def plot_parallel_coordinate(study: Study | History, params: Sequence[str] | None = None, *,
                             target: Target | None = None,
                             target_name: str = "Objective value") -> Any:
    """The value and every parameter as parallel axes, one line per completed trial holding
    them all; log scales are drawn as log10, categoricals as their choices."""
    go = _plotly()
    history = as_history(study)
    values, axes = parallel_axes(history, params, target, target_name)
    dims = [{"label": a.label, "values": a.values} if a.ticks is None else
            {"label": a.label, "values": a.values, "tickvals": list(range(len(a.ticks))),
             "ticktext": a.ticks} for a in axes]
    fig = go.Figure(go.Parcoords(dimensions=dims, line={  # the better, the darker
        "color": values, "colorscale": "Blues",
        "reversescale": lower_is_better(history, target),
        "showscale": True}))
    fig.update_layout(title="Parallel coordinate plot")
    return fig


def plot_contour(study: Study | History, params: Sequence[str] | None = None, *,
                 target: Target | None = None, target_name: str = "Objective value",
                 n_grid: int = 40, n_samples: int = 64, seed: int = 0) -> Any:
    """How the objective depends on two parameters: the partial dependence of a
    Gaussian-process model of it (`hyperdial.importance.surrogate`), the model's mean averaged
    over the other parameters, on an ``n_grid`` x ``n_grid`` grid, with the trials as dots.

    The other parameters are those every completed trial holds; they are averaged over
    ``n_samples`` quasi-random points of their range. ``target`` is plotted as it is (lower is
    better); without it, the objective in its own direction. ``params`` defaults to the two
    most important parameters (`hyperdial.importance.get_param_importances`) that 5 or more
    completed trials hold together (of a conditional space, never two branches').
    """
    go = _plotly()
    history = as_history(study)
    c = contour_grid(history, params, target, n_grid, n_samples, seed)
    fig = go.Figure([
        go.Contour(x=c.x, y=c.y, z=c.surface, colorscale="Blues",
                   reversescale=lower_is_better(history, target),
                   colorbar={"title": target_name}, name="model"),
        go.Scatter(x=c.points[0].values, y=c.points[1].values, mode="markers", name="Trial",
                   marker={"color": "black", "size": 5})])
    fig.update_xaxes(_axis(c.points[0]))
    fig.update_yaxes(_axis(c.points[1]))
    fig.update_layout(title=f"Contour plot (partial dependence): {c.params[0]}, {c.params[1]}",
                      xaxis_title=c.params[0], yaxis_title=c.params[1])
    return fig


def plot_rank(study: Study | History, params: Sequence[str] | None = None, *,
              target: Target | None = None, target_name: str = "Objective value") -> Any:
    """Where the good trials lie, parameter against parameter: one panel per pair (the lower
    triangle of a matrix; one panel for two parameters, the value against it for one), each
    completed trial a dot coloured by the rank of its value (dark: best). Ranks, not values,
    so that one terrible trial does not wash out the colours. Log scales are drawn as such."""
    go = _plotly()
    from plotly.subplots import make_subplots

    r = rank_panels(as_history(study), params, target)
    marker = {"color": r.rank, "colorscale": "Blues", "reversescale": True, "cmin": 0.0,
              "cmax": 1.0, "colorbar": {"title": f"Rank of {target_name} (0: best)"}}
    hover = [f"Trial {t.number}: {v:.6g}" for t, v in zip(r.trials, r.values, strict=True)]
    fig = make_subplots(rows=r.shape[0], cols=r.shape[1])
    for n, (x_name, y_name, row, col) in enumerate(r.pairs):
        x, y = r.columns[x_name], r.columns[y_name]
        fig.add_trace(go.Scatter(
            x=x.values, y=y.values, mode="markers", text=hover,
            showlegend=False, marker={**marker, "showscale": n == 0}), row=row, col=col)
        fig.update_xaxes(_axis(x), row=row, col=col)
        fig.update_yaxes(_axis(y), row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text=y_name or target_name, row=row, col=col)
        if row == r.shape[0]:
            fig.update_xaxes(title_text=x_name, row=row, col=col)
    fig.update_layout(title="Rank plot")
    return fig


def plot_param_importances(study: Study | History, *,
                           evaluator: ImportanceEvaluator | None = None,
                           params: Sequence[str] | None = None,
                           target: Target | None = None,
                           target_name: str = "Objective value") -> Any:
    """`hyperdial.importance.get_param_importances` as horizontal bars, largest on top;
    ``target_name`` names what ``target`` measures (Optuna's argument). Without an
    ``evaluator``, a study of 3 to 10 completed trials, too few for PED-ANOVA's best 10 % to
    hold 2, is judged by its best 2 trials."""
    go = _plotly()
    shares = importance_bars(study, evaluator, params, target)
    names = list(shares)
    fig = go.Figure(go.Bar(x=[shares[n] for n in names], y=names, orientation="h",
                           name=target_name,
                           text=[f"{shares[n]:.2f}" for n in names], textposition="outside"))
    fig.update_layout(title="Hyperparameter importances",
                      xaxis_title=f"Importance for {target_name}", yaxis_title="Hyperparameter")
    return fig


def plot_pareto_front(study: Study | History, *,
                      target_names: Sequence[str] | None = None,
                      include_dominated_trials: bool = True,
                      constraints_func: ConstraintsFunc | None = None,
                      targets: Targets | None = None) -> Any:
    """Completed trials of a study of 2 or 3 objectives, the Pareto front highlighted and
    infeasible trials in grey; the axes are named ``target_names``, else the study's metric
    names (`Study.set_metric_names`). Optuna's arguments: ``include_dominated_trials=False``
    draws the front only; ``targets`` maps a trial to the 2 or 3 values drawn (the front is
    still by the objectives); ``constraints_func`` decides feasibility instead of the
    trials' stored constraints (every value <= 0: feasible)."""
    go = _plotly()
    names, groups = pareto_groups(study, target_names,
                                  include_dominated_trials=include_dominated_trials,
                                  constraints_func=constraints_func, targets=targets)
    m = len(names)
    traces = []
    for g in groups:
        cols = g.columns
        common = {"mode": "markers", "name": g.label,
                  "text": [f"Trial {t.number}" for t in g.trials], "marker": {"color": g.colour}}
        traces.append(go.Scatter(x=cols[0], y=cols[1], **common) if m == 2
                      else go.Scatter3d(x=cols[0], y=cols[1], z=cols[2], **common))
    fig = go.Figure(traces)
    if m == 2:
        fig.update_layout(xaxis_title=names[0], yaxis_title=names[1])
    else:
        fig.update_layout(scene={"xaxis_title": names[0], "yaxis_title": names[1],
                                 "zaxis_title": names[2]})
    fig.update_layout(title="Pareto front")
    return fig


def plot_timeline(study: Study | History, *, n_recent_trials: int | None = None) -> Any:
    """Each trial as a bar from its start to its end (to now while it runs), coloured by
    state: how workers were kept busy, and where trials failed or stalled."""
    go = _plotly()
    traces = [go.Bar(base=starts, x=[d * 1000 for d in seconds], y=numbers, orientation="h",
                     name=state.value, marker={"color": STATE_COLOURS[state]})
              for state, numbers, starts, seconds in timeline_bars(as_history(study),
                                                                   n_recent_trials)]
    fig = go.Figure(traces)
    fig.update_layout(title="Timeline", xaxis={"type": "date", "title": "Datetime"},
                      yaxis_title="Trial", barmode="overlay")
    return fig


def plot_edf(study: Study | History | Sequence[Study | History], *,
             target: Target | None = None, target_name: str = "Objective value") -> Any:
    """The empirical distribution function of the completed trials' values, one line per
    study (``study`` is one or a list, as Optuna's): the share of trials at or below each
    value (compare samplers, or a search space before and after a change)."""
    go = _plotly()
    fig = go.Figure([go.Scatter(x=y, y=share, mode="lines", line={"shape": "hv"}, name=name)
                     for name, y, share in edf_series(study, target)])
    fig.update_layout(title="Empirical distribution function", xaxis_title=target_name,
                      yaxis={"title": "Cumulative probability", "range": [0, 1]})
    return fig


def plot_hypervolume_history(study: Study | History, reference_point: Sequence[float]) -> Any:
    """The hypervolume that the feasible completed trials so far dominate, by trial number,
    up to ``reference_point`` (one value per objective, in the study's own directions: worse
    than every value that should count)."""
    go = _plotly()
    numbers, volumes = hypervolume_series(as_history(study), reference_point)
    fig = go.Figure(go.Scatter(x=numbers, y=volumes, mode="lines+markers",
                               name="Hypervolume"))
    fig.update_layout(title="Hypervolume history", xaxis_title="Trial",
                      yaxis_title="Hypervolume")
    return fig


# ``hyperdial.visualization.matplotlib`` without importing it first, as Optuna's code writes
# ``optuna.visualization.matplotlib.plot_...`` after a plain ``import optuna``.
__getattr__ = module_getattr(__name__, {}, submodules=("matplotlib",))
