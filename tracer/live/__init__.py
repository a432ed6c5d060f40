"""Recording a live server: each finished request stored while it serves.

Two processes, like Werkzeug's own reloader:

- The **server** (a child process, `tracer.frameworks.werkzeug.serving`) installs the
  recorder, imports the app under it and serves it with Werkzeug's dev server on a socket
  the parent opened. After each response is closed, a spool thread (`spool.Spool`) takes
  the finished requests from the recorder, writes each as a trace file of its own (the
  registration, the routes and that one request) and tells the parent through a pipe, one
  JSON line per event. A trace that cannot be written is reported and the next one
  written; when the server stops, it writes what is pending for up to `stop_timeout`
  seconds and reports how many traces it wrote and dropped. With reloading on, Werkzeug's
  reloader runs *in that process*: on a code change it exits with status 3 and the parent
  starts a new server, which installs the recorder again before importing the app.
- The **supervisor** (`server.Server`, in the parent) owns the socket and the pipe: it
  starts the server again after a reload and hands each event to whoever presents them.

- `config`: what the server is set up with and where it listens (plain data, read by both
  sides and by presenters);
- `spool`: the server's side: trace files, their names, the events pipe;
- `store_spool`: the same side writing rows of a trace store (`tracer.store`) instead, with
  the backlog of unwritten requests bounded;
- `server`: the parent's side: starting, restarting and stopping the server process.

Import rule: this is capture, so it imports neither `viewer`, `flaskscope`, rich, textual
nor click, and (as tracer's core) no framework: what needs Werkzeug's dev server lives in
`tracer.frameworks.werkzeug.serving`.
"""
