"""Write a message in a language: gettext catalogs beside this module, English as msgid.

A language is a directory ``locale/<lang>/LC_MESSAGES/flaskscope.mo``; adding one needs no
code. List values are joined with the language's own separator, which is a message too.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Any

from tracer.errors import FlaskscopeError
from tracer.frameworks.narration.items import N_, Item, Message

DOMAIN = "flaskscope"
LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE_LANGUAGE = "en"


class LanguageError(FlaskscopeError):
    """A language was asked for that has no catalog."""


def languages() -> list[str]:
    """English (the message ids) and every language with a compiled catalog."""
    found = sorted(
        entry.name for entry in LOCALE_DIR.iterdir()
        if (entry / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()
    ) if LOCALE_DIR.is_dir() else []
    return [SOURCE_LANGUAGE, *found]


@cache
def translator(lang: str) -> gettext.NullTranslations:
    """The translations for `lang`; English needs none."""
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    if lang not in languages():
        raise LanguageError(
            f"no message catalog for language {lang!r}; use one of {', '.join(languages())}"
        )
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])


def sentence(message: Message, lang: str) -> str:
    """One message written in `lang`."""
    return _written(message, translator(lang))


def text(item: Item, lang: str) -> str:
    """All sentences of an item, joined the way `lang` joins sentences."""
    tr = translator(lang)
    written = [sentence(message, lang) for message in item.messages]
    if not written:
        return ""
    joined = written[0]
    join = tr.gettext(N_("{sentence} {next}"))
    for following in written[1:]:
        joined = join.format(sentence=joined, next=following)
    return joined


def _written(message: Message, tr: gettext.NullTranslations) -> str:
    values = {key: _value(value, tr) for key, value in message.params.items()}
    return tr.gettext(message.msgid).format(**values)


def _value(value: Any, tr: gettext.NullTranslations) -> str:
    """A parameter as text: a list joined, a phrase (a `Message`) written in the language."""
    if isinstance(value, list | tuple):
        return tr.gettext(N_(", ")).join(_value(v, tr) for v in value)
    if isinstance(value, Message):
        return _written(value, tr)
    return str(value)
