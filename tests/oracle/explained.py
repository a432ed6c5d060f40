"""`flaskscope explain --source --format json` of a recording, held to what `oracle.ran`
saw when the same app and requests were replayed without flaskscope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from flaskscope.cli import cli
from oracle.ran import Phase, disagreements
from tracer.model import Trace
from tracer.tracefile import save

LANGS = ("en", "zh")
#: What this session checked, for the closing note (printed by tests/conftest.py).
TOTALS = {"recordings": 0, "requests": 0, "quoted lines": 0, "call sentences": 0,
          "disagreements": 0}


def explained(trace_file: Path, lang: str) -> dict:
    """The JSON document of the explain command, as a user gets it."""
    result = CliRunner().invoke(cli, ["explain", str(trace_file), "--source", "--format",
                                      "json", "--lang", lang])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def explain_disagreements(trace: Trace, replayed: Mapping[str, Phase], directory: Path
                          ) -> list[str]:
    """What explain says of `trace`, in every language, that the replay contradicts.

    `replayed` labels its phases "registration" and "request N", N counting the requests
    in the order they were sent; the trace's requests are matched to them in id order.
    """
    sent = sorted(request.id for request in trace.requests)
    phases = {("registration" if label == "registration"
               else f"request {sent[int(label.split()[1])]}"): phase
              for label, phase in replayed.items()
              if label == "registration" or int(label.split()[1]) < len(sent)}
    trace_file = save(trace, directory / "trace.jsonl")
    wrong: list[str] = []
    for lang in LANGS:
        found, quoted, told = disagreements(explained(trace_file, lang), phases)
        wrong += [f"[{lang}] {line}" for line in found]
        TOTALS["quoted lines"] += quoted
        TOTALS["call sentences"] += told
    TOTALS["recordings"] += 1
    TOTALS["requests"] += len(sent)
    TOTALS["disagreements"] += len(wrong)
    return wrong
