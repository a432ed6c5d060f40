"""The fixture apps and the requests the oracle tests send to each."""

from __future__ import annotations

from tracer.frameworks.flask.loading import RequestSpec


def _spec(ask: str, data: tuple[tuple[str, str], ...] = ()) -> RequestSpec:
    method, path = ask.split(" ", 1)
    return RequestSpec(method, path, data)


#: Fixture -> the requests sent to it: every route, and the ways a request goes wrong.
CASES: dict[str, tuple[RequestSpec, ...]] = {
    "seed_routes": tuple(map(_spec, ("GET /", "POST /", "GET /login", "GET /about",
                                     "OPTIONS /about", "HEAD /about", "DELETE /about",
                                     "GET /about/", "GET /nowhere"))),
    "seed_login": (_spec("GET /login"), _spec("POST /login", (("user", "ann"),))),
    "seed_views": tuple(map(_spec, ("GET /index", "HEAD /index", "POST /index"))),
    "seed_config": (_spec("GET /config"),),
    "real_app": tuple(map(_spec, (
        "GET /shop/products", "GET /shop/products/7", "GET /shop/products/x", "GET /stacked",
        "GET /login", "GET /dashboard", "GET /hooks", "GET /boom", "GET /crash",
        "GET /items/42", "GET /docs", "GET /docs/", "POST /login", "HEAD /login",
        "OPTIONS /login", "GET /async", "GET /nowhere"))),
    "callbacks": tuple(map(_spec, ("GET /shop/fr/items/3", "GET /shop/fr/items/x"))),
    "app_extras": tuple(map(_spec, ("GET /items/AB-12", "GET /items/zz", "GET /greet",
                                    "GET /crash"))),
    "check_decorator_order": tuple(map(_spec, ("GET /admin", "GET /account", "GET /login"))),
    "check_methodview": tuple(map(_spec, ("GET /items/1", "GET /reports", "POST /reports",
                                          "GET /notes", "PUT /notes", "HEAD /notes"))),
    "check_shadowed": tuple(map(_spec, (
        "GET /posts/hello", "GET /posts/12345678-1234-5678-1234-567812345678",
        "GET /posts/a/comments"))),
    "check_strict_slash": tuple(map(_spec, ("POST /api/items", "POST /api/items/",
                                            "GET /docs", "GET /docs/"))),
    "outcomes": tuple(map(_spec, ("GET /admin/panel", "GET /legal", "GET /teapot", "GET /boom",
                                  "GET /old", "GET /new", "GET /stream",
                                  "GET /teardown-fails"))),
    "own_dispatch": tuple(map(_spec, ("GET /items/1", "POST /items/1", "HEAD /items/1",
                                      "PUT /items/1"))),
    "secrets_app": tuple(map(_spec, ("GET /echo?token=abc", "GET /raw", "GET /reset/s3cret",
                                     "GET /search?q=x", "GET /me", "POST /api"))),
    "streamed": tuple(map(_spec, ("GET /countdown/3", "GET /lines"))),
    "factory_layers": tuple(map(_spec, ("GET /hello", "GET /hello?stop=1", "GET /stacked",
                                        "GET /stacked?stop=1", "GET /twice", "GET /looped"))),
    "two_apps": tuple(map(_spec, ("GET /index", "GET /about"))),
    "adversarial_labels": tuple(map(_spec, ("GET /中文/x", "GET /类/视图", "GET /dir\"q/",
                                            "GET /dir\"q"))),
}


#: web.py fixtures, replayed through web.py's own `app.request()`.
WEBPY_CASES: dict[str, tuple[RequestSpec, ...]] = {
    "webpy_login": (_spec("GET /login"), _spec("HEAD /login"),
                    _spec("POST /login", (("user", "admin"), ("pwd", "password"))),
                    _spec("POST /login", (("user", "ann"),)), _spec("PUT /login"),
                    _spec("GET /hello/ann"), _spec("GET /nowhere")),
    "webpy_hello": tuple(map(_spec, ("GET /", "GET /items/42", "POST /items/7", "HEAD /",
                                     "DELETE /items/1", "GET /items/x"))),
}

#: Django fixtures, replayed through Werkzeug's test client into Django's `WSGIHandler`.
DJANGO_CASES: dict[str, tuple[RequestSpec, ...]] = {
    "django_login": (*map(_spec, ("GET /login", "HEAD /login", "PUT /login", "GET /nowhere",
                                  "GET /profile", "GET /hello/bob")),
                     _spec("POST /login", (("user", "admin"), ("pwd", "password")))),
    "django_views": tuple(map(_spec, ("GET /", "GET /maintenance", "GET /blog/2024/hello/",
                                      "POST /only-get", "GET /nowhere", "POST /comment"))),
}

#: Tornado fixtures, replayed through Tornado's own test case (its client and server).
TORNADO_CASES: dict[str, tuple[RequestSpec, ...]] = {
    "tornado_login": (*map(_spec, ("GET /login", "HEAD /login", "PUT /login", "GET /secret",
                                   "GET /hello/bob", "GET /about/", "GET /nowhere",
                                   "GET /boom")),
                      _spec("POST /login", (("user", "admin"), ("pwd", "password")))),
}
