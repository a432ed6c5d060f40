"""Which engine does the per-line work of line tracing: compiled, or pure Python.

The compiled core (`tracer._linecore`, built from `tracer/_linecore.c` at install when a
C compiler and the interpreter's headers are there) and the pure-Python engine record the
same trace; the core is used when it was built, unless ``FLASKSCOPE_ENGINE=python``.
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType

ENVIRONMENT_VARIABLE = "FLASKSCOPE_ENGINE"


def compiled_core() -> ModuleType | None:
    """The compiled core, or None when it is switched off or was not built."""
    if os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "python":
        return None
    try:
        from tracer import _linecore
    except ImportError:
        return None
    return _linecore


def describe() -> str:
    """One line saying which engine records, and why (for `flaskscope --version`)."""
    if os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "python":
        return f"engine: pure Python ({ENVIRONMENT_VARIABLE}=python)"
    # Found, not imported: loading the core loads the recorder, which a command that only
    # reads a trace never needs (`tests/cli/test_cli_imports.py`).
    if importlib.util.find_spec("tracer._linecore") is None:
        return ("engine: pure Python (the compiled core was not built: no C compiler or "
                "Python headers when flaskscope was installed)")
    return "engine: compiled core (tracer._linecore)"
