"""The message catalogs: complete, compiled from what is committed, and only data."""

from __future__ import annotations

import gettext
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tracer.frameworks.narration.items import Message
from tracer.frameworks.narration.narrative import explain
from viewer.explain import i18n
from viewer.explain.render import plain

REPO = Path(__file__).resolve().parents[2]
LOCALE = REPO / "viewer" / "explain" / "locale"
PO = LOCALE / "zh" / "LC_MESSAGES" / "flaskscope.po"
MO = LOCALE / "zh" / "LC_MESSAGES" / "flaskscope.mo"


def _code_ids() -> set[str]:
    """Every message id marked in the code, found the way `pybabel extract -F babel.cfg` does."""
    with open(REPO / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        message for _, _, message, _, _ in extract_from_dir(str(REPO), method_map, options_map)
        if isinstance(message, str)
    }


def _po() -> dict[str, str]:
    with open(PO, "rb") as handle:
        catalog = read_po(handle)
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are not used"
    return {m.id: m.string for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_in_the_code_has_a_chinese_translation() -> None:
    ids = _code_ids()
    translations = _po()
    assert len(ids) > 100
    untranslated = sorted(i for i in ids if not translations.get(i))
    assert not untranslated
    stale = sorted(set(translations) - ids)
    assert not stale, "the .po holds messages the code no longer uses"


def test_translations_keep_every_placeholder() -> None:
    wrong = {msgid: _fields(msgid) ^ _fields(text) for msgid, text in _po().items()
             if _fields(msgid) != _fields(text)}
    assert not wrong


def test_committed_mo_matches_the_po() -> None:
    with open(MO, "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    assert catalog == _po()


def test_template_lists_the_code_messages() -> None:
    with open(LOCALE / "flaskscope.pot", "rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == _code_ids()


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(i18n.LanguageError, match="'xx'.*use one of en, zh"):
        i18n.sentence(Message("Registration of {app}", {"app": "a"}), "xx")


def test_a_third_language_is_only_a_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    from explain_helpers import recorded

    fake = tmp_path / "xx" / "LC_MESSAGES"
    fake.mkdir(parents=True)
    shutil.copy(MO, fake / "flaskscope.mo")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translator.cache_clear()
    try:
        assert i18n.languages() == ["en", "xx"]
        trace, _ = recorded("seed_routes", "GET", "/about")
        text = plain(explain(trace), "xx")
        assert "`_endpoint_from_view_func(about)`，它返回的就是 `view_func.__name__`" in text
    finally:
        i18n.translator.cache_clear()


def test_lists_use_the_language_separator() -> None:
    message = Message("`methods` was given: {given}.", {"given": ["GET", "POST"]})
    assert i18n.sentence(message, "en") == "`methods` was given: GET, POST."
    assert i18n.sentence(message, "zh") == "传入了 `methods`：GET、POST。"
