"""Which Tornado versions are recorded: tested ones silently, newer ones with one line,
older ones refused with one line when an app of theirs is loaded (see
`tracer.frameworks._check`). Only distribution metadata is read here; nothing of Tornado is
imported."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tracer.frameworks.versions import judge

#: (oldest, newest) version tested: the adapter's tests and Tornado's own web tests (plain
#: and recorded) ran on 6.0.4, 6.3.3 and 6.6.1. Tornado 5 and older route differently.
TESTED = ((6, 0), (6, 6))


def check_version() -> str | None:
    """None for a tested Tornado; a one-line notice for a newer one. Raises
    `UnsupportedVersionError` for an older one."""
    try:
        installed = version("tornado")
    except PackageNotFoundError:
        return None
    return judge("Tornado", installed, TESTED, "tornado")
