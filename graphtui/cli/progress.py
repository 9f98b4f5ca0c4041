"""The progress bar of long command-line work (verify, cat --npy, every write): bytes, rate and
time left on stderr, driven by the byte loops' :mod:`~graphtui.formats.progress` reports and by
the writes' step hook (``on_step``), one path for every command.

Shown only when stderr is a terminal and ``--quiet`` was not given; ``rich`` is imported only
then, so the data commands stay light to import. The bar is transient: when the work ends (or
Ctrl+C stops it) it is erased, leaving stderr's one line of result or error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from graphtui.formats.progress import metered


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (none unless stderr is a tty)"
    )


def shown(args: argparse.Namespace) -> bool:
    if getattr(args, "quiet", False):
        return False
    try:
        return sys.stderr.isatty()
    except (ValueError, OSError):
        return False


class _Bar:
    """A rich progress bar as a :class:`~graphtui.formats.progress.Meter` and an ``on_step``."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._label = label
        self._task = self._progress.add_task(label, total=None)
        self._total = 0

    def expect(self, nbytes: int) -> None:
        self._total += nbytes
        self._progress.update(self._task, total=self._total)

    def advance(self, nbytes: int) -> None:
        self._progress.update(self._task, advance=nbytes)

    def step(self, what: str) -> None:
        self._progress.update(self._task, description=f"{self._label}: {what}"[:48])

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


@contextlib.contextmanager
def progress(args: argparse.Namespace, label: str) -> Iterator[Any]:
    """Run the work inside with a bar (when :func:`shown`); yields the ``on_step`` hook to pass
    to :func:`~graphtui.core.operations.apply` (None without a bar)."""
    if not shown(args):
        yield None
        return
    with _Bar(label) as bar, metered(bar):
        yield bar.step
