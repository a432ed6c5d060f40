"""A members area with Flask-Login: a login form, a remembered session, a protected page.

Anonymous requests to a `login_required` page are sent to the login view (302) by the login
manager; a POST of the right password logs in, and the session cookie the test client keeps
lets the next request through (`user_loader` runs through the `current_user` proxy).
"""

from __future__ import annotations

from flask import Flask, abort, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from .harness import Ask


class User(UserMixin):
    """A member, found by id."""

    def __init__(self, user_id: str, name: str, password: str) -> None:
        self.id = user_id
        self.name = name
        self.password = password


USERS = {"1": User("1", "ada", "lovelace"), "2": User("2", "alan", "turing")}

app = Flask(__name__)
app.config.update(SECRET_KEY="corpus-login-key")
login_manager = LoginManager(app)
login_manager.login_view = "login"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return USERS.get(user_id)


@app.route("/")
def index() -> str:
    who = current_user.name if current_user.is_authenticated else "stranger"
    return render_template_string("<p>Hello {{ who }}</p>", who=who)


@app.route("/login", methods=["GET", "POST"])
def login() -> object:
    if request.method == "GET":
        return "<form method=post><input name=name><input name=password></form>"
    user = next((u for u in USERS.values() if u.name == request.form.get("name")), None)
    if user is None or user.password != request.form.get("password"):
        abort(403)
    login_user(user)
    return redirect(request.args.get("next") or url_for("profile"))


@app.route("/profile")
@login_required
def profile() -> str:
    return f"Profile of {current_user.name}"


@app.route("/admin")
@login_required
def admin() -> str:
    if current_user.name != "root":
        abort(403)
    return "Admin"


@app.route("/broken")
@login_required
def broken() -> str:
    return str(1 // 0)


@app.post("/logout")
@login_required
def logout() -> object:
    logout_user()
    return redirect(url_for("index"))


@app.errorhandler(403)
def forbidden(error: Exception) -> tuple[str, int]:
    return "Not for you", 403


@app.errorhandler(ZeroDivisionError)
def division(error: ZeroDivisionError) -> tuple[str, int]:
    return "Arithmetic went wrong", 500


ASKS = [
    Ask("GET", "/", 200, body="Hello stranger"),
    Ask("GET", "/profile", 302),
    Ask("POST", "/login", 403, data={"name": "ada", "password": "wrong"}, body="Not for you",
        reaches="forbidden"),
    Ask("POST", "/login?next=/profile", 302, data={"name": "ada", "password": "lovelace"}),
    Ask("GET", "/profile", 200, body="Profile of ada"),
    Ask("HEAD", "/profile", 200),
    Ask("OPTIONS", "/profile", 200),
    Ask("GET", "/admin", 403, body="Not for you", reaches="forbidden"),
    Ask("GET", "/broken", 500, body="Arithmetic went wrong", reaches="division"),
    Ask("GET", "/logout", 405),
    Ask("POST", "/logout", 302),
    Ask("GET", "/", 200, body="Hello stranger"),
    Ask("GET", "/missing", 404),
]
