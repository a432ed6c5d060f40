"""A pet shop with flask-smorest: a blueprint of `MethodView`s, marshmallow schemas for
arguments and responses, pagination-free listing, and flask-smorest's JSON errors.

`@blp.arguments` parses and validates the body through webargs (422 on bad input),
`@blp.response` serialises what a handler returns, and `flask_smorest.abort` raises an HTTP
error that flask-smorest's handler (registered on the app) turns into JSON.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, redirect
from flask.views import MethodView
from flask_smorest import Api, Blueprint, abort

from .harness import Ask

app = Flask(__name__)
app.config.update(
    API_TITLE="Pets", API_VERSION="v1", OPENAPI_VERSION="3.0.2", OPENAPI_URL_PREFIX="/",
)
api = Api(app)

PETS: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Rex", "species": "dog"}}


class PetSchema(ma.Schema):
    id = ma.fields.Int(dump_only=True)
    name = ma.fields.String(required=True)
    species = ma.fields.String(load_default="cat")


class PetQuerySchema(ma.Schema):
    species = ma.fields.String()


blp = Blueprint("pets", __name__, url_prefix="/pets", description="Pets")


@blp.route("/")
class Pets(MethodView):
    @blp.arguments(PetQuerySchema, location="query")
    @blp.response(200, PetSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [p for p in PETS.values() if query.get("species") in (None, p["species"])]

    @blp.arguments(PetSchema)
    @blp.response(201, PetSchema)
    def post(self, new_pet: dict[str, Any]) -> dict[str, Any]:
        pet_id = max(PETS, default=0) + 1
        PETS[pet_id] = {"id": pet_id, **new_pet}
        return PETS[pet_id]


@blp.route("/<int:pet_id>")
class PetById(MethodView):
    @blp.response(200, PetSchema)
    def get(self, pet_id: int) -> dict[str, Any]:
        if pet_id == 13:
            raise KeyError("unlucky")
        if pet_id not in PETS:
            abort(404, message="No such pet")
        return PETS[pet_id]

    @blp.response(204)
    def delete(self, pet_id: int) -> None:
        PETS.pop(pet_id, None)


api.register_blueprint(blp)


@app.route("/animals")
def animals() -> Any:
    return redirect("/pets/")


#: flask-smorest's handler of every HTTP error, registered on the app by `Api`.
HANDLER = "ErrorHandlerMixin.handle_http_exception"

ASKS = [
    Ask("GET", "/pets/", 200, body="Rex"),
    Ask("GET", "/pets/?species=cat", 200),
    Ask("GET", "/pets/1", 200, body="Rex"),
    Ask("GET", "/pets/7", 404, body="No such pet", reaches=HANDLER),
    Ask("GET", "/pets/13", 500, body="Internal Server Error", reaches=HANDLER),
    Ask("POST", "/pets/", 201, json={"name": "Tom"}, body="Tom"),
    Ask("POST", "/pets/", 422, json={"species": "cat"}, body="required", reaches=HANDLER),
    Ask("DELETE", "/pets/2", 204),
    Ask("PUT", "/pets/1", 405),
    Ask("HEAD", "/pets/1", 200),
    Ask("OPTIONS", "/pets/", 200),
    Ask("GET", "/openapi.json", 200, body="Pets"),
    Ask("GET", "/animals", 302),
    Ask("GET", "/pets", 308),
]
