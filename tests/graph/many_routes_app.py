"""A 56-route app for the route map's layout: two rules sharing an endpoint, blueprints
registered between app routes, rules and chains of different sizes.

URLs (ENDPOINTS lists the endpoints in the order they are registered):
    GET /page<N>            -> 200, N in 0..17 before the blueprints, 18..35 after them
    GET /a, GET /a/<int:x>  -> 200 "a": both rules lead to endpoint "a" (two decorators)
    POST /a                 -> 405
    GET /reports/<int:year>/<int:month>/<path:rest> -> 200, a long rule
    GET /shop/item<N>       -> 200, blueprint "shop", N in 0..9 (one decorator)
    GET /shop/item0/<int:x> -> 200, endpoint "shop.item0" like /shop/item0
    GET /shop/admin/tool<N> -> 200, blueprint "shop.admin" nested in "shop", N in 0..4
    POST /page<N>, N >= 18  -> 200 (GET and POST)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask

View = Callable[..., str]

app = Flask(__name__)
shop = Blueprint("shop", __name__, url_prefix="/shop")
admin = Blueprint("admin", __name__, url_prefix="/admin")


def audited(func: View) -> View:
    @functools.wraps(func)
    def audit(*args: Any, **kwargs: Any) -> str:
        return func(*args, **kwargs)

    return audit


def timed(func: View) -> View:
    @functools.wraps(func)
    def timing(*args: Any, **kwargs: Any) -> str:
        return func(*args, **kwargs)

    return timing


def make_view(name: str) -> View:
    def view(**kwargs: Any) -> str:
        return name

    view.__name__ = name
    return view


def add_pages(numbers: range, **options: Any) -> list[str]:
    for number in numbers:
        app.add_url_rule(f"/page{number}", f"page{number}", make_view(f"page{number}"),
                         **options)
    return [f"page{number}" for number in numbers]


ENDPOINTS = ["static", *add_pages(range(18))]

a_view = audited(timed(make_view("a")))
app.add_url_rule("/a", "a", a_view)
app.add_url_rule("/a/<int:x>", "a", a_view)
app.add_url_rule("/reports/<int:year>/<int:month>/<path:rest>", "report", make_view("report"))
ENDPOINTS += ["a", "report"]

items = [audited(make_view(f"item{number}")) for number in range(10)]
for number, item in enumerate(items):
    shop.add_url_rule(f"/item{number}", f"item{number}", item)
shop.add_url_rule("/item0/<int:x>", "item0", items[0])
for number in range(5):
    admin.add_url_rule(f"/tool{number}", f"tool{number}", make_view(f"tool{number}"))
shop.register_blueprint(admin)
app.register_blueprint(shop)
ENDPOINTS += [f"shop.item{number}" for number in range(10)]
ENDPOINTS += [f"shop.admin.tool{number}" for number in range(5)]

ENDPOINTS += add_pages(range(18, 36), methods=["GET", "POST"])
