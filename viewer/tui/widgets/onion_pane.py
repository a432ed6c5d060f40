"""The Decorator onion pane: the endpoint's layers, outermost first, entered or not."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from tracer.paths import short_path
from viewer.textsafe import visible
from viewer.tui.onion import Layer, Onion
from viewer.tui.state import Position, ViewState
from viewer.tui.widgets.lines_pane import LinesPane


class OnionPane(LinesPane[int]):
    """Layers of the request's route: `●` entered, `○` not entered, `▶` the innermost
    layer the current step is inside. A click on an entered layer jumps to its call.

    | Key | Action |
    | :- | :- |
    | `up` / `down`, `pageup` / `pagedown`, `home` / `end` | Scroll. |
    """

    class LayerSelected(Message):
        """The reader chose an entered layer: jump to the call that entered it."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.onion: Onion | None = None

    def on_mount(self) -> None:
        self.border_title = "Decorator onion"
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        onion = self.state.onion()
        if onion == self.onion and self.lines:
            return
        self.onion = onion
        lines: list[Text] = []
        targets: list[int | None] = []
        if onion is None:
            lines.append(Text("registration: choose a request to see its layers", "dim"))
            targets.append(None)
        else:
            if onion.route is not None:
                head = Text()
                head.append(visible(onion.route.rule), "bold")
                head.append(" → ", "dim")
                head.append(visible(onion.route.endpoint), "cyan")
                lines.append(head)
                targets.append(None)
            if onion.reason:
                lines.append(Text(visible(onion.reason), "yellow"))
                targets.append(None)
            for layer in onion.layers:
                lines.append(_layer_line(layer))
                targets.append(layer.step)
        self.set_lines(lines, targets)

    def target_clicked(self, target: int) -> None:
        self.post_message(self.LayerSelected(target))

    @property
    def marks(self) -> list[tuple[str, bool, bool]]:
        """(qualname, entered, here) per layer, outermost first (for tests and scripts)."""
        if self.onion is None:
            return []
        return [(layer.link.qualname, layer.entered, layer.here) for layer in self.onion.layers]


def _layer_line(layer: Layer) -> Text:
    link = layer.link
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("  " * layer.depth)
    if layer.here:
        text.append("▶ ", "bold yellow")
    elif layer.entered:
        text.append("● ", "bold green")
    else:
        text.append("○ ", "dim")
    name = f"class {link.qualname}" if link.kind == "view_class" else link.qualname
    text.append(visible(name), "bold" if layer.entered else "dim")
    notes = []
    if link.kind == "decorator":
        notes.append(layer.made_by or "decorator")
        if link.wraps is False:
            notes.append("no functools.wraps")
        if link.origin == "class_decorators":
            notes.append("from decorators = [...]")
    elif link.kind == "view":
        notes.append("registered view")
    elif link.kind == "method" and link.name != "dispatch_request":
        notes.append("handler")
    if not layer.entered:
        notes.append("not entered")
    if notes:
        text.append("  " + visible(" · ".join(notes)), "dim" if layer.entered else "dim italic")
    where = location_of(layer)
    if where:
        text.append("  " + where, "dim")
    return text


def location_of(layer: Layer) -> str:
    link = layer.link
    if link.file is None:
        return ""
    where = f"{short_path(link.file)}:{link.line}" if link.line else short_path(link.file)
    return visible(where)
