"""Print a rich `Tree` where no styles are shown (a pipe, a file) without rich's layout.

`flaskscope trace --lines` prints every step: a real app's registration is 70,000+ nodes,
and rich lays a tree out at about 75 µs a node (seven seconds), mostly splitting and
cropping segments that, on a console without colours, are plain text anyway. This writes
the same characters (`tests/viewer/test_tree_writer.py` holds it to rich): rich's own
guides, each label as it is when it fits its line, cut where rich's `divide_line` cuts it
when it does not, and anything unusual (a label that is no plain `Text`) rendered by rich.
On a console that shows styles the tree goes through `Console.print` as before.

There, styles are all a `Text` adds to its characters, so a caller that knows the console
shows none can skip building rich objects: a `PlainTree` has string labels, each printed as
`Text(label)` would be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from rich._loop import loop_last
from rich._wrap import divide_line
from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.console import Console, ConsoleOptions, RenderableType
from rich.text import Text
from rich.tree import Tree

_SPACE, _CONTINUE, _FORK, _END = range(4)
#: Lines written at once.
_CHUNK = 2000
#: Characters rich counts one cell wide, none of them whitespace but the space: printable
#: ASCII, and the marks the step labels add themselves (a clipped value, a result, a note).
#: Text of these alone wraps as `_narrow_breaks` computes, with lengths for cell counts.
_NARROW = frozenset(
    character for character in (*map(chr, range(0x21, 0x7F)), "…", "→", "•")
    if get_character_cell_size(character) == 1 and not character.isspace()
) | {" "}
#: rich's words (`rich._wrap.re_word`) where the space is the only whitespace.
_NARROW_WORD = re.compile(r"( *[^ ]+) *")


class PlainTree:
    """A tree of string labels, printed by `print_tree` as a `Tree` of `Text(label)` with
    rich's default guides: the same characters, without a rich object a node."""

    __slots__ = ("label", "children")
    expanded = True
    hide_root = False
    guide_style = "tree.line"
    ASCII_GUIDES = Tree.ASCII_GUIDES
    TREE_GUIDES = Tree.TREE_GUIDES

    def __init__(self, label: str) -> None:
        self.label = label
        self.children: list[PlainTree] = []

    def add(self, label: str) -> PlainTree:
        """A new child, last of this node's children."""
        node = PlainTree(label)
        self.children.append(node)
        return node


def shows_no_styles(console: Console) -> bool:
    """Whether `console` writes a tree's characters alone: no colours, nothing recorded."""
    return console.color_system is None and not console.record


def print_tree(console: Console, tree: Tree | PlainTree) -> None:
    """`console.print(tree)`, written directly when the console shows no styles."""
    if not shows_no_styles(console) or tree.hide_root:
        console.print(rich_tree(tree) if isinstance(tree, PlainTree) else tree)
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


def rich_tree(tree: PlainTree) -> Tree:
    """The `Tree` a `PlainTree` stands for: its labels as `Text`."""
    root = Tree(Text(tree.label))
    pending = [(tree, root)]
    while pending:
        plain, rich = pending.pop()
        pending.extend((child, rich.add(Text(child.label))) for child in plain.children)
    return root


def tree_lines(console: Console, tree: Tree | PlainTree) -> Iterator[str]:
    """The lines `console.print(tree)` writes on a console without styles, in order: the
    walk of rich's `Tree.__rich_console__`, with strings for its segments.

    A node's guides are those of its parent's children (the indent) and its own fork or
    end; each node hands its children the indent once, rather than each line joining its
    guides again."""
    options = console.options
    guides = _guides(console, tree, options)
    space, cont, fork, end = guides
    widths = [cell_len(guide) for guide in guides]
    wraps = options.justify is None and options.overflow is None and not options.no_wrap
    yield from _label_lines(console, options, tree.label, options.max_width, wraps)
    if not (tree.expanded and tree.children):
        return
    # Each level: its nodes still to write, their indent and its width in cells.
    stack: list[tuple[Iterator[tuple[bool, Tree | PlainTree]], str, int]] = [
        (_marking_last(tree.children), "", 0)]
    while stack:
        siblings, indent, used = stack[-1]
        for last, node in siblings:
            if last:
                first, rest, guide = indent + end, indent + space, _END
            else:
                first, rest, guide = indent + fork, indent + cont, _FORK
            width = options.max_width - used - widths[guide]
            texts = _label_lines(console, options, node.label, width, wraps)
            if texts:
                yield first + texts[0]
                for text in texts[1:]:
                    yield rest + text
            if node.expanded and node.children:
                stack.append((_marking_last(node.children), rest,
                              used + widths[_SPACE if last else _CONTINUE]))
                break
        else:
            stack.pop()


def _marking_last(nodes: Sequence[Tree | PlainTree]) -> Iterator[tuple[bool, Tree | PlainTree]]:
    """Each node, after whether it is the last."""
    return iter(loop_last(nodes))


def _label_lines(console: Console, options: ConsoleOptions, label: RenderableType,
                 width: int, wraps: bool) -> list[str]:
    """A label as the lines rich writes it at `width` cells: as it is when it fits, cut
    where rich's own `divide_line` cuts it when it is plain text rich would wrap with its
    defaults (`wraps`: the options are rich's defaults), and rendered by rich in any other
    case. A string label is `Text(label)`."""
    if type(label) is str:
        if wraps and width >= 1 and _is_narrow(label):
            return [label] if len(label) <= width else _wrapped_narrow(label, width)
        label = Text(label)
    if (type(label) is Text and wraps and width >= 1 and label.end == "\n"
            and not label.no_wrap and label.justify is None and label.overflow is None):
        plain = label.plain
        if _is_narrow(plain):
            return [plain] if len(plain) <= width else _wrapped_narrow(plain, width)
        if "\n" not in plain and "\t" not in plain:
            return _wrapped(plain, width)
    rendered = console.render_lines(
        label, options.update(width=width, highlight=False, height=None), pad=False)
    return ["".join(segment.text for segment in line) for line in rendered]


def _is_narrow(plain: str) -> bool:
    """Whether every character of `plain` is one cell and no whitespace but the space."""
    return plain.isascii() and plain.isprintable() or _NARROW.issuperset(plain)


def _wrapped(plain: str, width: int) -> list[str]:
    """`Text(plain).wrap(console, width)` (justify "default", overflow "fold") as strings:
    the pieces between rich's break offsets, whitespace past the width taken off their
    ends (`rstrip_end`), then cut to the width (`truncate`)."""
    offsets = divide_line(plain, width, fold=True)
    lines = []
    for start, end in zip([0, *offsets], [*offsets, len(plain)], strict=True):
        piece = _rstrip_end(plain[start:end], width)
        if cell_len(piece) > width:
            piece = set_cell_size(piece, width)
        lines.append(piece)
    return lines


def _wrapped_narrow(plain: str, width: int) -> list[str]:
    """`_wrapped` for narrow text (`_is_narrow`), where a cell is a character: taking the
    whitespace past the width off a piece and then cutting it to the width comes to
    cutting it to the width."""
    offsets = _narrow_breaks(plain, width)
    return [plain[start:end][:width]
            for start, end in zip([0, *offsets], [*offsets, len(plain)], strict=True)]


def _rstrip_end(piece: str, width: int) -> str:
    """rich's `Text.rstrip_end`: trailing whitespace off a piece longer than `width` (in
    characters), no more than the excess."""
    excess = len(piece) - width
    if excess > 0:
        trailing = len(piece) - len(piece.rstrip())
        if trailing:
            return piece[: len(piece) - min(trailing, excess)]
    return piece


def _narrow_breaks(plain: str, width: int) -> list[int]:
    """rich's `divide_line(plain, width, fold=True)` for narrow text (`_is_narrow`): the
    same walk over the same words, each cell count a length. A word is the spaces before
    it, its characters and the spaces after; its length is without the spaces after."""
    breaks: list[int] = []
    offset = 0  # cells taken on the current line
    for word in _NARROW_WORD.finditer(plain):
        start, end = word.span()
        length = word.end(1) - start
        if width - offset >= length:
            offset += end - start
        elif length > width:  # folded: a line of `width` characters at a time
            breaks.extend(cut for cut in range(start, end, width) if cut)
            offset = (end - start - 1) % width + 1
        elif offset and start:
            breaks.append(start)
            offset = end - start
    return breaks


def _guides(console: Console, tree: Tree | PlainTree,
            options: ConsoleOptions) -> tuple[str, ...]:
    """The four guides (space, continue, fork, end) rich draws for this tree here."""
    if options.ascii_only:
        return tuple(tree.ASCII_GUIDES)
    style = console.get_style(tree.guide_style, default="")
    guide = 1 if style and style.bold else (2 if style and style.underline2 else 0)
    return tuple(tree.TREE_GUIDES[0 if options.legacy_windows else guide])
