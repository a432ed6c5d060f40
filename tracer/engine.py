"""Which engine does the per-line work of line tracing: compiled, or pure Python.

The compiled core (`tracer._linecore`, built from `tracer/_linecore.c` at install when a
C compiler and the interpreter's headers are there) and the pure-Python engine record the
same trace; the core is used when it was built, unless ``FLASKSCOPE_ENGINE=python``.
"""

from __future__ import annotations

import os
from types import ModuleType

ENVIRONMENT_VARIABLE = "FLASKSCOPE_ENGINE"
#: The interface of `tracer/_linecore.c` this Python expects (its `INTERFACE`). A core
#: built from older sources (an editable install keeps its .so until reinstalled) is not
#: used: the pure engine records instead, and `flaskscope --version` says why.
INTERFACE = 2


def _switched_off() -> bool:
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "python"


def _built_core() -> ModuleType | None:
    try:
        from tracer import _linecore
    except ImportError:
        return None
    return _linecore


def compiled_core() -> ModuleType | None:
    """The compiled core, or None when it is switched off, not built, or out of date."""
    if _switched_off():
        return None
    core = _built_core()
    if core is None or getattr(core, "INTERFACE", None) != INTERFACE:
        return None
    return core


def describe() -> str:
    """One line saying which engine records, and why (for `flaskscope --version`)."""
    if _switched_off():
        return f"engine: pure Python ({ENVIRONMENT_VARIABLE}=python)"
    core = _built_core()
    if core is None:
        return ("engine: pure Python (the compiled core was not built: no C compiler or "
                "Python headers when flaskscope was installed)")
    if getattr(core, "INTERFACE", None) != INTERFACE:
        return ("engine: pure Python (the compiled core was built from older sources: "
                "reinstall flaskscope, `pip install -e .`, to rebuild it)")
    return "engine: compiled core (tracer._linecore)"
