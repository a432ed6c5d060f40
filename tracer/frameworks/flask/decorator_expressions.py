"""The source text of the expressions that made a view's decorator layers.

Layers made by one factory (`tag("first")`, `tag("second")`) share their code and their
name: what tells them apart in the source is the expression each one came from. It is read
here with `ast` from the file that defined the view (stacked `@...` lines) or the view class
(its `decorators = [...]`), and only where the source ties each expression to its layer:
as many expressions as layers, each naming the function that made its layer. Otherwise
(code run from a string, a lambda, a list built in a loop, decorators changed after the
class was made) there is no expression: a layer is never given one by guess.

Nothing here is evaluated; the text is kept as written, bounded in length. It is hostile
like any recorded value: presentations escape it.
"""

from __future__ import annotations

import ast
import linecache
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from tracer.frameworks.hooking import qualname
from tracer.unwrap import code_of

#: Characters kept of one expression (a sentence clips it further).
MAX_EXPRESSION = 200
#: Source files longer than this are not parsed (a generated module is no place to look).
_MAX_SOURCE = 2_000_000
#: Methods of an app or blueprint that register the function below them and return it as
#: it is: the decorators under one of them made the layers of the registered view.
_REGISTERING = frozenset({"route", "get", "post", "put", "delete", "patch", "endpoint"})
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True, slots=True)
class MadeWith:
    """The expression that made one layer, and which of its namesakes it is (1 = the first
    written), when the same text is written more than once."""

    expression: str
    occurrence: int | None = None


def class_decorators(view_class: type, decorators: Sequence[Any]) -> list[MadeWith] | None:
    """What made each of `decorators` (the view class's `decorators`), in list order.

    Read from the `decorators = [...]` of the class that defines the attribute; None unless
    that is a plain list or tuple with one element per decorator, each naming it.
    """
    owner = next((k for k in view_class.__mro__ if "decorators" in vars(k)), None)
    file = _class_file(owner) if owner is not None else None
    module = _module(file) if file is not None else None
    node = module.class_node(owner) if module is not None and owner is not None else None
    value = _only_assignment(node, "decorators") if node is not None else None
    if (module is None or not isinstance(value, ast.List | ast.Tuple)
            or len(value.elts) != len(decorators)):
        return None
    if not all(_names_maker(element, qualname(decorator))
               for element, decorator in zip(value.elts, decorators, strict=True)):
        return None
    return _made_with([_text(module.source, element) for element in value.elts])


def function_decorators(function: Any, layer_names: Sequence[str]) -> list[MadeWith] | None:
    """What made each layer around `function` (named `layer_names`, outermost first).

    Read from the `@...` lines above `function`'s `def`: the last `len(layer_names)` of
    them, under the `@app.route(...)` (or another registering method) that registered the
    outermost layer, unless the layers are all there is. None when the lines do not match
    the layers one for one.
    """
    code = code_of(function)
    if code is None or not layer_names:
        return None
    module = _module(code.co_filename)
    node = module.function_node(code) if module is not None else None
    if module is None or node is None:
        return None
    written = node.decorator_list
    registering = len(written) - len(layer_names) - 1
    if registering < -1 or (registering >= 0 and not _registers(written[registering])):
        return None
    making = written[registering + 1:]
    if not all(_names_maker(expression, name)
               for expression, name in zip(making, layer_names, strict=True)):
        return None
    return _made_with([_text(module.source, expression) for expression in making])


# -- reading the source ------------------------------------------------------------------


class _Module:
    """One source file, parsed, with its definitions found by qualified name."""

    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.definitions: dict[str, list[ast.AST]] = {}
        for name, node in _definitions(tree):
            self.definitions.setdefault(name, []).append(node)

    def function_node(self, code: CodeType) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The `def` that made `code`: its qualified name, starting at its first line."""
        found = [node for node in self.definitions.get(code.co_qualname, [])
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                 and _first_line(node) == code.co_firstlineno]
        return found[0] if len(found) == 1 else None

    def class_node(self, cls: type) -> ast.ClassDef | None:
        """The class statement of `cls`: the only one with its qualified name, or the one at
        the first line Python records for it (3.13+)."""
        found = [node for node in self.definitions.get(cls.__qualname__, [])
                 if isinstance(node, ast.ClassDef)]
        first = vars(cls).get("__firstlineno__")
        if isinstance(first, int):
            found = [node for node in found if _first_line(node) == first]
        return found[0] if len(found) == 1 else None


#: file → (the lines `linecache` gave, the module parsed from them), for the files read
#: last: one module registers many views, and is parsed once for all of them.
_MODULES: dict[str, tuple[list[str], _Module | None]] = {}
_MAX_MODULES = 16


def _module(file: str) -> _Module | None:
    """`file` parsed, as Python's own line cache has it (None for code run from a string,
    which has no file, and for a file too long to parse or that does not parse)."""
    lines = linecache.getlines(file)
    if not lines:
        return None
    known = _MODULES.get(file)
    if known is not None and known[0] is lines:
        return known[1]
    module = _parsed(lines)
    if len(_MODULES) >= _MAX_MODULES:
        _MODULES.pop(next(iter(_MODULES)))
    _MODULES[file] = (lines, module)
    return module


def _parsed(lines: list[str]) -> _Module | None:
    if sum(map(len, lines)) > _MAX_SOURCE:
        return None
    source = "".join(lines)
    try:
        return _Module(source, ast.parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _definitions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) of every `def` and `class` under `node`, named as Python
    names them (`make.<locals>.View`, `View.get`)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _DEFINITIONS):
            name = f"{prefix}{child.name}"
            yield name, child
            inner = f"{name}." if isinstance(child, ast.ClassDef) else f"{name}.<locals>."
            yield from _definitions(child, inner)
        else:
            yield from _definitions(child, prefix)


def _first_line(node: ast.AST) -> int:
    """Where a definition starts as its code object has it: its first decorator line."""
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]


def _class_file(cls: type) -> str | None:
    """The file of the module that defined `cls` (a class has no code object to ask)."""
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return file if isinstance(file, str) else None


def _only_assignment(node: ast.ClassDef, name: str) -> ast.expr | None:
    """The value of the one statement of a class body that sets `name`: None when the body
    sets it more than once, or anywhere but in a plain assignment at its top level."""
    values: list[ast.expr | None] = []
    for statement in node.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None  # an augmented assignment leaves no value to read
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.AugAssign):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            values.append(value)
        elif _stores(statement, name):
            return None  # set in a nested statement: which value stands is not visible
    return values[0] if len(values) == 1 else None


def _stores(statement: ast.stmt, name: str) -> bool:
    """Whether `statement` binds `name` in the scope it runs in (what a `def` or `class` in
    it holds has a scope of its own: only its name is bound here)."""
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name:
            return True
        if isinstance(node, _DEFINITIONS):
            if node.name == name:
                return True
            pending.extend(node.decorator_list)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return False


# -- telling whether an expression made a layer --------------------------------------------


def _callee(expression: ast.expr) -> str | None:
    """The name an expression ends in once its calls are taken off: `tag` for
    `tag("first")`, `login_required` for `auth.login_required(role="x")`."""
    while isinstance(expression, ast.Call):
        expression = expression.func
    if isinstance(expression, ast.Name):
        return expression.id
    if isinstance(expression, ast.Attribute):
        return expression.attr
    return None


def _names_maker(expression: ast.expr, made: str) -> bool:
    """Whether `expression` names the function that defined `made` (a qualified name):
    `tag("first")` made `tag.<locals>.deco` and `tag.<locals>.deco.<locals>.tagged`."""
    name = _callee(expression)
    return name is not None and name in made.split(".<locals>", 1)[0].split(".")


def _registers(expression: ast.expr) -> bool:
    """Whether a decorator line is a registering call such as `app.route("/")`."""
    return (isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute)
            and expression.func.attr in _REGISTERING)


def _text(source: str, expression: ast.expr) -> str:
    """The expression as written (on one line: one written over several is rebuilt),
    bounded to `MAX_EXPRESSION` characters."""
    written = ast.get_source_segment(source, expression)
    if written is None or "\n" in written or "\r" in written:
        try:
            written = ast.unparse(expression)
        except (ValueError, RecursionError):
            written = _callee(expression) or "?"
    if len(written) > MAX_EXPRESSION:
        written = written[: MAX_EXPRESSION - 1] + "…"
    return written


def _made_with(texts: list[str]) -> list[MadeWith]:
    """Each text with its rank among the same texts, when it is written more than once."""
    counts = Counter(texts)
    seen: Counter[str] = Counter()
    made = []
    for text in texts:
        seen[text] += 1
        made.append(MadeWith(text, seen[text] if counts[text] > 1 else None))
    return made
