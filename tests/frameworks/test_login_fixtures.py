"""fixtures/werkzeug_login.py, bottle_login.py, webpy_login.py, django_login.py and
tornado_login.py answer as their docstrings say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from flaskscope_testing import tornado_client
from werkzeug.test import Client

ERROR = "用户名或密码错误"
RIGHT = {"user": "admin", "pwd": "password"}


@pytest.fixture(params=["werkzeug_login", "bottle_login", "webpy_login", "django_login"])
def client(request: pytest.FixtureRequest,
           fresh_import: Callable[[str], ModuleType]) -> Iterator[tuple[str, Client]]:
    if request.param.startswith("bottle"):
        pytest.importorskip("bottle")
    if request.param.startswith("webpy"):
        pytest.importorskip("web")
        yield request.param, Client(fresh_import(f"fixtures.{request.param}").app.wsgifunc())
        return
    if request.param.startswith("django"):
        pytest.importorskip("django")
        from tracer.frameworks.django.state import DjangoState

        state = DjangoState()  # the fixture configures Django's settings for the process
        try:
            yield request.param, Client(fresh_import(f"fixtures.{request.param}").application)
        finally:
            state.restore()
        return
    yield request.param, Client(fresh_import(f"fixtures.{request.param}").app)


def test_get_renders_the_form(client) -> None:
    _, c = client
    response = c.get("/login")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'name="user"' in body and 'name="pwd"' in body and ERROR not in body


def test_right_credentials_redirect_outside(client) -> None:
    name, c = client
    response = c.post("/login", data=RIGHT)
    assert response.status_code == (302 if name in ("werkzeug_login", "django_login") else 303)
    assert response.location == "http://www.xx.com"


def test_wrong_credentials_render_the_error(client) -> None:
    _, c = client
    response = c.post("/login", data={"user": "admin", "pwd": "wrong"})
    assert response.status_code == 200 and ERROR in response.get_data(as_text=True)


def test_put_is_405_and_unknown_paths_404(client) -> None:
    name, c = client
    response = c.put("/login")
    assert response.status_code == 405
    expected = {"werkzeug_login": {"GET", "HEAD", "POST"},
                "django_login": {"GET", "HEAD", "POST", "OPTIONS"}}.get(name, {"GET", "POST"})
    assert {m.strip() for m in response.headers["Allow"].split(",")} == expected
    assert c.get("/nowhere").status_code == 404
    assert c.get("/hello/bob").get_data(as_text=True) == "Hello bob!"


def test_bottle_login_is_not_cached(fresh_import) -> None:
    pytest.importorskip("bottle")
    response = Client(fresh_import("fixtures.bottle_login").app).get("/login")
    assert response.headers["Cache-Control"] == "no-store"


def test_webpy_login_is_not_cached_and_serves_head_by_get(fresh_import) -> None:
    pytest.importorskip("web")
    c = Client(fresh_import("fixtures.webpy_login").app.wsgifunc())
    for method in ("GET", "HEAD"):
        response = c.open("/login", method=method)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Served-By"] == "web.py"


def test_werkzeug_about_redirects_to_its_slash(fresh_import) -> None:
    c = Client(fresh_import("fixtures.werkzeug_login").app)
    response = c.get("/about")
    assert response.status_code == 308 and response.location.endswith("/about/")
    assert c.get("/about/").get_data(as_text=True) == "About this app"



def test_django_login_is_not_cached_serves_head_by_get_and_guards_the_profile(
        fresh_import) -> None:
    pytest.importorskip("django")
    from tracer.frameworks.django.state import DjangoState

    state = DjangoState()
    try:
        c = Client(fresh_import("fixtures.django_login").application)
        for method in ("GET", "HEAD"):
            response = c.open("/login", method=method)
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["X-Served-By"] == "Django"
        response = c.get("/profile")
        assert response.status_code == 302 and response.location == "/login?next=/profile"
    finally:
        state.restore()


def test_tornado_login_answers_as_its_docstring_says(fresh_import) -> None:
    """Tornado is no WSGI framework: its own test client talks to its own server."""
    pytest.importorskip("tornado")
    from urllib.parse import urlencode

    module = fresh_import("fixtures.tornado_login")
    with tornado_client(module.app) as client:
        def fetch(path: str, method: str = "GET", **options):
            return client.fetch(path, method=method, follow_redirects=False,
                                raise_error=False, allow_nonstandard_methods=True, **options)

        form = fetch("/login")
        assert form.code == 200 and form.headers["Cache-Control"] == "no-store"
        assert 'name="pwd"' in form.body.decode() and ERROR not in form.body.decode()
        assert fetch("/login", "HEAD").code == 405, "no HEAD served by GET in Tornado"
        right = fetch("/login", "POST", body=urlencode(RIGHT))
        assert right.code == 302 and right.headers["Location"] == "http://www.xx.com"
        wrong = fetch("/login", "POST", body=urlencode({"user": "admin", "pwd": "wrong"}))
        assert wrong.code == 200 and ERROR in wrong.body.decode()
        refused = fetch("/login", "PUT", body="")
        assert refused.code == 405 and "Allow" not in refused.headers
        assert fetch("/secret").headers["Location"] == "/login?next=%2Fsecret"
        assert fetch("/secret", headers={"Cookie": "user=admin"}).body == b"Welcome admin"
        assert fetch("/hello/bob").body == b"Hello bob!" and fetch("/hello/bob", "HEAD").code == 200
        assert fetch("/about/").headers["Location"] == "/about"
        assert fetch("/nowhere").code == 404 and fetch("/boom").code == 500
