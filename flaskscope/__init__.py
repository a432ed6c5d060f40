"""The command line and the integrations: the `flaskscope` commands (`cli`), the `flask`
subcommands (`flask_commands`), the pytest plugin (`pytest_plugin`) and `serve`.

Every module here is thin: it parses options, calls the API (`tracer`: record, load,
save; a framework's narration or checks) and hands the result to a presenter (`viewer`).
Nothing in `tracer` or `viewer` imports this package.
"""
