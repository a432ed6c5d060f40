"""Adapters installed the moment their framework is imported, not before.

Patching a framework means importing it. For Flask and Werkzeug that costs nothing the
app would not pay anyway, but a Flask app recorded in an environment that also has Django
would get 200 Django modules it never imports (asyncio and 20 more with Tornado), 0.1–0.2 s
more at every start, and a `sys.modules` that is not its own. So the adapters that allow
it (`Adapter.deferred`) wait: the file loaders' `exec_module` is wrapped, and when the
framework's package has run, before the statement importing it returns, its adapter is
installed. Nothing of the framework can have been used by then, so the patches see
everything the eager install would have seen.

A framework imported by a loader that is not wrapped (a frozen or custom importer) is
caught up by `install_imported`, which loading an app calls.
"""

from __future__ import annotations

import functools
import importlib.machinery
import sys
import threading
import zipimport
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tracer.patching import PatchSet

if TYPE_CHECKING:
    from tracer.frameworks import Adapter
    from tracer.recorder import Recorder

#: The loaders whose `exec_module` runs every module imported from a file or a zip.
_FILE_LOADERS = (importlib.machinery.SourceFileLoader,
                 importlib.machinery.SourcelessFileLoader, zipimport.zipimporter)


def after_each_module(patches: PatchSet, ran: Callable[[Any], None]) -> None:
    """Call `ran(module)` each time a file loader has run a module, before the statement
    importing it returns (the patches go in `patches`)."""
    def wrapping(original: Callable) -> Callable:
        @functools.wraps(original)
        def exec_module(loader: Any, module: Any) -> Any:
            result = original(loader, module)
            ran(module)
            return result

        return exec_module

    for loader in _FILE_LOADERS:
        patches.replace(loader, "exec_module", wrapping)


class PendingInstalls:
    """The deferred adapters of one installation, each waiting for its framework.

    Listed among the installed hooks (`Hooks`), where it was installed, so uninstalling
    restores the loaders in order with the Bottle adapter's own `exec_module` patch.
    """

    def __init__(self, waiting: list[Adapter], install: Callable[[Adapter], None],
                 recorder: Recorder) -> None:
        #: requirement (the framework's package) -> its adapter
        self._waiting = {adapter.requirement: adapter for adapter in waiting
                         if adapter.requirement is not None}
        self._install_adapter = install
        self._recorder = recorder
        self._lock = threading.RLock()  # installing imports, which comes back here
        self.patches = PatchSet()
        self.active = False

    def install(self) -> None:
        if self.active:
            return
        self.active = True
        after_each_module(self.patches, self._module_ran)

    def uninstall(self) -> None:
        self.active = False
        with self._lock:
            self._waiting.clear()
        self.patches.restore()

    def waiting(self) -> list[str]:
        """The names of the adapters still waiting for their framework."""
        with self._lock:
            return [adapter.name for adapter in self._waiting.values()]

    def module_ran(self, name: str | None) -> None:
        """Install the adapter waiting for module `name`, which has just run."""
        if name not in self._waiting:  # checked again under the lock
            return
        with self._lock:
            adapter = self._waiting.pop(name, None) if self.active else None
            if adapter is not None:
                with self._recorder.guard():  # a failure is counted, never the app's
                    self._install_adapter(adapter)

    def install_imported(self) -> None:
        """Install every waiting adapter whose framework is imported by now."""
        for name in list(self._waiting):
            module = sys.modules.get(name)
            spec = getattr(module, "__spec__", None)
            if module is not None and not getattr(spec, "_initializing", False):
                self.module_ran(name)

    def _module_ran(self, module: Any) -> None:
        if self.active:
            # The name it was imported under: a module may rebind its `__name__`.
            name = getattr(getattr(module, "__spec__", None), "name", None)
            if type(name) is str:
                self.module_ran(name)
