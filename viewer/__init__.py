"""flaskscope viewer."""
