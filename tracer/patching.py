"""Replace attributes and put back the identical originals.

Every patch flaskscope makes goes through a `PatchSet`, so `uninstall()` restores each
attribute to the very object it replaced (`is`), including classmethods and attributes
that were absent before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_ABSENT = object()


@dataclass
class _Patch:
    owner: Any
    attr: str
    original: Any  # the raw descriptor from owner.__dict__, or _ABSENT


class PatchSet:
    """Patches applied together and undone together, in reverse order."""

    def __init__(self) -> None:
        self._patches: list[_Patch] = []

    def __bool__(self) -> bool:
        return bool(self._patches)

    def replace(self, owner: Any, attr: str, make: Callable[[Any], Any]) -> None:
        """Set `owner.attr` to `make(current value)`, keeping the raw original to restore.

        For a classmethod or staticmethod, `make` receives and returns the underlying
        function and the descriptor type is kept, so the patched attribute behaves alike.
        """
        raw = vars(owner).get(attr, _ABSENT) if isinstance(owner, type) else _instance_raw(
            owner, attr
        )
        current = getattr(owner, attr) if raw is _ABSENT else raw
        if isinstance(raw, classmethod | staticmethod):
            replacement: Any = type(raw)(make(raw.__func__))
        else:
            replacement = make(current)
        setattr(owner, attr, replacement)
        self._patches.append(_Patch(owner, attr, raw))

    def restore(self) -> None:
        """Undo every patch, newest first."""
        while self._patches:
            patch = self._patches.pop()
            if patch.original is _ABSENT:
                try:
                    delattr(patch.owner, patch.attr)
                except AttributeError:
                    pass
            else:
                setattr(patch.owner, patch.attr, patch.original)


def _instance_raw(owner: Any, attr: str) -> Any:
    """A module global or an instance attribute stored on the object itself."""
    namespace = getattr(owner, "__dict__", {})
    return namespace.get(attr, _ABSENT)
