"""A live web dashboard over a storage: ``hyperdial dashboard --storage URL``.

Needs the ``dashboard`` extra (FastAPI, uvicorn, plotly). See ``docs/dashboard.md``.
"""

from __future__ import annotations

from hyperdial.dashboard.app import Dashboard, create_app, run_dashboard

__all__ = ["Dashboard", "create_app", "run_dashboard"]
