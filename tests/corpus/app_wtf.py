"""A sign-up page with Flask-WTF: a form rendered from a template, validated on POST, and
CSRF protection for the whole app (with one exempt JSON endpoint).

`CSRFProtect` checks every POST in a before-request function; a POST without a token raises
`CSRFError`, which the app's error handler turns into a page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, render_template_string, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from .harness import Ask

app = Flask(__name__)
app.config.update(SECRET_KEY="corpus-wtf-key")
csrf = CSRFProtect(app)

PAGE = """<form method="post">{{ form.csrf_token }}{{ form.name }}{{ form.email }}
{% for field, errors in form.errors.items() %}<p>{{ field }}: {{ errors|join(', ') }}</p>
{% endfor %}</form>"""


class SignupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(min=2)])
    email = EmailField("Email", validators=[DataRequired(), Regexp(r"[^@]+@[^@]+")])


class QuickForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Name", validators=[DataRequired()])


@app.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    form = SignupForm()
    if form.validate_on_submit():
        return redirect(url_for("welcome", name=form.name.data))
    return render_template_string(PAGE, form=form)


@app.route("/quick", methods=["POST"])
@csrf.exempt
def quick() -> Any:
    form = QuickForm()
    if not form.validate():
        return {"errors": form.errors}, 422
    return redirect(url_for("welcome", name=form.name.data))


@app.route("/welcome/<name>")
def welcome(name: str) -> str:
    return f"Welcome, {name}"


@app.route("/oops")
def oops() -> str:
    raise UnicodeError("bad bytes")


@app.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> tuple[str, int]:
    return f"Form expired: {error.description}", 400


@app.errorhandler(500)
def server_error(error: Exception) -> tuple[str, int]:
    return "Something broke", 500


ASKS = [
    Ask("GET", "/signup", 200, body="csrf_token"),
    Ask("POST", "/signup", 400, data={"name": "ada", "email": "ada@example.com"},
        body="Form expired", reaches="csrf_failed"),
    Ask("POST", "/quick", 302, data={"name": "ada"}),
    Ask("POST", "/quick", 422, data={}, body="required"),
    Ask("GET", "/welcome/ada", 200, body="Welcome, ada"),
    Ask("HEAD", "/welcome/ada", 200),
    Ask("OPTIONS", "/signup", 200),
    Ask("GET", "/quick", 405),
    Ask("GET", "/oops", 500, body="Something broke", reaches="server_error"),
    Ask("GET", "/welcome/", 404),
]
