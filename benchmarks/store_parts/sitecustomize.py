"""Loaded by the server of `benchmarks/store_parts.py` (on its PYTHONPATH): takes a part
of `serve --store`'s writer away, as `FLASKSCOPE_BENCH_PART` says, to measure what it
costs. `record`: requests are recorded, then let go unfrozen and unstored; `freeze`: they
are frozen as for storing, then let go unstored. Benchmarks only; never installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from typing import Any

PART = os.environ.get("FLASKSCOPE_BENCH_PART", "")
MODULE = "tracer.live.store_spool"


def _take_away(module: Any) -> None:
    spool = module.StoreSpool
    for name in ("_write_batch", "_write", "_done"):  # renamed: this must not measure quietly
        if not hasattr(spool, name):
            raise RuntimeError(f"store_parts: StoreSpool.{name} is gone; update {__file__}")
    if PART == "record":
        def write_batch(self: Any, batch: list[Any]) -> None:
            with self._changed:
                for _ in batch:
                    self._done(written=True)

        spool._write_batch = write_batch
    elif PART == "freeze":
        def write(self: Any, trace: Any, request: Any) -> None:
            with self._changed:
                self._done(written=True)

        spool._write = write


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds the spool's module as the path finder does, and patches it once loaded."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            _take_away(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if PART in ("record", "freeze"):
    sys.meta_path.insert(0, _AfterImport())
