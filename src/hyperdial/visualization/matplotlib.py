"""The plots of `hyperdial.visualization` drawn with matplotlib, for static figures (papers,
reports, notebooks without JavaScript), under Optuna's names
(``optuna.visualization.matplotlib``).

Each function returns the ``matplotlib.axes.Axes`` it drew on (a 2-D array of them for plots
of several panels); save with ``ax.figure.savefig(path)``. The numbers are those of the plotly
plots, computed by the same code. Needs matplotlib (the ``viz`` extra). Single-panel plots
take ``ax=`` to draw into axes of one's own.
"""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial._optional import require
from hyperdial.importance import Target, as_history
from hyperdial.samplers.base import ConstraintsFunc
from hyperdial.visualization import _series as series

if TYPE_CHECKING:
    from hyperdial.history import History
    from hyperdial.importance import ImportanceEvaluator
    from hyperdial.study import Study


#: Characters a line of a slice panel's title holds: a longer name is wrapped, as it would
#: run into the next panel's.
_TITLE_CHARS = 22


def _pyplot() -> Any:
    return require("matplotlib.pyplot", "viz")


def _scale(xy: str, c: series.Column) -> dict[str, Any]:
    """``ax.set`` arguments for the x or y axis (``xy``) drawing ``c``: its scale, and a
    categorical's labels at their positions (every choice in view)."""
    out: dict[str, Any] = {f"{xy}scale": "log" if c.log else "linear"}
    if c.ticks is not None:
        out |= {f"{xy}ticks": range(len(c.ticks)), f"{xy}ticklabels": c.ticks}
    return out


def _axes(ax: Any) -> Any:
    """``ax``, or the axes of a new figure."""
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots()
    return ax


def is_available() -> bool:
    """Whether the plots can be drawn: matplotlib imports (Optuna's
    ``visualization.matplotlib.is_available``)."""
    return importlib.util.find_spec("matplotlib") is not None


def plot_optimization_history(study: Study | History | Sequence[Study | History], *,
                              target: Target | None = None,
                              target_name: str = "Objective value", error_bar: bool = False,
                              ax: Any = None) -> Any:
    """Each completed trial's value by number and the best so far; infeasible trials grey.
    A list of studies: each drawn with its name, or with ``error_bar`` the mean and standard
    deviation over them (see the plotly version)."""
    ax = _axes(ax)
    group = series.history_series_list(study, target)
    if error_bar:
        b = series.history_band([h for _, h in group])
        ax.errorbar(b.numbers, b.mean, yerr=b.std, fmt="o", markersize=3, capsize=2,
                    label=target_name)
        ax.step(b.best_numbers, b.best_mean, where="post", color="tab:red", label="Best value")
        ax.fill_between(b.best_numbers, b.best_mean - b.best_std, b.best_mean + b.best_std,
                        step="post", color="tab:red", alpha=0.2)
    for name, h in ([] if error_bar else group):
        ok = h.feasible
        of = f" of {name}" if len(group) > 1 else ""
        dots = ax.scatter(h.numbers[ok], h.values[ok], s=14, label=target_name + of)
        ax.step(h.numbers, h.best, where="post",
                color="tab:red" if len(group) == 1 else dots.get_facecolor()[0],
                label="Best value" + of)
        if not ok.all():
            ax.scatter(h.numbers[~ok], h.values[~ok], s=14, color="#cccccc",
                       label="Infeasible trial" + of)
    ax.set(title="Optimization history", xlabel="Trial", ylabel=target_name)
    ax.legend()
    return ax


def plot_intermediate_values(study: Study | History, *, ax: Any = None) -> Any:
    """Every trial's reported values by step; pruned trials dotted; one curve per objective
    for reports of several values (see the plotly version)."""
    ax = _axes(ax)
    drawn = series.curves(study)
    for c in drawn:
        ax.plot(c.steps, c.values, marker=".", label=c.label,
                linestyle=":" if series.is_pruned(c.trial) else "-")
    ax.set(title="Intermediate values", xlabel="Step", ylabel="Intermediate value")
    if 0 < len(drawn) <= 20:
        ax.legend(fontsize="small")
    return ax


def plot_slice(study: Study | History, params: Sequence[str] | None = None, *,
               target: Target | None = None, target_name: str = "Objective value") -> Any:
    """One panel per parameter, value against parameter (log axes for log scales), coloured
    by trial number; returns the panels' axes as a 1 x n array."""
    panels = series.slice_panels(as_history(study), params, target)
    fig, axes = _pyplot().subplots(1, max(len(panels), 1), sharey=True, squeeze=False,
                                   figsize=(3.2 * max(len(panels), 1), 3.2),
                                   layout="constrained")  # room for wrapped titles
    dots = None
    for ax, panel in zip(axes[0], panels, strict=False):
        dots = ax.scatter(panel.x.values, panel.y, c=panel.numbers, cmap="Blues", s=14,
                          edgecolors="grey", linewidths=0.3)
        ax.set(title=textwrap.fill(panel.name, _TITLE_CHARS), **_scale("x", panel.x))
    axes[0, 0].set_ylabel(target_name)
    if dots is not None:
        fig.colorbar(dots, ax=axes[0, -1], label="Trial")
    fig.suptitle("Slice plot")
    return axes


def plot_rank(study: Study | History, params: Sequence[str] | None = None, *,
              target: Target | None = None, target_name: str = "Objective value") -> Any:
    """Each pair of parameters as a panel (the lower triangle of a matrix), every completed
    trial coloured by the rank of its value, darkest the best; returns the grid of axes
    (panels above the diagonal hidden)."""
    r = series.rank_panels(as_history(study), params, target)
    rows, cols = r.shape
    fig, axes = _pyplot().subplots(rows, cols, squeeze=False,
                                   figsize=(3.2 * cols + 1, 3.2 * rows))
    used = set()
    dots = None
    for x_name, y_name, row, col in r.pairs:
        ax = axes[row - 1, col - 1]
        used.add((row, col))
        x, y = r.columns[x_name], r.columns[y_name]
        dots = ax.scatter(x.values, y.values, c=1.0 - r.rank, cmap="Blues", vmin=0.0,
                          vmax=1.0, s=14, edgecolors="grey", linewidths=0.3)
        ax.set(**_scale("x", x), **_scale("y", y))
        if col == 1:
            ax.set_ylabel(y_name or target_name)
        if row == rows:
            ax.set_xlabel(x_name)
    for row, col in np.ndindex(rows, cols):
        if (row + 1, col + 1) not in used:
            axes[row, col].set_visible(False)
    if dots is not None:
        bar = fig.colorbar(dots, ax=axes, label=f"Rank of {target_name}")
        bar.set_ticks([0.0, 1.0], labels=["worst", "best"])
    fig.suptitle("Rank plot")
    return axes


def plot_param_importances(study: Study | History, *,
                           evaluator: ImportanceEvaluator | None = None,
                           params: Sequence[str] | None = None,
                           target: Target | None = None, target_name: str = "Objective value",
                           ax: Any = None) -> Any:
    """`hyperdial.importance.get_param_importances` as horizontal bars, largest on top."""
    ax = _axes(ax)
    shares = series.importance_bars(study, evaluator, params, target)
    names = list(shares)
    bars = ax.barh(names, [shares[n] for n in names], label=target_name)
    ax.bar_label(bars, labels=[f"{shares[n]:.2f}" for n in names], padding=2)
    ax.set(title="Hyperparameter importances", xlabel=f"Importance for {target_name}",
           ylabel="Hyperparameter")
    return ax


def plot_pareto_front(study: Study | History, *,
                      target_names: Sequence[str] | None = None,
                      include_dominated_trials: bool = True,
                      constraints_func: ConstraintsFunc | None = None,
                      targets: series.Targets | None = None) -> Any:
    """Completed trials of a study of 2 or 3 objectives, the Pareto front in red and
    infeasible trials in grey; axes named ``target_names``, else the study's metric names.
    Optuna's ``include_dominated_trials``, ``targets`` and ``constraints_func`` as in the
    plotly version."""
    names, groups = series.pareto_groups(study, target_names,
                                         include_dominated_trials=include_dominated_trials,
                                         constraints_func=constraints_func, targets=targets)
    three = len(names) == 3
    fig = _pyplot().figure()
    ax = fig.add_subplot(projection="3d" if three else None)
    for g in groups:
        ax.scatter(*g.columns, color=g.colour, s=14, label=g.label)
    ax.set(xlabel=names[0], ylabel=names[1], title="Pareto front")
    if three:
        ax.set_zlabel(names[2])
    ax.legend()
    return ax


def plot_edf(study: Study | History | Sequence[Study | History], *,
             target: Target | None = None, target_name: str = "Objective value",
             ax: Any = None) -> Any:
    """The share of completed trials at or below each value, one line per study (``study``
    is one or a list, as Optuna's)."""
    ax = _axes(ax)
    for name, y, share in series.edf_series(study, target):
        ax.step(y, share, where="post", label=name)
    ax.set(title="Empirical distribution function", xlabel=target_name,
           ylabel="Cumulative probability", ylim=(0.0, 1.0))
    ax.legend()
    return ax


def plot_parallel_coordinate(study: Study | History, params: Sequence[str] | None = None, *,
                             target: Target | None = None,
                             target_name: str = "Objective value", ax: Any = None) -> Any:
    """The value and every parameter as parallel axes (each scaled to its own range; log
    scales as log10, categoricals by their choices), one line per completed trial holding them
    all, the better the darker."""
    ax = _axes(ax)
    history = as_history(study)
    values, axes = series.parallel_axes(history, params, target, target_name)
    table = np.array([a.values for a in axes], dtype=float)  # one row per axis
    # Categoricals span their choices, numbers the values seen.
    low = np.array([0.0 if a.ticks else row.min() for a, row in zip(axes, table, strict=True)])
    high = np.array([len(a.ticks) - 1.0 if a.ticks else row.max()
                     for a, row in zip(axes, table, strict=True)])
    scaled = (table - low[:, None]) / np.where(high > low, high - low, 1.0)[:, None]
    rank = np.argsort(np.argsort(values if series.lower_is_better(history, target) else -values))
    shade = 1.0 - rank / max(len(values) - 1, 1)  # 1: the best trial
    cmap = _pyplot().get_cmap("Blues")
    for k in np.argsort(shade):  # the best drawn last, on top
        ax.plot(range(len(axes)), scaled[:, k], color=cmap(0.2 + 0.8 * shade[k]), linewidth=1)
    ax.set_xticks(range(len(axes)), [a.label for a in axes], rotation=30, ha="right")
    for i, a in enumerate(axes):
        ax.axvline(i, color="grey", linewidth=0.5)
        labels = a.ticks or [f"{low[i]:.3g}", f"{high[i]:.3g}"]
        for k, label in enumerate(labels):
            ax.annotate(label, (i, k / max(len(labels) - 1, 1)), fontsize="x-small",
                        xytext=(2, 0), textcoords="offset points")
    ax.set_yticks([])
    ax.set_title("Parallel coordinate plot")
    return ax


def plot_contour(study: Study | History, params: Sequence[str] | None = None, *,
                 target: Target | None = None, target_name: str = "Objective value",
                 n_grid: int = 40, n_samples: int = 64, seed: int = 0, ax: Any = None) -> Any:
    """The partial dependence of the objective on two parameters (a Gaussian-process model's
    mean averaged over the others), with the trials as dots; see the plotly version."""
    ax = _axes(ax)
    history = as_history(study)
    c = series.contour_grid(history, params, target, n_grid, n_samples, seed)
    cmap = "Blues_r" if series.lower_is_better(history, target) else "Blues"
    x, y, z = np.asarray(c.x, dtype=float), np.asarray(c.y, dtype=float), c.surface
    # contourf needs two points a side: a categorical of one choice (at 0) fills its band from
    # -0.5 to 0.5, as in plotly's drawing
    band = np.array([-0.5, 0.5])
    if len(x) == 1:
        x, z = band, np.repeat(z, 2, axis=1)
    if len(y) == 1:
        y, z = band, np.repeat(z, 2, axis=0)
    filled = ax.contourf(x, y, z, levels=15, cmap=cmap)
    ax.figure.colorbar(filled, ax=ax, label=target_name)
    ax.scatter(c.points[0].values, c.points[1].values, color="black", s=8, label="Trial")
    ax.set(xlabel=c.params[0], ylabel=c.params[1], **_scale("x", c.points[0]),
           **_scale("y", c.points[1]),
           title=f"Contour plot (partial dependence): {c.params[0]}, {c.params[1]}")
    return ax


def plot_timeline(study: Study | History, *, n_recent_trials: int | None = None,
                  ax: Any = None) -> Any:
    """Each trial as a bar from its start to its end (to now while it runs), by state."""
    from matplotlib.dates import date2num

    ax = _axes(ax)
    for state, numbers, starts, seconds in series.timeline_bars(as_history(study), n_recent_trials):
        left = date2num(starts)  # type: ignore[no-untyped-call]
        ax.barh(numbers, [s / 86400 for s in seconds], left=left, height=0.8,
                color=series.STATE_COLOURS[state], label=state.value)
    ax.xaxis_date()
    ax.set(title="Timeline", xlabel="Datetime", ylabel="Trial")
    ax.legend()
    return ax


def plot_hypervolume_history(study: Study | History, reference_point: Sequence[float], *,
                             ax: Any = None) -> Any:
    """The hypervolume the feasible completed trials so far dominate, by trial number."""
    ax = _axes(ax)
    numbers, volumes = series.hypervolume_series(as_history(study), reference_point)
    ax.plot(numbers, volumes, marker=".")
    ax.set(title="Hypervolume history", xlabel="Trial", ylabel="Hypervolume")
    return ax


__all__ = ["is_available", "plot_contour", "plot_edf", "plot_hypervolume_history",
           "plot_intermediate_values", "plot_optimization_history", "plot_parallel_coordinate",
           "plot_param_importances", "plot_pareto_front", "plot_rank", "plot_slice",
           "plot_timeline"]
