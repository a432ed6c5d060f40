"""How an adapter judges the installed version of its framework against the versions it was
tested with: silent inside, a one-line notice above, refused below. Only the version text
(distribution metadata, anyone's text) is read; nothing of the framework is imported."""

from __future__ import annotations

import re

from tracer.errors import UnsupportedVersionError

Minor = tuple[int, int]


def judge(label: str, installed: str, tested: tuple[Minor, Minor], extra: str) -> str | None:
    """None inside `tested` (oldest, newest minor versions); a notice for a newer one.
    Raises `UnsupportedVersionError` for an older one, naming the extra that installs a
    tested one."""
    installed = re.sub(r"[^\w.+!-]", "?", installed)[:40]
    found = re.match(r"(\d+)\.(\d+)", installed)
    if found is None:
        return None
    minor = (int(found[1]), int(found[2]))
    (old_major, old_minor), (new_major, new_minor) = tested
    span = f"{old_major}.{old_minor} to {new_major}.{new_minor}"
    if minor < tested[0]:
        raise UnsupportedVersionError(
            f"{label} {installed} is older than flaskscope can trace (tested: {span}); "
            f"install a newer {label} (pip install 'flaskscope[{extra}]') to record this app")
    if minor > tested[1]:
        return (f"{label} {installed} is newer than flaskscope was tested with ({span}); "
                "recording goes on, and may miss steps whose code moved")
    return None
