"""The seed notes' examples, traced on the Flask the notes read (2.0), quote the lines the
notes quote.

The notes (written by a learner, in Chinese) copy Flask's `route`, `add_url_rule`,
`_endpoint_from_view_func`, `View.as_view` and `MethodView.dispatch_request` by hand. Each
statement they copy is here as they wrote it. The narrative of the seed fixtures
(`--source`) must quote that statement: compared as Python syntax (`ast`), so quotes,
spaces, annotations and comments do not count. Where Flask 2.0 itself writes the statement
otherwise (the notes simplify, or predate `ensure_sync`), 2.0's own text stands in for it,
listed in FLASK_2_0_WRITES. Other Flask versions rewrote more of this code; `make
test-versions` runs this on 2.0.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from explain_helpers import recorded

from tracer.frameworks.narration.items import Item
from tracer.frameworks.narration.narrative import explain

pytestmark = pytest.mark.skipif(
    not version("flask").startswith("2.0."), reason="the seed notes quote Flask 2.0's code")

#: Statements the notes copy from Flask, as written there, by the example that runs them.
NOTES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("seed_routes", "GET", "/"): (
        # route
        "def route(self, rule, **options):",
        "def decorator(f):",
        "endpoint = options.pop('endpoint',None)",
        "self.add_url_rule(rule, endpoint, f, **options)",
        "return f",
        "return decorator",
        # add_url_rule
        "def add_url_rule(self,rule,endpoint=None,view_func=None,**options):",
        "if endpoint is None:",
        "endpoint = _endpoint_from_view_func(view_func)",
        "options['endpoint'] = endpoint",
        "methods = options.pop('methods',None)",
        # _endpoint_from_view_func
        "def _endpoint_from_view_func(view_func):",
        "assert view_func is not None, 'expected view func if endpoint ' 'is not provided.'",
        "return view_func.__name__",
    ),
    ("seed_views", "HEAD", "/index"): (
        # as_view
        "def as_view(cls, name, *class_args, **class_kwargs):",
        "def view(*args, **kwargs):",
        "self = view.view_class(*class_args, **class_kwargs)",
        "return self.dispatch_request(*args, **kwargs)",
        "if cls.decorators:",
        "view.__name__ = name",
        "view.__module__ = cls.__module__",
        "for decorator in cls.decorators:",
        "view = decorator(view)",
        "view.view_class = cls",
        "view.__doc__ = cls.__doc__",
        "view.methods = cls.methods",
        "return view",
        # dispatch_request (the notes misspell its name)
        "def dispathc_reqeust(self, *args, **kwargs):",
        "meth = getattr(self, request.method.lower(),None)",
        "if meth is None and request.method == 'HEAD':",
        "meth = getattr(self, 'get', None)",
        "assert meth is not None, 'Unimplemented method %r' %request.method",
        "return meth(*args, **kwargs)",
    ),
}

#: The notes' statement → how Flask 2.0 writes it.
FLASK_2_0_WRITES = {
    "def add_url_rule(self,rule,endpoint=None,view_func=None,**options):":
        "def add_url_rule(self, rule, endpoint=None, view_func=None, "
        "provide_automatic_options=None, **options):",
    "return self.dispatch_request(*args, **kwargs)":
        "return current_app.ensure_sync(self.dispatch_request)(*args, **kwargs)",
    "def dispathc_reqeust(self, *args, **kwargs):":
        "def dispatch_request(self, *args, **kwargs):",
    "assert meth is not None, 'Unimplemented method %r' %request.method":
        "assert meth is not None, f'Unimplemented method {request.method!r}'",
    "return meth(*args, **kwargs)": "return current_app.ensure_sync(meth)(*args, **kwargs)",
}


def _shape(statement: ast.stmt) -> str:
    """A statement as syntax, without annotations, decorators or body: what a header says."""
    statement = ast.parse(ast.unparse(statement)).body[0]  # a copy to strip
    for node in ast.walk(statement):
        if isinstance(node, ast.arg):
            node.annotation = None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns, node.decorator_list = None, []
    if isinstance(statement, ast.FunctionDef | ast.If | ast.For | ast.While | ast.With):
        statement.body, statement.orelse = [], [] if hasattr(statement, "orelse") else None
    return ast.dump(statement)


def _written(text: str) -> str:
    """The shape of one statement as the notes write it (a header gets a body to parse)."""
    source = text + " pass" if text.rstrip().endswith(":") else text
    return _shape(ast.parse(source).body[0])


@functools.cache
def _statements(file: str) -> dict[int, ast.stmt]:
    """The statements of a source file by the line they start on."""
    tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    found: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            line = node.lineno
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
                line = node.decorator_list[-1].end_lineno + 1  # the `def` line itself
            found.setdefault(line, node)
    return found


def _quoted(items: tuple[Item, ...]) -> Iterator[tuple[str, int]]:
    for item in items:
        yield from item.sources
        yield from _quoted(item.children)


def _quoted_shapes(fixture: str, method: str, path: str) -> set[str]:
    trace, error = recorded(fixture, method, path)
    assert error is None
    shapes = set()
    for section in (*explain(trace), *explain(trace, registration_only=True)):
        for file, line in _quoted(section.items):
            statement = _statements(file).get(line) if file.endswith(".py") else None
            if statement is not None:
                shapes.add(_shape(statement))
    return shapes


@pytest.mark.parametrize("example", NOTES, ids=lambda example: example[0])
def test_the_narrative_quotes_every_statement_the_notes_copy(
        example: tuple[str, str, str]) -> None:
    quoted = _quoted_shapes(*example)
    missing = [text for text in NOTES[example]
               if _written(FLASK_2_0_WRITES.get(text, text)) not in quoted]
    assert missing == []


def test_each_rewritten_statement_differs_in_flask_2_0() -> None:
    """A stand-in is only for a statement Flask 2.0 really writes otherwise."""
    for notes, flask in FLASK_2_0_WRITES.items():
        assert _written(notes) != _written(flask), notes
