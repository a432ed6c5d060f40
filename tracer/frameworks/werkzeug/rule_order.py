"""The rules of a map in one order on every Werkzeug: endpoint by endpoint.

Werkzeug 2.2+ lists a map's rules (`Map.iter_rules`) endpoint by endpoint, endpoints in
the order they first got a rule, each endpoint's rules in the order `url_for` tries them.
Before 2.2, `iter_rules` lists them in matching order (`Map.update` sorts the map's list
in place). Routes, graphs and checks list rules the 2.2+ way on every version: the old
map keeps the same grouping in `_rules_by_endpoint`, sorted the same way by `update`.
"""

from __future__ import annotations

from typing import Any

import werkzeug.routing
from werkzeug.routing import Map, Rule

#: Whether `Map.iter_rules` lists rules endpoint by endpoint: the state-machine router of
#: 2.2+, whose `werkzeug.routing` is a package (a single module before).
LISTS_BY_ENDPOINT = hasattr(werkzeug.routing, "__path__")


def rules_by_endpoint(url_map: Map) -> list[Rule]:
    """Every rule of `url_map`, endpoint by endpoint (see the module doc)."""
    rules = list(url_map.iter_rules())  # sorts the old map's lists first (`update`)
    if LISTS_BY_ENDPOINT:
        return rules
    by_endpoint: dict[Any, list[Rule]] = getattr(url_map, "_rules_by_endpoint", {})
    grouped = [rule for endpoint_rules in by_endpoint.values() for rule in endpoint_rules]
    if len(grouped) == len(rules) and {id(r) for r in grouped} == {id(r) for r in rules}:
        return grouped
    return rules
