"""Import cost: wall time of ``import hyperdial`` against ``import optuna``, and what it loads.

Each measurement is a fresh interpreter; the figure is the median over repeats of
(time of ``python -c "import X"``) − (time of ``python -c "pass"``). Every library is timed
from its compiled bytecode, as pip installs it: each is imported once first with bytecode
writing on, and ``PYTHONDONTWRITEBYTECODE`` is cleared for the runs. In an environment that
sets it (this machine does), hyperdial's editable source was compiled at every import
(its own share beyond numpy: 75 ms, against 43 ms from bytecode), while Optuna's installed
bytecode loaded as is. Writes
``benchmarks/results/import-time-<date>.md``.

    python -m benchmarks.import_time [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import BYTECODE_ENV, write_result

HEAVY = ("pandas", "sklearn", "plotly", "torch", "matplotlib", "scipy", "sqlalchemy")


def _seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=BYTECODE_ENV)
    return time.perf_counter() - start


def _loaded(module: str) -> list[str]:
    code = (
        f"import sys, json, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=BYTECODE_ENV)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    modules = ["numpy", "hyperdial", "optuna"]
    samples: dict[str, list[float]] = {m: [] for m in ["(empty)", *modules]}
    for m in modules:  # writes the bytecode an editable install has not got yet
        _seconds(f"import {m}")
    for _ in range(args.repeats):  # interleaved, so load drifts hit every module alike
        samples["(empty)"].append(_seconds("pass"))
        for m in modules:
            samples[m].append(_seconds(f"import {m}"))
    base = statistics.median(samples["(empty)"])
    ms = {m: 1000 * (statistics.median(samples[m]) - base) for m in modules}
    lines = [
        f"# Import time ({time.strftime('%Y-%m-%d')})",
        "",
        f"Median over {args.repeats} fresh interpreters of the extra wall time over "
        f"`python -c pass` ({1000 * base:.0f} ms), every library from its compiled bytecode "
        f"(imported once before, `PYTHONDONTWRITEBYTECODE` cleared). {os.cpu_count()} cores, "
        f"load average "
        f"{os.getloadavg()[0]:.2f}.",
        "",
        "| import | ms | heavy modules it loads |",
        "|---|---:|---|",
    ]
    lines += [
        f"| `import {m}` | {ms[m]:.0f} | {', '.join(_loaded(m)) or 'none'} |" for m in modules
    ]
    ratio = ms["hyperdial"] / ms["optuna"]
    lines += [
        "",
        f"`import hyperdial` / `import optuna`: **{ratio:.2f} ×**; hyperdial's own "
        f"share beyond numpy: {ms['hyperdial'] - ms['numpy']:.0f} ms.",
    ]
    path = write_result("import-time", lines)
    print(path.read_text())


if __name__ == "__main__":
    main()
