"""Which Flask and Werkzeug versions flaskscope is tested with, and what it says of others.

A version inside the tested range is recorded silently. A newer one is recorded too, with
one line saying it is untested: its hook points may have moved, and the trace may miss
steps. An older one cannot be hooked (the parts flaskscope patches are not where
`anatomy` looks): recording stops with one line saying which versions work. Only
distribution metadata is read here; nothing of Flask is imported.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from tracer.errors import UnsupportedVersionError

__all__ = ["TESTED", "UnsupportedVersionError", "check_versions"]

#: (oldest, newest) minor version tested, per distribution: `make test-versions` runs them.
TESTED: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "flask": ((2, 0), (3, 1)),
    "werkzeug": ((2, 0), (3, 1)),
}


def _minor(text: str) -> tuple[int, int] | None:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2])) if found else None


def check_versions() -> str | None:
    """None for tested versions; a one-line notice for a newer, untested one. Raises
    `UnsupportedVersionError` for an older one."""
    notices = []
    for name, (oldest, newest) in TESTED.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        installed = re.sub(r"[^\w.+!-]", "?", installed)[:40]  # metadata is text of anyone's
        minor = _minor(installed)
        if minor is None:
            continue
        tested = f"{oldest[0]}.{oldest[1]} to {newest[0]}.{newest[1]}"
        if minor < oldest:
            raise UnsupportedVersionError(
                f"{name.capitalize()} {installed} is older than flaskscope can trace "
                f"(tested: {tested}); install a newer {name.capitalize()} to record this app")
        if minor > newest:
            notices.append(f"{name.capitalize()} {installed} (tested: {tested})")
    if not notices:
        return None
    return (f"{' and '.join(notices)} is newer than flaskscope was tested with; recording "
            "goes on, and may miss steps whose code moved")
