"""The compiled `safe_repr` (`tracer/_stepcore.c`) gives what the Python one gives: for
scalars, strings of every kind, objects shown by their own repr or by name only, reprs
that fail or cheat, with and without redaction and secrets known by value, and for the
cases it hands to the Python function."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.engine import compiled_steps
from tracer.saferepr import python_safe_repr, safe_repr, scrubbing, stop_scrubbing
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


def _both(value: object, redact: bool) -> tuple[str, str]:
    python_safe_repr(value, redact=redact)  # a type seen once is routed from then on
    return safe_repr(value, redact=redact), python_safe_repr(value, redact=redact)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans())
def test_the_compiled_safe_repr_gives_what_the_python_one_gives(value, redact) -> None:
    compiled, python = _both(value, redact)
    assert compiled == python


@settings(max_examples=200, deadline=None)
@given(values, st.lists(st.text(alphabet="abcdefXYZ0123-", min_size=6, max_size=12),
                        min_size=1, max_size=3))
def test_secrets_known_by_value_are_hidden_alike(value, known) -> None:
    secrets = Secrets()
    secrets.add(known)
    token = scrubbing(secrets.scrub)
    try:
        compiled, python = _both(value, True)
        hidden = _both(Shown(f"x {known[0]} y"), True)
    finally:
        stop_scrubbing(token)
    assert compiled == python
    assert hidden[0] == hidden[1] and known[0] not in hidden[0]


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
