"""A to-do API with Flask-RESTful: resources, request parsing, method decorators, aborts.

`Resource.dispatch_request` finds the handler itself (not through `MethodView`), wraps it in
the class's `method_decorators`, and `Api` answers errors with its own handler: a
`flask_restful.abort(404)`, a missing handler (405) and an exception (500) all come back as
JSON from `Api.handle_error`.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Flask, redirect, request, url_for
from flask_restful import Api, Resource, abort, reqparse

from .harness import Ask

app = Flask(__name__)
api = Api(app)

TODOS: dict[int, dict[str, Any]] = {1: {"task": "write the oracle"}, 2: {"task": "run it"}}

parser = reqparse.RequestParser()
parser.add_argument("task", type=str, required=True, help="task is required")


def require_token(handler: Any) -> Any:
    """A method decorator: the handler runs only with the right X-Token."""

    @wraps(handler)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if request.headers.get("X-Token") != "letmein":
            abort(401, message="token required")
        return handler(*args, **kwargs)

    return checked


def todo_or_404(todo_id: int) -> dict[str, Any]:
    if todo_id not in TODOS:
        abort(404, message=f"Todo {todo_id} doesn't exist")
    return TODOS[todo_id]


class Todo(Resource):
    def get(self, todo_id: int) -> dict[str, Any]:
        return todo_or_404(todo_id)

    def delete(self, todo_id: int) -> tuple[str, int]:
        todo_or_404(todo_id)
        del TODOS[todo_id]
        return "", 204


class TodoList(Resource):
    def get(self) -> dict[int, dict[str, Any]]:
        return TODOS

    def post(self) -> tuple[dict[str, Any], int]:
        args = parser.parse_args()
        todo_id = max(TODOS, default=0) + 1
        TODOS[todo_id] = {"task": args["task"]}
        return TODOS[todo_id], 201


class Vault(Resource):
    method_decorators = [require_token]

    def get(self) -> dict[str, str]:
        return {"vault": "open"}


class Broken(Resource):
    def get(self) -> dict[str, int]:
        return {"ratio": 1 // 0}


api.add_resource(TodoList, "/todos")
api.add_resource(Todo, "/todos/<int:todo_id>")
api.add_resource(Vault, "/vault")
api.add_resource(Broken, "/broken")


@app.route("/tasks")
def old_tasks() -> Any:
    """The old address of the list."""
    return redirect(url_for("todolist"))


ASKS = [
    Ask("GET", "/todos", 200, body="write the oracle"),
    Ask("GET", "/todos/1", 200, body="write the oracle"),
    Ask("GET", "/todos/9", 404, body="Todo 9 doesn't exist", reaches="Api.handle_error"),
    Ask("POST", "/todos", 201, json={"task": "ship it"}, body="ship it"),
    Ask("POST", "/todos", 400, json={}, body="task is required", reaches="Api.handle_error"),
    Ask("DELETE", "/todos/2", 204),
    Ask("PUT", "/todos/1", 405),
    Ask("HEAD", "/todos/1", 200),
    Ask("OPTIONS", "/todos", 200),
    Ask("GET", "/vault", 401, body="token required", reaches="Api.handle_error"),
    Ask("GET", "/vault", 200, headers={"X-Token": "letmein"}, body="open"),
    Ask("GET", "/broken", 500, reaches="Api.handle_error"),
    Ask("GET", "/tasks", 302),
    Ask("GET", "/todos/", 404),
]
