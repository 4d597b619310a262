"""Population-based training against random search at equal compute, on a real training task.

``python -m benchmarks.pbt`` trains a PyTorch MLP (64-128-10, one thread) on digits with SGD,
tuning the learning rate, momentum and weight decay. One step is one epoch over 1,000 training
images; the score is the cross-entropy on 400 validation images (lower is better). For each
seed:

- **PBT** (and **PB2** with ``--pb2``): ``--population`` members, ``--steps`` epochs each,
  perturbation every ``--interval`` epochs, on the simulated executor (real training, virtual
  clock: every member's epoch costs the same, so the run is reproducible from the seed).
- **random search**: random configurations trained for ``--steps`` epochs each, as many as
  PBT's compute (total epochs trained, counted from its trials) pays for.

Each method reports the validation loss of the configuration or member it selects (its best
final one), and the test loss and accuracy (397 held-out images) of that model: PBT's from the
best member's checkpoint in the artifact store. Writes ``results/pbt-<date>.md`` with the learned
schedule of each seed's best member, and the raw numbers to ``results/raw/``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import sys
import tempfile
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import hyperdial as hd
from benchmarks._common import RESULTS, torch_epoch, write_result
from hyperdial.artifacts import DirectoryStore
from hyperdial.executors import SimulatedExecutor
from hyperdial.schedulers import PopulationBasedTraining, lineage, schedule

SPACE = hd.SearchSpace({"lr": hd.Float(1e-3, 1.0, log=True), "momentum": hd.Float(0.0, 0.99),
                        "weight_decay": hd.Float(1e-6, 1e-2, log=True)})
DIVERGED = 10.0  # validation loss reported by a model whose weights blew up


@functools.cache
def _data() -> tuple[Any, ...]:
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    xt, rest, yt, yrest = train_test_split(x, y, train_size=1000, random_state=0, stratify=y)
    xv, xs, yv, ys = train_test_split(rest, yrest, train_size=400, random_state=0,
                                      stratify=yrest)
    return tuple(torch.as_tensor(a, dtype=torch.float32 if a.ndim == 2 else torch.long)
                 for a in (xt, yt, xv, yv, xs, ys))


class MLP:
    """A PBT trainable: SGD on an MLP, one epoch (batches of 50) per `step`."""

    def __init__(self, config: Mapping[str, Any], seed: int) -> None:
        import torch

        self.gen = torch.Generator().manual_seed(
            seed * 1_000_003 + zlib.crc32(json.dumps(dict(config), sort_keys=True).encode()))
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                       torch.nn.Linear(128, 10))
        with torch.no_grad():
            for p in self.net.parameters():
                p.uniform_(-1.0, 1.0, generator=self.gen).mul_(1.0 / math.sqrt(p.shape[-1]))
        self.opt = torch.optim.SGD(self.net.parameters(), lr=config["lr"],
                                   momentum=config["momentum"],
                                   weight_decay=config["weight_decay"])

    def step(self) -> float:
        import torch

        xt, yt, xv, yv, _, _ = _data()
        torch_epoch(self.net, self.opt, xt, yt, 50, self.gen)
        with torch.no_grad():
            loss = float(torch.nn.functional.cross_entropy(self.net(xv), yv))
        return loss if math.isfinite(loss) and loss < DIVERGED else DIVERGED

    def test_scores(self) -> dict[str, float]:
        """Cross-entropy and accuracy on the held-out test images."""
        import torch

        *_, xs, ys = _data()
        with torch.no_grad():
            out = self.net(xs)
            return {"test_loss": float(torch.nn.functional.cross_entropy(out, ys)),
                    "test": float((out.argmax(1) == ys).float().mean())}

    def save(self, path: Path) -> None:
        import torch

        torch.save({"net": self.net.state_dict(), "opt": self.opt.state_dict(),
                    "gen": self.gen.get_state()}, path / "model.pt")

    def load(self, path: Path) -> None:
        import torch

        state = torch.load(path / "model.pt")
        self.net.load_state_dict(state["net"])
        hyper = [dict(g) for g in self.opt.param_groups]  # the explored values win
        self.opt.load_state_dict(state["opt"])
        for group, mine in zip(self.opt.param_groups, hyper, strict=True):
            group.update({k: mine[k] for k in ("lr", "momentum", "weight_decay")})
        self.gen.set_state(state["gen"])


def run_pbt(seed: int, args: argparse.Namespace, explore: str) -> dict[str, Any]:
    study = hd.create_study(direction="minimize")
    pbt = PopulationBasedTraining(population_size=args.population,
                                  perturbation_interval=args.interval, explore=explore, seed=seed)
    with tempfile.TemporaryDirectory(prefix="pbt-bench-") as root:
        store = DirectoryStore(root)
        pbt.optimize(study, lambda c: MLP(c, seed), SPACE, n_steps=args.steps,
                     executor=SimulatedExecutor(args.population, seed=seed),
                     artifact_store=store)
        best = lineage(study)[-1]
        model = MLP(best.params, seed)
        model.load(store.get(best.user_attrs["pbt_checkpoint"]))
        test = model.test_scores()
    compute = sum(t.last_step - min(t.intermediate_values) + 1 for t in study.trials
                  if t.state is hd.TrialState.COMPLETE and t.last_step is not None)
    rows = [{"start": r.start, "end": r.end, "params": r.params} for r in schedule(study)]
    return {"val": best.value, **test, "compute": compute, "schedule": rows,
            "segments": len(study.trials)}


def run_random(seed: int, args: argparse.Namespace, compute: int) -> dict[str, Any]:
    n = math.ceil(compute / args.steps)  # at least PBT's compute
    study = hd.create_study(direction="minimize", sampler=hd.samplers.RandomSampler(seed=seed))

    def objective(trial: hd.Trial) -> float:
        model = MLP(trial.suggest_space(SPACE), seed)
        loss = math.nan
        for epoch in range(1, args.steps + 1):
            loss = model.step()
            trial.report(loss, epoch)
        for key, value in model.test_scores().items():
            trial.set_user_attr(key, value)
        return loss

    study.optimize(objective, n_trials=n)
    best = study.best_trial
    return {"val": best.value, "test_loss": best.user_attrs["test_loss"],
            "test": best.user_attrs["test"], "compute": n * args.steps}


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> str:
    """Two-sided paired Wilcoxon signed-rank p-value ("n/a" when every pair is tied)."""
    from scipy.stats import wilcoxon

    if np.all(a == b):
        return "n/a"
    return f"{float(wilcoxon(a, b).pvalue):.3f}"


def _fmt_params(params: Mapping[str, Any]) -> str:
    return " | ".join(f"{params[k]:.3g}" for k in SPACE)


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace,
           seconds: float) -> list[str]:
    import sklearn
    import torch

    lines = [f"# Population-based training vs random search ({time.strftime('%Y-%m-%d')})", "",
             f"hyperdial {hd.__version__} (working tree), torch {torch.__version__}, "
             f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; Python "
             f"{platform.python_version()}, {os.cpu_count()} cores (load "
             f"{os.getloadavg()[0]:.1f} at the end, torch on one thread), {seconds:.0f} s in all."
             f" Command: `python -m benchmarks.pbt {' '.join(sys.argv[1:])}`.", "",
             "Task: MLP 64-128-10 trained by SGD on digits (1,000 training, 400 validation, 397 "
             "test images), one step = one epoch; tuned: learning rate [1e-3, 1] log, momentum "
             "[0, 0.99], weight decay [1e-6, 1e-2] log. Score: validation cross-entropy after "
             f"the last epoch (lower is better). PBT: population {args.population}, "
             f"{args.steps} epochs per member, perturbation every {args.interval} epochs, "
             "bottom/top 25 %, resample probability 0.25, factors 0.8/1.2. Random search gets "
             "at least the compute (total epochs trained) of PBT, in full-length runs.", "",
             f"## Result over {args.seeds} seeds (mean ± sd)", "",
             "| method | validation loss of the selected model | its test loss | its test "
             "accuracy | compute (epochs) |", "|---|---|---|---|---|"]
    for name, runs in results.items():
        columns = [np.array([r[k] for r in runs]) for k in ("val", "test_loss", "test")]
        lines.append(f"| {name} | " + " | ".join(f"{c.mean():.4f} ± {c.std():.4f}"
                                                 for c in columns)
                     + f" | {np.mean([r['compute'] for r in runs]):.0f} |")
    lines += ["", "Validation loss of the selected model over seeds: " + "; ".join(
        f"{name} median {np.median(v):.4f}, worst {np.max(v):.4f}"
        for name, v in ((n, [r["val"] for r in runs]) for n, runs in results.items())) + ".",
        "", "The validation loss also chose the model (and, for PBT, steered the "
        "exploits); the test set was used by neither method.", ""]
    for name in (n for n in results if n != "random search"):
        cells = []
        for key, better in (("val", "lower validation loss"), ("test_loss", "lower test loss"),
                            ("test", "higher test accuracy")):
            mine = np.array([r[key] for r in results[name]])
            rnd = np.array([r[key] for r in results["random search"]])
            wins = int(np.sum(mine > rnd) if key == "test" else np.sum(mine < rnd))
            cells.append(f"{better} on {wins} of {len(mine)} seeds (paired Wilcoxon p = "
                         f"{_wilcoxon(mine, rnd)})")
        lines.append(f"- {name} vs random search: " + "; ".join(cells) + ".")
    lines += ["", "## Learned schedules (PBT: the best member's lineage, each seed)", "",
              "Epoch ranges with the hyperparameters the final best weights were trained with "
              "(`hyperdial.schedulers.schedule`); a change marks an exploit (weights copied from "
              "a better member, hyperparameters perturbed or resampled).", ""]
    for seed, run in enumerate(results["PBT"]):
        lines += [f"Seed {seed} (validation loss {run['val']:.4f}):", "",
                  "| epochs | " + " | ".join(SPACE) + " |", "|---|" + "---|" * len(SPACE)]
        lines += [f"| {row['start'] + 1}–{row['end']} | {_fmt_params(row['params'])} |"
                  for row in run["schedule"]]
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--interval", type=int, default=4)
    parser.add_argument("--pb2", action="store_true", help="also run PB2")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    started = time.time()
    results: dict[str, list[dict[str, Any]]] = {"PBT": [], "random search": []}
    if args.pb2:
        results["PB2"] = []
    for seed in range(args.seeds):
        pbt = run_pbt(seed, args, "perturb")
        results["PBT"].append(pbt)
        if args.pb2:
            results["PB2"].append(run_pbt(seed, args, "pb2"))
        results["random search"].append(run_random(seed, args, pbt["compute"]))
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]['val']:.4f}" for k, v in results.items()),
              f"({time.time() - started:.0f} s)", flush=True)
    lines = report(results, args, time.time() - started)
    print("\n".join(lines))
    if not args.no_write:
        raw = RESULTS / "raw" / f"pbt-{time.strftime('%Y-%m-%d')}.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(results, indent=1))
        print(write_result("pbt", lines))
    return lines


if __name__ == "__main__":
    main()
