"""flaskscope tracer."""
