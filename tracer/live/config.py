"""What a live recording server is set up with, and where it listens.

Plain data and facts about an address: the server process reads them, and so do the
console and the presenters showing its requests.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

#: The server process reads its settings from this variable (JSON of `ServeConfig`).
CONFIG_ENV = "FLASKSCOPE_SERVE"
#: How long a stopping server goes on writing the traces it still holds, by default.
STOP_TIMEOUT = 10.0
#: How long a stopping server may take beyond its `stop_timeout` before it is killed.
STOP_GRACE = 5.0


@dataclass(frozen=True)
class ServeConfig:
    """What the server process needs to know, passed as JSON in `CONFIG_ENV`."""

    app: str
    host: str
    port: int
    spool: str
    events_fd: int
    reload: bool = False
    redact: bool = True
    lines: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    stop_timeout: float = STOP_TIMEOUT
    #: The trace store to write (None: one trace file per request in `spool`).
    store: str | None = None
    keep: int | None = None
    max_bytes: int | None = None


def url_of(host: str, port: int) -> str:
    """The server's address as a URL (an IPv6 host in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
