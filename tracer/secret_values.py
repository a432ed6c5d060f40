"""Secrets known by value: found in a request or an app, hidden wherever they reappear.

Hiding values that follow secret-looking names (`tracer.saferepr`) misses a secret held
under an innocent name: the Authorization header's token in Werkzeug's local `v`, a
cookie value in `cv`, a form password in `value`, a view returning it in a greeting. So
the recorder also learns each secret's value — from the request's headers, cookies,
query, body and view arguments, and from the app's config — and replaces every
occurrence of it, whole or inside a longer string, in any letter case, in the forms it
takes in reprs, URLs, JSON and HTML.

What cannot be caught: a secret transformed beyond recognition (hashed, encrypted, split,
re-encoded other than as listed in `_forms`), a secret of fewer than `MIN_LENGTH`
characters, and secrets of a request body larger than `MAX_BODY` (the trace then says
`redacted: false` and names the request in `meta.redaction_gaps`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import re
from collections.abc import Iterable, Mapping
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from tracer.saferepr import REDACTED, is_secret_name

#: Shorter values are too common to hide everywhere ("1", "on", "GET").
MIN_LENGTH = 3
#: Values up to this long are hidden only as whole words, not inside longer words.
_WORD_LENGTH = 7
#: Request bodies up to this size are read for secrets (and kept for the trace).
MAX_BODY = 1 << 20

_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization")
_BODY_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Secrets:
    """A set of secret values and a function that hides them in text."""

    __slots__ = ("values", "_forms", "_pattern", "_shortest", "_seen")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: set[str] = set()
        self._forms: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self._shortest = 0
        #: Texts already scrubbed, and their result: a request repeats the same reprs.
        self._seen: dict[str, str] = {}
        self.add(values)

    def __bool__(self) -> bool:
        return bool(self.values)

    def add(self, values: Iterable[Any]) -> None:
        """Learn more secret values (too short ones and non-strings are ignored)."""
        new = {value for value in values
               if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH
               and value not in self.values and value != REDACTED}
        if new:
            self.values |= new
            self._pattern = None
            self._seen = {}

    def merged(self, other: Secrets | None) -> Secrets:
        """These secrets and `other`'s, as a new set."""
        if not other:
            return self
        return Secrets(self.values | other.values)

    def scrub(self, text: str) -> str:
        """`text` with every form of every secret replaced by `***`, in any letter case."""
        if not self.values or type(text) is not str:
            return text
        if self._pattern is None:
            self._compile()
        if len(text) < self._shortest:
            return text
        known = self._seen.get(text)
        if known is not None:
            return known
        lowered = text.lower()
        for form in self._forms:  # substring tests are cheap; most texts hold none
            if form in lowered:
                assert self._pattern is not None
                result = self._pattern.sub(REDACTED, text)
                break
        else:
            result = text
        if len(self._seen) < _SEEN_LIMIT:
            self._seen[text] = result
        return result

    def _compile(self) -> None:
        key = frozenset(self.values)
        compiled = _compiled.get(key)
        if compiled is None:
            forms = {form for value in self.values for form in _forms(value)}
            ordered = sorted(forms, key=len, reverse=True)  # the longest form wins an overlap
            alternatives = [re.escape(form) if len(form) > _WORD_LENGTH
                            else rf"(?<![A-Za-z0-9_]){re.escape(form)}(?![A-Za-z0-9_])"
                            for form in ordered]
            pattern = re.compile("|".join(alternatives), re.IGNORECASE)
            compiled = (tuple(ordered), pattern)
            if len(_compiled) >= _COMPILED_LIMIT:
                _compiled.clear()
            _compiled[key] = compiled  # requests of one client carry the same secrets
        self._forms, self._pattern = compiled
        self._shortest = len(self._forms[-1]) if self._forms else 0


_SEEN_LIMIT = 4096
_COMPILED_LIMIT = 256
_compiled: dict[frozenset[str], tuple[tuple[str, ...], re.Pattern[str]]] = {}


def _forms(value: str) -> frozenset[str]:
    """The texts a secret appears as (lower case): itself, inside a str or bytes repr,
    URL- and JSON-encoded, HTML-escaped, and as WSGI's latin-1 reading of its UTF-8 bytes."""
    known = _known_forms.get(value)
    if known is not None:
        return known
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1], quote(value, safe=""),
             quote_plus(value, safe=""), quote(value), html.escape(value)}
    encoded = value.encode("utf-8", "surrogateescape")
    forms.add(repr(encoded)[2:-1])
    forms.add(encoded.decode("latin-1"))
    known = frozenset(form.lower() for form in forms if len(form) >= MIN_LENGTH)
    if len(_known_forms) < _SEEN_LIMIT:  # the same cookie and token come back each request
        _known_forms[value] = known
    return known


_known_forms: dict[str, frozenset[str]] = {}


# -- the secrets a request carries ----------------------------------------------------------

def environ_secrets(environ: Mapping[str, Any], body: bytes | None) -> set[str]:
    """Secret values in a WSGI environ: credentials, secret-named headers, cookies,
    secret-named query and body fields."""
    found: set[str] = set()
    for key, value in environ.items():
        if not key.startswith("HTTP_") or not isinstance(value, str):
            continue
        name = key[5:].replace("_", "-").lower()
        if name in _CREDENTIAL_HEADERS:
            found |= credential_secrets(value)
        elif name == "cookie":
            found |= cookie_secrets(value)
        elif is_secret_name(name):
            found.add(value)
    query = str(environ.get("QUERY_STRING") or "")
    if query:  # most requests have none, and parsing nothing still costs a few calls
        found |= _field_secrets(parse_qsl(query, keep_blank_values=True))
    if body:
        found |= body_secrets(body, str(environ.get("CONTENT_TYPE") or ""))
    return found


def credential_secrets(value: str) -> set[str]:
    """An Authorization header's value, its credentials, and Basic's user:password and
    password decoded."""
    found = {value}
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if credentials:
        found.add(credentials)
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return found
        found.add(decoded)
        found.add(decoded.partition(":")[2])
    return found


#: A cookie under a name that says nothing is taken for a secret from this length on: any
#: cookie may be a session, and session ids and tokens are long. A short one is a setting
#: (`theme=dark`, `consent=true`), and hiding it everywhere hid every "True" in a trace.
COOKIE_SECRET_LENGTH = 8


def cookie_secret(name: str, value: str) -> bool:
    """Whether a cookie's value is taken for a secret."""
    return is_secret_name(name) or len(value) >= COOKIE_SECRET_LENGTH


def cookie_secrets(header: str) -> set[str]:
    """The cookie values of a Cookie header that `cookie_secret` takes for secrets."""
    found = set()
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        value = value.strip().strip('"')
        if sep and cookie_secret(name.strip(), value):
            found.add(value)
    return found


def set_cookie_secrets(header: str) -> set[str]:
    """The value a Set-Cookie header sets, when `cookie_secret` takes it for a secret."""
    try:
        cookie = SimpleCookie()
        cookie.load(header)
    except CookieError:
        cookie = None
    if cookie:
        return {morsel.value for name, morsel in cookie.items()
                if cookie_secret(name, morsel.value)}
    name, _, rest = header.partition("=")
    value = rest.partition(";")[0].strip().strip('"')
    return {value} if cookie_secret(name.strip(), value) else set()


def body_secrets(body: bytes, content_type: str) -> set[str]:
    """Secret-named fields of a form, multipart or JSON body."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/x-www-form-urlencoded":
            return _field_secrets(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        if kind == "multipart/form-data":
            return _multipart_secrets(body, content_type)
        if kind == "application/json" or kind.endswith("+json"):
            return json_secrets(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return set()
    return set()


def json_secrets(value: Any, depth: int = 0) -> set[str]:
    """Values under secret-looking keys anywhere in a JSON document (bounded depth)."""
    found: set[str] = set()
    if depth > 20:
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(key):
                found |= _leaf_texts(item)
            else:
                found |= json_secrets(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:1000]:
            found |= json_secrets(item, depth + 1)
    return found


def _leaf_texts(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {str(value)}
    if isinstance(value, dict | list):
        return {json.dumps(value)}
    return set()


def _field_secrets(pairs: Iterable[tuple[str, str]]) -> set[str]:
    return {value for name, value in pairs if is_secret_name(name)}


def _multipart_secrets(body: bytes, content_type: str) -> set[str]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    found = set()
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and is_secret_name(name):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.add(payload.decode("utf-8", "replace"))
    return found


#: Words that make a config key's value the secret itself wherever they stand
#: (`SECRET_KEY_BASE`, `MAIL_PASSWORD_FILE` is hidden too: better too much than too little),
#: and words that do so only last (`JWT_SECRET_KEY`, `TWILIO_AUTH_TOKEN`). Other keys with a
#: secret-looking word hold a setting about one: `SESSION_COOKIE_NAME` is "session" in every
#: Flask app, Flask-WTF's `WTF_CSRF_HEADERS` and Flask-JWT-Extended's `JWT_TOKEN_LOCATION`
#: list header names and places, which are no secrets to hide wherever they appear.
_SECRET_CONFIG_WORDS = frozenset({
    "secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase", "salt",
})
_SECRET_CONFIG_ENDINGS = frozenset({"key", "keys", "token", "tokens", "fallbacks",
                                    "credentials"})
_KEY_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z0-9]+(?![a-z])")


def is_secret_config_key(key: object) -> bool:
    """Whether a config key names a secret value, not a setting about one."""
    if type(key) is str:  # remembered: a live server asks about every key for every trace
        return _remembered_secret_config_key(key)
    return isinstance(key, str) and _secret_config_key(key)


def _secret_config_key(key: str) -> bool:
    return key == "SECRET_KEY" or (is_secret_name(key) and _secret_config_words(key))


_remembered_secret_config_key = functools.lru_cache(maxsize=4096)(_secret_config_key)


def _secret_config_words(key: str) -> bool:
    words = [word.lower() for word in _KEY_WORDS.findall(key)]
    return bool(words) and (words[-1] in _SECRET_CONFIG_ENDINGS
                            or not _SECRET_CONFIG_WORDS.isdisjoint(words))


def url_password(text: str) -> str | None:
    """The password of a URL that carries credentials (`postgresql://app:pw@db/app`),
    decoded; None for any other text."""
    if "://" not in text or "@" not in text:
        return None
    try:
        password = urlsplit(text.strip()).password
    except ValueError:
        return None
    return unquote(password) if password else None


def config_secrets(config: Mapping[str, Any]) -> set[str]:
    """`SECRET_KEY`, every string (or bytes) config value under a key naming a secret
    (`is_secret_config_key`), and the password of every URL with credentials."""
    found: set[str] = set()
    try:
        items = list(config.items())
    except Exception:
        return found
    for key, value in items:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and (password := url_password(value)):
            found.add(password)  # a database or broker URL, under any name
        if not is_secret_config_key(key):
            continue
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list | tuple):  # SECRET_KEY_FALLBACKS
            found |= {v if isinstance(v, str) else v.decode("latin-1") for v in value
                      if isinstance(v, str | bytes)}
    return found
