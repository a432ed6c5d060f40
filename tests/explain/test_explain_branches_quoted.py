"""`explain --source` in hook mode quotes the branch Flask took, never the one it skipped.

Each app below takes one side of a branch whose other side `--source` used to quote (the
statements are read from the trace's embedded Flask source, so the text of both sides is
there to find). Hook mode now records which quotable lines of Flask's functions ran.
"""

from __future__ import annotations

from pathlib import Path

from explain_helpers import recorded_source
from flaskscope_testing import APP_CLASS

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from tracer.watch import LINES_IN_REQUESTS
from viewer.explain.render import plain

_APP = """
    from flask import Flask, abort

    app = Flask(__name__, instance_relative_config={relative})
    app.config.from_pyfile("settings.cfg", silent=True)  # where config comes from is told

    @app.before_request
    def note():
        return None

    @app.route("/both", methods=["GET", "POST"])
    def both():
        return "both"

    @app.route("/gone")
    def gone():
        abort(404)
"""


def _quoted(trace: Trace) -> str:
    return "\n".join(line for line in plain(explain(trace), "en", sources=trace.sources)
                     .splitlines() if line.lstrip().startswith("|"))


def _trace(tmp_path: Path, *requests: str, relative: bool = False) -> Trace:
    specs = [RequestSpec(*request.split(" ", 1)) for request in requests]
    module = f"branches_app_{tmp_path.name}_{int(relative)}".replace("-", "_")  # fresh import
    return recorded_source(tmp_path, module, _APP.format(relative=relative), *specs)


def test_make_config_quotes_the_instance_path_only_when_taken(tmp_path: Path) -> None:
    assert "root_path = self.instance_path" not in _quoted(_trace(tmp_path, "GET /both"))
    relative = _quoted(_trace(tmp_path, "GET /both", relative=True))
    assert "root_path = self.root_path" in relative  # both ran: the default, then the branch
    assert "root_path = self.instance_path" in relative


def test_given_methods_never_quote_the_default(tmp_path: Path) -> None:
    quoted = _quoted(_trace(tmp_path, "GET /both"))  # registration told for `both` only
    assert "methods |= required_methods" in quoted
    assert 'methods = getattr(view_func, "methods", None) or ("GET",)' not in quoted


def test_a_successful_match_never_quotes_the_except_branch(tmp_path: Path) -> None:
    quoted = _quoted(_trace(tmp_path, "GET /both"))
    assert "self.url_adapter.match(return_rule=True)" in quoted
    assert "self.request.routing_exception = e" not in quoted


def test_before_request_returning_none_never_quotes_return_rv(tmp_path: Path) -> None:
    quoted = _quoted(_trace(tmp_path, "GET /both"))
    assert "rv = self.ensure_sync(before_func)()" in quoted
    assert "return rv" not in quoted


def test_an_http_error_quotes_handle_http_exception_not_the_user_branch(
        tmp_path: Path) -> None:
    quoted = _quoted(_trace(tmp_path, "GET /gone"))
    assert "return self.handle_http_exception(e)" in quoted
    assert "return self.ensure_sync(handler)(e)" not in quoted
    assert "handler = self._find_error_handler(e" in quoted  # `, request.blueprints)` in 3.x
    # the look-up that ran is `handle_http_exception`'s, not `handle_user_exception`'s
    assert quoted.count("handler = self._find_error_handler(e") == 1


_BLUEPRINT_APP = """
    from flask import Blueprint, Flask

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.route("")
    def root():
        return "root"

    @api.route("/items")
    def items():
        return "items"

    app = Flask(__name__)
    app.register_blueprint(api)
"""


def test_an_empty_blueprint_rule_is_told_as_the_prefix_taken_not_a_join(
        tmp_path: Path) -> None:
    """`BlueprintSetupState.add_url_rule` joins prefix and rule only for a rule; an empty
    rule is replaced by the prefix: the narrative follows the branch the lines show."""
    module = f"blueprint_app_{tmp_path.name}".replace("-", "_")
    trace = recorded_source(tmp_path, module, _BLUEPRINT_APP, RequestSpec("GET", "/api"),
                            RequestSpec("GET", "/api/items"))
    text = plain(explain(trace), "en", sources=trace.sources)
    root = next(line for line in text.splitlines() if "'api.root'" in line)
    assert "took the URL prefix '/api' as the rule, '' being empty" in root
    assert "joined" not in root
    items = next(line for line in text.splitlines() if "'api.items'" in line)
    assert "joined '/api' and '/items'" in items
    assert "rule = self.url_prefix" in text and 'rule = "/".join((self.url_prefix' in text
    zh = plain(explain(trace), "zh")
    assert "就直接把 URL 前缀 '/api' 当作规则" in zh


def test_hook_mode_records_the_quotable_lines_that_ran(tmp_path: Path) -> None:
    """The line steps hook mode adds: in registration always, in requests where
    `sys.monitoring` makes them cheap (3.12+); the trace says which."""
    trace = _trace(tmp_path, "GET /both")
    assert trace.meta["ran_lines"] == ("all" if LINES_IN_REQUESTS else "registration")
    steps = trace.registration.steps
    both = next(s for s in steps if s.kind == "call" and s.name == f"{APP_CLASS}.add_url_rule"
                and s.detail.get("rule") == "'/both'")
    ran = {trace.sources[s.file].lines[s.line].strip() for s in steps
           if s.kind == "line" and s.parent == both.id}
    assert "methods |= required_methods" in ran
    assert not any(text.startswith("methods = getattr(view_func") for text in ran)
    request_lines = [s for s in trace.requests[0].steps if s.kind == "line"]
    assert bool(request_lines) == LINES_IN_REQUESTS
