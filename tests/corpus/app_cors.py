"""A public API behind flask-cors: per-resource CORS settings, preflight requests and the
`cross_origin` decorator on one view.

`CORS(app, resources=...)` adds an after-request function that writes the
`Access-Control-*` headers; a preflight (`OPTIONS` with `Access-Control-Request-Method`) is
answered by Flask's automatic OPTIONS and decorated there.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, redirect
from flask_cors import CORS, cross_origin

from .harness import Ask

app = Flask(__name__)
CORS(app, resources={r"/api/*": {"origins": ["https://example.com"]}})

ORIGIN = {"Origin": "https://example.com"}
PREFLIGHT = {**ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "Content-Type"}


@app.route("/api/items", methods=["GET", "POST"])
def items() -> Any:
    return jsonify(items=["a", "b"])


@app.route("/api/items/<int:item_id>")
def item(item_id: int) -> Any:
    if item_id > 100:
        abort(410)
    if item_id == 0:
        raise ArithmeticError("item zero")
    return jsonify(id=item_id)


@app.route("/widget")
@cross_origin(origins="*", methods=["GET"])
def widget() -> Any:
    return jsonify(widget=True)


@app.route("/api")
def api_root() -> Any:
    return redirect("/api/items")


@app.errorhandler(410)
def gone(error: Exception) -> tuple[str, int]:
    return "gone for good", 410


ASKS = [
    Ask("GET", "/api/items", 200, headers=ORIGIN, body="a"),
    Ask("OPTIONS", "/api/items", 200, headers=PREFLIGHT),
    Ask("OPTIONS", "/widget", 200, headers={"Origin": "https://other.org",
                                            "Access-Control-Request-Method": "GET"}),
    Ask("GET", "/widget", 200, headers={"Origin": "https://other.org"}),
    Ask("HEAD", "/api/items/3", 200, headers=ORIGIN),
    Ask("GET", "/api/items/300", 410, headers=ORIGIN, body="gone for good",
        reaches="gone"),
    Ask("GET", "/api/items/0", 500, headers=ORIGIN),
    Ask("DELETE", "/api/items", 405, headers=ORIGIN),
    Ask("GET", "/api", 302),
    Ask("GET", "/api/nothing", 404, headers=ORIGIN),
]
