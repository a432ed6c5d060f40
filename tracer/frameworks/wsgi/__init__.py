"""The bare WSGI exchange (PEP 3333), which every framework here is built on: `hooks`
records the call, `start_response`, the body and its `close()` around any callable;
`narrate_registration` and `narrate_request` tell apps that are not Flask's (plain WSGI,
Werkzeug, Bottle) in their own words, chosen by `trace.meta["framework"]`.

Import rule: no other framework's package; the shared modules of `tracer.frameworks` and
tracer's core only.
"""
