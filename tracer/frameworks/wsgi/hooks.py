"""Plain WSGI: what a server and an app say to each other, recorded around the app.

A WSGI app is any callable `app(environ, start_response)` returning an iterable of bytes;
there is nothing to patch. Instead `WsgiHooks.wrap` puts a recording callable around the
app the tool loaded. One request record spans the whole exchange, as PEP 3333 defines it:

- the call (`Role.REQUEST`): the environ's method, path and query, its headers redacted;
- `start_response(status, headers)` (`Role.START_RESPONSE`): the status and the response
  headers, redacted (a `Set-Cookie` value never reaches the trace);
- the body (`Role.RESPONSE_BODY`): the server iterating it (chunks and bytes) and calling
  its `close()`; the record ends when the body is closed, which a compliant server always
  does.

The wrapper hands the server the same chunks and the same `write` callable, keeps `len()`
where the body has one, and is a pass-through once uninstalled. While it runs the app,
`serving()` names the framework, so the Werkzeug adapter records its steps only there.
The helpers reading the environ are shared with the Bottle adapter (also plain WSGI).
"""

from __future__ import annotations

import functools
import inspect
import io
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeAlias

from tracer.frameworks.hooking import AdapterHooks, qualname, settle_outcome
from tracer.model import Role
from tracer.recorder import current_request, muted
from tracer.secret_values import MAX_BODY, environ_secrets, set_cookie_secrets
from tracer.unwrap import code_of

if TYPE_CHECKING:
    from tracer.recorder import Recorder, RequestHandle, StepRecord

#: A request's handle: what `Recorder.begin_request` returns and `end_request` takes back.
Handle: TypeAlias = "RequestHandle"

_serving: ContextVar[str | None] = ContextVar("flaskscope_wsgi_serving", default=None)
#: The last body this context handed to a server (weakly: a body let go of files its
#: request when it goes, see `_Body`).
_handed_out: ContextVar[weakref.ref[_Body] | None] = ContextVar(
    "flaskscope_wsgi_handed_out", default=None)


#: `serving()`: the framework of the plain WSGI app running in this context (None outside
#: one). The variable's own `get`: the Werkzeug patches ask it at every call they see.
serving: Callable[[], str | None] = _serving.get


def available() -> bool:
    """Plain WSGI needs nothing but the standard library."""
    return True


def owns(app: Any) -> bool:
    """Any callable may be a WSGI app; the other adapters are asked first."""
    return callable(app)


def wsgi_text(text: str) -> str:
    """WSGI carries paths as latin-1 code points of the UTF-8 bytes; read them as text."""
    try:
        return text.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text


def environ_facts(environ: dict, recorder: Recorder) -> dict[str, Any]:
    """Method, path (script name + path info) and query string of a request."""
    path = wsgi_text(environ.get("SCRIPT_NAME", "") or "") + wsgi_text(
        environ.get("PATH_INFO", "") or "/")
    query = environ.get("QUERY_STRING", "") or ""
    return {
        "method": environ.get("REQUEST_METHOD", "GET"),
        "path": path,
        "query": recorder.repr(query)[1:-1] if query else "",
    }


def begin_wsgi_request(recorder: Recorder, environ: dict,
                       **extra: Any) -> tuple[RequestHandle, dict[str, Any]]:
    """Start the record of the request `environ` describes: its secrets learned first (so
    nothing stored from it shows them), then its method, path and query.

    Returns the handle for `end_request` and the request's facts.
    """
    body, gap = read_body(environ)
    secrets = environ_secrets(environ, body) if recorder.redact else set()
    handle = recorder.begin_request(secrets=secrets, **extra)
    info = environ_facts(environ, recorder)
    record = handle[0]
    record.info.update(info)
    if body is not None:
        record.info["body"] = body
    if gap and recorder.redact:
        record.info["redaction_gap"] = gap
    return handle, info


#: How much of a request body the trace keeps (for replaying it), as a bytes repr.
KEPT_BODY = 64 * 1024


def body_detail(info: dict[str, Any]) -> dict[str, str]:
    """The request body as the request step's detail holds it: `body` (a bytes repr, whole
    up to `KEPT_BODY` bytes, secrets hidden when the trace is built), its size, and
    `body_cut` when only its start is kept."""
    body = info.pop("body", None)  # kept no longer than the step needs it
    if not isinstance(body, bytes):
        return {}
    detail = {"body": repr(body[:KEPT_BODY]), "body_bytes": str(len(body))}
    if len(body) > KEPT_BODY:
        detail["body_cut"] = str(KEPT_BODY)
    return detail


def read_body(environ: dict) -> tuple[bytes | None, str | None]:
    """The request body, read without taking it from the app: (body, None), or (None, why
    it could not be read) when it is too long or of unknown length.

    A seekable input (the test client's) is read and rewound; a server's stream with a
    Content-Length is read whole and handed to the app as an in-memory stream of the same
    bytes.
    """
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if stream is None or (length <= 0 and not chunked):
        return None, None
    if chunked or length > MAX_BODY:
        size = "of unknown length" if chunked else f"of {length} bytes"
        return None, f"its body ({size}) was not searched for secrets (limit: {MAX_BODY} bytes)"
    try:
        if _seekable(stream):
            start = stream.tell()
            body = stream.read(length)
            stream.seek(start)
        else:
            body = stream.read(length)
            environ["wsgi.input"] = io.BytesIO(body)
    except Exception as error:  # a broken stream is the app's to meet, not ours
        return None, f"its body could not be read ({type(error).__name__})"
    return (body if isinstance(body, bytes) else None), None


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable())
    except Exception:
        return False


def learn_set_cookie(recorder: Recorder, pairs: Iterable[tuple[str, Any]]) -> None:
    """Cookie values a response sets are secrets of its request."""
    for name, value in pairs:
        if str(name).lower() == "set-cookie":
            recorder.add_secrets(set_cookie_secrets(str(value)))


def environ_detail(environ: dict, recorder: Recorder) -> dict[str, str]:
    """The environ as stored on the request's call step: method, path, query, headers."""
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    detail = {
        "method": recorder.repr(environ.get("REQUEST_METHOD")),
        "path": recorder.repr(wsgi_text(environ.get("PATH_INFO", ""))),
        "query": recorder.repr(environ.get("QUERY_STRING", "")),
    }
    detail.update({f"header {k}": v for k, v in recorder.named(headers).items()})
    return detail


def watched_body(body: Any, environ: dict, recorder: Recorder, record: StepRecord,
                 request_step: int) -> Any:
    """The body an app returned, as the server will iterate and close it: a failure while
    it is sent (a stream breaking off, a `close()` raising) is added to the request's
    record, which has already ended: the client got a broken response, not an `ok`.

    Lists and tuples run no code and a server's `wsgi.file_wrapper` may be recognised by
    its type: those are returned as they are.
    """
    wrapper = environ.get("wsgi.file_wrapper")
    if type(body) in (list, tuple) or (isinstance(wrapper, type) and isinstance(body, wrapper)):
        return body
    return _WatchedBody(body, recorder, record, request_step)


class _WatchedBody:
    """See `watched_body`."""

    __slots__ = ("_body", "_iterator", "_recorder", "_record", "_step", "_sent")

    def __init__(self, body: Any, recorder: Recorder, record: StepRecord, step: int) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._recorder = recorder
        self._record = record
        self._step = step
        self._sent = 0

    def __iter__(self) -> _WatchedBody:
        return self

    def __next__(self) -> bytes:
        try:
            if self._iterator is None:
                self._iterator = iter(self._body)
            chunk = next(self._iterator)
        except StopIteration:
            raise
        except BaseException as error:
            self._failed(error, "while the body was sent")
            raise
        self._sent += len(chunk) if type(chunk) is bytes else 0
        return chunk

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is None:
            return
        try:
            close()
        except BaseException as error:
            self._failed(error, "when the body was closed")
            raise

    def _failed(self, error: BaseException, when: str) -> None:
        recorder = self._recorder
        with recorder.guard():
            shown = recorder.repr(error)
            info = self._record.info
            info["error"] = shown
            info["outcome"] = "error"
            self._record.add(self._step, "note", "response body", None, None,
                             {"exception": shown}, Role.RESPONSE_BODY,
                             {"failed": when, "bytes_sent": self._sent})


def status_code(status: Any) -> int | None:
    """The number of a WSGI status line ("404 NOT FOUND" -> 404)."""
    try:
        return int(str(status).split(None, 1)[0])
    except (ValueError, IndexError):
        return None


def recording_start_response(recorder: Recorder, start_response: Callable,
                             active: Callable[[], bool]) -> Callable:
    """`start_response` as the app sees it: the server's, with each call recorded."""

    @functools.wraps(start_response)
    def start_response_recorded(status: Any, headers: Any, *exc_info: Any) -> Any:
        record = current_request()
        if not active() or record is None:
            return start_response(status, headers, *exc_info)
        step = None
        with recorder.guard():
            pairs = [(str(name), value) for name, value in headers]
            learn_set_cookie(recorder, pairs)
            code = status_code(status)
            facts = {
                "status": code,
                "status_line": recorder.repr(status)[1:-1],
                "headers": [_header_line(recorder, name, value) for name, value in pairs],
                "exc_info": bool(exc_info and exc_info[0]),
            }
            detail = {"status": recorder.repr(status)}
            detail.update({f"header {name}": recorder.named({name: value})[name]
                           for name, value in pairs})
            step = recorder.call(None, detail, name="start_response",
                                 role=Role.START_RESPONSE, facts=facts)
            if code is not None:
                record.info["status"] = code
                location = dict((n.lower(), v) for n, v in pairs).get("location")
                if location and 300 <= code < 400:
                    record.info.setdefault("redirect_to", str(location))
        try:
            write = start_response(status, headers, *exc_info)
        except BaseException as error:
            with recorder.guard():
                recorder.leave(step, error=error)
            raise
        with recorder.guard():
            recorder.leave(step, result=write)
        return write

    return start_response_recorded


def _header_line(recorder: Recorder, name: str, value: Any) -> str:
    """`Name: value` with the value redacted when the name announces a secret."""
    stored = recorder.named({name: value})[name]
    if len(stored) >= 2 and stored[0] == stored[-1] and stored[0] in "'\"":
        stored = stored[1:-1]
    return f"{name}: {stored}"


class WsgiHooks(AdapterHooks):
    """Wraps loaded WSGI callables; patches nothing."""

    name = "wsgi"

    def _install(self) -> None:
        pass

    def wrap(self, app: Callable, framework: str = "wsgi") -> RecordedApp:
        """A WSGI callable that records each request to `app` (labelled `framework`); `app`
        itself when it records already (web.py's `wsgifunc()` hands back a recorded one),
        so the request's first step is the app's WSGI function, not a recorder's."""
        if isinstance(app, RecordedApp) and app.hooks is self:
            return app
        return RecordedApp(self, app, framework)

    def tracing(self) -> ExitStack:
        """Line tracing (when on) and watched-code catching for the app's own code.

        Catching is on even when nothing is watched yet: an adapter may watch the
        endpoint's function in the middle of the request (Werkzeug's, at the match).
        """
        stack = ExitStack()
        if self.lines is not None:
            stack.enter_context(self.lines.tracing())
        stack.enter_context(self.watcher.catching())
        return stack


class RecordedApp:
    """The recording stand-in for one WSGI app (see the module docstring)."""

    def __init__(self, hooks: WsgiHooks, app: Callable, framework: str) -> None:
        self.hooks = hooks
        self.app = app
        self.framework = framework
        self._code = code_of(app) or code_of(inspect.getattr_static(type(app), "__call__", None))
        functools.update_wrapper(self, app, updated=())  # type: ignore[arg-type]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        hooks = self.hooks
        recorder = hooks.recorder
        with recorder.guard():
            recorder.settle_late()  # requests of bodies let go of unclosed
            _file_abandoned()
        if not hooks.active or muted() or current_request() is not None:
            return self.app(environ, start_response)
        handle = step = None
        with recorder.guard():
            handle, info = begin_wsgi_request(recorder, environ, framework=self.framework)
            step = recorder.call(self._code, {**environ_detail(environ, recorder),
                                              **body_detail(handle[0].info)},
                                 name=None if self._code else qualname(self.app),
                                 role=Role.REQUEST, facts={**info, "framework": self.framework})
        if handle is None:
            return self.app(environ, start_response)
        token = _serving.set(self.framework)
        try:
            with hooks.tracing():
                result = self.app(environ, recording_start_response(
                    recorder, start_response, lambda: hooks.active))
        except BaseException as error:
            with recorder.guard():
                recorder.leave(step, error=error)
                handle[0].info.setdefault("error", recorder.repr(error))
                handle[0].info["outcome"] = "error"
            _finish(recorder, handle)
            raise
        finally:
            _serving.reset(token)
        with recorder.guard():
            recorder.leave(step, result=result, facts={"status": handle[0].info.get("status")})
        body_type = _SizedBody if hasattr(type(result), "__len__") else _Body
        body = body_type(self, result, handle)
        _handed_out.set(weakref.ref(body))
        return body


class _Body:
    """The app's body as the server sees it: same chunks, recorded, closed once.

    A caller that never calls `close()` (web.py's own `app.request()`, a test joining the
    chunks) would leave the request record current in its context for good, and every
    later request there would pass through unrecorded. So the request is also filed when
    the body is let go of unclosed (`_file_dropped`), or when the next request comes in
    the same context after the body was read to its end (`_file_abandoned`: a body can
    outlive its request, kept by the values line mode records); the trace then has no
    close step.
    """

    def __init__(self, owner: RecordedApp, iterable: Iterable[bytes], handle: Handle) -> None:
        self._owner = owner
        self._iterable = iterable
        self._iterator: Iterator[bytes] | None = None
        #: the request's handle while it is not filed; shared with the finalizer
        self._pending: list[Handle | None] = [handle]
        self._step: int | None = None
        self._chunks = 0
        self._bytes = 0
        self.exhausted = False
        weakref.finalize(self, _file_dropped, owner.hooks.recorder, self._pending)

    @property
    def _handle(self) -> Handle | None:
        return self._pending[0]

    def __iter__(self) -> _Body:
        return self

    def __next__(self) -> bytes:
        hooks = self._owner.hooks
        recorder = hooks.recorder
        recording = hooks.active and self._handle is not None
        # Iterating a list or tuple runs no app code: nothing to trace or catch.
        runs_code = recording and type(self._iterable) not in (list, tuple)
        token = _serving.set(self._owner.framework)
        try:
            if self._iterator is None:
                if recording:
                    with recorder.guard():
                        self._step = recorder.call(
                            None, None, name="iterate body", role=Role.RESPONSE_BODY,
                            facts={"body_type": qualname(type(self._iterable))})
                with hooks.tracing() if runs_code else ExitStack():
                    self._iterator = iter(self._iterable)
            with hooks.tracing() if runs_code else ExitStack():
                chunk = next(self._iterator)
        except StopIteration:
            self.exhausted = True
            self._end_iteration(exhausted=True)
            raise
        except BaseException as error:
            self._end_iteration(error=error)
            raise
        finally:
            _serving.reset(token)
        self._chunks += 1
        self._bytes += len(chunk) if isinstance(chunk, bytes | bytearray) else 0
        return chunk

    def _end_iteration(self, *, exhausted: bool = False,
                       error: BaseException | None = None) -> None:
        step, self._step = self._step, None
        if step is None:
            return
        recorder = self._owner.hooks.recorder
        with recorder.guard():
            facts = {"chunks": self._chunks, "bytes": self._bytes, "exhausted": exhausted}
            recorder.annotate(step, facts)
            if error is not None:
                recorder.leave(step, error=error, facts=facts)
                if self._handle is not None:
                    self._handle[0].info.setdefault("error", recorder.repr(error))
            else:
                recorder.leave(step, result=None, facts=facts)

    def close(self) -> None:
        """Close the app's body (if it can be closed), then file the request."""
        handle, self._pending[0] = self._pending[0], None
        self._end_iteration()
        close = getattr(self._iterable, "close", None)
        hooks = self._owner.hooks
        recorder = hooks.recorder
        recording = hooks.active and handle is not None
        try:
            if close is None:
                if recording:
                    with recorder.guard():
                        recorder.note(Role.RESPONSE_BODY, "close", {
                            "close": False, "chunks": self._chunks, "bytes": self._bytes})
                return
            step = None
            if recording:
                with recorder.guard():
                    step = recorder.call(code_of(close), None,
                                         name=None if code_of(close) else "close",
                                         role=Role.RESPONSE_BODY, facts={
                                             "close": True, "chunks": self._chunks,
                                             "bytes": self._bytes})
            token = _serving.set(self._owner.framework)
            try:
                with hooks.tracing() if recording else ExitStack():
                    hooks.run_then_leave(step, close)
            finally:
                _serving.reset(token)
        finally:
            if handle is not None:
                _finish(recorder, handle)


class _SizedBody(_Body):
    """A body whose app iterable has a length (a list): servers may read it."""

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]


def _file_dropped(recorder: Recorder, pending: list[Handle | None]) -> None:
    """File the request of a body let go of without `close()` (see `_Body`)."""
    handle, pending[0] = pending[0], None
    if handle is not None:
        settle_outcome(handle[0].info)
        recorder.file_dropped(handle)


def _file_abandoned() -> None:
    """File the request of the last body handed out here, when it was read to its end but
    not closed and its request is still current: a new request in the same context means
    the server has moved on. A body still being read (a streamed response kept open while
    the test sends another request) keeps its request, the new one nests as before."""
    reference = _handed_out.get()
    body = reference() if reference is not None else None
    if body is None:
        return
    handle = body._handle
    if handle is None:
        _handed_out.set(None)
    elif body.exhausted and current_request() is handle[0]:
        _handed_out.set(None)
        _file_dropped(body._owner.hooks.recorder, body._pending)


def _finish(recorder: Recorder, handle: Handle) -> None:
    """Settle the request's outcome and file it."""
    with recorder.guard():
        record: StepRecord = handle[0]
        settle_outcome(record.info)
        recorder.end_request(handle)
