"""Widgets of the graphtui app, one pane per module."""
