"""Which Tornado versions are recorded: tested ones silently, newer ones with one line,
older ones refused with one line when an app of theirs is loaded (see
`tracer.frameworks._check`). Only distribution metadata is read here; nothing of Tornado is
imported."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from tracer.errors import UnsupportedVersionError

#: (oldest, newest) version tested: the adapter's tests and Tornado's own web tests (plain
#: and recorded) ran on 6.0.4, 6.3.3 and 6.6.1. Tornado 5 and older route differently.
TESTED = ((6, 0), (6, 6))


def check_version() -> str | None:
    """None for a tested Tornado; a one-line notice for a newer one. Raises
    `UnsupportedVersionError` for an older one."""
    try:
        installed = re.sub(r"[^\w.+!-]", "?", version("tornado"))[:40]  # anyone's text
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
            f"Tornado {installed} is older than flaskscope can trace (tested: {tested}); "
            "install a newer Tornado (pip install 'flaskscope[tornado]') to record this app")
    if minor > TESTED[1]:
        return (f"Tornado {installed} is newer than flaskscope was tested with ({tested}); "
                "recording goes on, and may miss steps whose code moved")
    return None
