"""Bounded input: a trace file never inflates past its caps, in one line or in all.

The gzip bombs here are made as many small gzip members of one repeated compressed
block (a valid gzip file: members follow each other), so half a gigabyte of inflated
data costs half a megabyte on disk and no time to make; the caps are lowered through
the environment, so each load stops after a few megabytes.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from flaskscope_testing import record_fixture

import tracer
from tracer import TraceFileError
from tracer.tracefile import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_TRACE_BYTES,
    MAX_LINE_BYTES_ENV,
    MAX_TRACE_BYTES_ENV,
    dumps,
    limits,
    loads,
)

DATA = Path(__file__).parent / "data"
MiB = 1 << 20
#: What each bomb inflates to: far more than any cap the tests set, and than the bound
#: on the memory a load may take.
INFLATED = 512 * MiB
#: Peak resident memory a command may reach while refusing a bomb (it needs about 50 MB).
MEMORY_BOUND = 150 * MiB


def _bomb(path: Path, block: bytes, head: bytes = b"") -> Path:
    """`head`, then `block` repeated until the file inflates to `INFLATED` bytes."""
    member = gzip.compress(block, compresslevel=9, mtime=0)
    with path.open("wb") as out:
        if head:
            out.write(gzip.compress(head, mtime=0))
        for _ in range(INFLATED // len(block)):
            out.write(member)
    return path


@pytest.fixture(scope="module")
def one_line_bomb(tmp_path_factory) -> Path:
    """A single line of 512 MiB: one huge JSON string, never finished."""
    return _bomb(tmp_path_factory.mktemp("bombs") / "line.json.gz", b"a" * MiB, b'"')


@pytest.fixture(scope="module")
def many_lines_bomb(tmp_path_factory) -> Path:
    """A real header, then 512 MiB of 1 KiB lines."""
    header = dumps(record_fixture("seed_views", "GET /index").trace).split(b"\n", 1)[0]
    return _bomb(tmp_path_factory.mktemp("bombs") / "lines.json.gz",
                 (b"x" * 1023 + b"\n") * 1024, header + b"\n")


#: Runs the command line as the `flaskscope` script does, then writes the peak resident
#: memory of this process (`VmHWM`: since its exec, unlike `ru_maxrss`, which starts from
#: the forking test process's own peak) to the file named by `argv[1]`.
_MEASURED = """
import atexit, sys
from pathlib import Path

REPORT = Path(sys.argv[1])


def peak():
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    REPORT.write_text(kib)


atexit.register(peak)
sys.argv = ["flaskscope", *sys.argv[2:]]
from flaskscope.cli import main
main()
"""


def _run_measured(args: list[str], tmp_path: Path, **env: str) -> tuple[int, str, int]:
    """Run `flaskscope ARGS`; its exit status, its stderr and its peak resident memory in
    bytes."""
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc (Linux)")
    report = tmp_path / "peak.txt"
    result = subprocess.run([sys.executable, "-c", _MEASURED, str(report), *args],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            env={**os.environ, **env}, cwd=tmp_path, timeout=120)
    return result.returncode, result.stderr, int(report.read_text()) * 1024


@pytest.mark.parametrize("command", ["view", "explain"])
def test_a_one_line_gzip_bomb_stops_at_the_line_cap(command, one_line_bomb, tmp_path) -> None:
    status, stderr, peak = _run_measured([command, str(one_line_bomb)], tmp_path,
                                         **{MAX_LINE_BYTES_ENV: "8M"})
    assert status == 2
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"flaskscope: error: {one_line_bomb}: line 1 is longer than 8 MiB")
    assert f"set {MAX_LINE_BYTES_ENV} higher" in stderr
    assert peak < MEMORY_BOUND, f"{peak / MiB:.0f} MiB for a file of {INFLATED / MiB:.0f} MiB"


def test_a_many_lines_gzip_bomb_stops_at_the_total_cap(many_lines_bomb, tmp_path) -> None:
    status, stderr, peak = _run_measured(["view", str(many_lines_bomb)], tmp_path,
                                         **{MAX_TRACE_BYTES_ENV: "16MiB"})
    assert status == 2
    assert stderr.count("\n") == 1, stderr
    assert "the trace inflates to more than 16 MiB of JSON, the cap on a whole trace" in stderr
    assert f"set {MAX_TRACE_BYTES_ENV} higher" in stderr
    assert peak < MEMORY_BOUND, f"{peak / MiB:.0f} MiB for a file of {INFLATED / MiB:.0f} MiB"


@pytest.mark.parametrize("lazy", [True, False])
def test_loading_in_process_takes_memory_within_the_caps(lazy, many_lines_bomb,
                                                         one_line_bomb) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TraceFileError, match="the cap on a whole trace"):
            tracer.load(many_lines_bomb, lazy=lazy, max_bytes=16 * MiB)
        with pytest.raises(TraceFileError, match="line 1 is longer than 4 MiB"):
            tracer.load(one_line_bomb, lazy=lazy, max_line_bytes=4 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 * MiB


def test_gzip_given_as_bytes_is_inflated_within_the_caps_too(one_line_bomb) -> None:
    with pytest.raises(TraceFileError, match="line 1 is longer than 1 MiB"):
        loads(one_line_bomb.read_bytes(), max_line_bytes=MiB)


@pytest.fixture(scope="module")
def saved() -> bytes:
    return dumps(record_fixture("seed_views", "GET /index", "HEAD /index").trace)


def test_the_caps_are_exact(saved) -> None:
    longest = max(len(line) for line in saved.split(b"\n"))
    assert loads(saved, max_bytes=len(saved), max_line_bytes=longest).requests
    with pytest.raises(TraceFileError, match=r"line \d+ is longer than"):
        loads(saved, max_line_bytes=longest - 1)
    with pytest.raises(TraceFileError, match="the trace holds more than"):
        loads(saved, max_bytes=len(saved) - 1)
    compressed = gzip.compress(saved)
    assert loads(compressed, max_bytes=len(saved)).requests
    with pytest.raises(TraceFileError, match="the trace inflates to more than"):
        loads(compressed, max_bytes=len(saved) - 1)


def test_lazy_loading_is_capped_like_loading(saved) -> None:
    longest = max(len(line) for line in saved.split(b"\n"))
    assert loads(saved, lazy=True, max_line_bytes=longest).requests[0].steps[0]
    with pytest.raises(TraceFileError, match="longer than"):
        loads(saved, lazy=True, max_line_bytes=longest - 1)


def test_caps_come_from_arguments_then_the_environment_then_defaults(monkeypatch) -> None:
    monkeypatch.delenv(MAX_TRACE_BYTES_ENV, raising=False)
    monkeypatch.delenv(MAX_LINE_BYTES_ENV, raising=False)
    assert limits() == (DEFAULT_MAX_TRACE_BYTES, DEFAULT_MAX_LINE_BYTES) == (1 << 30, 256 * MiB)
    for text, expected in [("2G", 2 << 30), ("64MiB", 64 * MiB), (" 1000 ", 1000),
                           ("512k", 512 << 10), ("300MB", 300 * MiB)]:
        monkeypatch.setenv(MAX_TRACE_BYTES_ENV, text)
        assert limits().total == expected
    monkeypatch.setenv(MAX_LINE_BYTES_ENV, "5M")
    assert limits(max_bytes=7) == (7, 5 * MiB)
    assert limits(max_line_bytes=9).line == 9


@pytest.mark.parametrize("text", ["lots", "-5", "0", "1.5G", "12 potatoes", "1T"])
def test_a_bad_cap_in_the_environment_is_one_clear_line(text, monkeypatch, saved) -> None:
    monkeypatch.setenv(MAX_LINE_BYTES_ENV, text)
    with pytest.raises(TraceFileError) as info:
        loads(saved)
    assert str(info.value) == (f"{MAX_LINE_BYTES_ENV} must be a number of bytes such as "
                               f"500000000 or 512M, not {text!r}")


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "10"])
def test_a_bad_cap_argument_is_refused(value, saved) -> None:
    with pytest.raises(TraceFileError, match="positive number of bytes"):
        loads(saved, max_bytes=value)


def test_version_1_and_2_documents_are_capped_whole() -> None:
    for version in (1, 2):
        one_line = (DATA / f"trace-v{version}.json").read_bytes()
        with pytest.raises(TraceFileError, match="line 1 is longer than 1000 bytes"):
            loads(one_line, max_line_bytes=1000)
        # Spread over many short lines, it is still parsed at once: the cap holds for all.
        spread = json.dumps(json.loads(one_line), indent=1).encode()
        assert max(map(len, spread.split(b"\n"))) < 1000 < len(spread)
        assert loads(spread).requests[0].method == "HEAD"
        with pytest.raises(TraceFileError, match=r"read as one JSON document \(as trace "
                                                 r"versions 1 and 2 are\), the file is longer "
                                                 "than 1000 bytes"):
            loads(spread, max_line_bytes=1000)
        with pytest.raises(TraceFileError, match="one JSON document"):
            loads(gzip.compress(spread), max_line_bytes=len(spread) - 1)
        assert loads(gzip.compress(spread), max_line_bytes=len(spread)).requests


def _message(document: dict) -> str:
    with pytest.raises(TraceFileError) as info:
        loads(json.dumps(document).encode() + b"\n")
    return str(info.value)


@pytest.mark.parametrize("size", [100, 5 * MiB])
def test_messages_quote_file_values_briefly_and_escaped(size, saved) -> None:
    header = json.loads(saved.split(b"\n", 1)[0])
    huge = "\x1b]0;x" + "y" * size
    for document in [{**header, "format": huge}, {**header, "version": [huge] * 10},
                     {**header, huge: 1}, {**header, "meta": {**header["meta"], huge: [1]},
                                           "routes": huge}]:
        message = _message(document)
        assert len(message) < 400 and "\n" not in message and "\x1b" not in message, message
    assert "(format is '\\x1b]0;xyyyy" in _message({**header, "format": huge})
    assert "additional property '\\x1b]0;xyy" in _message({**header, huge: 1})
