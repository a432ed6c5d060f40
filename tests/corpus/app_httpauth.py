"""A small reports service with Flask-HTTPAuth: Basic auth with roles, and a token scheme.

`auth.login_required` is the decorator layer that calls `verify_password` (or the token
verifier) and either runs the view or answers 401 through the app's `error_handler`; a user
without the role gets 403.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, redirect, url_for
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth

from .harness import Ask

app = Flask(__name__)
basic = HTTPBasicAuth()
token = HTTPTokenAuth(scheme="Bearer")
either = MultiAuth(basic, token)

PASSWORDS = {"ada": "lovelace", "alan": "turing"}
ROLES = {"ada": ["admin"], "alan": []}
TOKENS = {"t0k3n": "alan"}


@basic.verify_password
def verify_password(username: str, password: str) -> str | None:
    if PASSWORDS.get(username) == password:
        return username
    return None


@basic.get_user_roles
def get_user_roles(user: str) -> list[str]:
    return ROLES.get(user, [])


@basic.error_handler
def basic_error(status: int) -> Any:
    return jsonify(error="who are you?", status=status), status


@token.verify_token
def verify_token(value: str) -> str | None:
    return TOKENS.get(value)


@app.route("/reports")
@basic.login_required
def reports() -> Any:
    return jsonify(owner=basic.current_user(), reports=["q1", "q2"])


@app.route("/reports/admin", methods=["GET", "DELETE"])
@basic.login_required(role="admin")
def admin_reports() -> Any:
    return jsonify(admin=True)


@app.route("/feed")
@either.login_required
def feed() -> Any:
    return jsonify(feed=["news"])


@app.route("/crash")
@basic.login_required
def crash() -> Any:
    raise LookupError("no report 42")


@app.errorhandler(LookupError)
def lookup_failed(error: LookupError) -> tuple[str, int]:
    return f"lookup failed: {error}", 500


@app.route("/")
def home() -> Any:
    return redirect(url_for("reports"))


ADA = {"Authorization": "Basic YWRhOmxvdmVsYWNl"}  # ada:lovelace
ALAN = {"Authorization": "Basic YWxhbjp0dXJpbmc="}  # alan:turing

ASKS = [
    Ask("GET", "/", 302),
    Ask("GET", "/reports", 401, body="who are you?", reaches="basic_error"),
    Ask("GET", "/reports", 200, headers=ADA, body="q1"),
    Ask("HEAD", "/reports", 200, headers=ADA),
    Ask("OPTIONS", "/reports", 200),
    Ask("POST", "/reports", 405, headers=ADA),
    Ask("GET", "/reports/admin", 403, headers=ALAN, reaches="basic_error"),
    Ask("DELETE", "/reports/admin", 200, headers=ADA, body="admin"),
    Ask("GET", "/feed", 200, headers={"Authorization": "Bearer t0k3n"}, body="news"),
    Ask("GET", "/feed", 401, headers={"Authorization": "Bearer nope"}),
    Ask("GET", "/crash", 500, headers=ADA, body="lookup failed", reaches="lookup_failed"),
    Ask("GET", "/reports/", 404),
]
