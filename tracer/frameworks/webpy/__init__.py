"""Everything flaskscope knows about web.py: `hooks` records its URL mapping and how a
request finds the class that handles it (the reflection `getattr(cls(), method)`, HEAD
falling back to GET); `narrate_registration` and `narrate_request` tell them in web.py's
words, on the walk of `tracer.frameworks.wsgi`'s narration.

Import rule: web.py apps are WSGI apps, so this package imports `tracer.frameworks.wsgi`
and no other framework's package, besides the shared modules of `tracer.frameworks` and
tracer's core. Importing it never imports web.py.
"""
