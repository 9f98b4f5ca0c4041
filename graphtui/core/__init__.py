"""The domain: graph model, checkpoints and their history, restore / rename / strip / export.

Never imports Textual.
"""
