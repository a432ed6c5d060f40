"""The Locals pane: arguments and locals at the current step, changes marked."""

from __future__ import annotations

from rich.text import Text

from viewer.textsafe import visible
from viewer.tui.state import Position, ViewState
from viewer.tui.widgets.lines_pane import LinesPane


class LocalsPane(LinesPane[None]):
    """Values at the current step: `●` marks a value bound or changed by this step.

    | Key | Action |
    | :- | :- |
    | `up` / `down`, `pageup` / `pagedown`, `home` / `end` | Scroll. |

    Call steps show the arguments, line steps the frame's locals so far, return steps
    the result, note steps their detail; the step's facts follow.
    """

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.state = state

    def on_mount(self) -> None:
        self.border_title = "Locals"
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        values = self.state.values()
        lines: list[Text] = []
        hangs: list[int] = []
        if values is not None:
            lines.append(Text(visible(values.heading), "bold"))
            hangs.append(2)
            for value in values.values:
                line = Text()
                line.append("● " if value.changed else "  ", "bold yellow")
                line.append(visible(value.name), "bold yellow" if value.changed else "cyan")
                line.append(" = ", "dim")
                line.append(visible(value.value))
                lines.append(line)
                hangs.append(4)
            if values.facts:
                lines.append(Text("facts", "bold dim"))
                hangs.append(0)
                for fact in values.facts:
                    line = Text("  ")
                    line.append(visible(fact.name), "green")
                    line.append(" = ", "dim")
                    line.append(visible(fact.value))
                    lines.append(line)
                    hangs.append(4)
        self.set_lines(lines, None, hangs)
        self.scroll_to(y=0, animate=False, immediate=True)

    @property
    def shown(self) -> dict[str, tuple[str, bool]]:
        """name → (value, changed) as displayed (for tests and scripting)."""
        values = self.state.values()
        if values is None:
            return {}
        return {value.name: (value.value, value.changed) for value in values.values}
