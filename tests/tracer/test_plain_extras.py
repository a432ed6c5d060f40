"""The compiled `plain_extras` (`tracer/_stepcore.c`) converts a record's rows as `_freeze`'s
Python does: names, stored detail merged with the raw values line tracing kept, and facts,
for every kind of value a hook or a kept local may hold, with and without redaction and
secrets known by value."""

from __future__ import annotations

import enum
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from tracer.engine import compiled_steps
from tracer.plain import PlainValues
from tracer.saferepr import scrubbing, stop_scrubbing
from tracer.secret_values import Secrets
from tracer.values import DELETED, rendered_detail

core = compiled_steps()
pytestmark = pytest.mark.skipif(core is None, reason="the compiled core is not built")


class Colour(enum.IntEnum):
    RED = 1


class Shown:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class Failing:
    def __repr__(self) -> str:
        raise ValueError("no repr today")


words = st.sampled_from(["n", "user", "password", "token", "rv", "result", "item", "view"])
texts = st.one_of(words, st.text(max_size=30),
                  st.sampled_from(["s3cr3t-value", "x s3cr3t-value y"]))
leaves = st.one_of(
    texts, st.integers(), st.integers(min_value=2**70, max_value=2**80), st.booleans(),
    st.none(), st.floats(allow_nan=True, allow_infinity=True), texts.map(Markup),
    st.just(Colour.RED), texts.map(Shown), st.builds(Failing), st.binary(max_size=8),
    st.frozensets(st.integers(max_value=5), max_size=3), st.sets(texts, max_size=3),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
                            st.dictionaries(st.one_of(texts, st.integers()), inner, max_size=4)),
    max_leaves=20,
)


def deep(depth: int) -> list:
    value: list = ["bottom"]
    for _ in range(depth):
        value = [value]
    return value


rows = st.lists(st.tuples(
    st.one_of(words, st.just(Colour.RED), texts.map(Markup)),  # name
    st.one_of(st.none(), st.dictionaries(words, texts, max_size=3)),  # detail (rendered)
    st.one_of(st.none(), st.dictionaries(words, values, max_size=3)),  # facts
    st.one_of(st.none(), st.dictionaries(words, st.one_of(values, st.just(DELETED)),
                                         max_size=3)),  # raw values kept
    st.sampled_from(["call", "return", "line"]),
), max_size=6)


def _as_rows(parts: list) -> list[tuple]:
    return [(position, None, kind, name, "app.py", 1, 1000 + position, 7, detail, None, facts,
             raw) for position, (name, detail, facts, raw, kind) in enumerate(parts)]


def _both(records: list[tuple], redact: bool, secrets: Secrets | None) -> tuple:
    scrub = secrets.scrub if secrets else None
    plain = PlainValues(scrub, frozenset(row[3] for row in records if row[2] == "call"
                                         and type(row[3]) is str))
    token = scrubbing(plain.scrub)
    try:
        memo: dict[int, str] = {}
        names = [plain.name(row[3]) for row in records]
        extras = [(row[6], plain.detail(rendered_detail(row[8], row[11], redact, memo)),
                   plain.facts(row[10]), row[7]) for row in records]
        compiled = core.plain_extras(records, plain, scrub, plain.code_names, redact, {},
                                     DELETED)
    finally:
        stop_scrubbing(token)
    return compiled, (names, extras)


def _same(left: object, right: object) -> bool:
    """Equal, with NaN equal to itself and types compared too (True is not 1)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(map(_same, left, right))  # type: ignore[arg-type]
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)  # type: ignore[index]
    return left == right


@settings(max_examples=300, deadline=None)
@given(rows, st.booleans(), st.booleans())
def test_rows_become_the_plain_values_the_python_functions_make(parts, redact, known) -> None:
    secrets = Secrets()
    if known:
        secrets.add(["s3cr3t-value"])
    compiled, python = _both(_as_rows(parts), redact, secrets if known else None)
    assert _same(compiled, python)


def test_facts_deeper_than_the_limit_become_text_alike() -> None:
    records = _as_rows([("view", None, {"deep": deep(15), "short": deep(3)}, None, "call")])
    compiled, python = _both(records, True, None)
    assert _same(compiled, python)
    assert isinstance(compiled[1][0][2]["deep"][0][0][0][0][0][0][0][0][0][0][0][0], str)


def test_a_secret_looking_local_is_hidden_and_memo_is_shared() -> None:
    shown = Shown("same")
    records = _as_rows([("view", {"rv": "1"}, None, {"password": "hunter2", "a": shown}, "call"),
                        ("view", None, None, {"b": shown, "gone": DELETED}, "line")])
    compiled, python = _both(records, True, None)
    assert _same(compiled, python)
    assert compiled[1][0][1] == {"rv": "1", "password": "***", "a": "same"}
    assert compiled[1][1][1] == {"b": "same", "gone": "<deleted>"}


def test_bad_rows_are_refused() -> None:
    plain = PlainValues()
    with pytest.raises(TypeError):
        core.plain_extras([("short",)], plain, None, frozenset(), True, {}, DELETED)
    with pytest.raises(TypeError):
        core.plain_extras("rows", plain, None, frozenset(), True, {}, DELETED)
