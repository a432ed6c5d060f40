"""The Resolution pane: URL → rule → endpoint → view chain → handler for the request."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from viewer.textsafe import visible
from viewer.tui.state import Phase, Position, ViewState
from viewer.tui.widgets.lines_pane import LinesPane

_TONE = {"plain": "", "good": "green", "bad": "bold red", "muted": "dim"}


class ResolutionPane(LinesPane[int]):
    """How the open request was resolved; the registration shows the rule table. A click
    on a line jumps to the step it was read from.

    | Key | Action |
    | :- | :- |
    | `up` / `down`, `pageup` / `pagedown`, `home` / `end` | Scroll. |
    """

    class EvidenceSelected(Message):
        """The reader chose a line: jump to the step its facts came from."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.state = state
        self._phase: Phase | None = None

    def on_mount(self) -> None:
        self.border_title = "Resolution"
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        phase = self.state.phase  # the object: a store's requests filtered anew are new
        if phase is self._phase:
            return
        self._phase = phase
        lines = []
        targets = []
        resolution = self.state.resolution()
        labels = [visible(line.label) for line in resolution]  # a rule in the rule table
        width = min(max(map(len, labels), default=0), 10)
        for label, line in zip(labels, resolution, strict=True):
            text = Text()
            text.append(f"{label:<{width}} ", "bold")
            text.append(visible(line.text), _TONE[line.tone])
            lines.append(text)
            targets.append(line.step)
        self.set_lines(lines, targets, [width + 1] * len(lines))
        self.scroll_to(y=0, animate=False, immediate=True)

    def target_clicked(self, target: int) -> None:
        self.post_message(self.EvidenceSelected(target))
