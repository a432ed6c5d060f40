"""Find the Django app a module stands for, the three ways a Django app is written:

- a settings module (`ROOT_URLCONF` among its upper-case names, settings not configured
  otherwise): it becomes `DJANGO_SETTINGS_MODULE`, then `django.setup()`;
- a `wsgi` module: its `application = get_wsgi_application()` is the app (the generic
  discovery finds it; nothing to do here);
- a single file that calls `settings.configure(ROOT_URLCONF=__name__, ...)` and defines
  `urlpatterns`: the handler it defines, else one made for it.

Each is answered with a `WSGIHandler`, Django's own WSGI app.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Any

from tracer.errors import AppLoadError
from tracer.frameworks.django import support

_ENV = "DJANGO_SETTINGS_MODULE"


def app_in(module: ModuleType) -> tuple[str, Any] | None:
    """(name, WSGI handler) of the Django app `module` is, or None when it is none.

    Raises:
        AppLoadError: Django cannot be hooked in the installed version, or refuses the
            app's settings.
    """
    namespace = vars(module)
    settings_module = isinstance(namespace.get("ROOT_URLCONF"), str) and not _configured()
    single_file = "urlpatterns" in namespace and _root_urlconf() == module.__name__
    if not (settings_module or single_file):
        return None
    refused = support.unsupported()
    if refused is not None:
        raise AppLoadError(refused)
    try:
        if settings_module:
            os.environ[_ENV] = module.__name__
        import django
        from django.core.handlers.wsgi import WSGIHandler

        django.setup(set_prefix=False)
        for name, value in namespace.items():
            if isinstance(value, WSGIHandler):
                return name, value
        return "application", WSGIHandler()
    except AppLoadError:
        raise
    except Exception as error:
        raise AppLoadError(f"Django could not set up {module.__name__!r}: "
                           f"{type(error).__name__}: {error}") from None


def _configured() -> bool:
    conf = sys.modules.get("django.conf")
    return conf is not None and conf.settings.configured


def _root_urlconf() -> str | None:
    if not _configured():
        return None
    return getattr(sys.modules["django.conf"].settings, "ROOT_URLCONF", None)
