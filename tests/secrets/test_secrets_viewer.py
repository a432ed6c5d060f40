"""The viewer shows no secret: every step of every request of the secrets app, each screen
read as the user sees it."""

from __future__ import annotations

import html
import re

import pytest
from test_secrets_everywhere import _markers, _record

from viewer.tui.app import ViewerApp


def _screen_text(app: ViewerApp) -> str:
    """The text of the screen, line by line, from Textual's own screenshot."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg))


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
async def test_no_screen_of_the_viewer_shows_a_secret(fresh_import, lines: bool) -> None:
    trace = _record(fresh_import, lines=lines)
    app = ViewerApp(trace)
    seen = 0
    async with app.run_test(size=(160, 50)) as pilot:
        for phase, request in enumerate(trace.requests, start=1):
            # In line mode (thousands of steps), the steps where a secret was hidden: where
            # the viewer would show one if it added anything of its own.
            ids = [s.id for s in request.steps
                   if not lines or any("***" in value for value in s.detail.values())]
            if lines:  # every few of them: each screen costs a screenshot
                ids = ids[::max(1, len(ids) // 6)]
            app.open_phase(phase)
            for step_id in ids:
                app.jump_to(step_id)
                await pilot.pause()
                assert _markers(_screen_text(app)) == [], (phase, step_id)
                seen += 1
    assert seen > 20
