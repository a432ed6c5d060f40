"""What made a decorator layer, as the onion pane and the decorators graph label it.

Layers made by one factory share their name (`tag.<locals>.deco.<locals>.tagged`); the
recording keeps the expression each one was written as (`tag("first")`) where the source
shows it, and which of several identical ones it is. A label says that, or, for a layer the
recording could not tie to its source, the decorator's name and the layer's place in the
chain when another layer has the same name. The expression comes from the app's source:
it is clipped and its control characters escaped like any recorded value.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracer.model import ChainLink
from viewer.textsafe import visible

__all__ = ["made_by", "ordinal"]

#: Characters of an expression a label shows.
MAX_EXPRESSION = 60


def made_by(chain: Sequence[ChainLink], index: int) -> str | None:
    """`@tag("first")`, `the 2nd @tag("x")`, `@tag, layer 2 of 3 from the outside` or
    `@auth` for decorator link `index` of `chain`; None for any other link, or when nothing
    is known of what made it."""
    link = chain[index]
    if link.kind != "decorator":
        return None
    if link.expression:
        written = f"@{_clipped(link.expression)}"
        return f"the {ordinal(link.occurrence)} {written}" if link.occurrence else written
    named = f"@{link.decorator}" if link.decorator else None
    if not _has_namesake(chain, index):
        return named
    decorators = [i for i, each in enumerate(chain) if each.kind == "decorator"]
    place = f"layer {decorators.index(index) + 1} of {len(decorators)} from the outside"
    return f"{named}, {place}" if named else place


def ordinal(number: int) -> str:
    """`1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`."""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{'th' if number % 100 in (11, 12, 13) else suffix}"


def _clipped(expression: str) -> str:
    shown = visible(expression)
    return shown if len(shown) <= MAX_EXPRESSION else shown[: MAX_EXPRESSION - 1] + "…"


def _has_namesake(chain: Sequence[ChainLink], index: int) -> bool:
    link = chain[index]
    return any(other.kind == "decorator" and other.qualname == link.qualname
               for position, other in enumerate(chain) if position != index)
