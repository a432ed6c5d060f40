"""The same request on several frameworks, told side by side, concept by concept.

Each cell is built from one trace's recorded steps — their roles and facts, never from
knowing which framework made them — so a framework the adapters learn later compares
without a change here. The concepts:

- `stored`: where the rule went at registration (`RULE_ADDED`, `VIEW_REGISTERED`; its
  `storage`, `static`, `dynamic` or `ordered`, told in words);
- `endpoint`: how its endpoint or name was chosen (`ENDPOINT_INFERRED`, `ADD_URL_RULE`'s
  `endpoint_given`, or the rule itself when nothing else was recorded);
- `found`: how the request found its handler (`MATCH`, `DISPATCH`, `HANDLER_LOOKUP`, the
  innermost `VIEW`/`HANDLER` call);
- `wrapped`: what wraps the handler, outermost first, and who applied it (`Route.chain`,
  `CLASS_DECORATOR` notes, `WRAP_CALLBACK`/`PLUGIN` steps);
- `answered`: the status, outcome and response headers (`START_RESPONSE`);
- `head`: what a HEAD request for the same path did: the rule it matched and whether that
  rule lists HEAD, the handler looked up and run, the body handed to the server;
- `refused`: who answered a 405 for the same path: the step that refused the method (while
  matching the URL, or after it, looking for a handler), what made the response, `Allow`.

`head` and `refused` read the trace's other requests for the compared path (`flaskscope
compare` sends a HEAD and a refused method beside the request it compares).

Messages exist in English and Chinese (`LANGUAGES`). Pure functions: traces in, text or
JSON out; `flaskscope.compare_command` is the CLI around them. The sentences hold values as
recorded; `to_text` and `to_table` escape their control characters (`visible`) and give
rich `Text`, never markup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from tracer.model import Request, Role, Route, Step, Trace
from viewer.chain_text import handler_for
from viewer.textsafe import visible

LANGUAGES = ("en", "zh")
CONCEPTS = ("stored", "endpoint", "found", "wrapped", "answered", "head", "refused")

_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title.stored": "Where the route is stored",
        "title.endpoint": "How the endpoint / name is chosen",
        "title.found": "How the handler is found",
        "title.wrapped": "What wraps the handler",
        "title.answered": "What answers",
        "title.head": "What HEAD does",
        "title.refused": "Who answers 405",
        "no_request": "no request recorded",
        "no_rule": "the request matched no rule, so no stored route is involved",
        "rule_map": "`{step}` put rule {rule} ({methods}) with endpoint {endpoint} into the "
                    "URL map",
        "rule_stored": "`{step}` stored rule {rule} ({methods}) in `{stored_in}` ({storage}), "
                       "its target the `{target}` object",
        "rule_stored_name": "`{step}` stored rule {rule} ({methods}) in `{stored_in}` "
                            "({storage}), its target the name {target}, resolved when a "
                            "request comes",
        "view_table": "`view_functions[{endpoint}] = {view}`: the endpoint's function, kept "
                      "by the framework",
        "route_list": "the route object went into `{stored_in}[{index}]`",
        "no_view_table": "nothing recorded a view table: mapping the endpoint to a function "
                         "is left to the app's own code",
        "inferred": "no endpoint given: `{step}` named it {endpoint} after `{view}.{source}`",
        "given": "given explicitly: endpoint {endpoint}",
        "named": "given with `name=`: {name}",
        "unnamed": "no name given: the route has none (the trace calls it {endpoint}, after "
                   "its callback); the router finds the route object by rule and method",
        "in_rule": "given in the rule itself: endpoint {endpoint}",
        "matched": "`{step}` matched {path} to rule {rule}, endpoint {endpoint}",
        "not_found": "`{step}` found no rule for {path}: 404",
        "not_allowed": "`{step}` found {path}, but not for {method}: 405, allowed {allowed}",
        "redirect": "`{step}` redirected {path} to {target} ({status})",
        "no_match": "no match step was recorded: the app answers every path itself",
        "dispatch": "`{step}` called the endpoint's function `{view}`",
        "lookup": "`{step}` looked up `{tried}` for {method}: {handler}",
        "lookup_fallback": "`{step}` found no `{tried}` for {method}, so it looked up "
                           "`{fallback}`: {handler}",
        "lookup_alias": "`{step}` looked up `{tried}` for {method} and found `{fallback}`: the "
                        "class has no `{tried}`, so `{setter}` had set `{tried} = {fallback}` "
                        "on the instance: {handler}",
        "ran": "the handler that ran: `{handler}` ({where})",
        "no_handler": "no handler ran",
        "chain": "layers, outermost first: {chain}",
        "no_layers": "no layers: the handler is called directly",
        "plugins": "applied by `{step}` on the route's first request, first plugin "
                   "innermost: {plugins}",
        "class_decorators": "the view class's `decorators` list applied in order, the last "
                            "outermost: {decorators}",
        "answer": "{status} {outcome}",
        "headers": "`{step}` got {headers}",
        "storage.static": "static: a table keyed by the exact path",
        "storage.dynamic": "dynamic: regular expressions tried in turn",
        "storage.ordered": "a list tried in order",
        "no_head": "no HEAD request for {path} in this trace",
        "head_answer": "HEAD {path}: {status} {outcome}",
        "head_rule_lists": "rule {rule} lists HEAD among its methods ({methods})",
        "head_rule_lacks": "`{step}` matched HEAD to rule {rule}, though its route lists "
                           "only {methods}",
        "head_body": "the app handed the server {bytes} bytes of body for HEAD, which the "
                     "server must not send",
        "head_no_body": "the app handed the server no body for HEAD",
        "no_refusal": "no request for {path} was answered 405 in this trace",
        "refused_at_match": "`{step}` refused {method} {path} while matching the URL: the "
                            "rule allows {allowed}",
        "refused_after_match": "`{match}` matched the URL; then `{step}` refused {method} on "
                               "looking for a handler: {allowed} have one",
        "refused": "`{step}` refused {method} {path}: allowed {allowed}",
        "refusal_handler": "the 405 response was made by `{handler}`",
        "refusal_default": "no error handler of the app's for it: the framework's own 405 "
                           "response answered",
        "allow_header": "`{step}` got `Allow: {allow}`",
        "no_allow_header": "`{step}` got no `Allow` header, which HTTP requires on a 405",
    },
    "zh": {
        "title.stored": "路由存放在哪里",
        "title.endpoint": "endpoint / 名字如何确定",
        "title.found": "如何找到处理函数",
        "title.wrapped": "处理函数外面包了什么",
        "title.answered": "最后的响应",
        "title.head": "HEAD 请求怎么处理",
        "title.refused": "谁来回答 405",
        "no_request": "没有记录到请求",
        "no_rule": "请求没有匹配到任何规则，不涉及已存放的路由",
        "rule_map": "`{step}` 把规则 {rule}（{methods}，endpoint {endpoint}）放进了 URL map",
        "rule_stored": "`{step}` 把规则 {rule}（{methods}）存进 `{stored_in}`（{storage}），"
                       "目标是 `{target}` 对象本身",
        "rule_stored_name": "`{step}` 把规则 {rule}（{methods}）存进 `{stored_in}`（{storage}），"
                            "目标只是名字 {target}，等请求来时再解析",
        "view_table": "`view_functions[{endpoint}] = {view}`：endpoint 对应的函数由框架保存",
        "route_list": "路由对象放进了 `{stored_in}[{index}]`",
        "no_view_table": "没有记录到视图表：endpoint 到函数的对应由应用自己的代码完成",
        "inferred": "没有传 endpoint：`{step}` 用 `{view}.{source}` 把它命名为 {endpoint}",
        "given": "显式给出：endpoint {endpoint}",
        "named": "用 `name=` 给出：{name}",
        "unnamed": "没有给名字：路由本身没有名字（trace 按回调函数称它为 {endpoint}）；"
                   "router 按规则和方法直接找到路由对象",
        "in_rule": "写在规则里：endpoint {endpoint}",
        "matched": "`{step}` 把 {path} 匹配到规则 {rule}，endpoint {endpoint}",
        "not_found": "`{step}` 找不到 {path} 的规则：404",
        "not_allowed": "`{step}` 找到了 {path}，但不接受 {method}：405，允许 {allowed}",
        "redirect": "`{step}` 把 {path} 重定向到 {target}（{status}）",
        "no_match": "没有记录到匹配步骤：应用自己处理所有路径",
        "dispatch": "`{step}` 调用了 endpoint 对应的函数 `{view}`",
        "lookup": "`{step}` 为 {method} 查找 `{tried}`：{handler}",
        "lookup_fallback": "`{step}` 为 {method} 找不到 `{tried}`，于是改为查找 `{fallback}`："
                           "{handler}",
        "lookup_alias": "`{step}` 为 {method} 查找 `{tried}`，找到的是 `{fallback}`：类里没有 "
                        "`{tried}`，所以 `{setter}` 事先在实例上设置了 `{tried} = {fallback}`："
                        "{handler}",
        "ran": "实际运行的处理函数：`{handler}`（{where}）",
        "no_handler": "没有处理函数运行",
        "chain": "从外到内的各层：{chain}",
        "no_layers": "没有包装层：直接调用处理函数",
        "plugins": "由 `{step}` 在该路由第一次请求时套上，先套的插件在最里层：{plugins}",
        "class_decorators": "视图类的 `decorators` 列表按顺序套上，最后一个在最外层：{decorators}",
        "answer": "{status} {outcome}",
        "headers": "`{step}` 收到 {headers}",
        "storage.static": "静态表：按完整路径直接查找",
        "storage.dynamic": "动态表：逐个尝试正则表达式",
        "storage.ordered": "按顺序逐个尝试的列表",
        "no_head": "这份 trace 里没有 {path} 的 HEAD 请求",
        "head_answer": "HEAD {path}：{status} {outcome}",
        "head_rule_lists": "规则 {rule} 的方法里本来就有 HEAD（{methods}）",
        "head_rule_lacks": "`{step}` 把 HEAD 匹配到规则 {rule}，尽管这条路由只列出了 {methods}",
        "head_body": "对 HEAD，应用仍把 {bytes} 字节的响应体交给了服务器，服务器不能把它发出去",
        "head_no_body": "对 HEAD，应用没有交给服务器任何响应体",
        "no_refusal": "这份 trace 里 {path} 没有哪个请求得到 405",
        "refused_at_match": "`{step}` 在匹配 URL 时就拒绝了 {method} {path}：规则只允许 {allowed}",
        "refused_after_match": "`{match}` 先匹配上了 URL，之后 `{step}` 找处理方法时才拒绝 "
                               "{method}：有处理方法的是 {allowed}",
        "refused": "`{step}` 拒绝了 {method} {path}：允许 {allowed}",
        "refusal_handler": "405 响应由 `{handler}` 生成",
        "refusal_default": "应用没有为它注册错误处理函数：由框架自带的 405 响应回答",
        "allow_header": "`{step}` 收到 `Allow: {allow}`",
        "no_allow_header": "`{step}` 没有收到 `Allow` 头，而 HTTP 要求 405 响应必须带上它",
    },
}


@dataclass(frozen=True)
class Concept:
    """One row: a concept's title and, per compared trace, its sentences."""

    key: str
    title: str
    cells: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Comparison:
    """What `compare` returns: a label per trace and the rows."""

    labels: tuple[str, ...]
    concepts: tuple[Concept, ...]


def label_of(trace: Trace) -> str:
    """`framework (app file)` for a column heading."""
    framework = trace.meta.get("framework") or "?"
    app = trace.meta.get("app") or ""
    return f"{framework} ({os.path.basename(str(app).split(':')[0])})" if app else framework


def compare(traces: Sequence[Trace], *, lang: str = "en",
            request_ids: Sequence[int | None] | None = None) -> Comparison:
    """The concepts of `CONCEPTS` for one request of each trace (its first by default)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    messages = _MESSAGES[lang]
    ids = list(request_ids or [None] * len(traces))
    readers = [_Reader(trace, _pick(trace, ids[i]), messages) for i, trace in enumerate(traces)]
    concepts = tuple(
        Concept(key, messages[f"title.{key}"],
                tuple(tuple(getattr(reader, key)()) for reader in readers))
        for key in CONCEPTS
    )
    return Comparison(tuple(label_of(t) for t in traces), concepts)


def _pick(trace: Trace, request_id: int | None) -> Request | None:
    if request_id is not None:
        return trace.request(request_id)
    return trace.requests[0] if trace.requests else None


def to_text(comparison: Comparison) -> str:
    """Plain text: each concept, then each trace's sentences under its label."""
    out: list[str] = []
    for concept in comparison.concepts:
        out.append(visible(concept.title))
        for label, cell in zip(comparison.labels, concept.cells, strict=True):
            out.append(f"  {visible(label)}")
            out.extend(f"    - {visible(line)}" for line in cell)
        out.append("")
    return "\n".join(out)


def to_table(comparison: Comparison) -> Table:
    """A rich table: a row per concept, a column per trace."""
    table = Table(show_lines=True)
    table.add_column("", style="bold")
    for label in comparison.labels:
        table.add_column(Text(visible(label)), ratio=1)
    for concept in comparison.concepts:
        table.add_row(Text(visible(concept.title)),
                      *(Text("\n".join(f"• {visible(line)}" for line in cell))
                        for cell in concept.cells))
    return table


def to_json(comparison: Comparison) -> dict[str, Any]:
    """Plain data for other tools."""
    return {
        "labels": list(comparison.labels),
        "concepts": [
            {"key": c.key, "title": c.title, "cells": [list(cell) for cell in c.cells]}
            for c in comparison.concepts
        ],
    }


def _q(value: Any) -> str:
    return repr(value)


class _Reader:
    """The sentences of one trace, concept by concept."""

    def __init__(self, trace: Trace, request: Request | None,
                 messages: dict[str, str]) -> None:
        self.trace = trace
        self.request = request
        self.messages = messages
        self.registration = trace.registration.steps
        self.rule = self._rule()
        self.route = self._route()

    def _say(self, key: str, **values: Any) -> str:
        return self.messages[key].format(**values)

    def _storage(self, kind: Any) -> str:
        """A router's kind of storage in words (`static`, `dynamic`, `ordered`), else as
        the adapter recorded it."""
        return self.messages.get(f"storage.{kind}", str(kind) if kind else "?")

    # -- what the request reached ---------------------------------------------------------

    def _rule(self) -> str | None:
        if self.request is None:
            return None
        if self.request.rule:
            return self.request.rule
        match = self._first(self.request.steps, Role.MATCH)
        if match is not None and match.facts.get("rule"):
            return match.facts["rule"]
        if self.request.outcome == "method_not_allowed":  # the path is a rule, not for this
            literal = [r.rule for r in self.trace.routes if r.rule == self.request.path]
            return literal[0] if literal else None
        return None

    def _route(self) -> Route | None:
        if self.request is None:
            return None
        candidates = [r for r in self.trace.routes if r.rule == self.rule
                      and (self.request.endpoint is None or r.endpoint == self.request.endpoint)]
        method = self.request.method
        for route in candidates:
            if not route.methods or method in route.methods:
                return route
        return candidates[0] if candidates else None

    @staticmethod
    def _first(steps: Iterable[Step], role: str, kinds: tuple[str, ...] = ("call",)
               ) -> Step | None:
        return next((s for s in steps if s.role == role and s.kind in kinds), None)

    def _registration_for_rule(self, role: str, kinds: tuple[str, ...] = ("call",)
                               ) -> list[Step]:
        return [s for s in self.registration if s.role == role and s.kind in kinds
                and s.facts.get("rule") == self.rule]

    def _under(self, parent: Step, role: str) -> list[Step]:
        """Steps of `role` anywhere below `parent` (registration)."""
        inside = {parent.id}
        found = []
        for step in self.registration[parent.id + 1:]:
            if step.parent in inside:
                inside.add(step.id)
                if step.role == role:
                    found.append(step)
        return found

    # -- concepts -------------------------------------------------------------------------

    def stored(self) -> list[str]:
        if self.request is None:
            return [self._say("no_request")]
        if self.rule is None:
            return [self._say("no_rule")]
        lines = []
        added = self._registration_for_rule(Role.RULE_ADDED, kinds=("call", "note"))
        for step in added:
            facts = step.facts
            methods = ", ".join(facts.get("methods") or []) or "*"
            if facts.get("stored_in") and facts.get("target_is_name"):
                lines.append(self._say("rule_stored_name", step=step.name,
                                       rule=_q(facts["rule"]), methods=methods,
                                       stored_in=facts["stored_in"],
                                       storage=self._storage(facts.get("storage")),
                                       target=_q(facts.get("target"))))
            elif facts.get("stored_in"):
                lines.append(self._say("rule_stored", step=step.name, rule=_q(facts["rule"]),
                                       methods=methods, stored_in=facts["stored_in"],
                                       storage=self._storage(facts.get("storage")),
                                       target=facts.get("target", "?")))
            else:
                lines.append(self._say("rule_map", step=step.name, rule=_q(facts["rule"]),
                                       methods=methods, endpoint=_q(facts.get("endpoint"))))
        endpoints = {s.facts.get("endpoint") for s in added}
        registered = [n for n in self.registration if n.role == Role.VIEW_REGISTERED
                      and n.kind == "note" and (n.facts.get("rule") in (None, self.rule))
                      and n.facts.get("endpoint") in endpoints]
        for note in registered:
            if note.facts.get("stored_in"):
                lines.append(self._say("route_list", stored_in=note.facts["stored_in"],
                                       index=note.facts.get("index", "?")))
            else:
                lines.append(self._say("view_table", endpoint=_q(note.facts.get("endpoint")),
                                       view=note.facts.get("view")))
        if added and not registered and not any(s.facts.get("target_is_name") for s in added):
            lines.append(self._say("no_view_table"))
        return lines

    def endpoint(self) -> list[str]:
        if self.request is None:
            return [self._say("no_request")]
        if self.rule is None:
            return [self._say("no_rule")]
        adds = self._registration_for_rule(Role.ADD_URL_RULE)
        lines: list[str] = []
        for add in adds[:1]:
            inferred = self._under(add, Role.ENDPOINT_INFERRED)
            if inferred:
                facts = inferred[0].facts
                lines.append(self._say("inferred", step=inferred[0].name,
                                       endpoint=_q(facts.get("endpoint")),
                                       view=facts.get("view"), source=facts.get("from")))
            elif "name" in add.facts and not add.facts.get("endpoint_given"):
                lines.append(self._say("unnamed", endpoint=_q(add.facts.get("endpoint"))))
            elif "name" in add.facts:
                lines.append(self._say("named", name=_q(add.facts.get("name"))))
            elif add.facts.get("endpoint_given"):
                lines.append(self._say("given", endpoint=_q(add.facts.get("endpoint"))))
        if not adds:
            for step in self._registration_for_rule(Role.RULE_ADDED, kinds=("call", "note"))[:1]:
                lines.append(self._say("in_rule", endpoint=_q(step.facts.get("endpoint"))))
        return lines

    def found(self) -> list[str]:
        request = self.request
        if request is None:
            return [self._say("no_request")]
        steps = request.steps
        lines = []
        match = self._first(steps, Role.MATCH)
        if match is None:
            lines.append(self._say("no_match"))
        else:
            facts = match.facts
            path = _q(facts.get("path", request.path))
            outcome = facts.get("outcome")
            if facts.get("matched"):
                lines.append(self._say("matched", step=match.name, path=path,
                                       rule=_q(facts.get("rule")),
                                       endpoint=_q(facts.get("endpoint"))))
            elif outcome == "method_not_allowed":
                lines.append(self._say("not_allowed", step=match.name, path=path,
                                       method=facts.get("method", request.method),
                                       allowed=", ".join(facts.get("allowed_methods") or [])))
            elif outcome == "redirect":
                lines.append(self._say("redirect", step=match.name, path=path,
                                       target=_q(facts.get("redirect_to")),
                                       status=facts.get("status")))
            else:
                lines.append(self._say("not_found", step=match.name, path=path))
        dispatch = self._first(steps, Role.DISPATCH)
        if dispatch is not None and dispatch.facts.get("view"):
            lines.append(self._say("dispatch", step=dispatch.name, view=dispatch.facts["view"]))
        lines.extend(self._lookups_and_handler(steps))
        return lines

    def _lookups_and_handler(self, steps: Sequence[Step]) -> list[str]:
        """The handler looked up by name (each try), then the one that ran."""
        lines = []
        for lookup in (s for s in steps if s.role == Role.HANDLER_LOOKUP and s.kind == "note"):
            facts = lookup.facts
            key = ("lookup_alias" if facts.get("alias_set_by") else
                   "lookup_fallback" if facts.get("fallback") else "lookup")
            lines.append(self._say(key, step=lookup.name, tried=facts.get("tried"),
                                   method=facts.get("method"), fallback=facts.get("fallback"),
                                   setter=facts.get("alias_set_by"),
                                   handler=facts.get("handler") or facts.get("error") or "-"))
        handler = self._handler(steps)
        if handler is None:
            lines.append(self._say("no_handler"))
        else:
            lines.append(self._say("ran", handler=handler.name,
                                   where=f"{_short(handler.file)}:{handler.line}"))
        return lines

    @staticmethod
    def _handler(steps: Sequence[Step]) -> Step | None:
        """The method handler, else the deepest view that ran."""
        handlers = [s for s in steps if s.kind == "call" and s.role == Role.HANDLER]
        if handlers:
            return handlers[0]
        depth: dict[int, int] = {}
        best: Step | None = None
        for step in steps:
            depth[step.id] = depth.get(step.parent, -1) + 1 if step.parent is not None else 0
            if step.kind == "call" and step.role == Role.VIEW and (
                    best is None or depth[step.id] > depth[best.id]):
                best = step
        return best

    def wrapped(self) -> list[str]:
        if self.request is None:
            return [self._say("no_request")]
        lines = []
        chain = self.route.chain if self.route is not None else ()
        ran = self._handler(self.request.steps)
        layers = [link for link in handler_for(chain, ran.name if ran else None,
                                               self.request.method)
                  if link.kind != "method"]
        if len(layers) > 1:
            names = " → ".join(f"class {link.qualname}" if link.kind == "view_class"
                               else link.qualname for link in layers)
            lines.append(self._say("chain", chain=names))
        elif self.route is not None and self._handler(self.request.steps) is not None:
            lines.append(self._say("no_layers"))
        else:
            lines.append(self._say("no_handler"))
        steps = [*self.registration, *self.request.steps]
        wraps = [s for s in steps if s.role == Role.WRAP_CALLBACK and s.kind == "call"
                 and s.facts.get("rule") == self.rule]
        for wrap in wraps[:1]:
            plugins = ", ".join(f"{name} ({i})" for i, name in
                                enumerate(wrap.facts.get("plugins") or []))
            lines.append(self._say("plugins", step=wrap.name, plugins=plugins))
        decorators = [s for s in self.registration if s.role == Role.CLASS_DECORATOR
                      and s.kind == "note"]
        if decorators and self.route is not None and any(
                link.origin == "class_decorators" for link in chain):
            names = ", ".join(f"{n.facts.get('decorator')} ({n.facts.get('position')})"
                              for n in decorators)
            lines.append(self._say("class_decorators", decorators=names))
        return lines

    def answered(self) -> list[str]:
        request = self.request
        if request is None:
            return [self._say("no_request")]
        lines = [self._say("answer", status=request.status, outcome=request.outcome)]
        start = self._first(request.steps, Role.START_RESPONSE)
        if start is not None and start.facts.get("headers"):
            lines.append(self._say("headers", step=start.name,
                                   headers="; ".join(start.facts["headers"])))
        return lines

    def _companion(self, wanted: Any) -> Request | None:
        """Another request of the trace for the compared path (the compared one first)."""
        if self.request is None:
            return None
        same_path = [r for r in self.trace.requests if r.path == self.request.path]
        ordered = sorted(same_path, key=lambda r: r.id != self.request.id)  # type: ignore[union-attr]
        return next((r for r in ordered if wanted(r)), None)

    def head(self) -> list[str]:
        if self.request is None:
            return [self._say("no_request")]
        request = self._companion(lambda r: r.method == "HEAD")
        if request is None:
            return [self._say("no_head", path=_q(self.request.path))]
        lines = [self._say("head_answer", path=_q(request.path), status=request.status,
                           outcome=request.outcome)]
        match = self._first(request.steps, Role.MATCH)
        if match is not None and match.facts.get("matched"):
            rule = match.facts.get("rule")
            routes = [r for r in self.trace.routes if r.rule == rule]
            methods = match.facts.get("methods") or (routes[0].methods if routes else ())
            if methods and "HEAD" in methods:
                lines.append(self._say("head_rule_lists", rule=_q(rule),
                                       methods=", ".join(methods)))
            elif methods:
                lines.append(self._say("head_rule_lacks", step=match.name, rule=_q(rule),
                                       methods=", ".join(methods)))
        lines.extend(self._lookups_and_handler(request.steps))
        body = self._first(request.steps, Role.RESPONSE_BODY)
        if body is not None and isinstance(body.facts.get("bytes"), int):
            size = body.facts["bytes"]
            lines.append(self._say("head_body", bytes=size) if size
                         else self._say("head_no_body"))
        return lines

    def refused(self) -> list[str]:
        if self.request is None:
            return [self._say("no_request")]
        request = (self._companion(lambda r: r.status == 405 and r.method != "HEAD")
                   or self._companion(lambda r: r.status == 405))  # HEAD's 405 is told above
        if request is None:
            return [self._say("no_refusal", path=_q(self.request.path))]
        steps = request.steps
        refusing = next((s for s in steps if s.kind == "call"
                         and s.facts.get("outcome") == "method_not_allowed"), None)
        lines = []
        if refusing is not None:
            allowed = ", ".join(refusing.facts.get("allowed_methods")
                                or request.allowed_methods) or "-"
            match = self._first(steps, Role.MATCH)
            key = ("refused_at_match" if refusing.role == Role.MATCH
                   else "refused_after_match" if match is not None
                   and match.facts.get("matched") else "refused")
            lines.append(self._say(key, step=refusing.name, method=request.method,
                                   match=match.name if match is not None else "?",
                                   path=_q(request.path), allowed=allowed))
        handler = next((s for s in steps if s.role == Role.ERROR_HANDLER
                        and s.kind == "note"), None)
        if handler is not None:
            lines.append(self._say("refusal_handler", handler=handler.facts["handler"])
                         if handler.facts.get("handler") else self._say("refusal_default"))
        start = self._first(steps, Role.START_RESPONSE)
        if start is not None:
            allow = [h.partition(":")[2].strip() for h in start.facts.get("headers") or []
                     if h.lower().startswith("allow:")]
            lines.append(self._say("allow_header", step=start.name, allow=allow[0]) if allow
                         else self._say("no_allow_header", step=start.name))
        return lines


def _short(path: str | None) -> str:
    """A file as `package/module.py` (two parts are enough to tell it apart)."""
    if not path:
        return "?"
    parts = path.replace(os.sep, "/").split("/")
    return "/".join(parts[-2:])
