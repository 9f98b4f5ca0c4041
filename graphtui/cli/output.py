"""What the CLI prints: data on stdout (plain lines, aligned tables, JSON with leaves on one
line). The only place outside the app that writes to the terminal."""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

from graphtui.formats.visible import visible

if TYPE_CHECKING:
    import numpy as np


def out(text: str = "") -> None:
    """One or more lines of text output; names in them cannot reach the terminal as escapes."""
    sys.stdout.write("\n".join(visible(line) for line in text.split("\n")) + "\n")


def err(text: str) -> None:
    """One diagnostic line on stderr (``graphtui: error: ...``), control characters escaped."""
    sys.stderr.write(visible(text) + "\n")


def print_json(data: Any) -> None:
    """``data`` as indented JSON, written a part at a time (a million rows are never one
    string)."""
    write = sys.stdout.write
    for part in _json_parts(data, 0):
        write(part)
    write("\n")


_SCALARS = (str, int, float, bool, type(None))


def _is_leaf(value: Any) -> bool:
    """A scalar, a list of scalars, or a dict of those: printed on one line."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list):
        return all(isinstance(v, _SCALARS) for v in value)
    if isinstance(value, dict):
        return all(
            isinstance(v, _SCALARS)
            or (isinstance(v, list) and all(isinstance(x, _SCALARS) for x in v))
            for v in value.values()
        )
    return False


class EncodedRows:
    """A JSON list whose items are encoded already, one line each: ``rows(start, stop)`` gives
    items ``start`` to ``stop``. A million tensors' rows are put together from a few distinct
    parts by the caller, a batch at a time, not encoded one by one."""

    def __init__(self, count: int, rows: Callable[[int, int], Iterable[str]]) -> None:
        self.count = count
        self.rows = rows


_ROWS_PER_WRITE = 1 << 16


def _json_parts(value: Any, level: int) -> Iterator[str]:
    """Indented JSON with each leaf (a tensor's row, a list of numbers) on one line, in parts.

    ``json.dumps(indent=...)`` runs the pure-Python encoder and takes longer than reading a
    2,000-tensor checkpoint; leaves go through the C encoder instead.
    """
    if isinstance(value, EncodedRows):
        if not value.count:
            yield "[]"
            return
        pad = "  " * (level + 1)
        yield "[\n"
        for at in range(0, value.count, _ROWS_PER_WRITE):
            rows = value.rows(at, min(at + _ROWS_PER_WRITE, value.count))
            yield (",\n" if at else "") + ",\n".join(map(pad.__add__, rows))
        yield "\n" + "  " * level + "]"
        return
    if _is_leaf(value) or not isinstance(value, (dict, list)) or not value:
        yield json.dumps(value)
        return
    pad = "  " * (level + 1)
    items: Iterable[tuple[str, Any]] = (
        ((f"{pad}{json.dumps(str(k))}: ", v) for k, v in value.items())
        if isinstance(value, dict)
        else ((pad, v) for v in value)
    )
    yield "{\n" if isinstance(value, dict) else "[\n"
    for i, (head, item) in enumerate(items):
        yield (",\n" + head) if i else head
        yield from _json_parts(item, level + 1)
    yield "\n" + "  " * level + ("}" if isinstance(value, dict) else "]")


def table(rows: Sequence[Sequence[str]], align_right: set[int] | None = None) -> None:
    if not rows:
        return
    align_right = align_right or set()
    rows = [[visible(cell) for cell in row] for row in rows]  # a name's newline stays in its cell
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in align_right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out("  ".join(cells).rstrip())


def keyed_table(
    header: Sequence[str],
    keys: list[str],
    kinds: Sequence[Sequence[str]],
    codes: np.ndarray,
    align_right: set[int] | None = None,
) -> None:
    """:func:`table` of rows ``[keys[i], *kinds[codes[i]]]``, written at once.

    The columns after the first repeat (a million tensors have a few dtypes and shapes): each
    kind's cells are aligned once, and the rows are joined by C loops, not Python per row.
    """
    import numpy as np

    align_right = align_right or set()
    if not "".join(keys).isprintable():  # one pass over every name (a newline is not)
        keys = [visible(k) for k in keys]
    header = [visible(cell) for cell in header]
    kinds = [[visible(cell) for cell in kind] for kind in kinds]
    widths = [max(len(header[0]), max(map(len, keys), default=0))] + [
        max(len(header[i]), max((len(k[i - 1]) for k in kinds), default=0))
        for i in range(1, len(header))
    ]

    def tail(cells: Sequence[str]) -> str:
        return "".join(
            "  " + (cell.rjust(widths[i]) if i in align_right else cell.ljust(widths[i]))
            for i, cell in enumerate(cells, start=1)
        ).rstrip()

    first = header[0].rjust(widths[0]) if 0 in align_right else header[0].ljust(widths[0])
    sys.stdout.write((first + tail(header[1:])).rstrip() + "\n")
    just = str.rjust if 0 in align_right else str.ljust
    tails = np.array([tail(kind) for kind in kinds] or [""], dtype=object)
    for at in range(0, len(keys), _ROWS_PER_WRITE):
        chunk = keys[at : at + _ROWS_PER_WRITE]
        lines = map(
            operator.add, map(just, chunk, repeat(widths[0])), tails[codes[at : at + len(chunk)]]
        )
        if len(header) == 1:
            lines = map(str.rstrip, lines)
        sys.stdout.write("\n".join(lines) + "\n")
