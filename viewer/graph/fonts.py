"""Whether a rendered graph can show its Chinese, Japanese or Korean text.

`dot` draws PNG and PDF with the fonts fontconfig knows on this machine; without a CJK font
those characters come out as empty boxes ("tofu"), silently. SVG leaves fonts to whoever
opens it and DOT text has none, so only PNG and PDF are at risk. `style.FONT` lists CJK
families so one is picked when installed; this module says when none is.
"""

from __future__ import annotations

import re
import shutil
import subprocess

#: The Debian/Ubuntu package with the fonts `style.FONT` asks for.
CJK_FONT_PACKAGE = "fonts-noto-cjk"
#: Formats `dot` draws with the machine's fonts.
RASTER_FORMATS = frozenset({"png", "pdf"})

_CJK = re.compile(
    "[\u2e80-\u9fff"  # radicals, CJK punctuation, kana, bopomofo, ideographs (ext. A too)
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # compatibility ideographs
    "\uff00-\uffef"  # full-width forms
    "\U00020000-\U0003ffff]"  # ideographs, extensions B and later
)
#: A tooltip: only SVG shows it, so its text never needs a font in PNG or PDF.
_TOOLTIP = re.compile(r'\btooltip="(?:[^"\\]|\\.)*"')


def has_cjk(text: str) -> bool:
    """Whether `text` holds a character only a CJK font draws."""
    return _CJK.search(text) is not None


def cjk_font_installed() -> bool:
    """Whether fontconfig knows a font covering Chinese (`fc-list :lang=zh family`).

    No `fc-list` counts as no: then nothing tells which fonts `dot` can use.
    """
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True,
                               text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.stdout.strip())


def missing_font_warning(source: str, fmt: str | None) -> str | None:
    """One line saying the `.fmt` file will show CJK labels as boxes, or None when fine.

    Args:
        source: The graph's DOT text.
        fmt: The output format (None for DOT text).
    """
    if fmt not in RASTER_FORMATS or not has_cjk(_TOOLTIP.sub("", source)):
        return None
    if cjk_font_installed():
        return None
    return (f"the graph has Chinese/Japanese/Korean text but this machine has no CJK font "
            f"(`fc-list :lang=zh` lists none), so the .{fmt} shows it as empty boxes; install "
            f"one (Debian/Ubuntu: apt-get install {CJK_FONT_PACKAGE}) or write a .svg")
