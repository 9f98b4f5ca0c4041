"""Bytes done, told to whoever watches: the byte loops of reads and writes (copying a tensor,
summing its checksum, writing a file) call :func:`expect` with what they are about to do and
:func:`advance` as they do it.

Nobody watches unless a caller set a :class:`Meter` with :func:`metered` (the CLI's progress
bar does): then each call is one context-variable lookup, so the loops need no extra argument
and the cost without a watcher is nil. Every loop that advances expects its total first, so a
watcher's total is always the work begun, whatever mix of reads and writes a command does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol


class Meter(Protocol):
    def expect(self, nbytes: int) -> None:
        """``nbytes`` more work is coming."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` of it are done."""


_METER: ContextVar[Meter | None] = ContextVar("graphtui_meter", default=None)


def expect(nbytes: int) -> None:
    meter = _METER.get()
    if meter is not None and nbytes > 0:
        meter.expect(nbytes)


def advance(nbytes: int) -> None:
    meter = _METER.get()
    if meter is not None and nbytes > 0:
        meter.advance(nbytes)


def watched() -> bool:
    """Whether a meter is set (a loop may then work in smaller chunks)."""
    return _METER.get() is not None


@contextlib.contextmanager
def metered(meter: Meter | None) -> Iterator[None]:
    """Report the byte loops run inside to ``meter`` (None: to nobody)."""
    token = _METER.set(meter)
    try:
        yield
    finally:
        _METER.reset(token)
