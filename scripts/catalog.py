"""Keep explain's message catalog in step with the code, without rewrapping the .po.

    python scripts/catalog.py extract        # refresh the .pot from the sources
    python scripts/catalog.py add NEW.json   # {msgid: Chinese}: append, drop stale, compile

`pybabel update` would rewrap every entry of the hand-kept Chinese catalog; this keeps the
.po as it is, drops the entries whose msgid left the .pot, appends the new ones, reports the
msgids still untranslated, and compiles the .mo.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "viewer/explain/locale"
POT = LOCALE / "flaskscope.pot"
PO = LOCALE / "zh/LC_MESSAGES/flaskscope.po"
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unescape(text: str) -> str:
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _msgid(block: str) -> str | None:
    """The msgid of one .po block (None for the header and comments)."""
    match = re.search(r'^msgid ((?:".*"\n?)+)', block, flags=re.M)
    if not match:
        return None
    return _unescape("".join(_STRING.findall(match[1])))


def _blocks(text: str) -> list[str]:
    return [block for block in text.strip("\n").split("\n\n") if block.strip()]


def extract() -> None:
    subprocess.run([*PYBABEL, "extract", "-F", str(ROOT / "babel.cfg"), "--no-location",
                    "--sort-output", "-o", str(POT), str(ROOT)], check=True, cwd=ROOT)


def add(new_path: Path) -> None:
    wanted = {_msgid(block) for block in _blocks(POT.read_text("utf-8"))} - {None, ""}
    new: dict[str, str] = json.loads(new_path.read_text("utf-8"))
    kept, have = [], set()
    for block in _blocks(PO.read_text("utf-8")):
        msgid = _msgid(block)
        if msgid is None or msgid == "" or (msgid in wanted and msgid not in new):
            kept.append(block)
            have.add(msgid)
    for msgid, msgstr in new.items():
        if msgid not in wanted:
            print(f"not in the .pot, skipped: {msgid[:80]}")
            continue
        flag = "#, python-brace-format\n" if re.search(r"\{\w*\}", msgid) else ""
        kept.append(f'{flag}msgid "{_escape(msgid)}"\nmsgstr "{_escape(msgstr)}"')
        have.add(msgid)
    PO.write_text("\n\n".join(kept) + "\n", "utf-8")
    for msgid in sorted(wanted - have):
        print(f"untranslated: {msgid[:100]}")
    subprocess.run([*PYBABEL, "compile", "-d", str(LOCALE), "-D", "flaskscope"], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["extract"]:
        extract()
    elif sys.argv[1:2] == ["add"] and len(sys.argv) == 3:
        add(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
