"""A slow catalogue made fast with Flask-Caching: a cached view, a memoized function and a
cache cleared by a POST.

`cache.cached` is a decorator layer that returns the stored response without entering the
view on the second request; `cache.memoize` caches a helper the view calls.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, redirect, request
from flask_caching import Cache

from .harness import Ask

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)
cache = Cache(app)

CALLS: list[str] = []


@cache.memoize()
def price_of(item: str) -> int:
    CALLS.append(item)
    if item == "unobtainium":
        raise OverflowError("priceless")
    return len(item) * 10


@app.route("/catalogue")
@cache.cached()
def catalogue() -> Any:
    CALLS.append("catalogue")
    return jsonify(items=["tea", "cake"], built=len(CALLS))


@app.route("/price/<item>")
def price(item: str) -> Any:
    if item == "void":
        abort(404)
    return jsonify(item=item, price=price_of(item))


@app.route("/refresh", methods=["POST"])
def refresh() -> Any:
    cache.clear()
    return redirect(request.args.get("next", "/catalogue"))


@app.errorhandler(OverflowError)
def overflow(error: OverflowError) -> tuple[str, int]:
    return "too expensive to compute", 503


ASKS = [
    Ask("GET", "/catalogue", 200, body="tea"),
    Ask("GET", "/catalogue", 200, body="tea"),  # from the cache: the view is not entered
    Ask("HEAD", "/catalogue", 200),
    Ask("GET", "/price/tea", 200, body="30"),
    Ask("GET", "/price/tea", 200, body="30"),
    Ask("GET", "/price/void", 404),
    Ask("GET", "/price/unobtainium", 503, body="too expensive", reaches="overflow"),
    Ask("POST", "/refresh", 302),
    Ask("GET", "/refresh", 405),
    Ask("OPTIONS", "/catalogue", 200),
    Ask("GET", "/catalogue", 200, body="tea"),
]
