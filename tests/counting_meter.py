"""A progress meter for tests: what a write or transfer announced (``total``) and did (``done``)."""

from __future__ import annotations


class CountingMeter:
    """Counts what :mod:`graphtui.formats.progress` reports to a watched meter."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0

    def expect(self, n: int) -> None:
        self.total += n

    def advance(self, n: int) -> None:
        self.done += n
