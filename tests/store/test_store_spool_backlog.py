"""A full backlog makes new requests wait until the writer has caught up a good way, and
wakes them once then, not at every commit: 16 threads woken at each commit only to find
the backlog full again cost the server more than the writes themselves."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tracer.live.spool import Events
from tracer.live.store_spool import MAX_PENDING, MAX_WAIT, RESUME_AT, StoreSpool
from tracer.recorder import Recorder, StepRecord
from tracer.store import Retention


def _spool(tmp_path: Path) -> StoreSpool:
    sink = os.open(os.devnull, os.O_WRONLY)
    spool = StoreSpool(Recorder(), tmp_path, Events(sink), "app", tmp_path / "t.db",
                       Retention(keep=None, max_bytes=None))
    spool.recorder.requests.extend(StepRecord(1) for _ in range(MAX_PENDING))  # full
    return spool


def _waiting_request(spool: StoreSpool) -> threading.Event:
    """A request thread arriving at the full backlog; the event is set once it runs."""
    ran = threading.Event()

    def request() -> None:
        spool.request_started()
        ran.set()

    threading.Thread(target=request, daemon=True).start()
    deadline = time.monotonic() + 5
    while spool._waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert spool._waiting == 1
    return ran


def _commit(spool: StoreSpool, count: int) -> None:
    for _ in range(count):
        with spool._changed:
            spool._done(written=True)


def test_a_request_waits_until_the_backlog_is_down_to_resume_at(tmp_path) -> None:
    spool = _spool(tmp_path)
    ran = _waiting_request(spool)
    _commit(spool, MAX_PENDING - RESUME_AT - 1)
    assert not ran.wait(0.2), "woken while the backlog was still nearly full"
    _commit(spool, 1)
    assert ran.wait(MAX_WAIT / 2)
    assert len(spool.recorder.requests) == RESUME_AT
    spool.writer.close()


def test_a_stop_lets_a_waiting_request_run_at_once(tmp_path) -> None:
    spool = _spool(tmp_path)
    ran = _waiting_request(spool)
    spool.recorder.requests.clear()  # nothing to write: the stop counts, then ends
    started = time.monotonic()
    spool.close(timeout=5)
    assert ran.wait(MAX_WAIT / 2)
    assert time.monotonic() - started < MAX_WAIT / 2
