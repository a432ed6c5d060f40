"""Which app each registration step belongs to, when one import made several apps.

A module can make more apps than the one a command loads (a helper module's own
`Flask(__name__)`), and the recorder records them all. `meta["app_name"]` names the app
that was asked for, `Route.app` the app of each route, and `meta["apps"]` the apps in the
order they were made (`tracer.frameworks.flask.loading.label_apps`). The steps placed are the
outermost ones with a role (`Steps.outermost`): recorded with `--lines`, the top steps are
the modules' own `<module>` calls, which hold every app's steps. Such a step belongs to:

1. the app its `app` fact names, on the step or on a step under it;
2. the one app whose routes hold every rule and endpoint it added (when two apps share a
   rule and endpoint, the one whose view is defined in the file that added it);
3. for `make_config`, and Flask's own static rule added right after it: the app made in
   that position, when as many apps made a config as `meta["apps"]` lists;
4. for a `Config.from_*` call: the app whose `make_config` gave its config that folder,
   when only one app's did.

A step no rule places is told as the asked app's, as it was before apps were told apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracer.frameworks.narration.steps import Steps
from tracer.model import Role, Route, Step, Trace

_FLASK_INIT = "Flask.__init__."
_ROUTE_DECORATORS = (Role.ROUTE_DECORATOR, Role.ENDPOINT_DECORATOR)


class AppOwners:
    """The app of each outermost registration step of a trace (see the module docstring)."""

    def __init__(self, trace: Trace, steps: Steps) -> None:
        self.asked: str | None = trace.meta.get("app_name")
        self.labels = list(dict.fromkeys(route.app for route in trace.routes if route.app))
        self._steps = steps
        self._routes: dict[tuple[str, str], list[Route]] = {}
        self._endpoints: dict[str, set[str]] = {}
        self._owners: dict[int, str] = {}
        if self.asked is not None and len(self.labels) > 1:
            for route in trace.routes:
                self._routes.setdefault((route.rule, route.endpoint), []).append(route)
                if route.app:
                    self._endpoints.setdefault(route.endpoint, set()).add(route.app)
            self._place(steps.outermost(), trace.meta.get("apps") or [])

    @property
    def others(self) -> list[str]:
        """The labels of the apps that were not asked for, in the trace's order (none when
        the trace does not say which app was asked for)."""
        if self.asked is None:
            return []
        return [label for label in self.labels if label != self.asked]

    def owner(self, step: Step) -> str | None:
        """The app `step` (or the outermost step with a role it is under) belongs to, if
        known."""
        while step.id not in self._owners and step.parent is not None:
            step = self._steps[step.parent]
        return self._owners.get(step.id)

    def is_other(self, step: Step) -> bool:
        """Whether `step` is known to belong to an app that was not asked for."""
        owner = self.owner(step)
        return owner is not None and owner != self.asked

    # -- placing steps -------------------------------------------------------------------

    def _place(self, top: list[Step], made: list[str]) -> None:
        """Give each of the outermost steps `top` its app, by the rules of the module
        docstring, in order."""
        configs = [step for step in top if step.role == Role.CONFIG_ROOT]
        if made and len(configs) == len(made):
            self._owners.update((step.id, label) for step, label in zip(configs, made,
                                                                          strict=True))
        for index, step in enumerate(top):
            owner = self._owners.get(step.id) or self._recorded(step) or self._by_routes(step)
            if owner is None and step.role == Role.CONFIG:
                owner = self._by_config_root(step, configs)
            if owner is None and _is_flask_static(step) and index:
                owner = self._owners.get(top[index - 1].id)
            if owner is not None:
                self._owners[step.id] = owner
        for index, step in enumerate(top[:-1]):
            following = top[index + 1]
            if (step.role in _ROUTE_DECORATORS and following.role == Role.ROUTE_DECORATOR_CALL
                    and following.id in self._owners):
                self._owners.setdefault(step.id, self._owners[following.id])

    def _recorded(self, step: Step) -> str | None:
        for each in (step, *self._steps.descendants(step)):
            label = each.facts.get("app")
            if isinstance(label, str):
                return label
        return None

    def _by_routes(self, step: Step) -> str | None:
        found: set[str] = set()
        for each in (step, *self._steps.descendants(step)):
            if each.kind != "call":
                continue
            if each.role == Role.ADD_URL_RULE and not each.facts.get("deferred"):
                found |= self._apps_of_rule(each.facts)
            elif each.role == Role.CLASS_VIEW and each.facts.get("name"):
                found |= self._endpoints.get(each.facts["name"], set())
        return found.pop() if len(found) == 1 else None

    def _apps_of_rule(self, facts: Mapping) -> set[str]:
        routes = self._routes.get((str(facts.get("rule")), str(facts.get("endpoint"))), [])
        called_from = (facts.get("called_from") or {}).get("file")
        near = [route for route in routes if _defined_in(route, called_from)]
        return {route.app for route in (near if len(near) == 1 else routes) if route.app}

    def _by_config_root(self, step: Step, configs: list[Step]) -> str | None:
        root = step.facts.get("config_root")
        owners = {self._owners.get(config.id) for config in configs
                  if root is not None and config.facts.get("config_root") == root}
        return owners.pop() if len(owners) == 1 else None


def _defined_in(route: Route, file: str | None) -> bool:
    return file is not None and any(link.kind == "view" and link.file == file
                                    for link in route.chain)


def _is_flask_static(step: Step) -> bool:
    return step.role == Role.ADD_URL_RULE and str(step.facts.get("view") or "").startswith(
        _FLASK_INIT)
