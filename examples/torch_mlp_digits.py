"""Tune a PyTorch MLP on scikit-learn's digits, on the CPU, and stop weak runs early with ASHA.

The network's depth is searched, and each layer's width exists only in the trials that have
that layer (a conditional space, asked for define-by-run). Each epoch reports the validation
error; asynchronous successive halving stops a run that is not in the top third of the runs
that reached the same epoch. Needs the ``torch`` extra (``pip install "hyperdial[torch]"``,
which pins the CPU build ``torch==2.13.0``)::

    python examples/torch_mlp_digits.py
"""

from __future__ import annotations

from typing import Any

from _digits import digits_split, print_pruning_summary

import hyperdial as hd

MAX_EPOCHS = 27


def build(trial: hd.Trial, n_in: int, n_out: int) -> Any:
    """The network the trial asks for: 1 to 3 hidden layers, each of its own width."""
    import torch

    layers: list[torch.nn.Module] = []
    width = n_in
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    for i in range(trial.suggest_int("n_layers", 1, 3)):
        units = trial.suggest_int(f"units_{i}", 16, 256, log=True)
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        width = units
    layers.append(torch.nn.Linear(width, n_out))
    return torch.nn.Sequential(*layers)


def objective(trial: hd.Trial) -> float:
    """Validation error after ``MAX_EPOCHS`` epochs of minibatch training (to minimise)."""
    import torch

    torch.set_num_threads(1)  # small matrices: threads cost more than they save
    torch.manual_seed(trial.number)
    x_train, x_val, y_train, y_val = (torch.as_tensor(a) for a in digits_split())
    x_train, x_val = x_train.float(), x_val.float()
    net = build(trial, x_train.shape[1], 10)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        weight_decay=trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True))
    batch_size = trial.suggest_categorical("batch_size", [16, 32, 64, 128])
    error = 1.0
    for epoch in range(1, MAX_EPOCHS + 1):
        net.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(x_train), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            error = float((net(x_val).argmax(dim=1) != y_val).float().mean())
        trial.report(error, step=epoch)
        if trial.should_prune():
            raise hd.TrialPruned()
    return error


def main(n_trials: int = 40, storage: str | None = None) -> hd.Study:
    study = hd.create_study(
        study_name="torch-mlp-digits", storage=storage, direction="minimize",
        load_if_exists=True, sampler=hd.samplers.TPESampler(seed=0),
        pruner=hd.pruners.SuccessiveHalvingPruner(min_resource=3, reduction_factor=3,
                                                  max_resource=MAX_EPOCHS))
    study.optimize(objective, n_trials=n_trials)
    print_pruning_summary(study, MAX_EPOCHS)
    return study


if __name__ == "__main__":
    main()
