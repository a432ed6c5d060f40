"""Everything flaskscope knows about Flask, in one package.

- `hooks`: the patches that record registration and requests (`FlaskHooks`);
- `loading`: finding an app the way `flask --app` does, sending it requests, labelling
  several apps made by one import;
- `script_info`: recording the app the `flask` command found (`flask trace`), loaded
  again under the hooks;
- `narrate_registration`, `narrate_request`, `narrate_own_code`, `source_lines`: the
  explain narrative as items (message ids and parameters; `viewer.explain` renders them);
- `checks`: the classic mistakes `flaskscope check` reports.

Import rule: Flask is built on Werkzeug, which is built on WSGI, so this package imports
`tracer.frameworks.werkzeug` and `tracer.frameworks.wsgi` and no other framework's
package, besides the shared modules of `tracer.frameworks` and tracer's core. Importing
the package itself imports nothing; only `hooks`, `loading`, `script_info` and `checks`
import Flask.
"""
