"""Numeric-aware ("natural") ordering of names: ``layer_2`` sorts before ``layer_10``."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported by natural_order only
    import numpy as np

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


_ASCII_DIGITS = re.compile(r"[0-9]+")
_ORDER_CHUNK = 1 << 16  # names checked at once for what the flat key needs


def _flat_run(match: re.Match[str], cache: dict[str, str] = {}) -> str:  # noqa: B006 - a memo
    digits = match.group()
    flat = cache.get(digits)
    if flat is None:
        value = digits.lstrip("0")
        flat = cache[digits] = f"\x00{chr(1 + len(value))}{value}{chr(1 + len(digits))}"
        if len(cache) > 1 << 16:
            cache.clear()
    return flat


def natural_order(names: Sequence[str]) -> np.ndarray:
    """Positions of ``names`` in :func:`natural_key` order (ties in given order), int32.

    Sorting a million names by their key tuples holds ~500 bytes of tuples per name; this
    sorts by one string per name instead, ordered as the tuples are: each run of digits
    becomes ``\\0``, the count of its significant digits, those digits and its full length
    (text parts hold no digit, so a number's ``\\0`` meets a text character or another
    number's ``\\0``). It needs names without ``\\0`` and with ASCII digits only (``\\d``
    also matches other scripts' digits, whose text order is not their value's): otherwise
    the tuples are sorted."""
    import numpy as np

    simple = all(
        _flat_text_ok("".join(names[a : a + _ORDER_CHUNK]))
        for a in range(0, len(names), _ORDER_CHUNK)
    )
    keys: list[Any] | None = None
    if simple:
        try:
            keys = list(map(_ASCII_DIGITS.sub, itertools.repeat(_flat_run), names))
        except ValueError:  # a run of over a million digits: its length is no character
            keys = None
    if keys is None:
        keys = list(map(natural_key, names))
    order = np.fromiter(sorted(range(len(names)), key=keys.__getitem__), np.int32, len(names))
    return order


def _flat_text_ok(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or not any(c.isdigit() for c in text))
