"""The Textual terminal UI: step through a recorded trace, forwards and backwards, on the
real source (see viewer/README.md). `app.ViewerApp` receives a loaded `Trace`."""
