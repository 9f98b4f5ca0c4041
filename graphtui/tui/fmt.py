"""Text formatting shared by the panes: sizes, ages, shapes, numbers."""

from __future__ import annotations

import datetime as _dt
import math
import os
from typing import Any

import numpy as np

from graphtui.core.units import human_bytes as human_bytes  # re-exported for the panes
from graphtui.core.units import human_count as human_count
from graphtui.core.units import shape_text as shape_text
from graphtui.formats.visible import visible


def short_path(path: str) -> str:
    """``path`` relative to the working directory when inside it (never ``.``: the working
    directory itself is named absolutely), else as given."""

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    if rel == ".":
        return os.path.abspath(path)
    return path if rel.startswith("..") else rel


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def time_text(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return _dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return f"{value:.{digits}g}"


def cell_text(value: Any, kind: str, width: int = 10) -> str:
    """One tensor element as grid text of at most ``width`` cells where the value allows
    (``kind`` is the numpy dtype kind, or ``"O"`` for strings)."""
    if kind == "O" or isinstance(value, (bytes, str)):
        if isinstance(value, bytes):
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = repr(value)[2:-1]
            return repr(text)[1:-1] if not text.isprintable() else text
        return str(value)
    if kind == "b":
        return "True" if value else "False"
    if kind in "iu":
        return str(int(value))
    if kind == "c":
        return f"{value.real:.3g}{value.imag:+.3g}j"
    number = float(value)
    for spec in (".5g", ".4g", ".3g", ".2e", ".1e"):
        text = f"{number:{spec}}"
        if len(text) <= width:
            return text
    return text


def cell_width(kind: str) -> int:
    """Grid column width for a dtype kind."""
    return {"b": 6, "c": 18, "O": 16, "i": 12, "u": 12}.get(kind, 11)


def short_value(arr: Any, limit: int = 8) -> str:
    """A small array (Const values, variable previews) as one readable line."""
    if not isinstance(arr, np.ndarray):
        return str(arr)
    with np.printoptions(threshold=limit, edgeitems=3, precision=4, linewidth=10_000):
        text = np.array2string(arr, separator=", ")
    return " ".join(text.split())


def fit_name(name: str, width: int) -> str:
    """``name`` (control characters escaped) cut to ``width`` cells from the left (the end of a
    name says the most)."""
    name = visible(name)
    if len(name) <= width:
        return name
    return "…" + name[-(max(1, width - 1)) :]


def name_width(names: list[str], available: int, others: int, minimum: int = 24) -> int:
    """Width of a name column: the longest name, or what is left beside the other columns."""
    longest = max((len(visible(n)) for n in names), default=minimum)
    return max(4, min(longest, max(minimum, available - others)))
