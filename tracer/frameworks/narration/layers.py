"""How the narrative names a layer of a view's chain, so that namesakes are told apart.

Layers made by one factory share their qualified name (`tag.<locals>.deco.<locals>.tagged`
for both `tag("first")` and `tag("second")`). A link whose name no other link of its chain
has is named by that name alone. Otherwise it is named with what made it, as the source
wrote it (`tag("first")`; "the 2nd `tag("x")`" when the same text is written twice), or,
where the recording could not tie a layer to its source, with its place in the chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracer.frameworks.narration.items import N_, Message, clip
from tracer.model import ChainLink

#: The links a request passes through one inside the other (the class and its methods are
#: told by their own sentences).
_NESTED = ("decorator", "view")


def layer_name(chain: Sequence[ChainLink], index: int) -> str | Message:
    """Link `index` of `chain` as code (in backticks), told apart from its namesakes."""
    link = chain[index]
    if link.kind == "view_class":
        return f"`class {link.qualname}`"
    if not _has_namesake(chain, index):
        return f"`{link.qualname}`"
    if link.expression:
        params = {"layer": link.qualname, "expression": clip(link.expression)}
        if link.occurrence:
            return Message(N_("`{layer}` made by the {nth} `{expression}`"),
                           {**params, "nth": nth(link.occurrence)})
        return Message(N_("`{layer}` made by `{expression}`"), params)
    decorators = [i for i, each in enumerate(chain) if each.kind == "decorator"]
    if index not in decorators:
        return f"`{link.qualname}`"
    return Message(N_("`{layer}` (number {position} of {count} from the outside)"),
                   {"layer": link.qualname, "position": decorators.index(index) + 1,
                    "count": len(decorators)})


def is_told_apart(name: str | Message | None) -> bool:
    """Whether `layer_name` had to say more than the name to tell a link apart."""
    return isinstance(name, Message)


def made_by(link: ChainLink | None, fallback: str | None) -> str:
    """What made a decorator layer, for a sentence that names it once: the expression the
    source wrote, else the decorator's name, else `fallback`."""
    if link is not None and link.expression:
        return clip(link.expression)
    return (link.decorator if link is not None else None) or fallback or "?"


def nth(number: int) -> Message:
    """An ordinal (`1st`, `2nd`, `11th`) as a phrase of its own, which each language writes
    its own way."""
    if number % 100 in (11, 12, 13):
        return Message(N_("{n}th"), {"n": number})
    suffixes = {1: N_("{n}st"), 2: N_("{n}nd"), 3: N_("{n}rd")}
    return Message(suffixes.get(number % 10, N_("{n}th")), {"n": number})


def _has_namesake(chain: Sequence[ChainLink], index: int) -> bool:
    link = chain[index]
    return link.kind in _NESTED and any(
        other.kind in _NESTED and other.qualname == link.qualname
        for position, other in enumerate(chain) if position != index)
