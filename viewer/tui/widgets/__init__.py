"""The viewer's panes, one widget per module; each renders only its visible rows."""
