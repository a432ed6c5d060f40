"""Everything flaskscope knows about Bottle 0.12/0.13 (and copies of it an app ships):
`hooks` records registration and requests; `narrate_registration` and `narrate_request`
tell them in Bottle's words, on the walk of `tracer.frameworks.wsgi`'s narration.

Import rule: Bottle apps are WSGI apps, so this package imports `tracer.frameworks.wsgi`
and no other framework's package, besides the shared modules of `tracer.frameworks` and
tracer's core. Importing it never imports Bottle: an app may bring its own copy.
"""
