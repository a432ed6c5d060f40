"""Everything flaskscope knows about Bottle 0.12/0.13 (and copies of it an app ships):
`hooks` records registration and requests. Its requests are told by
`tracer.frameworks.wsgi`'s narration, in Bottle's words.

Import rule: Bottle apps are WSGI apps, so this package imports `tracer.frameworks.wsgi`
and no other framework's package, besides the shared modules of `tracer.frameworks` and
tracer's core. Importing it never imports Bottle: an app may bring its own copy.
"""
