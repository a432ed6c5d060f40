"""Paths as flaskscope tells them: where its own code lives (a frame there is never the
app's), and a file as a reader wants to see it.

The recorder skips its own files when it traces lines, takes their frames out of the app's
tracebacks and never reports one of their lines as the app's; narration and every view
show a file with `short_path`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The directories of the packages `tracer`, `viewer` and `flaskscope`, each ending in a
#: separator (for `str.startswith`).
OWN_DIRS = tuple(os.path.join(_ROOT, package, "") for package in ("tracer", "viewer",
                                                                  "flaskscope"))
_SITE_DIRS = tuple(
    sorted(
        {p for p in (sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("stdlib"))
         if p} | {p for p in sys.path if p.endswith("site-packages")},
        key=len,
        reverse=True,
    )
)


def short_path(file: str | None) -> str:
    """A path as a reader wants it: `flask/app.py` for libraries, relative for the app."""
    if not file:
        return "?"
    for prefix in _SITE_DIRS:
        if file.startswith(prefix + os.sep):
            return file[len(prefix) + 1 :]
    try:
        relative = os.path.relpath(file)
    except ValueError:
        return file
    return file if relative.startswith(".." + os.sep + "..") else relative


def module_dir(name: str) -> str | None:
    """The directory of top-level module or package `name`, found without running it
    (None when it cannot be found)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is not None and spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    if spec is not None and spec.origin:
        return os.path.dirname(spec.origin)
    return None
