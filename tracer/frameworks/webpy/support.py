"""Which web.py versions are recorded: tested ones silently, newer ones with one line, older
ones refused with one line when an app of theirs is loaded (see `tracer.frameworks._check`).
Only distribution metadata is read here; nothing of web.py is imported."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from tracer.errors import UnsupportedVersionError

#: (oldest, newest) version tested: the adapter's tests ran on 0.40, 0.62 and 0.76.
TESTED = ((0, 40), (0, 76))


def check_version() -> str | None:
    """None for a tested web.py; a one-line notice for a newer one. Raises
    `UnsupportedVersionError` for an older one (before 0.40 web.py ran on Python 2 only)."""
    try:
        installed = re.sub(r"[^\w.+!-]", "?", version("web.py"))[:40]  # anyone's text
    except PackageNotFoundError:
        return None
    found = re.match(r"(\d+)\.(\d+)", installed)
    if found is None:
        return None
    minor = (int(found[1]), int(found[2]))
    (old_major, old_minor), (new_major, new_minor) = TESTED
    tested = f"{old_major}.{old_minor} to {new_major}.{new_minor}"
    if minor < TESTED[0]:
        raise UnsupportedVersionError(
            f"web.py {installed} is older than flaskscope can trace (tested: {tested}); "
            "install a newer web.py (pip install 'flaskscope[webpy]') to record this app")
    if minor > TESTED[1]:
        return (f"web.py {installed} is newer than flaskscope was tested with ({tested}); "
                "recording goes on, and may miss steps whose code moved")
    return None
