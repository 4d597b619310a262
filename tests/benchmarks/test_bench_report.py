"""The report end to end on a tiny hand-made results file."""

import json
from pathlib import Path

from benchmarks.report import main


def test_report_tables_and_significance(tmp_path: Path) -> None:
    records = []
    for seed in range(3):
        for optimizer, best in (("random", 5.0), ("optuna-tpe", 0.5), ("hyperdial-random", 3.0)):
            values = [50.0 - seed] * 20 + [best + seed * 0.01] * 80
            records.append(
                {
                    "optimizer": optimizer,
                    "problem": "branin",
                    "seed": seed,
                    "budget": 100,
                    "values": values,
                    "error": None,
                    "seconds": 0.1,
                    "loadavg": [0.5, 0.5, 0.5],
                    "versions": {"numpy": "x"},
                }
            )
    records.append({**records[0], "seed": 3, "values": [], "error": "timeout after 1 s"})
    (tmp_path / "public.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "public.unavailable.json").write_text('{"smac": "cannot import smac"}')

    args = ["--results-dir", str(tmp_path), "--out-dir", str(tmp_path), "--date", "2000-01-01"]
    assert main([*args, "--pool-size", "500"]) == 0

    text = (tmp_path / "suite-2000-01-01.md").read_text()
    assert (tmp_path / "suite-2000-01-01.jsonl").exists()
    assert (tmp_path / "pool-branin.json").exists()
    assert "Unavailable: `smac`: cannot import smac" in text
    assert "### hyperdial-random vs each peer" in text
    assert "Cells with an error: 1" in text
    summary = text.split("## Suite summary")[1].split("## Per problem")[0]
    rows = [
        line for line in summary.splitlines() if line.startswith("| ") and "optimizer" not in line
    ]
    assert [row.split(" | ")[0] for row in rows] == [
        "| optuna-tpe",
        "| hyperdial-random",
        "| random",
    ]
    assert rows[0].split(" | ")[4] == "1.00"  # optuna-tpe ranks first
