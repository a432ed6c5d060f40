"""The decorator onion of a request: its endpoint's chain and which layers ran.

`Route.chain` lists what stands behind an endpoint, outermost first: function decorator
layers, the registered view, for class-based views the class, its `dispatch_request` and
its handler methods. Call steps and chain links both carry a function's first line, so
a link was entered in a request iff one of its call steps has the same (file, line). Layers
made by one factory share that place: a layer's call step names its link (`layer`, told by
its closure when it was recorded), and in a trace without that the k-th call at the place
is the k-th layer there (each layer is called by the one around it). A view class counts as
entered when its `dispatch_request` was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from tracer.model import ChainLink, Request, Role, Route, Step, Trace
from tracer.steptable import KIND_CODES, as_table
from viewer.chain_text import split_positions
from viewer.layer_names import made_by

_CALL = KIND_CODES["call"]
Place = tuple[str | None, int | None]


@dataclass(frozen=True)
class Layer:
    """One link of the chain as this request saw it."""

    link: ChainLink
    depth: int  # nesting for display: each layer sits inside the one above
    entered: bool
    step: int | None  # the first call step that entered it
    here: bool = False  # the current step is inside this layer (innermost one only)
    made_by: str | None = None  # what made a decorator layer (`@tag("first")`), if known


@dataclass(frozen=True)
class Onion:
    """The layers of the request's route, or why there are none."""

    route: Route | None
    layers: tuple[Layer, ...] = ()
    reason: str = ""  # set when no route was dispatched
    dispatched: bool = True


def route_for(trace: Trace, request: Request) -> tuple[Route | None, bool]:
    """The route the request was dispatched to, else the route whose rule is literally the
    path (a 405 names no endpoint); the flag says whether it was dispatched."""
    if request.endpoint:
        candidates = [r for r in trace.routes if r.endpoint == request.endpoint]
        for route in candidates:
            if route.rule == request.rule:
                return route, True
        if candidates:
            return candidates[0], True
    literal = [r for r in trace.routes if r.rule == request.path]
    return (literal[0], False) if len(literal) == 1 else (None, False)


class EnteredCalls:
    """(file, first line) → the first call step made there, found on demand.

    The onion asks about a handful of places; scanning the `lines` column for each at C
    speed (`list.index`) is far cheaper than indexing every call of a request that can
    have 200,000 steps.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        self.table = as_table(steps)
        self._found: dict[tuple[str | None, int | None], int | None] = {}
        self._tied: tuple[dict[int, int], set[Place]] | None = None

    def get(self, place: tuple[str | None, int | None]) -> int | None:
        if place not in self._found:
            self._found[place] = self._first_call(*place)
        return self._found[place]

    def layer(self, position: int, place: Place, earlier: int) -> int | None:
        """The first call of the decorator layer at chain `position`: the call the recording
        tied to it, else the call at `place` after those of the `earlier` layers there."""
        tied, tied_places = self._tied_layers()
        if place in tied_places:
            return tied.get(position)
        calls = self._calls_at(place)
        return calls[earlier] if earlier < len(calls) else None

    def _tied_layers(self) -> tuple[dict[int, int], set[Place]]:
        """(chain position → its first call, the places of those calls) from the `layer`
        facts of the request's layer calls (a handful of steps: built on first use)."""
        if self._tied is None:
            table = self.table
            tied: dict[int, int] = {}
            places: set[Place] = set()
            for step_id, role in table.roles.items():
                if role != Role.LAYER or table.kinds[step_id] != _CALL:
                    continue
                position = table[step_id].facts.get("layer")
                if type(position) is int:
                    tied.setdefault(position, step_id)
                    places.add((table.files[step_id], table.lines[step_id]))
            self._tied = (tied, places)
        return self._tied

    def _calls_at(self, place: Place) -> list[int]:
        table = self.table
        lines, files, kinds = table.lines, table.files, table.kinds
        found: list[int] = []
        position = -1
        while True:
            try:
                position = lines.index(place[1], position + 1)
            except ValueError:
                return found
            if kinds[position] == _CALL and files[position] == place[0]:
                found.append(position)

    def _first_call(self, file: str | None, line: int | None) -> int | None:
        table = self.table
        lines, files, kinds = table.lines, table.files, table.kinds
        position = -1
        while True:
            try:
                position = lines.index(line, position + 1)
            except ValueError:
                return None
            if kinds[position] == _CALL and files[position] == file:
                return position


def entered_calls(steps: Sequence[Step]) -> EnteredCalls:
    """Where the request's calls went in, to ask of each chain link."""
    return EnteredCalls(steps)


def build_onion(
    trace: Trace,
    request: Request,
    entered: EnteredCalls,
    ancestry: Iterable[int] = (),
) -> Onion:
    """The onion of `request`; `ancestry` (the current step and its ancestors) marks the
    innermost layer the reader is inside."""
    route, dispatched = route_for(trace, request)
    if route is None:
        reason = {
            "not_found": f"no rule matches {request.path}: no view ran",
            "method_not_allowed": (
                f"{request.method} {request.path} → {request.status}: the route exists, but "
                f"{request.method} is not allowed (allowed: "
                f"{', '.join(request.allowed_methods)}), so its view did not run"),
            "redirect": "the router redirected: no view ran",
        }.get(request.outcome, "no endpoint was dispatched")
        return Onion(None, (), reason, False)
    layers: list[Layer] = []
    depths = _depths(route.chain)
    layers_at: Counter[Place] = Counter()  # decorator layers seen so far at each place
    for position, link in enumerate(route.chain):
        link_depth = depths[position]
        place = (link.file, link.line)
        step = entered.get(place) if dispatched else None
        if link.kind == "decorator":
            step = entered.layer(position, place, layers_at[place]) if dispatched else None
            layers_at[place] += 1
        if link.kind == "view_class":
            step = _class_entry(route.chain[position + 1 :], entered) if dispatched else None
        layers.append(Layer(link, link_depth, step is not None, step,
                            made_by=made_by(route.chain, position)))
    inside = set(ancestry)
    for position in range(len(layers) - 1, -1, -1):
        layer = layers[position]
        if layer.step is not None and layer.step in inside:
            layers[position] = replace(layer, entered=True, here=True)
            break
    reason = "" if dispatched else (
        f"{request.method} {request.path} → {request.status}: the route exists but its view "
        "did not run"
    )
    return Onion(route, tuple(layers), reason, dispatched)


def _depths(chain: Sequence[ChainLink]) -> list[int]:
    """Each link's nesting: one deeper than the one around it, except the handler methods,
    alternatives side by side at one depth (each with the decorators on it alone)."""
    shared, handlers = split_positions(chain)
    depths = [0] * len(chain)
    for depth, position in enumerate(shared):
        depths[position] = depth
    for group in handlers:
        for offset, position in enumerate(group):
            depths[position] = len(shared) + offset
    return depths


def _class_entry(
    after: Iterable[ChainLink], entered: EnteredCalls
) -> int | None:
    methods = [link for link in after if link.kind == "method"]
    for link in methods:
        if link.name == "dispatch_request":
            return entered.get((link.file, link.line))
    for link in methods:
        step = entered.get((link.file, link.line))
        if step is not None:
            return step
    return None
