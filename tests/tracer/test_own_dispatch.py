"""A view class that dispatches in its own `dispatch_request` still shows the handler that
ran, how it was found, and the `method_decorators` around it: found by watching what ran,
not by assuming `MethodView`."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracer
from tracer.model import Role


def _request(fresh_import, method: str, lines: bool = False) -> tracer.Request:
    with tracer.record(lines=lines) as recorder:
        module = fresh_import("fixtures.own_dispatch")
        response = module.app.test_client().open("/items/7", method=method)
        trace = recorder.trace()
    assert response.status_code in (200, 405)
    return trace.requests[0]


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_the_handler_a_get_ran_is_a_step_under_its_method_decorator(fresh_import,
                                                                     lines: bool) -> None:
    request = _request(fresh_import, "GET", lines)
    by_id = {s.id: s for s in request.steps}
    (handler,) = [s for s in request.steps if s.kind == "call" and s.role == Role.HANDLER]
    assert handler.name == "Item.get"
    layer = by_id[handler.parent]
    assert (layer.role, layer.name) == (Role.LAYER, "audited.<locals>.audited_handler")
    assert by_id[layer.parent].role == Role.CLASS_DISPATCH
    (dispatch,) = [s for s in request.steps if s.role == Role.DISPATCH and s.kind == "call"]
    assert "Item.get" in dispatch.facts["entered"]
    assert "Item.get" not in dispatch.facts.get("not_entered", [])


def test_head_falls_back_to_get_and_the_note_points_at_the_getattr(fresh_import) -> None:
    request = _request(fresh_import, "HEAD")
    (note,) = [s for s in request.steps if s.role == Role.HANDLER_LOOKUP]
    assert note.facts == {"method": "HEAD", "tried": "head", "found": False,
                          "fallback": "get", "handler": "Item.get"}
    assert note.file.endswith("own_dispatch.py")
    source = Path(note.file).read_text().splitlines()[note.line - 1]
    assert "getattr(self, request.method.lower()" in source


def test_a_post_without_a_handler_runs_no_handler(fresh_import) -> None:
    request = _request(fresh_import, "POST")
    assert request.status == 405
    assert not [s for s in request.steps if s.role == Role.HANDLER]
