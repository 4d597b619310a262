"""README's promise: Optuna code runs after changing its import.

One script, written against Optuna's API the way its users write it, runs unchanged under
``import optuna`` and under ``import hyperdial as optuna``, and its own assertions (which are
about behaviour both libraries define: states, values, columns, counts) hold under both.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import pytest

SCRIPT = '''
import math

def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    n = trial.suggest_int("n", 1, 8, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh"])
    trial.set_user_attr("act_is_relu", act == "relu")
    trial.set_constraint("n_at_most_6", n - 6)
    for step in range(5):
        trial.report((x - 2) ** 2 + n + 5 - step, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return (x - 2) ** 2 + n

storage = optuna.storages.RDBStorage(
    url, heartbeat_interval=60,
    failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=3))
study = optuna.create_study(
    study_name="port", storage=storage, direction="minimize",
    sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    load_if_exists=True)
study.enqueue_trial({"x": 2.0, "n": 1, "act": "tanh"})
study.optimize(objective, n_trials=80, callbacks=[optuna.study.MaxTrialsCallback(
    12, states=(optuna.trial.TrialState.COMPLETE,))])

TrialState = optuna.trial.TrialState
complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
assert len(complete) == 12 and pruned, (len(complete), len(pruned))
assert study.best_params == {"x": 2.0, "n": 1, "act": "tanh"} and study.best_value == 1.0
assert isinstance(study.best_trial, optuna.trial.FrozenTrial)
assert study.best_trial.user_attrs == {"act_is_relu": False}
assert study.best_trial.constraints == {"n_at_most_6": -5.0}
assert all(t.constraints["n_at_most_6"] <= 0 for t in study.best_trials)
for t in pruned:  # a pruned trial keeps its last report
    assert t.value == t.intermediate_values[t.last_step]
assert study.direction == optuna.study.StudyDirection.MINIMIZE

trial = study.ask()
study.tell(trial, 3.5)
trial = study.ask({"x": optuna.distributions.FloatDistribution(-10, 10)})
study.tell(trial.number, state=TrialState.FAIL)
assert study.trials[-1].state == TrialState.FAIL and study.trials[-1].value is None

df = study.trials_dataframe(attrs=("number", "value", "params", "state"), multi_index=True)
assert list(df.columns) == [("number", ""), ("value", ""), ("params", "act"),
                            ("params", "n"), ("params", "x"), ("state", "")]
assert set(df[("state", "")]) == {"COMPLETE", "PRUNED", "FAIL"}

fixed = optuna.create_study(sampler=optuna.samplers.PartialFixedSampler(
    {"act": "relu"}, optuna.samplers.RandomSampler(seed=1)))
fixed.optimize(objective, n_trials=5)
assert {t.params["act"] for t in fixed.trials} == {"relu"}

loaded = optuna.load_study(study_name="port", storage=url)
assert len(loaded.trials) == len(study.trials)
assert "port" in optuna.get_all_study_names(storage=url)
importances = optuna.importance.get_param_importances(loaded)
assert set(importances) == {"x", "n", "act"} and math.isclose(sum(importances.values()), 1.0)
multi = optuna.create_study(directions=["minimize", "maximize"])
multi.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=6)
assert 1 <= len(multi.best_trials) <= 6
optuna.delete_study(study_name="port", storage=url)
try:
    optuna.load_study(study_name="port", storage=url)
    raise AssertionError("a deleted study loaded")
except KeyError:
    pass
'''


@pytest.mark.parametrize("library", ["optuna", "hyperdial"])
def test_an_optuna_script_runs_with_either_import(library: str, tmp_path: Path) -> None:
    if library == "optuna":
        optuna = pytest.importorskip("optuna")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    else:
        optuna = importlib.import_module("hyperdial")
    namespace: dict[str, Any] = {"optuna": optuna, "url": f"sqlite:///{tmp_path / 'port.db'}"}
    with warnings.catch_warnings():
        if library == "optuna":  # the suite turns warnings into errors; Optuna's are not ours
            warnings.simplefilter("ignore")
        exec(compile(SCRIPT, f"<optuna script under {library}>", "exec"), namespace)
