"""Making a million small containers in a row without the cyclic garbage collector.

Each few hundred new lists, tuples or objects start a collection, and the older generations
are scanned again and again as they grow: listing a million-tensor checkpoint spent most of its
time there. The containers made in bulk here (shapes, ``(name, shape)`` pairs, infos) hold no
cycles, so collecting is paused while they are made and resumed after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (unless it is off already), then resume it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
