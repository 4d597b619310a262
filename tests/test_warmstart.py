"""Warm starts across studies: the portfolio kernel, nearest studies, and enqueueing."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hyperdial as hd
from hyperdial import warmstart


def test_normalised_losses_scale_each_task_and_make_missing_worst() -> None:
    table = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, np.nan], [np.nan, 5.0, np.inf]])
    out = warmstart.normalised_losses(table)
    np.testing.assert_allclose(out[:, 0], [0.0, 1.0, 1.0])
    np.testing.assert_allclose(out[:, 1], [0.0, 0.0, 0.0])  # one value: all at the best
    np.testing.assert_allclose(out[:, 2], [1.0, 1.0, 1.0])  # nothing finite: all worst


def test_greedy_portfolio_adds_the_row_that_helps_most() -> None:
    table = np.array([
        [0.0, 0.0, 1.0],  # the best on two tasks
        [1.0, 1.0, 0.0],  # the only good one on the third
        [0.3, 0.3, 0.3],  # the best on average
        [0.1, 0.1, 0.9],
    ])
    assert warmstart.greedy_portfolio(table, 1) == [2]
    assert warmstart.greedy_portfolio(table, 2) == [2, 0]  # mean 0.1, against 0.2 with row 1
    # Every task is at its best after three rows: a fourth could not help.
    assert warmstart.greedy_portfolio(table, 4) == [2, 0, 1]


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 8), st.integers(1, 5)),
              elements=st.floats(0.0, 1.0)), st.integers(0, 10))
def test_greedy_portfolio_never_gets_worse_and_starts_from_the_best_mean(
        table: np.ndarray, k: int) -> None:
    rows = warmstart.greedy_portfolio(table, k)
    assert len(rows) == len(set(rows)) <= min(k, len(table))
    if k:
        assert table[rows[0]].mean() == pytest.approx(table.mean(axis=1).min())
    values = [np.min(table[rows[:i + 1]], axis=0).mean() for i in range(len(rows))]
    assert all(b < a for a, b in itertools.pairwise(values))


def test_greedy_portfolio_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="table"):
        warmstart.greedy_portfolio(np.zeros(3), 1)
    with pytest.raises(ValueError, match="k must be"):
        warmstart.greedy_portfolio(np.zeros((2, 2)), -1)


def test_nearest_best_orders_by_standardised_meta_features() -> None:
    sources = [({"n": 5_500.0, "k": 2.0}, {"c": "A"}),
               ({"n": 8_000.0, "k": 9.0}, {"c": "B"}),
               ({"n": 20_000.0, "k": 5.0}, {"c": "C"})]
    # In raw units A is nearest (n differs by 500, against 3,000 for B); scaled by each
    # feature's spread, A's k (2 against 9) weighs more than B's n.
    order = warmstart.nearest_best(sources, {"n": 5_000.0, "k": 9.0, "unshared": 1.0})
    assert [c["c"] for c in order] == ["B", "A", "C"]
    # A feature that does not vary counts for nothing, and no shared one keeps the order.
    flat = [({"n": 1.0, "k": 1.0}, {"c": "x"}), ({"n": 1.0, "k": 3.0}, {"c": "y"})]
    assert [c["c"] for c in warmstart.nearest_best(flat, {"n": 50.0, "k": 3.0})] == ["y", "x"]
    assert [c["c"] for c in warmstart.nearest_best(flat, {"other": 0.0})] == ["x", "y"]
    assert warmstart.nearest_best([], {"n": 1.0}) == []


def test_a_feature_a_source_lacks_changes_only_that_sources_distance() -> None:
    """A NaN (or missing, or non-numeric) meta-feature once dropped the feature for every
    source and put its source last; now that source is measured on what it has."""
    sources = [({"rows": 1.0, "cols": math.nan}, {"c": "near"}),
               ({"rows": 5.0, "cols": 2.0}, {"c": "mid"}),
               ({"rows": 9.0, "cols": 2.0}, {"c": "far"})]
    target = {"rows": 1.1, "cols": 2.0}
    assert [c["c"] for c in warmstart.nearest_best(sources, target)] == ["near", "mid", "far"]
    for lacking in ({"rows": 1.0}, {"rows": 1.0, "cols": None}, {"rows": 1.0, "cols": "?"}):
        order = warmstart.nearest_best([(lacking, {"c": "near"}), *sources[1:]], target)
        assert [c["c"] for c in order] == ["near", "mid", "far"]
    # the others are ordered as without that source; one sharing nothing comes last
    others = [({"rows": 9.0, "cols": 9.0}, {"c": "B"}), ({"rows": 5.0, "cols": 2.5}, {"c": "A"})]
    alone = [c["c"] for c in warmstart.nearest_best(others, {"rows": 5.0, "cols": 2.0})]
    mixed = warmstart.nearest_best([({"size": 3.0}, {"c": "none"}), *others,
                                    ({"rows": math.nan, "cols": 2.0}, {"c": "cols"})],
                                   {"rows": 5.0, "cols": 2.0})
    assert alone == ["A", "B"] and [c["c"] for c in mixed] == ["cols", "A", "B", "none"]


def _done(name: str, xs: list[float], meta: dict[str, float] | None = None) -> hd.Study:
    """A study whose completed trials have ``x`` in ``xs`` and value ``x``: the first x is
    the best."""
    study = hd.create_study(study_name=name)
    if meta is not None:
        study.set_user_attr("meta_features", meta)
    for x in xs:
        study.enqueue_trial({"x": x})
        study.optimize(lambda t: t.suggest_float("x", 0.0, 10.0), n_trials=1)
    return study


def test_warm_start_enqueues_the_best_of_the_nearest_sources_first() -> None:
    sources = [_done("far", [1.0, 2.0], {"size": 100.0}),
               _done("blind", [3.0]),
               _done("near", [4.0, 5.0], {"size": 10.0}),
               hd.create_study(study_name="empty")]
    target = hd.create_study()
    queued = warmstart.warm_start(target, sources, k=3, meta_features={"size": 12.0},
                                  then=[{"x": 9.0}])
    assert queued == [{"x": 4.0}, {"x": 1.0}, {"x": 3.0}]
    target.optimize(lambda t: t.suggest_float("x", 0.0, 10.0), n_trials=4)
    xs = [t.params["x"] for t in target.trials]
    assert xs[:3] == [4.0, 1.0, 3.0]
    assert all(t.user_attrs.get("warm_start") for t in target.trials[:3])
    assert "warm_start" not in target.trials[3].user_attrs


def test_warm_start_skips_what_does_not_fit_and_what_is_queued_already() -> None:
    sources = [_done("a", [2.0]), _done("b", [5.0])]
    target = hd.create_study()
    target.enqueue_trial({"x": 2.0})
    space = hd.SearchSpace({"x": hd.Float(0.0, 3.0)})
    queued = warmstart.warm_start(target, sources, k=5, space=space,
                                  then=[{"x": 1.0}, {"y": 1.0}, {"x": 1.0}])
    assert queued == [{"x": 1.0}]  # 2.0 is queued already, 5.0 out of range, y unknown
    assert warmstart.warm_start(hd.create_study(), sources, k=0) == []
    with pytest.raises(ValueError, match="k must be"):
        warmstart.warm_start(target, sources, k=-1)


def test_a_space_that_adds_or_drops_parameters_keeps_the_shared_ones() -> None:
    """The new study narrows ``lr``, adds ``dropout`` and drops ``depth``: an earlier best whose
    ``lr`` is inside the new range is queued with its shared values, the sampler choosing
    ``dropout``; one whose ``lr`` is outside is skipped."""
    source = hd.create_study()
    for lr, depth in ((0.003, 2), (0.5, 1)):
        source.enqueue_trial({"lr": lr, "depth": depth})
    source.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True) * 0
                    + t.suggest_int("depth", 1, 8), n_trials=2)  # depth 1 is the best
    assert source.best_params == {"lr": 0.5, "depth": 1}
    space = hd.SearchSpace({"lr": hd.Float(1e-4, 0.1, log=True), "depth": hd.Int(1, 8),
                            "dropout": hd.Float(0.0, 0.5)})
    assert warmstart.warm_start(hd.create_study(), [source], space=space) == []  # lr 0.5
    target = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    queued = warmstart.warm_start(target, [source], space=space,
                                  then=[{"lr": 0.01, "depth": 3, "layers": 4}])
    assert queued == [{"lr": 0.01, "depth": 3}]  # layers: not a parameter of the new study

    def objective(t: hd.Trial) -> float:
        return (t.suggest_float("lr", 1e-4, 0.1, log=True) + t.suggest_int("depth", 1, 8)
                + t.suggest_float("dropout", 0.0, 0.5))

    target.optimize(objective, n_trials=1)
    (trial,) = target.trials
    assert trial.state is hd.TrialState.COMPLETE and trial.user_attrs["warm_start"]
    assert trial.params["lr"] == 0.01 and trial.params["depth"] == 3
    assert 0.0 <= trial.params["dropout"] <= 0.5  # the sampler's


def test_adapt_keeps_what_is_active_in_the_new_space() -> None:
    space = hd.SearchSpace(
        {"model": hd.Categorical(("knn", "svc")), "k": hd.Int(1, 50), "C": hd.Float(0.1, 10.0)},
        {"k": hd.Condition("model", ("knn",)), "C": hd.Condition("model", ("svc",))})
    assert warmstart.adapt({"model": "knn", "k": 5, "C": 1.0}, space) == {"model": "knn", "k": 5}
    assert warmstart.adapt({"model": "knn"}, space) == {"model": "knn"}  # k: the sampler's
    assert warmstart.adapt({"model": "tree", "depth": 3}, space) is None  # no longer offered
    assert warmstart.adapt({"model": "svc", "C": 100.0}, space) is None  # outside the range
    assert warmstart.adapt({"k": 5}, space) is None  # its parent unknown: nothing left


def test_an_int_given_as_a_float_by_another_source_is_one_configuration() -> None:
    """A source whose `n` was a float held 3.0 where another held 3: both were queued, and
    the study ran {"n": 3} twice."""
    by_int, by_float = hd.create_study(), hd.create_study()
    by_int.enqueue_trial({"n": 3})
    by_int.optimize(lambda t: t.suggest_int("n", 1, 5), n_trials=1)
    by_float.enqueue_trial({"n": 3.0})
    by_float.optimize(lambda t: t.suggest_float("n", 1, 5), n_trials=1)
    space = hd.SearchSpace({"n": hd.Int(1, 5)})
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    queued = warmstart.warm_start(study, [by_int, by_float], k=5, space=space)
    assert queued == [{"n": 3}] and type(queued[0]["n"]) is int
    study.optimize(lambda t: t.suggest_int("n", 1, 5), n_trials=1)
    assert warmstart.warm_start(study, [by_float], k=5, space=space) == []  # ran already


def test_warm_start_tells_true_one_and_one_point_oh_apart() -> None:
    sources = []
    for choice in (1, True, 1.0, 1):
        source = hd.create_study()
        source.enqueue_trial({"c": choice})
        source.optimize(lambda t: 0.0 * len(str(t.suggest_categorical("c", [1, True, 1.0]))),
                        n_trials=1)
        sources.append(source)
    queued = warmstart.warm_start(hd.create_study(), sources, k=5)
    assert [(type(q["c"]), q["c"]) for q in queued] == [(int, 1), (bool, True), (float, 1.0)]


def test_warm_start_skips_a_source_without_a_feasible_trial() -> None:
    def infeasible(trial: hd.Trial) -> float:
        trial.set_constraint("c", 1.0)
        return trial.suggest_float("x", 0, 1)

    source = hd.create_study()
    source.optimize(infeasible, n_trials=2)
    assert warmstart.warm_start(hd.create_study(), [source]) == []


def test_warm_start_ignores_multi_objective_sources() -> None:
    two = hd.create_study(directions=["minimize", "minimize"])
    two.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    assert warmstart.warm_start(hd.create_study(), [two]) == []
    assert math.isfinite(two.trials[0].values[0])


def test_without_a_space_a_value_out_of_the_new_range_is_left_to_the_sampler() -> None:
    """It failed the trial, and optimize stopped on the ValueError."""
    source = hd.create_study()
    source.enqueue_trial({"lr": 0.5, "depth": 2})
    source.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True)
                    + t.suggest_int("depth", 1, 8), n_trials=1)
    target = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    assert warmstart.warm_start(target, [source]) == [{"lr": 0.5, "depth": 2}]
    with pytest.warns(UserWarning, match=r"'lr': enqueued value 0.5 is outside .*the sampler "
                                         "chooses it instead"):
        target.optimize(lambda t: t.suggest_float("lr", 1e-4, 0.1, log=True)
                        + t.suggest_int("depth", 1, 8), n_trials=1)
    (trial,) = target.trials
    assert trial.state is hd.TrialState.COMPLETE and trial.params["depth"] == 2
    assert 1e-4 <= trial.params["lr"] <= 0.1


def test_an_enqueued_value_out_of_range_still_fails_without_hints() -> None:
    study = hd.create_study()
    study.enqueue_trial({"lr": 0.5})
    with pytest.raises(ValueError, match="'lr': enqueued value 0.5 is outside"):
        study.optimize(lambda t: t.suggest_float("lr", 1e-4, 0.1, log=True), n_trials=1)
