"""The compiled `safe_repr` (`tracer/_stepcore.c`) gives what the Python one gives: for
scalars, strings of every kind, objects shown by their own repr or by name only, reprs
that fail or cheat, containers nested past the walk's limits, with and without redaction
and secrets known by value, and for the cases it hands to the Python function; and the
core's stored form of named values is `safe_value`'s."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.engine import compiled_steps
from tracer.saferepr import (
    _SECRET_IN_TEXT,
    _mask,
    python_safe_repr,
    safe_repr,
    scrubbing,
    stop_scrubbing,
)
from tracer.secret_values import Secrets

core = compiled_steps()
pytestmark = pytest.mark.skipif(core is None, reason="the compiled core is not built")

SECRET_WORDS = ["password", "Token", "API_KEY", "session", "csrf", "Authorization", "cookie",
                "pwd", "passwd", "secret"]


class Shown:
    """An object shown by a repr of its own, which says whatever it was given."""

    def __init__(self, text: object) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text  # type: ignore[return-value]


class Failing:
    def __repr__(self) -> str:
        raise ValueError("no repr today")


def plain_function() -> None:
    pass


texts = st.one_of(
    st.text(max_size=260),
    st.builds(lambda word, value, sep: f"{word}{sep}{value}", st.sampled_from(SECRET_WORDS),
              st.text(alphabet="abcXYZ019-_", min_size=1, max_size=20),
              st.sampled_from(["=", ": ", "': '", "\": \"", "&", " "])),
    st.text(alphabet="aAkK\u212a\u0130\x00 =:'\"pastokenwdcsrfuhie", max_size=80),
)
values = st.one_of(
    texts,
    st.integers(), st.integers(min_value=10**190, max_value=10**250),
    st.floats(allow_nan=True), st.booleans(), st.none(), st.complex_numbers(),
    texts.map(Shown),
    st.just(Failing()), st.just(Shown(42)), st.just(plain_function), st.just(Shown),
    st.lists(st.integers(), max_size=15), st.dictionaries(texts, st.integers(), max_size=3),
    st.just({}), st.just(()), st.just([]),
)
#: Items of lists and tuples whose plain repr is the bounded one (`_short_and_flat`), and
#: the ones just past it: longer or non-ASCII strings, ints past a machine word or 10**40.
flat_items = st.one_of(
    texts, st.text(alphabet="ab\xe9 \x00\n", max_size=44), st.booleans(), st.none(),
    st.integers(min_value=-10**41, max_value=10**41), st.integers(min_value=-2**64,
                                                                  max_value=2**64),
)
values = st.one_of(values, st.lists(flat_items, max_size=14),
                   st.lists(flat_items, max_size=14).map(tuple),
                   st.sampled_from([["\x00" * 39], ["\x00" * 40], ("\x00" * 44,), ["\xe9" * 39],
                                    [10**40 - 1], [10**40], (-(10**40),), [2**63], [True] * 13]))

class Tagged(dict):
    """A dict subclass: reprlib shows it by its own repr, found by its type's name."""


class set_like:  # noqa: N801 (named as reprlib's `repr_set` would find it)
    def __repr__(self) -> str:
        return "set_like()"


class Counting:
    """Counts how often its repr runs."""

    calls = 0

    def __repr__(self) -> str:
        Counting.calls += 1
        return "<counted>"


keys = st.one_of(texts, st.sampled_from(SECRET_WORDS + ["user", "n", "Password2"]),
                 st.integers(min_value=-5, max_value=5))
leaves = st.one_of(
    texts, st.text(alphabet="\x00\n\xe9'\"", max_size=90), st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64), st.floats(allow_nan=True),
    st.booleans(), st.none(), texts.map(Shown), st.builds(Failing), st.just(plain_function),
    st.just(Shown), st.just(frozenset({1})), st.just({3, 4}), st.just(set_like()),
    st.builds(Tagged, st.dictionaries(keys, st.integers(), max_size=2)),
)
nested = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=14), st.lists(inner, max_size=14).map(tuple),
                            st.dictionaries(keys, inner, max_size=14)),
    max_leaves=40,
)
#: Every value the tests give both functions.
all_values = st.one_of(values, nested)


def _both(value: object, redact: bool) -> tuple[str, str]:
    python_safe_repr(value, redact=redact)  # a type seen once is routed from then on
    return safe_repr(value, redact=redact), python_safe_repr(value, redact=redact)


@settings(max_examples=800, deadline=None)
@given(all_values, st.booleans())
def test_the_compiled_safe_repr_gives_what_the_python_one_gives(value, redact) -> None:
    compiled, python = _both(value, redact)
    assert compiled == python


@settings(max_examples=400, deadline=None)
@given(all_values, st.lists(st.text(alphabet="abcdefXYZ0123-", min_size=6, max_size=12),
                            min_size=1, max_size=3))
def test_secrets_known_by_value_are_hidden_alike(value, known) -> None:
    secrets = Secrets()
    secrets.add(known)
    token = scrubbing(secrets.scrub)
    try:
        compiled, python = _both(value, True)
        hidden = _both(Shown(f"x {known[0]} y"), True)
        walked = _both({"v": value, "k": known[0], "t": (known[-1], 1.5)}, True)
    finally:
        stop_scrubbing(token)
    assert compiled == python
    assert hidden[0] == hidden[1] and known[0] not in hidden[0]
    assert walked[0] == walked[1] and "'k': '***'" in walked[0]


@pytest.mark.parametrize("length", [197, 198, 199, 200, 201, 260])
@pytest.mark.parametrize("redact", [True, False])
def test_strings_about_the_limit_are_cut_as_the_python_one_cuts_them(length, redact) -> None:
    """Past 198 characters Python hands a string to reprlib, which cuts it its own way; a
    string the Python function has routed once must not then take the own-repr path."""
    for text in ("0" * length, "token=" + "x" * length):
        assert _both(text, redact)[0] == _both(text, redact)[1]


def test_the_recorder_uses_the_compiled_one() -> None:
    assert safe_repr is core.safe_repr
    assert safe_repr(Failing()) == "<Failing instance; repr failed: ValueError>"
    with pytest.raises(TypeError):
        safe_repr("a", "b")



def test_a_walked_value_runs_each_repr_once() -> None:
    python_safe_repr([Counting()])  # routed
    Counting.calls = 0
    shown = safe_repr({"a": [Counting(), Counting()], "b": (1, Counting())})
    assert shown == "{'a': [<counted>, <counted>], 'b': (1, <counted>)}"
    assert Counting.calls == 3


class Meddling:
    """A repr that changes the dict being shown: the walk reads what is there then."""

    def __init__(self, target: dict) -> None:
        self.target = target

    def __repr__(self) -> str:
        self.target.pop("z", None)
        self.target["b"] = {1, 2}
        return "<meddling>"


def test_a_dict_changed_by_a_repr_during_the_walk_is_shown_as_python_shows_it() -> None:
    python_safe_repr([Meddling({})])  # routed
    shown = []
    for show in (safe_repr, python_safe_repr):
        target: dict = {}
        target.update({"a": Meddling(target), "b": 1, "z": 2})
        shown.append(show(target))
    assert shown[0] == shown[1]


#: `_SECRET_IN_TEXT` as it was before it matched names from the start of a word only.
_FROM_ANY_POSITION = re.compile(_SECRET_IN_TEXT.pattern.removeprefix(r"(?<![\w-])"),
                                re.IGNORECASE)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(texts, st.sampled_from(SECRET_WORDS + ["=", "': '", "-", "_x", " "]),
                          st.text(alphabet="aAxX-_0", min_size=1, max_size=30)),
                max_size=8).map("".join))
def test_secrets_in_text_are_found_from_the_start_of_words_as_from_anywhere(text) -> None:
    assert _SECRET_IN_TEXT.sub(_mask, text) == _FROM_ANY_POSITION.sub(_mask, text)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(SECRET_WORDS + ["n", "view", "rv"]), texts),
                       all_values, max_size=6), st.booleans())
def test_named_values_are_stored_as_safe_value_stores_them(named, redact) -> None:
    from tracer.saferepr import safe_value

    python = {name: safe_value(name, value, redact=redact) for name, value in named.items()}
    assert core.named(named, redact) == python
