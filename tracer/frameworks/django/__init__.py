"""Everything flaskscope knows about Django (4.2 to 6.x, tested on 4.2, 5.2 and 6.1):
`hooks` records the URL tree (`path()`, `re_path()`, `include()`, `View.as_view()`) and
how a request goes through the middleware chain, `URLResolver.resolve` and
`View.dispatch`; `loading` finds the app in a settings module, a `wsgi` module or a
single file that configures settings itself; `state` saves and restores Django's
process-wide state around a recording; `narrate_registration` and `narrate_request` tell
it in Django's words, on the walk of `tracer.frameworks.wsgi`'s narration.

Import rule: Django apps are WSGI apps, so this package imports `tracer.frameworks.wsgi`
and no other framework's package, besides the shared modules of `tracer.frameworks` and
tracer's core. Importing it never imports Django.
"""
