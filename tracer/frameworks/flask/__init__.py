"""Everything flaskscope knows about Flask, in one package.

- `hooks`: the patches that record registration and requests (`FlaskHooks`);
- `loading`: finding an app the way `flask --app` does, sending it requests, labelling
  several apps made by one import;
- `script_info`: recording the app the `flask` command found (`flask trace`), loaded
  again under the hooks;
- `narrate_registration`, `narrate_request`, `narrate_own_code`, `source_lines`: the
  explain narrative as items (message ids and parameters; `viewer.explain` renders them);
- `quotable`: which lines of Flask's functions hook mode records as they run (those
  `source_lines` quotes), so that the narrative quotes only what ran;
- `checks`: the classic mistakes `flaskscope check` reports;
- `above_route`: decorators written above the route decorator, found on the live app for
  `checks` and for the trace (the request narrative says they did not run).

Import rule: Flask is built on Werkzeug, which is built on WSGI, so this package imports
`tracer.frameworks.werkzeug` and `tracer.frameworks.wsgi` and no other framework's
package, besides the shared modules of `tracer.frameworks` and tracer's core. Importing
the package itself imports nothing; only `hooks`, `loading`, `script_info`, `checks` and
`above_route` import Flask.
"""
