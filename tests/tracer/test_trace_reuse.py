"""`Recorder.trace` builds again only what changed: a live server builds a trace for every
request it writes, and the registration and the sources it embeds are the same each time,
unless facts, values or secrets were added since, or a file changed."""

from __future__ import annotations

import linecache
import sys
import textwrap
from dataclasses import replace

from flaskscope_testing import APP_CLASS

import tracer
from tracer.recorder import SourceCache, _freeze, collect_sources


def test_an_unchanged_registration_is_frozen_once(fresh_import) -> None:
    with tracer.record() as recorder:
        app = fresh_import("fixtures.seed_views").app
        first = recorder.trace()
        app.test_client().get("/index")
        second = recorder.trace()
    assert second.registration.steps is first.registration.steps
    assert second.registration.steps == _freeze(recorder.registration, True,
                                                 recorder.app_secrets)
    assert len(second.requests) == 1


def test_facts_and_secrets_learned_later_are_in_the_next_trace(fresh_import) -> None:
    with tracer.record() as recorder:
        fresh_import("fixtures.seed_views")
        before = recorder.trace()
        route_step = next(s for s in before.registration.steps
                          if s.name == f"{APP_CLASS}.add_url_rule")
        recorder.annotate(route_step.id, {"learned": "later"})
        annotated = recorder.trace()
        shown = next(s for s in annotated.registration.steps if s.id == route_step.id)
        assert shown.facts["learned"] == "later"
        recorder.app_secrets.add(["fixtures.seed_views"])  # the app's name, now a secret
        hidden = recorder.trace()
    assert hidden.registration.steps is not annotated.registration.steps
    assert not any("fixtures.seed_views" in str(s.facts) for s in hidden.registration.steps)
    assert any("fixtures.seed_views" in str(s.facts) for s in annotated.registration.steps)


def test_a_changed_source_file_is_read_again(tmp_path, monkeypatch) -> None:
    app_file = tmp_path / "changing_app.py"
    source = textwrap.dedent('''
        from flask import Flask
        app = Flask(__name__)

        @app.route("/")
        def index():
            return "first"
    ''')
    app_file.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "changing_app", raising=False)
    with tracer.record() as recorder:
        import changing_app  # noqa: F401

        first = recorder.trace().sources[str(app_file)]
        assert recorder.trace().sources[str(app_file)] is first
        app_file.write_text(source.replace('"first"', '"second, a longer line"'))
        linecache.checkcache(str(app_file))
        second = recorder.trace().sources[str(app_file)]
    assert second.sha256 != first.sha256
    assert any("second" in line for line in second.lines.values())
    sys.modules.pop("changing_app", None)


def test_the_bodies_embedded_follow_the_code_objects_asked_about() -> None:
    """The lines of code bodies are remembered for the code objects of the last trace; a
    trace naming others (more, fewer, in another order) embeds exactly theirs."""
    import tracer.secret_values as some_module
    import tracer.unwrap as other_module

    codes = [value.__code__ for module in (some_module, other_module)
             for value in vars(module).values()
             if getattr(value, "__module__", None) == module.__name__
             and hasattr(value, "__code__")]
    assert len(codes) > 4
    places = [(some_module.__file__, 1), (other_module.__file__, 2), (None, 3)]
    shared = SourceCache()
    for asked in (codes, codes[:2], codes, codes[::-1], [], codes[3:], codes):
        with_memory = collect_sources(places, (), asked, shared)
        fresh = collect_sources(places, (), asked, SourceCache())
        assert with_memory == fresh
        assert list(with_memory) == list(fresh)


def test_a_recording_is_written_from_its_columns_without_building_steps(fresh_import) -> None:
    """A live server writes each request it records: freezing keeps the steps as columns,
    and the file is written from them, byte for byte what the steps themselves give."""
    from tracer.model import Trace
    from tracer.steptable import StepTable
    from tracer.tracefile import dumps

    with tracer.record() as recorder:
        app = fresh_import("fixtures.seed_views").app
        app.test_client().get("/index")
        app.test_client().get("/missing")
        trace = recorder.trace(lazy_steps=True)
        tables = [trace.registration.steps, *(request.steps for request in trace.requests)]
        assert all(isinstance(table, StepTable) and table._built is None for table in tables)
        written = dumps(trace)
        assert all(table._built is None for table in tables), "no step was built to write"
        as_tuples = Trace(
            meta=trace.meta, routes=trace.routes, sources=trace.sources,
            registration=replace(trace.registration, steps=tuple(trace.registration.steps)),
            requests=tuple(replace(request, steps=tuple(request.steps))
                           for request in trace.requests))
        assert dumps(as_tuples) == written
        # Without `lazy_steps`, steps are tuples, the same steps as the tables hold.
        built = recorder.trace()
        assert type(built.registration.steps) is tuple
        assert [type(r.steps) for r in built.requests] == [tuple, tuple]
        assert built.registration == as_tuples.registration
        assert built.requests == as_tuples.requests
        # the same file, but for the time it was made at (a second may tick in between)
        assert {**built.meta, "created": None} == {**trace.meta, "created": None}
        assert dumps(replace(built, meta=trace.meta)) == written
        assert recorder.trace(lazy_steps=True).registration.steps is trace.registration.steps, (
            "each form of the registration is frozen once, and kept")
    # Once uninstalled, nothing records there: the recorder lets its frozen copy go (an
    # escaped stand-in may keep it alive), and freezes again if asked.
    again = recorder.trace(lazy_steps=True)
    assert again.registration.steps is not trace.registration.steps
    assert dumps(replace(again, meta=trace.meta)) == written
