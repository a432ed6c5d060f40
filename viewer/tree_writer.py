"""Print a rich `Tree` where no styles are shown (a pipe, a file) without rich's layout.

`flaskscope trace --lines` prints every step: a real app's registration is 70,000+ nodes,
and rich lays a tree out at about 75 µs a node (seven seconds), mostly splitting and
cropping segments that, on a console without colours, are plain text anyway. This writes
the same characters (`tests/viewer/test_tree_writer.py` holds it to rich): rich's own
guides, each label as it is when it fits its line, cut where rich's `divide_line` cuts it
when it does not, and anything unusual (a label that is no plain `Text`) rendered by rich.
On a console that shows styles the tree goes through `Console.print` as before.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich._loop import loop_last
from rich._wrap import divide_line
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderableType
from rich.text import Text
from rich.tree import Tree

_SPACE, _CONTINUE, _FORK, _END = range(4)
#: Lines written at once.
_CHUNK = 2000


def print_tree(console: Console, tree: Tree) -> None:
    """`console.print(tree)`, written directly when the console shows no styles."""
    if console.color_system is not None or tree.hide_root or console.record:
        console.print(tree)
        return
    file = console.file
    chunk: list[str] = []
    for line in tree_lines(console, tree):
        chunk.append(line)
        if len(chunk) >= _CHUNK:
            file.write("\n".join(chunk) + "\n")
            chunk.clear()
    if chunk:
        file.write("\n".join(chunk) + "\n")
    file.flush()


def tree_lines(console: Console, tree: Tree) -> Iterator[str]:
    """The lines `console.print(tree)` writes on a console without styles, in order: the
    walk of rich's `Tree.__rich_console__`, with strings for its segments."""
    options = console.options
    guides = _guides(console, tree, options)
    widths = [cell_len(guide) for guide in guides]
    levels = [_CONTINUE]
    stack = [iter(loop_last([tree]))]
    while stack:
        siblings = stack.pop()
        try:
            last, node = next(siblings)
        except StopIteration:
            levels.pop()
            if levels:
                levels[-1] = _FORK
            continue
        stack.append(siblings)
        if last:
            levels[-1] = _END
        prefix = levels[1:]
        width = options.max_width - sum(map(widths.__getitem__, prefix))
        drawn = "".join(map(guides.__getitem__, prefix))
        texts = _label_lines(console, options, node.label, width)
        if texts:
            yield drawn + texts[0]
        if len(texts) > 1:
            if prefix:
                prefix[-1] = _SPACE if last else _CONTINUE
                drawn = "".join(map(guides.__getitem__, prefix))
            for text in texts[1:]:
                yield drawn + text
        if node.expanded and node.children:
            levels[-1] = _SPACE if last else _CONTINUE
            levels.append(_END if len(node.children) == 1 else _FORK)
            stack.append(iter(loop_last(node.children)))


def _label_lines(console: Console, options: ConsoleOptions, label: RenderableType,
                 width: int) -> list[str]:
    """A label as the lines rich writes it at `width` cells: as it is when it fits, cut
    where rich's own `divide_line` cuts it when it is plain text rich would wrap with its
    defaults, and rendered by rich in any other case."""
    if (type(label) is Text and width >= 1 and label.end == "\n" and not label.no_wrap
            and label.justify is None and label.overflow is None
            and options.justify is None and options.overflow is None
            and not options.no_wrap):
        plain = label.plain
        if plain.isascii() and plain.isprintable():  # one cell a character
            return [plain] if len(plain) <= width else _wrapped(plain, width)
        if "\n" not in plain and "\t" not in plain:
            return _wrapped(plain, width)
    rendered = console.render_lines(
        label, options.update(width=width, highlight=False, height=None), pad=False)
    return ["".join(segment.text for segment in line) for line in rendered]


def _wrapped(plain: str, width: int) -> list[str]:
    """`Text(plain).wrap(console, width)` (justify "default", overflow "fold") as strings:
    the pieces between rich's break offsets, whitespace past the width taken off their
    ends (`rstrip_end`), then cut to the width (`truncate`)."""
    offsets = divide_line(plain, width, fold=True)
    starts = [0, *offsets]
    lines = []
    for start, end in zip(starts, [*offsets, len(plain)], strict=True):
        piece = plain[start:end]
        excess = len(piece) - width
        if excess > 0:
            trailing = len(piece) - len(piece.rstrip())
            if trailing:
                piece = piece[: len(piece) - min(trailing, excess)]
        if cell_len(piece) > width:
            piece = set_cell_size(piece, width)
        lines.append(piece)
    return lines


def _guides(console: Console, tree: Tree, options: ConsoleOptions) -> tuple[str, ...]:
    """The four guides (space, continue, fork, end) rich draws for this tree here."""
    if options.ascii_only:
        return tuple(tree.ASCII_GUIDES)
    style = console.get_style(tree.guide_style, default="")
    guide = 1 if style and style.bold else (2 if style and style.underline2 else 0)
    return tuple(tree.TREE_GUIDES[0 if options.legacy_windows else guide])
