"""Write a narrative out: plain text (pipes, tests), rich text (terminals) or JSON (tools).

Pure functions from sections to text, renderables or dicts; the command prints them. Text
and rich output show every sentence and quoted line through `visible`: the values in them
come from the trace, so their control characters are escaped (JSON keeps the values as
they are and leaves escaping to its encoder).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from tracer.frameworks.narration.items import Item, Message, Section
from tracer.model import SourceFile
from tracer.paths import short_path
from viewer.explain.i18n import sentence, text
from viewer.textsafe import visible

_INDENT = "   "


def _quotes(item: Item, sources: Mapping[str, SourceFile]) -> Iterator[tuple[str, str]]:
    """(`file:line`, source text) for each line an item quotes that the trace embeds."""
    for file, line in item.sources:
        source = sources.get(file)
        if source is None or line not in source.lines:
            continue
        yield f"{short_path(file)}:{line}", source.lines[line].strip()


def _walk(items: Sequence[Item], depth: int = 0) -> Iterator[tuple[int, Item]]:
    for item in items:
        yield depth, item
        yield from _walk(item.children, depth + 1)


def plain(sections: Sequence[Section], lang: str, *,
          sources: Mapping[str, SourceFile] | None = None) -> str:
    """The narrative as plain text, one line per item; `sources` adds the quoted lines."""
    out: list[str] = []
    for section in sections:
        if out:
            out.append("")
        out.append(visible(sentence(section.title, lang)))
        for depth, item in _walk(section.items):
            pad = _INDENT * (depth + 1)
            out.append(f"{pad}{item.number}. {visible(text(item, lang))}")
            if sources is not None:
                for at, code in _quotes(item, sources):
                    out.append(f"{pad}{_INDENT}| {visible(at)}  {visible(code)}")
    return "\n".join(out) + "\n"


def rich(sections: Sequence[Section], lang: str, *,
         sources: Mapping[str, SourceFile] | None = None) -> RenderableType:
    """The narrative for a terminal: code in `backticks` highlighted, quotes dimmed."""
    parts: list[RenderableType] = []
    for section in sections:
        title = highlight(sentence(section.title, lang))
        title.stylize("bold underline")
        parts.append(title)
        for depth, item in _walk(section.items):
            line = Text()
            line.append(f"{item.number}. ", style="bold")
            line.append_text(highlight(text(item, lang)))
            parts.append(Padding(line, (0, 0, 0, 2 + 3 * depth)))
            if sources is not None:
                for at, code in _quotes(item, sources):
                    quote = Text(f"{visible(at)}  ", style="dim")
                    quote.append(visible(code), style="green")
                    parts.append(Padding(quote, (0, 0, 0, 5 + 3 * depth)))
        parts.append(Text(""))
    return Group(*parts)


def highlight(written: str) -> Text:
    """`code` spans in cyan, without their backticks; control characters escaped."""
    result = Text()
    for index, chunk in enumerate(visible(written).split("`")):
        result.append(chunk, style="cyan" if index % 2 else "")
    return result


def message_json(message: Message) -> dict[str, Any]:
    """A message id and its parameters, a phrase among them (a `Message`) as one too."""
    return {"msgid": message.msgid,
            "params": {key: _param_json(value) for key, value in message.params.items()}}


def _param_json(value: Any) -> Any:
    if isinstance(value, Message):
        return message_json(value)
    if isinstance(value, list | tuple):
        return [_param_json(each) for each in value]
    return value


def to_json(sections: Sequence[Section], lang: str,
            sources: Mapping[str, SourceFile]) -> dict[str, Any]:
    """Sections, items (numbers, step ids, message ids, parameters, sentences) and quotes."""

    def item_json(item: Item) -> dict[str, Any]:
        return {
            "number": item.number,
            "steps": list(item.steps),
            "text": text(item, lang),
            "messages": [message_json(m) for m in item.messages],
            "sources": [{"at": at, "code": code} for at, code in _quotes(item, sources)],
            "children": [item_json(child) for child in item.children],
        }

    return {
        "format": "flaskscope.explain",
        "version": 1,
        "lang": lang,
        "sections": [
            {
                "kind": section.kind,
                "request": section.request,
                "title": sentence(section.title, lang),
                "items": [item_json(item) for item in section.items],
            }
            for section in sections
        ],
    }
