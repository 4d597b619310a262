"""Optional dependencies: import one, or say which extra installs it (layer 0)."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or ""
        if missing and missing.split(".")[0] != module.split(".")[0]:  # it is there, but not
            # what it imports (Keras without its backend): naming the extra would mislead
            backend = module == "keras" and missing in ("tensorflow", "jax", "torch")
            raise ImportError(f"{module} is installed but could not import {missing!r} ({exc})"
                              + (": install a backend (pip install torch) and set "
                                 "KERAS_BACKEND=torch" if backend else "")) from exc
        raise ImportError(f"this needs {module}: pip install 'hyperdial[{extra}]'") from exc
