"""Everything flaskscope knows about Werkzeug: `hooks` (the URL map, `Request.application`,
requests beneath any framework built on it), `nomatch` (why a path matched no rule,
asked of Werkzeug rule by rule), `narrate_registration`/`narrate_request` (its words,
also for a plain WSGI app that routes or answers with Werkzeug's parts) and `serving`
(its dev server serving any app under the recorder: the server process of `tracer.live`).

Import rule: Werkzeug apps are WSGI apps, so this package imports `tracer.frameworks.wsgi`
and no other framework's package, besides the shared modules of `tracer.frameworks` and
tracer's core.
"""
