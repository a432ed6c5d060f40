"""Django keeps its configuration in process-wide state: the settings object, the apps
registry, the URL resolver caches, the script prefix and the caches built from settings.
A recording that loads a Django app changes all of them; `DjangoState` puts them back
when the recording ends, so one process (a test session) can load several Django apps
one after another, each with its own settings and `ROOT_URLCONF`.

Django's model classes stay registered (`apps.all_models`): they live as long as the
modules that define them, which stay imported.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_ENV = "DJANGO_SETTINGS_MODULE"
#: The apps registry's attributes that `django.setup()` fills in.
_APPS_FIELDS = ("app_configs", "apps_ready", "models_ready", "ready", "loading")


class DjangoState:
    """A snapshot of Django's process-wide state, taken when made, put back by `restore`."""

    def __init__(self) -> None:
        self.environ = os.environ.get(_ENV)
        self.taken = "django.conf" in sys.modules
        if not self.taken:
            return  # Django not imported yet: restoring means un-configuring it
        from django.apps import apps
        from django.conf import settings
        from django.urls import base

        self.wrapped = settings._wrapped
        # `populate()` fills `app_configs` in place: the snapshot keeps a copy.
        self.apps = {name: _copied(getattr(apps, name)) for name in _APPS_FIELDS}
        self.prefix = getattr(base._prefixes, "value", None)
        self.urlconf = getattr(base._urlconfs, "value", None)

    def restore(self) -> None:
        """Put the snapshot back and drop every cache built from the settings since."""
        if self.environ is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = self.environ
        if "django.conf" not in sys.modules:
            return
        from django.apps import apps
        from django.conf import settings
        from django.urls import base
        from django.utils.functional import empty

        before = self.wrapped if self.taken else empty
        ready_before = self.apps["ready"] if self.taken else False
        if settings._wrapped is before and apps.ready == ready_before:
            return  # nothing was configured meanwhile: the caches are the right ones
        if settings._wrapped is not empty:
            _close_connections()
        settings._wrapped = self.wrapped if self.taken else empty
        saved = self.apps if self.taken else {
            "app_configs": {}, "apps_ready": False, "models_ready": False, "ready": False,
            "loading": False}
        for name, value in saved.items():
            setattr(apps, name, _copied(value))
        if not apps.ready:
            apps.ready_event.clear()
        apps.clear_cache()
        base.clear_url_caches()
        _set_local(base._prefixes, self.prefix if self.taken else None)
        _set_local(base._urlconfs, self.urlconf if self.taken else None)
        _drop_setting_caches()


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _set_local(local: Any, value: Any) -> None:
    if value is None:
        if hasattr(local, "value"):
            del local.value
    else:
        local.value = value


def _drop_setting_caches() -> None:
    """What Django's own `setting_changed` receivers reset (`django.test.signals`), for the
    settings an app's configuration sets: translations, templates, caches, connections."""
    from asgiref.local import Local

    modules = sys.modules
    trans_real: Any = modules.get("django.utils.translation.trans_real")
    if trans_real is not None:
        trans_real._translations = {}
        trans_real._default = None
        trans_real._active = Local()
    translation = modules.get("django.utils.translation")
    if translation is not None:
        vars(translation._trans).clear()
    template = modules.get("django.template")
    if template is not None:
        template.engines._templates = None
        template.engines._engines = {}
        vars(template.engines).pop("templates", None)
    cache = modules.get("django.core.cache")
    if cache is not None:
        vars(cache.caches).pop("settings", None)
        cache.caches._connections = Local(cache.caches.thread_critical)
    db = modules.get("django.db")
    if db is not None:
        vars(db.connections).pop("settings", None)
        db.connections._connections = Local(db.connections.thread_critical)


def _close_connections() -> None:
    """Close the database connections the settings being left behind opened."""
    db = sys.modules.get("django.db")
    if db is not None:
        db.connections.close_all()
