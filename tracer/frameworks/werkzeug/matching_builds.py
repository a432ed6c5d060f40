"""Why werkzeug builds a URL while it matches one, read from the frames of the build.

Two parts of matching call converters' `to_url`, so an app's converter runs twice for one
request:

- `merge_slashes` (Werkzeug before 2.2): `Rule.match` builds the matched path back from the
  converted values and compares slash counts, to redirect a path with repeated slashes.
  The state-machine router of 2.2+ merges slashes without building.
- `redirect_defaults` (every version): `MapAdapter.get_default_redirect` builds the URL of
  an earlier rule of the endpoint whose defaults the values fill, and redirects there.
"""

from __future__ import annotations

from types import FrameType

from werkzeug.routing import Rule

#: How many frames up from `to_url` the werkzeug caller may be: the generated builder,
#: `Rule._build`/`build` and the caller itself.
_DEPTH = 6


def build_reason(frame: FrameType) -> str | None:
    """`merge_slashes` or `redirect_defaults` when `frame` (a converter's `to_url`) runs for
    one of them while werkzeug matches a path; None otherwise (building for `url_for`)."""
    caller = frame.f_back
    for _ in range(_DEPTH):
        if caller is None:
            return None
        module = caller.f_globals.get("__name__")
        if isinstance(module, str) and module.startswith("werkzeug.routing"):
            name = caller.f_code.co_name
            if name == "get_default_redirect":
                return "redirect_defaults"
            if name == "match" and isinstance(caller.f_locals.get("self"), Rule):
                return "merge_slashes"
        caller = caller.f_back
    return None
