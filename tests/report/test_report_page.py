"""The report is one file that loads nothing, allows only its own script and style, stays
small for a request in hook mode, and keeps every recorded value as data."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from page_parts import Page, read_page
from report_traces import EVERYTHING, HOSTILE, HOSTILE_FILE

from tracer.model import Trace
from viewer.report import report_html
from viewer.report.embed import json_for_script, script_element
from viewer.report.graphs import graphviz_available
from viewer.report.svg import clean_svg

#: Attributes through which a browser loads something or runs script.
LOADING = ("src", "href", "action", "formaction", "data", "poster", "srcset", "xlink:href",
           "background", "ping")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _policy(page: Page) -> dict[str, str]:
    metas = [m for m in page.all("meta")
             if (m.attrs.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(metas) == 1
    content = metas[0].attrs["content"] or ""
    return {part.split()[0]: part.split(None, 1)[1] for part in content.split("; ")}


def _checked(html: str) -> Page:
    """The page parsed, with what every report must be: no loading attribute, no event
    attribute, one script that runs, its style and script allowed by hash alone."""
    page = read_page(html)
    for element in page.elements:
        for name in element.attrs:
            assert name not in LOADING, (element.tag, name)
            assert not name.startswith("on"), (element.tag, name)
    running = [s for s in page.all("script") if s.attrs.get("type") != "application/json"]
    assert len(running) == 1
    styles = page.all("style")
    assert len(styles) == 1
    policy = _policy(page)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == _sha256(running[0].text)
    assert policy["style-src"] == _sha256(styles[0].text)
    assert policy["connect-src"] == "'none'"
    assert "url(" not in styles[0].text and "@import" not in styles[0].text
    return page


def _data(page: Page) -> list:
    return [json.loads(s.text) for s in page.all("script")
            if s.attrs.get("type") == "application/json"]


def _drawn(head: dict, graphs: dict, kinds: set[str]) -> None:
    """The phase's graphs are `kinds` where Graphviz's `dot` runs; without it there are
    none and the page says why (CI installs it; a fresh machine may not have it)."""
    if graphviz_available():
        assert set(graphs) == kinds
    else:
        assert graphs == {}
        assert head["graphviz"] is False and "Graphviz" in head["graphviz_message"]


def test_the_seed_report_is_self_contained_and_under_a_megabyte(seed_trace: Trace) -> None:
    html = report_html(seed_trace)
    assert len(html.encode("utf-8")) <= 1_000_000
    page = _checked(html)
    head, registration, request = _data(page)
    assert [r["kind"] for r in head["requests"]] == ["registration", "request"]
    assert request["count"] == len(seed_trace.requests[0].steps)
    assert request["kinds"][0] == "c"
    _drawn(head, request["graphs"], {"decorators", "routes"})
    for element in page.elements:
        for name, value in element.attrs.items():
            assert name == "xmlns" or "//" not in (value or ""), (element.tag, name)


def test_every_hostile_value_stays_data(hostile: Trace) -> None:
    html = report_html(hostile)
    html.encode("utf-8")  # a lone surrogate in a value still makes a file
    page = _checked(html)
    assert not page.all("img")
    allowed = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "span",
               "input", "select", "main", "div", "section", "script", "svg", "g", "polygon",
               "path", "ellipse", "text", "polyline"}
    assert {element.tag for element in page.elements} <= allowed
    assert "\u2028" not in html and "\u2029" not in html
    head, _, request = _data(page)
    assert head["requests"][1]["path"] == f"/{EVERYTHING}?{EVERYTHING}"
    assert request["detail"][0] == {"arg": EVERYTHING}
    assert head["sources"][HOSTILE_FILE]["1"] == f"def view(): # {EVERYTHING}"


@pytest.mark.parametrize("value", HOSTILE)
def test_json_in_a_script_element_cannot_end_it(value: str) -> None:
    text = json_for_script({"v": value})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"v": value}
    element = script_element("fs-x", [value])
    assert element.count("</script") == 1 and element.endswith("</script>")


def test_an_element_id_is_checked() -> None:
    with pytest.raises(ValueError):
        script_element('x" onload="1', {})


def test_the_svg_keeps_drawing_and_drops_the_rest() -> None:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
           ' onload="x()"><script>x()</script><g id="node1" class="node" style="fill:red">'
           '<title>&lt;b&gt;</title><a xlink:href="javascript:x()"><text x="1">hi</text></a>'
           '<polygon fill="url(https://evil)" points="0,0"/></g>'
           '<foreignObject><div>x</div></foreignObject></svg>')
    cleaned = clean_svg(svg)
    assert cleaned is not None
    for gone in ("script", "onload", "style=", "javascript", "foreignObject", "url(", "<a"):
        assert gone not in cleaned
    assert "&lt;b&gt;" in cleaned and 'class="node"' in cleaned
    assert clean_svg("<not svg") is None
    assert clean_svg("<html/>") is None


def test_a_trace_without_requests_opens_on_its_registration(seed_trace: Trace) -> None:
    from dataclasses import replace

    from flaskscope.report_command import narrator

    alone = replace(seed_trace, requests=())
    page = _checked(report_html(alone, narrate=narrator(alone)))
    head, registration = _data(page)
    assert [r["kind"] for r in head["requests"]] == ["registration"]
    assert registration["count"] == len(seed_trace.registration.steps)
    assert set(registration["explain"]) == {"en", "zh"}
    _drawn(head, registration["graphs"], {"routes"})


def test_a_hostile_trace_is_narrated_and_drawn(hostile: Trace) -> None:
    from flaskscope.report_command import narrator

    head, _, request = _data(_checked(report_html(hostile, narrate=narrator(hostile))))
    assert request["explain"]["en"]["sections"]
    _drawn(head, request["graphs"], {"decorators", "routes"})
