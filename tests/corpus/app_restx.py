"""A cat registry with flask-restx: a namespace, models, marshalling, validation and errors.

flask-restx registers `Resource` classes through its `Api`, serves its own Swagger document,
validates payloads against a model (400), and answers exceptions through `Api.handle_error`
and the handlers registered with `@api.errorhandler`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect
from flask_restx import Api, Resource, fields

from .harness import Ask

app = Flask(__name__)
api = Api(app, title="Cats", version="1.0", doc=False)
ns = api.namespace("cats", description="Cat operations")

cat_model = ns.model("Cat", {
    "id": fields.String(required=True, description="The cat identifier"),
    "name": fields.String(required=True, description="The cat name"),
})

CATS: dict[str, dict[str, str]] = {"felix": {"id": "felix", "name": "Felix"}}


class CatAsleep(Exception):
    """The cat will not come now."""


@api.errorhandler(CatAsleep)
def cat_asleep(error: CatAsleep) -> tuple[dict[str, str], int]:
    return {"message": f"asleep: {error}"}, 503


@ns.route("/")
class CatList(Resource):
    @ns.marshal_list_with(cat_model)
    def get(self) -> list[dict[str, str]]:
        return list(CATS.values())

    @ns.expect(cat_model, validate=True)
    @ns.marshal_with(cat_model, code=201)
    def post(self) -> tuple[dict[str, str], int]:
        cat = dict(api.payload)
        CATS[cat["id"]] = cat
        return cat, 201


@ns.route("/<string:cat_id>")
@ns.response(404, "Cat not found")
class Cat(Resource):
    @ns.marshal_with(cat_model)
    def get(self, cat_id: str) -> dict[str, str]:
        if cat_id == "tom":
            raise CatAsleep(cat_id)
        if cat_id == "ghost":
            raise RuntimeError("no such thing as ghosts")
        if cat_id not in CATS:
            api.abort(404, f"Cat {cat_id} not found")
        return CATS[cat_id]


@app.route("/kittens")
def kittens() -> Any:
    return redirect("/cats/")


ASKS = [
    Ask("GET", "/cats/", 200, body="Felix"),
    Ask("GET", "/cats/felix", 200, body="Felix"),
    Ask("GET", "/cats/garfield", 404, body="Cat garfield not found", reaches="Api.handle_error"),
    Ask("GET", "/cats/tom", 503, body="asleep: tom", reaches="cat_asleep"),
    Ask("GET", "/cats/ghost", 500, reaches="Api.handle_error"),
    Ask("POST", "/cats/", 201, json={"id": "tom", "name": "Tom"}, body="Tom"),
    Ask("POST", "/cats/", 400, json={"id": "nameless"}, body="name", reaches="Api.handle_error"),
    Ask("DELETE", "/cats/felix", 405),
    Ask("HEAD", "/cats/felix", 200),
    Ask("OPTIONS", "/cats/", 200),
    Ask("GET", "/swagger.json", 200, body="Cat operations"),
    Ask("GET", "/kittens", 302),
    Ask("GET", "/cats", 308),
    Ask("GET", "/dogs/", 404),
]
