"""LightningPruningCallback: a real Lightning Trainer on the CPU, pruned by a real pruner."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

import hyperdial as hd  # noqa: E402
from hyperdial.integrations.lightning import LightningPruningCallback  # noqa: E402
from hyperdial.pruners import NopPruner, ThresholdPruner  # noqa: E402
from hyperdial.trial import TrialState  # noqa: E402

pytestmark = [
    # Lightning's advice for real workloads (more data loader workers, ...), not failures,
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    # and Lightning 2.6 calling an API that torch 2.13 deprecates.
    pytest.mark.filterwarnings("ignore:.isinstance.treespec, LeafSpec.:FutureWarning"),
]


class _Regression(pl.LightningModule):  # type: ignore[misc]
    """A linear model fitted to a noisy line; logs ``val_loss`` unless told a name."""

    def __init__(self, lr: float, log_as: str = "val_loss") -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.lr = lr
        self.log_as = log_as
        self.val_losses: list[float] = []
        self.steps = 0

    def training_step(self, batch: Any, _: int) -> Any:
        x, y = batch
        self.steps += 1
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch: Any, _: int) -> None:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log(self.log_as, loss)
        if not self.trainer.sanity_checking:
            self.val_losses.append(float(loss))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _loader() -> Any:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, generator=g)
    y = 3 * x + 1 + 0.05 * torch.randn(64, 1, generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)


def _trainer(trial: hd.Trial, epochs: int, **kwargs: Any) -> Any:
    return pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False,
                      callbacks=[LightningPruningCallback(trial, monitor="val_loss")], **kwargs)


def test_every_epoch_is_reported_and_the_trial_completes() -> None:
    torch.manual_seed(0)
    study = hd.create_study(pruner=NopPruner())
    modules = []

    def objective(trial: hd.Trial) -> float:
        module = _Regression(trial.suggest_float("lr", 0.05, 0.5))
        modules.append(module)
        _trainer(trial, epochs=4).fit(module, _loader(), _loader())
        return module.val_losses[-1]

    study.optimize(objective, n_trials=2)
    for t, module in zip(study.trials, modules, strict=True):
        assert t.state is TrialState.COMPLETE
        assert list(t.intermediate_values) == [0, 1, 2, 3]  # the epochs; no sanity check
        assert list(t.intermediate_values.values()) == pytest.approx(module.val_losses)


def test_a_pruned_trial_stops_training_at_once() -> None:
    torch.manual_seed(0)
    study = hd.create_study(pruner=ThresholdPruner(upper=1e-9))  # any real loss is above it
    modules = []

    def objective(trial: hd.Trial) -> float:
        module = _Regression(0.1)
        modules.append(module)
        _trainer(trial, epochs=10).fit(module, _loader(), _loader())
        return module.val_losses[-1]

    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state is TrialState.PRUNED
    assert list(trial.intermediate_values) == [0]
    assert modules[0].steps == 1  # one batch an epoch: 1 epoch trained, not 10
    assert trial.value == pytest.approx(modules[0].val_losses[0])  # its last report


def test_several_validations_an_epoch_report_the_first() -> None:
    study = hd.create_study(pruner=NopPruner())
    trial = study.ask()
    module = _Regression(0.1)
    many = torch.utils.data.DataLoader(_loader().dataset, batch_size=16)  # 4 batches
    _trainer(trial, epochs=2, val_check_interval=0.5).fit(module, many, _loader())
    assert len(module.val_losses) == 4
    assert trial.intermediate_values == pytest.approx(
        {0: module.val_losses[0], 1: module.val_losses[2]})


def test_validate_runs_outside_fit_report_nothing() -> None:
    torch.manual_seed(0)
    trial = hd.create_study(pruner=NopPruner()).ask()
    module = _Regression(0.1)
    trainer = _trainer(trial, epochs=2)
    trainer.validate(module, _loader(), verbose=False)  # the untrained model: not epoch 0
    trainer.fit(module, _loader(), _loader())
    trainer.validate(module, _loader(), verbose=False)  # after fit: not an epoch 2
    before, epoch_0, epoch_1, _after = module.val_losses
    assert before != epoch_0
    assert trial.intermediate_values == pytest.approx({0: epoch_0, 1: epoch_1})


def test_a_metric_that_was_never_logged_is_a_clear_error() -> None:
    study = hd.create_study()
    trial = study.ask()
    with pytest.raises(ValueError, match=r"logged no 'val_loss'.*\['loss'\]"):
        _trainer(trial, epochs=1).fit(_Regression(0.1, log_as="loss"), _loader(), _loader())


def test_a_fit_without_validation_warns_that_it_could_not_prune() -> None:
    """Without a validation loader nothing was reported and nothing said so: the trial could
    never be pruned (Keras's callback warns in that case)."""
    trial = hd.create_study().ask()
    with pytest.warns(RuntimeWarning, match="ran no validation during fit .* could not be "
                                            "pruned"):
        _trainer(trial, epochs=2).fit(_Regression(0.1), _loader())
    assert trial.intermediate_values == {}


def test_training_in_several_processes_is_refused() -> None:
    trial = hd.create_study().ask()
    callback = LightningPruningCallback(trial, monitor="val_loss")
    several = SimpleNamespace(world_size=2, strategy=SimpleNamespace())
    with pytest.raises(ValueError, match="one process; this trainer runs 2"):
        callback.setup(several, None, "fit")
