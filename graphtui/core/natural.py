"""Numeric-aware ("natural") ordering of names: ``layer_2`` sorts before ``layer_10``."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"(\d+)")

# A key is a tuple alternating text and (number, digit count) pairs; text parts come first, so
# tuples of different names always compare element by element with matching types.
NaturalKey = tuple[object, ...]


def natural_key(s: str) -> NaturalKey:
    """Sort key comparing runs of digits as numbers and the rest case-sensitively as text.

    ``natural_key("layer_2") < natural_key("layer_10")``. Equal numbers with different zero
    padding (``x01`` vs ``x1``) are ordered by digit count, so the order is total and stable.
    """
    parts = _DIGITS.split(s)
    key: list[object] = []
    for i, part in enumerate(parts):
        if i % 2:
            key.append((int(part), len(part)))
        else:
            key.append(part)
    return tuple(key)


def natural_sorted(items: Iterable[str]) -> list[str]:
    """``items`` sorted by :func:`natural_key`."""
    return sorted(items, key=natural_key)
