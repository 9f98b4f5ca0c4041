"""Where a scanned meta graph's node bytes come from: the file's bytes in memory, or, once let
go, the file itself (read back with ``os.pread`` on a descriptor kept open since the read).

A 1,000,000-node graph's file is ~290 MB. The app needs every node's bytes only while it builds
its indexes (names, ops, consumers); afterwards it decodes a node now and then (the details
pane) and the whole message only for a write. :meth:`NodeBytes.release` drops the in-memory
copy; later reads go to the same inode (a file replaced by a rename keeps being read from the
old one) and are checked against the file that was scanned: the same size and modification
time (``fstat``), and the same bytes in a few sampled ranges spread over the file (a rewrite in
place within one tick of a coarse clock leaves size and time as they were). A file changed
since gives one FormatError line, never other bytes than the ones scanned (as far as the
samples tell: a same-size rewrite that leaves every sample and the time alike goes unseen).
:meth:`NodeBytes.close` closes the descriptor (the app's workspace does, when closed).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

from graphtui.errors import FormatError
from graphtui.formats.byte_source import read_local

__all__ = ["CHANGED", "CLOSED", "NodeBytes", "pace", "read_keeping_file", "set_pace"]

CHANGED = "changed on disk since it was opened; reopen it"
CLOSED = "closed; reopen it"
_SAMPLES = 16  # byte ranges compared with the file after each read back
_SAMPLE_SIZE = 64
_pace: Callable[[], None] | None = None  # see set_pace


def set_pace(pace: Callable[[], None] | None) -> None:
    """Have every :meth:`NodeBytes.read` call ``pace`` first (None: nothing). Indexing a big
    graph reads its nodes one at a time, ~every 60 us of its work: a place where a background
    thread can give way (the app's warm-up, while the user types: ``tui/warm_up.py``)."""
    global _pace
    _pace = pace


def pace() -> None:
    """Call the hook :func:`set_pace` set, if any: for passes over many nodes that do not
    read each one (``range_reads``, the variable table), at about the same rate."""
    hook = _pace
    if hook is not None:
        hook()


class NodeBytes:
    """The bytes of one file, in memory until :meth:`release` (then read back from ``fd``).

    ``fd`` and ``identity`` (st_size, st_mtime_ns at the read) are None for bytes that have no
    file to go back to (a remote object, a test's bytes): release keeps them in memory."""

    def __init__(
        self,
        data: bytes,
        *,
        path: str | None = None,
        fd: int | None = None,
        identity: tuple[int, int] | None = None,
    ) -> None:
        self._data: bytes | None = data
        self.size = len(data)
        self.path = path
        self._fd = fd
        self._identity = identity
        self._samples: list[tuple[int, bytes]] = []
        if fd is not None:
            self._closer = weakref.finalize(self, os.close, fd)
            self._samples = _samples(data)

    @property
    def in_memory(self) -> bool:
        return self._data is not None

    @property
    def data(self) -> bytes:
        """The whole file's bytes, for scanners of every node: the ones in memory, or after
        :meth:`release` a new copy read back (so a scan racing the release stays right; the
        indexes that need one are built before it)."""
        data = self._data
        return data if data is not None else self.read(0, self.size)

    def read(self, start: int, end: int) -> bytes:
        """The bytes in [start, end): from memory, or from the file when released."""
        pace()
        data = self._data
        if data is not None:
            return data[start:end]
        fd = self._fd
        if fd is None:  # released only when there is a file: closed since
            raise FormatError(self.path, CLOSED)
        self._check(fd)
        try:
            out = os.pread(fd, end - start, start)
        except OSError as exc:
            raise FormatError(self.path, f"cannot read: {exc.strerror or exc}") from None
        self._check(fd, sampled=True)  # written to before or while it was read
        if len(out) != end - start:
            raise FormatError(self.path, CHANGED)
        return out

    def release(self) -> bool:
        """Let go of the in-memory copy when the file can be read back; True when let go."""
        if self._fd is None or self._data is None:
            return False
        self._check(self._fd, sampled=True)  # changed already: keep the bytes that were scanned
        self._data = None
        return True

    def close(self) -> None:
        """Close the file kept for reading back (bytes still in memory stay readable; released
        ones give one line, ``CLOSED``). Closing twice is a no-op."""
        if self._fd is not None:
            self._fd = None
            self._closer()

    def _check(self, fd: int, *, sampled: bool = False) -> None:
        try:
            st = os.fstat(fd)
            if (st.st_size, st.st_mtime_ns) != self._identity:
                raise FormatError(self.path, CHANGED)
            for at, want in self._samples if sampled else ():
                if os.pread(fd, len(want), at) != want:
                    raise FormatError(self.path, CHANGED)
        except OSError as exc:
            raise FormatError(self.path, f"cannot read: {exc.strerror or exc}") from None


def _samples(data: bytes) -> list[tuple[int, bytes]]:
    """``_SAMPLES`` ranges of ``data`` spread evenly from its start to its end (offset, bytes)."""
    size = len(data)
    if size <= _SAMPLES * _SAMPLE_SIZE:
        return [(0, data)] if size else []
    step = (size - _SAMPLE_SIZE) / (_SAMPLES - 1)
    starts = sorted({round(i * step) for i in range(_SAMPLES)})
    return [(at, data[at : at + _SAMPLE_SIZE]) for at in starts]


def read_keeping_file(
    path: str, *, limit: int | None = None, too_large: str, missing: str = "file not found"
) -> NodeBytes:
    """A local file's bytes (as ``byte_source.read_file``) with its descriptor kept open, so
    that they can be let go and read back. A file that changes while it is read is kept in
    memory only (its bytes are not the ones a later check would vouch for)."""
    with read_local(path, limit=limit, too_large=too_large, missing=missing) as (data, fh, before):
        after = os.fstat(fh.fileno())
        identity = (after.st_size, after.st_mtime_ns)
        changed = identity != (before.st_size, before.st_mtime_ns) or len(data) != after.st_size
        if changed or not hasattr(os, "pread"):  # (no pread: Windows)
            return NodeBytes(data, path=path)
        fd = os.dup(fh.fileno())
    return NodeBytes(data, path=path, fd=fd, identity=identity)
