"""`hyperdial.logging`: Optuna's verbosity calls, on the ``hyperdial`` logger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import hyperdial as hd


@pytest.fixture(autouse=True)
def restore_level() -> Iterator[None]:
    import logging

    level = logging.getLogger("hyperdial").level
    yield
    logging.getLogger("hyperdial").setLevel(level)


def _fail_one_trial() -> None:
    study = hd.create_study()
    study.optimize(lambda t: float("nan"), n_trials=1)


def test_set_verbosity_decides_whether_a_failed_trial_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    hd.logging.set_verbosity(hd.logging.WARNING)
    assert hd.logging.get_verbosity() == hd.logging.WARNING
    with caplog.at_level(hd.logging.DEBUG, logger="hyperdial"):
        _fail_one_trial()
    assert any("trial 0 failed" in r.getMessage() for r in caplog.records)
    caplog.clear()
    hd.logging.set_verbosity(hd.logging.ERROR)
    _fail_one_trial()
    assert not [r for r in caplog.records if r.name == "hyperdial"]
