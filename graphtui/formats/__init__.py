"""Bytes <-> protos and arrays: SSTables, tensor bundles, V1 slices, dtypes, checksums, state files.

Nothing here knows about the UI; everything raises :class:`graphtui.errors.FormatError`.
"""
