"""The forms a secret takes, and what is not hidden."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.secret_values import (
    Secrets,
    body_secrets,
    config_secrets,
    cookie_secrets,
    credential_secrets,
    environ_secrets,
    is_secret_config_key,
    set_cookie_secrets,
)


def test_every_form_of_a_secret_is_hidden() -> None:
    secret = "s3cr3t pa$s'é"
    scrub = Secrets([secret]).scrub
    texts = [
        secret,
        repr(secret),
        repr(secret.encode()),
        "q=s3cr3t+pa%24s%27%C3%A9",  # as a form or query field
        '{"pwd": "s3cr3t pa$s\'\\u00e9"}',  # as JSON
        "s3cr3t pa$s&#x27;é",  # HTML-escaped
        secret.upper(),
    ]
    for text in texts:
        assert "s3cr3t" not in scrub(text).lower(), text


def test_a_short_secret_is_hidden_only_as_a_whole_word() -> None:
    scrub = Secrets(["dev"]).scrub
    assert scrub("SECRET_KEY='dev'") == "SECRET_KEY='***'"
    assert scrub("development") == "development"


def test_too_short_values_are_not_secrets() -> None:
    assert not Secrets(["ab", "  ", ""])


def test_basic_credentials_are_decoded() -> None:
    header = "Basic " + base64.b64encode(b"alice:hunter22").decode()
    found = credential_secrets(header)
    assert {"alice:hunter22", "hunter22", header} <= found


def test_what_a_request_carries() -> None:
    environ = {
        "HTTP_X_API_KEY": "key-1234",
        "HTTP_COOKIE": "a=cookie-1; b=\"cookie-2\"",
        "HTTP_USER_AGENT": "curl/8",
        "QUERY_STRING": "q=plain&access_token=tok-99",
        "CONTENT_TYPE": "application/json",
    }
    found = environ_secrets(environ, b'{"user": {"password": "pw-77"}, "n": 1}')
    assert found == {"key-1234", "cookie-1", "cookie-2", "tok-99", "pw-77"}


def test_multipart_and_form_bodies() -> None:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"pwd\"\r\n\r\npw-multi\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n--b--\r\n")
    assert body_secrets(body, "multipart/form-data; boundary=b") == {"pw-multi"}
    assert body_secrets(b"user=bob&passwd=pw%20x", "application/x-www-form-urlencoded") == {
        "pw x"}
    assert body_secrets(b"{not json", "application/json") == set()


def test_config_and_set_cookie() -> None:
    assert config_secrets({"SECRET_KEY": b"raw-key", "DEBUG": True, "MAIL_PASSWORD": "mpw-1",
                           "SECRET_KEY_FALLBACKS": ["old-key"]}) == {
        "raw-key", "mpw-1", "old-key"}
    assert set_cookie_secrets("session=abc.def.ghi; HttpOnly; Path=/") == {"abc.def.ghi"}


def test_config_settings_about_secrets_are_no_secrets() -> None:
    """A key holds a secret when a word of it names secret material (SECRET, PASSWORD,
    SALT) or its last word does (KEY, TOKEN): the others are settings about a secret (a
    cookie's name and domain, a header's name, where a token is looked for)."""
    config = {"SESSION_COOKIE_NAME": "session", "SESSION_COOKIE_DOMAIN": "shop.test",
              "WTF_CSRF_HEADERS": ["X-CSRFToken"], "WTF_CSRF_FIELD_NAME": "csrf_token",
              "REMEMBER_COOKIE_NAME": "remember_token", "API_KEY_HEADER": "X-Api-Key",
              "JWT_TOKEN_LOCATION": ["headers", "cookies"], "SESSION_KEY_PREFIX": "sess:",
              "JWT_SECRET_KEY": "jwt-key-1", "GITHUB_CLIENT_SECRET": "gh-secret-1",
              "SECURITY_PASSWORD_SALT": "salt-1", "TWILIO_AUTH_TOKEN": "tw-token-1",
              "apiKey": "camel-key-1", "db-password": "db-pw-1",
              "SECRET_KEY_BASE": "base-1", "MAIL_PASSWORD_FILE": "/run/secrets/mail"}
    assert config_secrets(config) == {"jwt-key-1", "gh-secret-1", "salt-1", "tw-token-1",
                                      "camel-key-1", "db-pw-1", "base-1",
                                      "/run/secrets/mail"}


class _Key(str):
    """A key of a str subclass: answered without the memo of plain str keys."""


_CONFIG_KEYS = st.lists(st.sampled_from(["SECRET", "KEY", "TOKEN", "SESSION", "COOKIE", "NAME",
                                         "PASSWORD", "SALT", "api", "Key", "csrf", "db", "1"]),
                        max_size=4).map("_".join) | st.text(max_size=30)


@settings(max_examples=300, deadline=None)
@given(_CONFIG_KEYS)
def test_a_remembered_config_key_is_answered_as_a_new_one(key: str) -> None:
    """Plain str keys are remembered (a live server asks about every key for every trace):
    the second answer, and the one for the same text in a str subclass, never differ."""
    first = is_secret_config_key(key)
    assert is_secret_config_key(key) == first == is_secret_config_key(_Key(key))


def test_the_password_of_a_url_in_config_is_a_secret_under_any_name() -> None:
    config = {"SQLALCHEMY_DATABASE_URI": "postgresql://app:p%40ss-w0rd@db/app",
              "SESSION_REDIS_URL": "redis://:r3dis-pw@cache:6379/0",
              "CELERY_BROKER_URL": b"amqp://guest:gu3st-pw@mq//",
              "HOMEPAGE": "https://example.test/@me", "MIRROR": "https://user@host/"}
    assert config_secrets(config) == {"p@ss-w0rd", "r3dis-pw", "gu3st-pw"}


def test_short_cookies_under_innocent_names_are_settings() -> None:
    """Session ids and tokens are long; `theme=dark` and `consent=true` are settings, and
    hiding "true" everywhere hid every True in a trace. A secret-looking name still hides
    any value."""
    assert cookie_secrets("consent=true; theme=dark; sid=8f14e45fceea167a; session=ab12") == {
        "8f14e45fceea167a", "ab12"}
    assert set_cookie_secrets("theme=dark; Path=/") == set()
    assert set_cookie_secrets("remember_token=1|x; Path=/") == {"1|x"}
    assert set_cookie_secrets("tracker=0123456789; Path=/") == {"0123456789"}
