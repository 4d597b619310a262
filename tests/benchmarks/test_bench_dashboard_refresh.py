"""The dashboard-refresh benchmark measures what it says on a small study."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the dashboard extra is not installed")

from benchmarks.dashboard_refresh import measure


def test_measure_reports_times_and_a_payload(tmp_path: Path) -> None:
    result = measure(50, repeats=1, folder=tmp_path)
    assert set(result) == {"first", "unchanged", "after", "mb"}
    assert all(v > 0 for v in result.values())
    assert result["unchanged"] < result["first"]  # a known version costs no rebuild
