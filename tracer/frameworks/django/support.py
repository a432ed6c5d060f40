"""Which Django versions flaskscope can hook. Only distribution metadata is read here;
nothing of Django is imported, so an unsupported Django never breaks recording another
framework's app: it is refused only when the app to load is a Django app."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

#: (oldest, newest) major.minor hooked: the internals patched (`BaseHandler.resolve_request`,
#: `View.setup`, `MiddlewareMixin.__call__`) are where `hooks` looks from 4.2 on.
SUPPORTED = ((4, 2), (6, 99))
#: The releases the tests and `make django-suite` were run on.
TESTED = "4.2, 5.2 and 6.1"


def installed_version() -> str | None:
    """The installed Django's version as its metadata says (cleaned), or None."""
    try:
        found = version("django")
    except PackageNotFoundError:
        return None
    return re.sub(r"[^\w.+!-]", "?", found)[:40]


def unsupported() -> str | None:
    """Why the installed Django cannot be hooked, as one actionable line; None if it can."""
    found = installed_version()
    if found is None:
        return None
    parts = re.match(r"(\d+)\.(\d+)", found)
    if parts is None:
        return None
    minor = (int(parts[1]), int(parts[2]))
    oldest, newest = SUPPORTED
    if oldest <= minor <= newest:
        return None
    return (f"Django {found} cannot be traced: flaskscope hooks Django "
            f"{oldest[0]}.{oldest[1]} to {newest[0]}.x (tested on {TESTED}); "
            "install one of those, e.g. pip install 'django>=4.2,<7'")
