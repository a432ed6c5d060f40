"""A route's chain as text: outermost first, a class's handler methods as the alternatives
they are.

`Route.chain` is flat: `[class Login, no_store wrapper, Login.GET, Login.POST]`. Joined with
"→" it says that `no_store` wraps `POST` too and that `GET` calls `POST`. A request runs
one handler method, so the method links named after an HTTP method are alternatives, and
the decorator links right before one belong to it: `class Login → {GET: no_store.<locals>.
wrapper → Login.GET | POST: Login.POST}`. Every presentation of a chain reads it here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tracer.model import ChainLink

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                          "TRACE", "CONNECT"})


@dataclass(frozen=True)
class Handler:
    """One handler method of a class and the layers on it alone, outermost first."""

    method: str  # the HTTP method it answers, upper case
    links: tuple[ChainLink, ...]  # its own decorator links, then the method link


def is_handler_method(link: ChainLink) -> bool:
    """A method link named after the HTTP method it answers (`get`, `GET`)."""
    return link.kind == "method" and link.name.upper() in HTTP_METHODS


def split_positions(chain: Sequence[ChainLink]) -> tuple[list[int], list[list[int]]]:
    """`split_handlers` by position in the chain: (shared positions, one list per handler
    method: its own decorators' positions, then its own)."""
    shared: list[int] = []
    handlers: list[list[int]] = []
    pending: list[int] = []
    for position, link in enumerate(chain):
        if is_handler_method(link):
            handlers.append([*pending, position])
            pending = []
        elif link.kind == "decorator" and _before_a_handler(chain[position + 1:]):
            pending.append(position)
        else:
            shared.append(position)
    return shared, handlers


def split_handlers(chain: Sequence[ChainLink]) -> tuple[tuple[ChainLink, ...],
                                                          tuple[Handler, ...]]:
    """(the links every request goes through, the handler methods with their own layers).
    A decorator link directly before a handler method is that method's own."""
    shared, handlers = split_positions(chain)
    return (tuple(chain[p] for p in shared),
            tuple(Handler(chain[group[-1]].name.upper(), tuple(chain[p] for p in group))
                  for group in handlers))


def _before_a_handler(rest: Sequence[ChainLink]) -> bool:
    """Whether only decorator links stand between here and a handler method."""
    for later in rest:
        if is_handler_method(later):
            return True
        if later.kind != "decorator":
            return False
    return False


def handler_for(chain: Sequence[ChainLink], qualname: str | None,
                method: str | None) -> tuple[ChainLink, ...]:
    """The links a request ran through: the shared ones, then the handler method that ran
    (by its qualname, else by the request's method) with its own layers."""
    shared, handlers = split_handlers(chain)
    chosen = next((h for h in handlers if h.links[-1].qualname == qualname), None) or next(
        (h for h in handlers if h.method == (method or "").upper()), None)
    if chosen is None:
        return tuple(chain) if len(handlers) > 1 else (*shared, *(
            link for h in handlers for link in h.links))
    return (*shared, *chosen.links)


def default_label(link: ChainLink) -> str:
    return f"class {link.qualname}" if link.kind == "view_class" else link.qualname


def chain_line(chain: Sequence[ChainLink],
               label: Callable[[ChainLink], str] = default_label) -> str:
    """The chain on one line: `a → b → {GET: c → d | POST: e}`."""
    shared, handlers = split_handlers(chain)
    parts = [label(link) for link in shared]
    if len(handlers) == 1:
        parts.extend(label(link) for link in handlers[0].links)
    elif handlers:
        parts.append("{" + " | ".join(
            f"{h.method}: " + " → ".join(label(link) for link in h.links) for h in handlers)
            + "}")
    return " → ".join(parts)


def chain_lines(chain: Sequence[ChainLink],
                label: Callable[[ChainLink], str] = default_label) -> list[str]:
    """The chain one callable per line; each of several handler methods on a line of its
    own, with its layers: `GET: c → d`."""
    shared, handlers = split_handlers(chain)
    lines = [label(link) for link in shared]
    if len(handlers) == 1:
        lines.extend(label(link) for link in handlers[0].links)
    else:
        lines.extend(f"{h.method}: " + " → ".join(label(link) for link in h.links)
                     for h in handlers)
    return lines
