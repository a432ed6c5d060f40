"""The report in a real browser: stepping by key and by click lands where the terminal
viewer lands, with the same source line and locals; a fragment opens a step; the narrative
switches language; nothing leaves the page; hostile values run no script."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from driving import MOVES, expected, same, shown, text_of
from flaskscope_testing import record_fixture
from report_traces import hostile_trace, long_trace

from flaskscope.report_command import narrator
from tracer.model import Trace
from viewer.report import report_html
from viewer.tui.state import ViewState

#: Forwards, into, over, out, backwards, to the ends and back.
KEYS = "nnnnssnNNonppppGpppgnnnnnnnnsssssoooNNNpppnnnnnnnnnnnnnnn"


def _recorded(name: str, *requests: str, **options: Any) -> Trace:
    recording = record_fixture(name, *requests, **options)
    assert recording.app_error is None, recording.app_error
    return recording.trace


FIXTURES = {
    "seed_views hook mode": lambda: _recorded("seed_views", "GET /index", "HEAD /index"),
    "seed_views line mode": lambda: _recorded("seed_views", "GET /index", lines=True),
    "real_app": lambda: _recorded("real_app", "GET /dashboard", "GET /nowhere",
                                  "GET /boom"),
    "seed_login": lambda: _recorded("seed_login", "GET /login"),
    # The seed's login form on every other framework: the same page for their facts.
    **{name: (lambda name=name: _recorded(name, "GET /login", "HEAD /login", "PUT /login"))
       for name in ("werkzeug_login", "bottle_login", "webpy_login", "django_login",
                    "tornado_login")},
    "hostile": hostile_trace,
    "adversarial_labels": lambda: _recorded(
        "adversarial_labels", 'GET /引号/"quoted"/{braces}|pipe&gt', "GET /类/视图",
        "GET /nothing|here"),
}


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def opened(request: pytest.FixtureRequest, browser: Any, tmp_path_factory) -> tuple:
    trace = FIXTURES[request.param]()
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(report_html(trace, narrate=narrator(trace)), "utf-8")
    return trace, path.as_uri()


def _open(browser: Any, url: str) -> None:
    browser.get("about:blank")
    browser.get(url)
    _wait(lambda: browser.execute_script("return document.body.dataset.phase") is not None)


def _wait(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the page did not get there in time")
        time.sleep(0.02)


def _press(browser: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(key).perform()


def test_keys_step_as_the_terminal_viewer_does(browser: Any, opened: tuple) -> None:
    trace, url = opened
    _open(browser, url)
    state = ViewState(trace)
    assert same(shown(browser), expected(trace, state)), (shown(browser),
                                                          expected(trace, state))
    for number, key in enumerate(KEYS):
        _press(browser, key)
        getattr(state.navigator, MOVES[key])()
        actual, wanted = shown(browser), expected(trace, state)
        assert same(actual, wanted), (number, key, actual, wanted)
    assert shown(browser)["pwned"] is None


def test_clicks_on_rows_and_the_stack_jump_there(browser: Any, opened: tuple) -> None:
    trace, url = opened
    _open(browser, url)
    state = ViewState(trace)
    steps = [int(row.get_attribute("data-step"))
             for row in browser.find_elements("css selector", "#tree .row")]
    for step in steps[1:8:3]:
        browser.find_element("css selector", f'#tree .row[data-step="{step}"]').click()
        state.navigator.jump(step)
        assert same(shown(browser), expected(trace, state))
    frames = browser.find_elements("css selector", "#stack button")
    if len(frames) > 1:
        step = int(frames[-1].get_attribute("data-step"))
        frames[-1].click()
        state.navigator.jump(step)
        assert same(shown(browser), expected(trace, state))
    assert shown(browser)["pwned"] is None


def test_a_fragment_opens_that_step(browser: Any, opened: tuple) -> None:
    trace, url = opened
    request = trace.requests[-1]
    step = len(request.steps) // 2
    _open(browser, f"{url}#r{request.id}/s{step}")
    state = ViewState(trace)
    state.select_phase(len(trace.requests))
    state.navigator.jump(step)
    assert same(shown(browser), expected(trace, state))
    _press(browser, "n")
    assert browser.execute_script("return location.hash") == f"#r{request.id}/s{step + 1}"
    _open(browser, f"{url}#reg")
    assert shown(browser)["phase"] == 0


def test_the_narrative_switches_language_and_links_its_steps(browser: Any,
                                                             opened: tuple) -> None:
    trace, url = opened
    _open(browser, url)
    english = text_of(browser, "#explain")
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "lang")).select_by_value("zh")
    chinese = text_of(browser, "#explain")
    assert chinese != english
    assert any("\u4e00" <= char <= "\u9fff" for char in chinese)
    linked = [item for item in browser.find_elements("css selector", "#explain li")
              if item.get_attribute("data-steps")]
    assert linked
    item = linked[-1]
    phase = int(item.get_attribute("data-phase"))
    first = int(item.get_attribute("data-steps").split(",")[0])
    item.find_element("css selector", "span.text").click()
    assert (shown(browser)["phase"], shown(browser)["step"]) == (phase, first)
    Select(browser.find_element("id", "lang")).select_by_value("en")


def test_graph_nodes_lead_to_their_steps(browser: Any, opened: tuple) -> None:
    trace, url = opened
    _open(browser, url)
    nodes = browser.find_elements("css selector", "#graph g.node.linked")
    if not nodes:
        pytest.skip("this trace's onion has no entered layer")
    step = int(nodes[-1].get_attribute("data-step"))
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', "
                           "{bubbles: true}))", nodes[-1])
    assert shown(browser)["step"] == step
    assert browser.find_elements("css selector", "#graph g.node.here")


def test_nothing_leaves_the_page(browser: Any, opened: tuple) -> None:
    _, url = opened
    browser.get_log("performance")  # forget what came before
    _open(browser, url)
    for key in "nnnnsGg":
        _press(browser, key)
    browser.find_element("css selector", "[data-graph=routes]").click()
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    assert urls and all(u.startswith("file://") for u in urls), urls
    problems = [e for e in browser.get_log("browser") if "Content Security Policy" in
                e.get("message", "")]
    assert problems == []


def test_hostile_values_show_as_text_and_run_nothing(browser: Any, page_file) -> None:
    trace = hostile_trace()
    url = page_file(report_html(trace, narrate=narrator(trace)))
    _open(browser, url)
    for key in "nnnnnpppppG":
        _press(browser, key)
    for kind in ("routes", "decorators"):
        browser.find_element("css selector", f"[data-graph={kind}]").click()
    text = text_of(browser, "body")
    assert "</script><script>window.__pwned=1</script>" in text
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return window.__pwned") is None
    assert browser.title.startswith("flaskscope report: </script>")


def test_a_200000_step_request_is_interactive_within_two_seconds(browser: Any,
                                                                 page_file) -> None:
    trace = long_trace(200_000)
    url = page_file(report_html(trace), "long.html")
    started = time.monotonic()
    browser.get(url)
    _wait(lambda: browser.execute_script("return document.body.dataset.step") == "0", 10)
    _press(browser, "G")
    _wait(lambda: shown(browser)["step"] == len(trace.requests[0].steps) - 1, 10)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"{elapsed:.2f} s to the first step and back from the last"
    state = ViewState(trace)
    state.navigator.last()
    for key in "pppppo":
        _press(browser, key)
        getattr(state.navigator, MOVES[key])()
        assert same(shown(browser), expected(trace, state))


def test_search_and_hidden_line_steps_move_as_in_the_terminal(browser: Any,
                                                              opened: tuple) -> None:
    trace, url = opened
    _open(browser, url)
    state = ViewState(trace)
    for query in ("dispatch", "return", "view"):
        _press(browser, "/")
        from selenium.webdriver.common.keys import Keys

        box = browser.find_element("id", "search")
        box.clear()
        box.send_keys(query, Keys.ENTER)
        box.send_keys(Keys.ESCAPE)
        state.navigator.search(query)
        assert same(shown(browser), expected(trace, state)), query
    _press(browser, "f")
    state.set_show_lines(False)
    for key in "nnnnpsoNGg":
        _press(browser, key)
        getattr(state.navigator, MOVES[key])()
        assert same(shown(browser), expected(trace, state)), key
    _press(browser, "f")
