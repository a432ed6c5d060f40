"""What every framework's narration is made of, and how a trace's narrative is put
together (see README.md).

`items` (numbered items of message ids and parameters), `steps` (reading a step list),
`findings` (a check's result), `apps` (which app a step belongs to) and `narrative`
(sections from the narrators the registry names for the trace's framework). Nothing here
renders text: `viewer.explain` does.

Import rule: tracer's model only, plus the registry (`tracer.frameworks`) to find a
framework's narrators by name.
"""
