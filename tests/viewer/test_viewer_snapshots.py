"""Pinned screens: the main screen, the help screen and a 405 request, at 120x40.

The traces are made steady (times, threads, addresses) and the tests run from the
repository root, so paths read `fixtures/...` and `flask/...`. After an intended change
of the screens, regenerate with `pytest tests/viewer --snapshot-update` and look at the
report before committing.

The screens show Flask's own source and count its steps: they were taken with the Flask
of `make test` (SCREENS_FLASK); `make test-versions` runs the viewer's other tests on the
other versions.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from textual.pilot import Pilot

from tracer.model import Role, Trace
from viewer.tui.app import ViewerApp

SIZE = (120, 40)
#: The Flask minor version the screens show.
SCREENS_FLASK = "3.1"

pytestmark = pytest.mark.skipif(
    not version("flask").startswith(SCREENS_FLASK + "."),
    reason=f"the pinned screens show Flask {SCREENS_FLASK}'s code")


@pytest.mark.usefixtures("at_root")
def test_main_screen_inside_the_handler(snap_compare, views_trace: Trace) -> None:
    """GET /index, stopped on the handler IndexView.get: the onion marks it as the layer
    the reader is in, the stack shows the decorator and the view class around it."""
    handler = next(s.id for s in views_trace.requests[0].steps
                   if s.role == Role.HANDLER and s.kind == "call")

    async def run_before(pilot: Pilot) -> None:
        pilot.app.jump_to(handler)  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(ViewerApp(views_trace), terminal_size=SIZE, run_before=run_before)


@pytest.mark.usefixtures("at_root")
def test_help_screen(snap_compare, views_trace: Trace) -> None:
    """`?` over the main screen: every key of the app and of each pane."""
    assert snap_compare(ViewerApp(views_trace), press=["question_mark"], terminal_size=SIZE)


@pytest.mark.usefixtures("at_root")
def test_405_request(snap_compare, views_trace: Trace) -> None:
    """POST /index: 405 with the allowed methods; the onion shows nothing entered."""

    async def run_before(pilot: Pilot) -> None:
        pilot.app.open_phase(3)  # type: ignore[attr-defined]
        await pilot.pause()
        pilot.app.action_last_step()  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(ViewerApp(views_trace), terminal_size=SIZE, run_before=run_before)
