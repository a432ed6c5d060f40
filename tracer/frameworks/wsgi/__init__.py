"""The bare WSGI exchange (PEP 3333), which every framework here is built on: `hooks`
records the call, `start_response`, the body and its `close()` around any callable;
`narrate_registration` and `narrate_request` hold the walk every framework built on WSGI
extends with its own words, and tell a plain WSGI app.

Import rule: no other framework's package; the shared modules of `tracer.frameworks` and
tracer's core only.
"""
