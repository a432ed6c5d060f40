"""The server sends the events of a written batch in one write, and any other thread's
events at once: a write per request, each letting go of the interpreter lock, cost
`serve --store` a sixth of its throughput under load."""

from __future__ import annotations

import json
import os
import select
import threading

from tracer.live.spool import Events


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0.05)[0])


def test_events_of_a_held_block_go_in_one_write_at_its_end() -> None:
    read_fd, write_fd = os.pipe()
    events = Events(write_fd)
    try:
        with events.holding():
            for n in range(3):
                events.send("request", id=n)
            other = threading.Thread(target=events.send, args=("problem",),
                                     kwargs={"message": "from a request thread"})
            other.start()
            other.join()
            assert _readable(read_fd)  # another thread's event is not held
            assert b'"problem"' in os.read(read_fd, 65536)
            assert not _readable(read_fd)
        lines = os.read(read_fd, 65536).decode().splitlines()
        assert [json.loads(line) for line in lines] == [
            {"event": "request", "id": n} for n in range(3)]
        events.send("stopped")  # not held once the block is over
        assert b'"stopped"' in os.read(read_fd, 65536)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_block_that_raises_still_sends_what_it_held() -> None:
    read_fd, write_fd = os.pipe()
    events = Events(write_fd)
    try:
        try:
            with events.holding():
                events.send("request", id=7)
                raise RuntimeError("a failed batch")
        except RuntimeError:
            pass
        assert json.loads(os.read(read_fd, 65536)) == {"event": "request", "id": 7}
    finally:
        os.close(read_fd)
        os.close(write_fd)
