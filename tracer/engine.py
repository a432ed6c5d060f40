"""Which engine does the per-event work of recording: compiled, or pure Python.

The compiled core is two extensions built at install when a C compiler and the
interpreter's headers are there: `tracer._linecore` (`tracer/_linecore.c`, the per-line
work of line tracing) and `tracer._stepcore` (`tracer/_stepcore.c`, the recorder's
per-step bookkeeping behind every hook). Each and the pure-Python engine record the same
trace; each is used when it was built, unless ``FLASKSCOPE_ENGINE=python``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType

ENVIRONMENT_VARIABLE = "FLASKSCOPE_ENGINE"
#: The interface of `tracer/_linecore.c` this Python expects (its `INTERFACE`). A core
#: built from older sources (an editable install keeps its .so until reinstalled) is not
#: used: the pure engine records instead, and `flaskscope --version` says why.
INTERFACE = 4
#: The interface of `tracer/_stepcore.c` this Python expects, likewise.
STEPS_INTERFACE = 9


def _switched_off() -> bool:
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "python"


def _built(name: str) -> ModuleType | None:
    """The extension `tracer.<name>`, if it was built."""
    module = sys.modules.get(f"tracer.{name}")  # imported already: the common case, and
    if module is not None:  # `import_module` costs microseconds each time a trace is built
        return module
    try:
        return importlib.import_module(f"tracer.{name}")
    except ImportError:
        return None


def built_core(name: str, interface: int | None = None) -> ModuleType | None:
    """The extension `tracer.<name>` if it was built, whether or not it is used (with
    `interface`: only if built from the sources this Python expects)."""
    core = _built(name)
    if interface is not None and getattr(core, "INTERFACE", None) != interface:
        return None
    return core


def _usable(name: str, interface: int) -> ModuleType | None:
    if _switched_off():
        return None
    core = _built(name)
    if core is None or getattr(core, "INTERFACE", None) != interface:
        return None
    return core


def compiled_core() -> ModuleType | None:
    """The compiled line core, or None when it is switched off, not built, or out of date."""
    return _usable("_linecore", INTERFACE)


def compiled_steps() -> ModuleType | None:
    """The compiled step bookkeeping, or None when it is switched off, not built, or out
    of date."""
    return _usable("_stepcore", STEPS_INTERFACE)


def _nothing() -> None:
    """Pausing or resuming where no compiled tracer of ours can be tracing."""


def tracing_pauses() -> tuple[Callable[[], None], Callable[[], None]]:
    """`(pause, resume)` around the recorder's bookkeeping: on 3.11 they switch off the
    tracing mode of our compiled tracer (the Catcher, the line core's) for the thread
    meanwhile (`tracer/_stepcore.c`); where it is not built, or not tracing, they do
    nothing."""
    steps = compiled_steps()
    if steps is None or not hasattr(steps, "pause_tracing"):
        return _nothing, _nothing
    return steps.pause_tracing, steps.resume_tracing


def describe() -> str:
    """One line saying which engine records, and why (for `flaskscope --version`)."""
    if _switched_off():
        return f"engine: pure Python ({ENVIRONMENT_VARIABLE}=python)"
    core, steps = _built("_linecore"), _built("_stepcore")
    if core is None or steps is None:
        return ("engine: pure Python (the compiled core was not built: no C compiler or "
                "Python headers when flaskscope was installed)")
    if (getattr(core, "INTERFACE", None) != INTERFACE
            or getattr(steps, "INTERFACE", None) != STEPS_INTERFACE):
        return ("engine: pure Python (the compiled core was built from older sources: "
                "reinstall flaskscope, `pip install -e .`, to rebuild it)")
    return "engine: compiled core (tracer._linecore, tracer._stepcore)"
