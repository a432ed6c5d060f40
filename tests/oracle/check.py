"""Hold recorded requests to what the oracle observed.

Soundness: the status, the Location (`redirect_to`), the endpoint, rule and typed view
arguments (Werkzeug's answer), the allowed methods of a 405, the outcome class, the error,
every call step (each must have run, inside the call its parent step stands for, in order),
and the claims of notes and facts (`entered` / `not_entered` of the dispatch step, the error
handler chosen, the handler looked up). Completeness: every call the oracle requires
(`tracer`-free rule in `observe`) has a call step, under the step of its caller.

Call steps are matched to observed calls by (file, first line): a recorded tree must embed in
the observed one — each step's call lies inside its parent step's call, siblings side by
side in the order they ran — since a recorder may leave calls out, but never reorders,
re-parents or invents them. The outcome class the oracle expects: `error` when an exception
left the app; else how routing ended when Flask matched the URL and it did not match
(`not_found`, `method_not_allowed`, `redirect`); otherwise `error` when an exception other
than an HTTP error was raised (handled, or signalled by an extension), for a status of 400+
`http_error` when Flask handled an HTTP error (`abort(403)`) and `error_status` when the app
returned it, `redirect` for a 3xx response with a Location, and `ok` for anything else.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracer.model import Request, Step

from .observe import FLASK, Call, Match, Observation


@dataclass(frozen=True)
class Disagreement:
    """One recorded fact the oracle saw otherwise."""

    request: str  # "#3 GET /path"
    kind: str
    message: str
    label: str = ""  # the observation's label (a test id)

    def __str__(self) -> str:
        where = f"{self.request} [{self.label}]" if self.label else self.request
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Report:
    """Counts and disagreements of one or more checked requests."""

    requests: int = 0
    facts: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    def add(self, other: Report) -> None:
        self.requests += other.requests
        self.facts += other.facts
        self.disagreements.extend(other.disagreements)

    def summary(self, apps: int | None = None) -> str:
        """The closing line: what was checked and how much of it disagreed."""
        head = f"{apps} apps, " if apps is not None else ""
        return (f"oracle: {head}{self.requests} requests checked, {self.facts} facts checked, "
                f"{len(self.disagreements)} disagreements")


def check_requests(requests: Sequence[Request], observations: Sequence[Observation]) -> Report:
    """Pair recorded requests with observations (in the order they ended, by method and
    path: a request one side has and the other has not is a disagreement) and check each;
    requests of one method and path that ran at once are paired as best agrees
    (`_groups`)."""
    report = Report()
    recorded = sorted(requests, key=lambda r: r.id)
    keys_recorded = [(r.method, r.path) for r in recorded]
    keys_observed = [(o.method, o.path) for o in observations]
    matcher = difflib.SequenceMatcher(a=keys_recorded, b=keys_observed, autojunk=False)
    for tag, r1, r2, o1, o2 in matcher.get_opcodes():
        if tag == "equal":
            for group, seen in _groups(recorded[r1:r2], observations[o1:o2]):
                report.add(_best_pairing(group, seen))
            continue
        for request in recorded[r1:r2]:
            report.facts += 1
            report.disagreements.append(Disagreement(
                _label(request), "request", "recorded, but no Flask app served it"))
        for observation in observations[o1:o2]:
            report.facts += 1
            report.disagreements.append(Disagreement(
                f"{observation.method} {observation.path}", "request",
                "served by a Flask app, but not recorded", observation.label))
    return report


#: Requests of one method and path that ran at once are paired every way up to this many.
_MAX_OVERLAPPING = 4


def _groups(recorded: Sequence[Request], observations: Sequence[Observation]
            ) -> Iterable[tuple[list[Request], list[Observation]]]:
    """Runs of requests to pair among themselves: one request alone, or consecutive ones of
    the same method and path whose times overlap. Two threads asking for the same URL at
    once end in an order each side notes at its own moment (the oracle's wrapper after the
    app returned, the recorder when it files the request), so the order cannot tell which
    is which."""
    start = 0
    for index in range(1, len(recorded) + 1):
        if (index < len(recorded) and index - start < _MAX_OVERLAPPING
                and _same_request_at_once(recorded[index - 1], recorded[index])):
            continue
        yield list(recorded[start:index]), list(observations[start:index])
        start = index


def _same_request_at_once(first: Request, second: Request) -> bool:
    ends = [first.start_ns + first.duration_ns, second.start_ns + second.duration_ns]
    return ((first.method, first.path) == (second.method, second.path)
            and first.start_ns < ends[1] and second.start_ns < ends[0])


def _best_pairing(recorded: list[Request], observations: list[Observation]) -> Report:
    """The checks of the pairing with the fewest disagreements, in order when tied."""
    best: Report | None = None
    for order in itertools.permutations(observations):
        report = Report()
        for request, observation in zip(recorded, order, strict=True):
            report.add(_RequestCheck(request, observation).run())
        if best is None or len(report.disagreements) < len(best.disagreements):
            best = report
    assert best is not None
    return best


def _label(request: Request) -> str:
    return f"#{request.id} {request.method} {request.path}"


def expected_outcome(observation: Observation) -> str:
    """The outcome class of the request, from what the oracle saw (see the module doc)."""
    if observation.propagated:
        return "error"
    match = _routing(observation)
    if match is not None and match.kind in ("not_found", "method_not_allowed", "redirect"):
        return match.kind
    status = observation.status or 0
    if expected_error(observation) is not None:
        return "error"
    if status >= 400:
        raised = any(is_http for _, is_http in (*observation.handled, *observation.signalled))
        return "http_error" if raised else "error_status"
    if 300 <= status < 400 and observation.location:
        return "redirect"
    return "ok"


def expected_error(observation: Observation) -> str | None:
    """The type of the first exception other than an HTTP error that was raised: handled by
    Flask, signalled (`got_request_exception`) or let out of the app."""
    for name, is_http in (*observation.handled, *observation.signalled):
        if not is_http:
            return name
    return observation.propagated


def _routing(observation: Observation) -> Match | None:
    """Werkzeug's answer, when Flask asked for a match (an app that fails before matching,
    in its session interface say, never routes the request)."""
    if observation.match is None or observation.match.kind == "unknown":
        return None
    if observation.matched or observation.blind is not None:
        return observation.match
    return Match("unasked")


def same_value(recorded: str, value: Any) -> bool:
    """Whether a recorded repr stands for `value`: equal, redacted, or cut in the middle."""
    expected = repr(value)
    if recorded == expected or "***" in recorded:
        return True
    if "..." in recorded:
        head, _, tail = recorded.partition("...")
        return expected.startswith(head) and expected.endswith(tail)
    return False


class _Recorded:
    """A call step in the recorded call tree (steps without a file are looked through)."""

    __slots__ = ("step", "children", "parent")

    def __init__(self, step: Step, parent: _Recorded | None) -> None:
        self.step = step
        self.children: list[_Recorded] = []
        self.parent = parent

    @property
    def key(self) -> tuple[str | None, int | None]:
        return self.step.file, self.step.line


class _RequestCheck:
    """Everything checked about one request."""

    def __init__(self, request: Request, observation: Observation) -> None:
        self.request = request
        self.observation = observation
        self.label = _label(request)
        self.report = Report(requests=1)
        self.steps = list(request.steps)
        # The observed tree in preorder: index, end of subtree, positions by key.
        self.order: list[Call] = []
        self.ends: list[int] = []
        self.continuations: dict[int, list[int]] = {}
        self.index: dict[int, int] = {}
        self.positions: dict[tuple[str, int], list[int]] = {}
        self.memo: dict[tuple[int, int], tuple[int, list]] = {}
        self.image: dict[int, int] = {}  # step id -> observed index

    def fact(self, holds: bool, kind: str, message: str) -> None:
        self.report.facts += 1
        if not holds:
            self.report.disagreements.append(
                Disagreement(self.label, kind, message, self.observation.label))

    def run(self) -> Report:
        observation = self.observation
        self._response()
        self._routing()
        self._outcome()
        if observation.blind is None:
            self._flatten(observation.root)
            self._link_resumptions()
            roots = self._recorded_tree()
            self._embed_roots(roots)
            self._completeness()
            self._claims()
        return self.report

    # -- the request's facts --------------------------------------------------------------

    def _response(self) -> None:
        request, observation = self.request, self.observation
        self.fact(request.status == observation.status, "status",
                  f"recorded {request.status}, the server was handed {observation.status}")
        if observation.finished_status is not None:  # Flask's response, by request_finished
            self.fact(request.status == observation.finished_status, "status",
                      f"recorded {request.status}, Flask finished the request with "
                      f"{observation.finished_status}")
        location = observation.location
        match = _routing(observation)
        if match is not None and match.kind == "redirect":
            self.fact(request.redirect_to == match.new_url, "redirect_to",
                      f"recorded {request.redirect_to!r}, Werkzeug redirects to "
                      f"{match.new_url!r}")
        elif observation.status is not None and 300 <= observation.status < 400 and location:
            self.fact(request.redirect_to == location, "redirect_to",
                      f"recorded {request.redirect_to!r}, the response's Location is "
                      f"{location!r}")
        else:
            self.fact(request.redirect_to is None, "redirect_to",
                      f"recorded {request.redirect_to!r}, but the response "
                      f"({observation.status}) redirects nowhere")
        error = expected_error(observation)
        if error is None:
            self.fact(request.error is None, "error",
                      f"recorded {request.error!r}, but no exception other than an HTTP error "
                      "was raised")
        else:
            short = error.rsplit(".", 1)[-1]  # an exception's repr names its class so
            self.fact(request.error is not None and short in request.error, "error",
                      f"recorded {request.error!r}, but {error} was raised")

    def _routing(self) -> None:
        request, match = self.request, _routing(self.observation)
        if match is None:
            return
        if match.kind == "unasked":
            self.fact(request.endpoint is None and request.rule is None, "endpoint",
                      f"recorded endpoint {request.endpoint!r} rule {request.rule!r}, but "
                      "Flask never matched the URL")
            return
        if match.kind == "matched":
            self.fact(request.endpoint == match.endpoint, "endpoint",
                      f"recorded {request.endpoint!r}, Werkzeug matched {match.endpoint!r}")
            self.fact(request.rule == match.rule, "rule",
                      f"recorded {request.rule!r}, Werkzeug matched {match.rule!r}")
            recorded = dict(request.view_args)
            self.fact(sorted(recorded) == sorted(match.view_args), "view_args",
                      f"recorded {sorted(recorded)}, Werkzeug matched {sorted(match.view_args)}")
            for name, value in match.view_args.items():
                if name in recorded:
                    self.fact(same_value(recorded[name], value), "view_args",
                              f"{name}: recorded {recorded[name]}, Werkzeug converted it to "
                              f"{value!r}")
        else:
            self.fact(request.endpoint is None and request.rule is None, "endpoint",
                      f"recorded endpoint {request.endpoint!r} rule {request.rule!r}, but "
                      f"Werkzeug says {match.kind}")
        allowed = tuple(sorted(request.allowed_methods))
        if match.kind == "method_not_allowed":
            self.fact(allowed == match.allowed, "allowed_methods",
                      f"recorded {list(allowed)}, Werkzeug allows {list(match.allowed)}")
        else:
            self.fact(not allowed, "allowed_methods",
                      f"recorded {list(allowed)} for a request Werkzeug did not refuse")

    def _outcome(self) -> None:
        expected = expected_outcome(self.observation)
        self.fact(self.request.outcome == expected, "outcome",
                  f"recorded {self.request.outcome!r}, expected {expected!r} (status "
                  f"{self.observation.status}, routing {self._routing_kind()}, signals "
                  f"{', '.join(self.observation.signals) or 'none'})")

    def _routing_kind(self) -> str:
        match = _routing(self.observation)
        return match.kind if match is not None else "unknown"

    # -- the call trees -------------------------------------------------------------------

    def _flatten(self, root: Call) -> None:
        """Number the observed calls in preorder (the root itself is not a call)."""
        stack: list[tuple[Call, bool]] = [(child, False) for child in reversed(root.children)]
        while stack:
            node, done = stack.pop()
            if done:
                self.ends[self.index[id(node)]] = len(self.order)
                continue
            position = len(self.order)
            self.index[id(node)] = position
            self.order.append(node)
            self.ends.append(0)
            self.positions.setdefault(node.key, []).append(position)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))

    def _link_resumptions(self) -> None:
        """Where each observed call carried on after a yield or await (a recorder may tell
        a call and its resumptions as one step)."""
        self.continuations = {}
        for position, node in enumerate(self.order):
            if node.origin is not None and id(node.origin) in self.index:
                self.continuations.setdefault(self.index[id(node.origin)], []).append(position)

    def _recorded_tree(self) -> list[_Recorded]:
        parents = {step.id: step.parent for step in self.steps}
        nodes: dict[int, _Recorded] = {}
        roots: list[_Recorded] = []
        for step in self.steps:
            if step.kind != "call" or step.file is None or step.line is None:
                continue
            parent = step.parent
            while parent is not None and parent not in nodes:
                parent = parents.get(parent)
            owner = nodes.get(parent) if parent is not None else None
            node = nodes[step.id] = _Recorded(step, owner)
            (owner.children if owner is not None else roots).append(node)
        return roots

    def _embed(self, node: _Recorded, position: int) -> tuple[int, list]:
        """How many steps under `node` cannot be placed inside observed call `position`
        (-1: the root), and where each child goes (index, or None)."""
        known = self.memo.get((id(node), position))
        if known is not None:
            return known
        start = position + 1
        end = self.ends[position] if position >= 0 else len(self.order)
        spans = [(start, end)] + [(later + 1, self.ends[later])
                                  for later in self.continuations.get(position, ())]
        end = max(stop for _, stop in spans)
        failed = 0
        choices: list[tuple[_Recorded, int | None]] = []
        for child in node.children:
            best: tuple[int, int] | None = None
            candidates = self.positions.get(child.key, [])  # type: ignore[arg-type]
            for index in candidates[bisect.bisect_left(candidates, position + 1):]:
                if index >= end:
                    break
                if index < start and not self._concurrent(index):
                    continue
                if not any(low <= index < high for low, high in spans):
                    continue
                misses = self._embed(child, index)[0]
                if best is None or misses < best[1]:
                    best = (index, misses)
                if misses == 0:
                    break
            if best is None:
                failed += 1 + _size(child)
                choices.append((child, None))
            else:
                failed += best[1]
                choices.append((child, best[0]))
                if not self._concurrent(best[0]):
                    start = self.ends[best[0]]
        self.memo[(id(node), position)] = (failed, choices)
        return failed, choices

    def _concurrent(self, index: int) -> bool:
        """Whether observed call `index` ran on a thread the request started (or inside
        such a call): not ordered with the calls of the request's own thread."""
        return any(call.concurrent for call in _lineage(self.order[index]))

    def _embed_roots(self, roots: list[_Recorded]) -> None:
        top = _Recorded(Step(-1, None, "call", "<request>", None, None, 0, 0), None)
        top.children = roots
        pending = [(top, -1)]
        while pending:
            node, position = pending.pop()
            for child, index in self._embed(node, position)[1]:
                step = child.step
                where = f"{step.name} ({_where(step.file, step.line)}, step {step.id})"
                parent = "the request" if node is top else node.step.name
                self.fact(index is not None, "call",
                          f"recorded {where} under {parent}, but no such call ran there")
                if index is not None:
                    self.image[step.id] = index
                    pending.append((child, index))

    def _completeness(self) -> None:
        placed = set(self.image.values())
        steps_by_key: dict[tuple[str | None, int | None], list[Step]] = {}
        for step in self.steps:
            if step.kind == "call":
                steps_by_key.setdefault((step.file, step.line), []).append(step)
        for position, node in enumerate(self.order):
            if not node.required:
                continue
            under = self._observed_parent(node)
            where = (f"{node.name} ({_where(node.file, node.line)}), called by {node.caller}"
                     f" inside {under}")
            if node.area == FLASK:  # URL building or rendering: a step for it or its work
                self.fact(any(index in placed and self.order[index].area == FLASK
                              for index in range(position, self.ends[position])), "call",
                          f"{where}: no call step for it or for the Flask calls it makes")
                continue
            if position in placed:
                self.fact(True, "call", where)
                continue
            elsewhere = [s for s in steps_by_key.get(node.key, ()) if s.id not in self.image]
            if elsewhere:
                parents = sorted({self._step_name(s.parent) for s in elsewhere})
                self.fact(False, "call", f"{where}: recorded only under {', '.join(parents)}")
            else:
                self.fact(False, "call", f"{where}: no call step")

    def _observed_parent(self, node: Call) -> str:
        """The nearest observed caller that has a call step (what its parent step must be)."""
        placed = {index: step for step, index in self.image.items()}
        parent = node.parent
        while parent is not None and id(parent) in self.index:
            step_id = placed.get(self.index[id(parent)])
            if step_id is not None:
                return f"{parent.name} (step {step_id})"
            parent = parent.parent
        return "the request"

    def _step_name(self, step_id: int | None) -> str:
        if step_id is None:
            return "the request"
        step = self.steps[step_id] if step_id < len(self.steps) else None
        if step is None or step.id != step_id:
            step = next((s for s in self.steps if s.id == step_id), None)
        return f"{step.name} (step {step_id})" if step is not None else f"step {step_id}"

    # -- claims of facts and notes --------------------------------------------------------

    def _claims(self) -> None:
        ran = {node.name for node in self.order}
        for step in self.steps:
            if step.kind == "call" and step.role == "dispatch":
                self._dispatch_claims(step)
            elif step.kind == "note" and step.role in ("error_handler", "handler_lookup"):
                handler = step.facts.get("handler")
                if isinstance(handler, str):
                    self.fact(handler in ran, step.role,
                              f"step {step.id} names {handler} as the {step.role.replace('_', ' ')}"
                              ", but it never ran")

    def _dispatch_claims(self, step: Step) -> None:
        position = self.image.get(step.id)
        if position is None:
            return
        inside = {self.order[i].name for i in range(position + 1, self.ends[position])}
        for name in _names(step.facts.get("entered")):
            self.fact(name in inside, "entered",
                      f"dispatch step {step.id} says {name} was entered; it never ran there")
        for name in _names(step.facts.get("not_entered")):
            self.fact(name not in inside, "not_entered",
                      f"dispatch step {step.id} says {name} was not entered; it ran")


def _names(value: Any) -> Iterable[str]:
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _size(node: _Recorded) -> int:
    return sum(1 + _size(child) for child in node.children)


def _where(file: str | None, line: int | None) -> str:
    return f"{os.path.basename(file or '?')}:{line}"


def _lineage(call: Call) -> Iterable[Call]:
    """`call` and the calls above it."""
    node: Call | None = call
    while node is not None:
        yield node
        node = node.parent
