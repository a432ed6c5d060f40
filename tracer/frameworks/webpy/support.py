"""Which web.py versions are recorded: tested ones silently, newer ones with one line, older
ones refused with one line when an app of theirs is loaded (see `tracer.frameworks._check`).
Only distribution metadata is read here; nothing of web.py is imported."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tracer.frameworks.versions import judge

#: (oldest, newest) version tested: the adapter's tests ran on 0.40, 0.62 and 0.76.
TESTED = ((0, 40), (0, 76))


def check_version() -> str | None:
    """None for a tested web.py; a one-line notice for a newer one. Raises
    `UnsupportedVersionError` for an older one (before 0.40 web.py ran on Python 2 only)."""
    try:
        installed = version("web.py")
    except PackageNotFoundError:
        return None
    return judge("web.py", installed, TESTED, "webpy")
