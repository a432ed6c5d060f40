"""An oracle for flaskscope's traces that shares no code with the recorder.

It watches each request the way Flask and Werkzeug themselves show it — Flask's signals,
the status and headers handed to `start_response`, Werkzeug's `MapAdapter` asked directly,
and a `sys.setprofile` function of its own for which functions ran — and then holds every
recorded request to what it saw (`check`). From flaskscope it reads only the finished
`tracer.model.Request`; it never imports the recorder, its hooks or its frameworks.
"""

from __future__ import annotations

from .check import Disagreement, Report, check_requests
from .observe import Observation, Observer

__all__ = ["Disagreement", "Observation", "Observer", "Report", "check_requests"]
