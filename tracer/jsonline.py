"""One JSON document per line, as every file and pipe of flaskscope writes them."""

from __future__ import annotations

import json
from typing import Any

import orjson


def json_line(document: dict[str, Any]) -> bytes:
    """One document as a line of compact UTF-8 JSON.

    orjson writes the same bytes as the standard library's compact form, ten times as
    fast (a live server encodes every request it records, and reports each to its
    console); what it refuses (an integer past 64 bits, a key that is not a string) the
    standard library writes as before.
    """
    try:
        return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
