"""Everything flaskscope knows about Werkzeug: `hooks` (the URL map, `Request.application`,
requests beneath any framework built on it) and `nomatch` (why a path matched no rule,
asked of Werkzeug rule by rule).

Import rule: Werkzeug apps are WSGI apps, so this package imports `tracer.frameworks.wsgi`
and no other framework's package, besides the shared modules of `tracer.frameworks` and
tracer's core. Its requests are told by `tracer.frameworks.wsgi`'s narration, in
Werkzeug's words.
"""
