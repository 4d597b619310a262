"""Analyses of finished searches and studies (layer 4: the core never imports this package)."""

from __future__ import annotations

from hyperdial.analysis.overfitting import (
    HoldoutReport,
    HoldoutRow,
    NestedCVReport,
    OverfittingWarning,
    holdout_check,
    nested_cv,
    study_holdout_check,
)

__all__ = ["HoldoutReport", "HoldoutRow", "NestedCVReport", "OverfittingWarning",
           "holdout_check", "nested_cv", "study_holdout_check"]
