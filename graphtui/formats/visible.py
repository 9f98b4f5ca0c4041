"""Names as text that is safe to show: every character a terminal would act on is escaped.

Tensor, node, scope and file names come from the files we read, so they may hold ESC, CSI or OSC
sequences (retitle or clear the terminal), newlines (fake output lines), bidi overrides, or the
surrogate escapes that stand for bytes that are not UTF-8 (unprintable on a UTF-8 stream). Every
text output of the CLI and the app shows them through :func:`visible` (``\\x1b``, ``\\n``,
``\\u202e``, and ``\\xff`` for a non-UTF-8 byte); ``--json`` output is escaped by JSON itself.
"""

from __future__ import annotations


def visible(text: str) -> str:
    """``text`` with every unprintable character escaped; printable text comes back as is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


__all__ = ["visible"]
