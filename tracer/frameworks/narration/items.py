"""What a narrative is made of: numbered items, each pointing at the steps it tells about.

An item holds a message id (the English sentence with ``{name}`` fields) and the values
for those fields, never finished text: the sentence is written only when a renderer
picks a language. That keeps the builders pure and a new language a catalog, not code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tracer.model import Step

SectionKind = Literal["registration", "request"]


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker
    """Mark a message id for extraction (`pybabel extract`) without translating it here."""
    return message


@dataclass(frozen=True, slots=True)
class Message:
    """A message id (its English text with ``{field}`` placeholders) and the field values.

    Values are strings, numbers, lists of strings, or messages of their own (a phrase the
    language writes its own way, such as an ordinal); lists are joined by the language's
    own separator when the sentence is written.
    """

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Item:
    """One numbered point of the narrative: one or more sentences about some steps.

    Attributes:
        steps: ids of the steps the point is built from (in its section's step list).
        messages: its sentences, in order.
        sources: ``(file, line)`` pairs that ``--source`` quotes beneath it.
        children: finer points (class decorators in order, near misses of a 404).
        number: ``"3"`` or ``"3.1"``, given when the section is finished.
    """

    steps: tuple[int, ...]
    messages: tuple[Message, ...]
    sources: tuple[tuple[str, int], ...] = ()
    children: tuple[Item, ...] = ()
    number: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """The registration, or one request, told as numbered items under a title."""

    kind: SectionKind
    title: Message
    items: tuple[Item, ...]
    request: int | None = None


def numbered(items: Sequence[Item], prefix: str = "") -> tuple[Item, ...]:
    """The items with their numbers (``1``, ``2``, ``2.1``...) filled in."""
    result = []
    for index, item in enumerate(items, start=1):
        number = f"{prefix}{index}"
        result.append(replace(item, number=number,
                              children=numbered(item.children, f"{number}.")))
    return tuple(result)


#: Values quoted in a sentence are cut to this many characters.
MAX_VALUE = 90


def item(steps: Iterable[Step | int], messages: Iterable[Message],
         sources: Iterable[tuple[str, int]] = (), children: Sequence[Item] = ()) -> Item:
    """An item about `steps` (steps or ids, each once, in order) with its sentences."""
    ids = tuple(dict.fromkeys(s.id if isinstance(s, Step) else s for s in steps))
    return Item(steps=ids, messages=tuple(messages), sources=tuple(dict.fromkeys(sources)),
                children=tuple(children))


def q(value: Any) -> str:
    """A Python literal as the source would show it."""
    return repr(value)


def clip(text: str | None) -> str:
    """A recorded value short enough for a sentence (`?` when there is none)."""
    text = text if text is not None else "?"
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
