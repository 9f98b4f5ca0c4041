"""Modal screens: help, error dialog, export dialog."""
