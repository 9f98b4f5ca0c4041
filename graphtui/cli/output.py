"""What the CLI prints: data on stdout (plain lines, aligned tables, JSON with leaves on one
line). The only place outside the app that writes to the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from graphtui.formats.visible import visible


def out(text: str = "") -> None:
    """One or more lines of text output; names in them cannot reach the terminal as escapes."""
    sys.stdout.write("\n".join(visible(line) for line in text.split("\n")) + "\n")


def err(text: str) -> None:
    """One diagnostic line on stderr (``graphtui: error: ...``), control characters escaped."""
    sys.stderr.write(visible(text) + "\n")


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data) + "\n")


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


def json_text(value: Any, level: int = 0) -> str:
    """Indented JSON with each leaf (a tensor's row, a list of numbers) on one line.

    ``json.dumps(indent=...)`` runs the pure-Python encoder and takes longer than reading a
    2,000-tensor checkpoint; leaves go through the C encoder instead.
    """
    if _is_leaf(value) or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(str(k))}: {json_text(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    items = [pad + json_text(v, level + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"


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
