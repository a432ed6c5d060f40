"""A spinner on stderr while work takes more than a moment, and nothing when stderr is
not a terminal (pipes, CI, tests), so output that is read by programs stays clean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


@contextmanager
def working(message: str) -> Iterator[None]:
    """Show `message` with a spinner on stderr for the duration of the block."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with console.status(message, spinner="dots"):
        yield
