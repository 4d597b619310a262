"""Tune a PyTorch Lightning MLP on scikit-learn's digits, stopping weak runs with Hyperband.

The model is an ordinary `LightningModule`; `LightningPruningCallback` reports its logged
``val_error`` after each epoch's validation and stops the `Trainer` when the study's pruner
(Hyperband: its brackets stop runs after 2, 4 or 10 epochs, Lightning counting epochs from
0, or never) says the run is hopeless.
The depth, each layer's width (only for the layers that exist), dropout, learning rate and
batch size are searched. Needs the ``lightning`` extra (``pip install "hyperdial[lightning]"``,
with the CPU build ``torch==2.13.0``)::

    python examples/lightning_mlp_digits.py
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import lightning.pytorch as pl
import torch
from _digits import digits_split, print_pruning_summary

import hyperdial as hd
from hyperdial.integrations.lightning import LightningPruningCallback

MAX_EPOCHS = 27


def _quiet() -> None:
    """Lightning's banners and its advice for big workloads (more data loader workers),
    which this small CPU run does not need."""
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*isinstance.treespec, LeafSpec.*", FutureWarning)


class Classifier(pl.LightningModule):  # type: ignore[misc]
    """Any network, trained with cross-entropy and AdamW; logs the validation error."""

    def __init__(self, net: torch.nn.Module, lr: float) -> None:
        super().__init__()
        self.net, self.lr = net, lr

    def training_step(self, batch: Any, _: int) -> Any:
        x, y = batch
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def validation_step(self, batch: Any, _: int) -> None:
        x, y = batch
        self.log("val_error", (self.net(x).argmax(dim=1) != y).float().mean())

    def configure_optimizers(self) -> Any:
        return torch.optim.AdamW(self.parameters(), lr=self.lr)


def loader(x: Any, y: Any, shuffle: bool, batch_size: int) -> Any:
    data = torch.utils.data.TensorDataset(torch.as_tensor(x, dtype=torch.float32),
                                          torch.as_tensor(y))
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=shuffle)


def objective(trial: hd.Trial) -> float:
    """Validation error of the last epoch trained (to minimise)."""
    torch.set_num_threads(1)  # small matrices: threads cost more than they save
    pl.seed_everything(trial.number, verbose=False)
    x_train, x_val, y_train, y_val = digits_split()
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    layers: list[torch.nn.Module] = []
    width = x_train.shape[1]
    for i in range(trial.suggest_int("n_layers", 1, 3)):
        units = trial.suggest_int(f"units_{i}", 16, 256, log=True)
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        width = units
    layers.append(torch.nn.Linear(width, 10))
    model = Classifier(torch.nn.Sequential(*layers),
                        lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True))
    batch_size = trial.suggest_categorical("batch_size", [16, 32, 64, 128])
    trainer = pl.Trainer(
        max_epochs=MAX_EPOCHS, accelerator="cpu", devices=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[LightningPruningCallback(trial, monitor="val_error")])
    trainer.fit(model, loader(x_train, y_train, True, batch_size),
                loader(x_val, y_val, False, 512))
    return float(trainer.callback_metrics["val_error"])


def main(n_trials: int = 30, storage: str | None = None) -> hd.Study:
    _quiet()
    study = hd.create_study(
        study_name="lightning-mlp-digits", storage=storage, direction="minimize",
        load_if_exists=True, sampler=hd.samplers.TPESampler(seed=0),
        pruner=hd.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS,
                                          reduction_factor=3, seed=0))
    study.optimize(objective, n_trials=n_trials)
    print_pruning_summary(study, MAX_EPOCHS, first_epoch=0)
    return study


if __name__ == "__main__":
    main()
