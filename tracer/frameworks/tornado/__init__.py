"""Everything flaskscope knows about Tornado 6: `hooks` records the handler list turned into
rules and how a request finds its handler (`find_handler`, `_execute`, the method found by
name, `prepare`, `on_finish`, `write_error`); `routes` reads what a rule is from Tornado's
objects; `driving` sends an app requests in-process, over a socket pair on an IOLoop of
flaskscope's own (Tornado is no WSGI framework); `support` says which versions are
recorded; `narrate_registration` and `narrate_request` tell it in Tornado's words.

Import rule: Tornado is built on nothing flaskscope knows, so this package imports no other
framework's package, only the shared modules of `tracer.frameworks` and tracer's core.
Importing it never imports Tornado.
"""
