"""Where a reader's bytes come from: a local file (memory-mapped, zero copy) or a remote object
(range requests through fsspec, with a small read-ahead cache).

The table, bundle, state-file and meta-graph readers ask a :class:`ByteSource` for
``read(offset, length)`` and never open files themselves, so the same code reads
``model.ckpt.index`` and ``gs://bucket/run/model.ckpt.index``. :func:`is_url` is the one place
that decides whether a path is a URL.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from graphtui.errors import FormatError, MissingFileError

if TYPE_CHECKING:
    from graphtui.formats.remote import RemoteSource

_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` (``gs://``, ``s3://``, ``https://``, any fsspec protocol).

    A Windows drive (``C:\\``) or a relative path containing ``://`` later on is not a URL.
    """
    return isinstance(path, str) and _URL_RE.match(path) is not None


class ByteSource:
    """Random access to the bytes of one file or object."""

    name: str
    size: int

    def read(self, offset: int, length: int) -> memoryview:
        """Exactly ``length`` bytes at ``offset`` (FormatError when the file is shorter)."""
        raise NotImplementedError

    def read_all(self) -> memoryview:
        return self.read(0, self.size)

    def close(self) -> None:  # noqa: B027 - most sources hold nothing
        """Release what the source holds (views handed out stay valid where possible)."""

    def _check_range(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatError(
                self.name,
                f"needs bytes {offset}..{offset + length} but the file has {self.size}: truncated",
            )

    def __enter__(self) -> ByteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemorySource(ByteSource):
    """Bytes already in memory (a test's data, a small object fetched whole)."""

    def __init__(self, data: bytes | bytearray | memoryview, name: str = "<bytes>") -> None:
        self.name = name
        self._view = memoryview(data)
        self.size = len(self._view)

    def read(self, offset: int, length: int) -> memoryview:
        self._check_range(offset, length)
        return self._view[offset : offset + length]

    def close(self) -> None:
        self._view.release()


def open_regular(path: str) -> BinaryIO:
    """Open a file to read, refusing what is not a regular file (without blocking on a FIFO:
    a named pipe in place of a checkpoint file would otherwise hang the reader)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FormatError(path, "not a regular file (a pipe, device or directory)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class LocalSource(ByteSource):
    """A local file, memory-mapped: ``read`` returns views into the map (no copy)."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._mmap: mmap.mmap | None = None
        self.identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the mapped file
        with open_regular(path) as fh:
            st = os.fstat(fh.fileno())
            self.size = st.st_size
            if self.size:
                self._mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                self.identity = (st.st_dev, st.st_ino)
        self.view = memoryview(self._mmap) if self._mmap is not None else memoryview(b"")

    def read(self, offset: int, length: int) -> memoryview:
        self._check_range(offset, length)
        return self.view[offset : offset + length]

    def shrunk_to(self) -> int | None:
        """The file's size now, when it is the mapped file and shorter than when mapped.

        Touching mapped pages past the end of a file cut short since it was mapped kills the
        process (SIGBUS): readers check this first. A deleted or replaced file is no danger
        (the mapping keeps the old file alive)."""
        if self.identity is None:
            return None
        try:
            st = os.stat(self.name)
        except OSError:
            return None
        if (st.st_dev, st.st_ino) == self.identity and st.st_size < self.size:
            return st.st_size
        return None

    def release(self, start: int, length: int, behind: int = 0) -> None:
        """Drop ``length`` bytes at ``start`` (whole pages, and ``behind`` bytes before them)
        from this process's mapping; the data stays in the page cache."""
        if self._mmap is None:
            return
        page_start = start - start % mmap.PAGESIZE
        low = max(0, page_start - behind)
        with contextlib.suppress(AttributeError, OSError, ValueError):  # else they stay mapped
            self._mmap.madvise(mmap.MADV_DONTNEED, low, length + start - low)

    def close(self) -> None:
        self.view.release()
        if self._mmap is not None:
            with contextlib.suppress(BufferError):  # a view still holds it; it closes later
                self._mmap.close()
            self._mmap = None


def open_source(path: str, *, missing: str = "file not found", what: str = "file") -> ByteSource:
    """The bytes of ``path`` (a local file or a URL); ``missing`` says what an absent file is.

    Errors are one FormatError line naming the path: missing (MissingFileError), a directory,
    a pipe, unreadable, or for a URL what the server or the missing extra says.
    """
    if is_url(path):
        return remote_source(path, missing=missing)
    with _local_errors(path, missing, what):
        return LocalSource(path)


@contextlib.contextmanager
def _local_errors(path: str, missing: str, what: str) -> Iterator[None]:
    """OSErrors of opening or reading a local ``path`` as one FormatError line naming it."""
    try:
        yield
    except FileNotFoundError:
        raise MissingFileError(path, missing) from None
    except IsADirectoryError:
        raise FormatError(path, f"is a directory, not a {what}") from None
    except OSError as exc:
        unreadable = "cannot read" if what in ("file", "table file") else f"cannot read {what}"
        raise FormatError(path, f"{unreadable}: {exc.strerror or exc}") from None


def remote_source(url: str, *, missing: str = "not found") -> RemoteSource:
    from graphtui.formats.remote import RemoteSource

    return RemoteSource(url, missing=missing)


@contextlib.contextmanager
def read_local(
    path: str,
    *,
    limit: int | None = None,
    too_large: str = "larger than expected",
    missing: str = "file not found",
    what: str = "file",
) -> Iterator[tuple[bytes, BinaryIO, os.stat_result]]:
    """A local file's whole content read once, with the file still open in the block and its
    ``fstat`` from before the read (for a caller that keeps the file: node_bytes). Its
    OSErrors, and ``too_large`` over ``limit``, as one FormatError line naming ``path``."""
    with _local_errors(path, missing, what), open_regular(path) as fh:
        before = os.fstat(fh.fileno())
        if limit is not None and before.st_size > limit:
            raise FormatError(path, too_large)
        data = fh.read()
        if limit is not None and len(data) > limit:  # grown since
            raise FormatError(path, too_large)
        yield data, fh, before


def read_file(
    path: str,
    *,
    limit: int | None = None,
    too_large: str = "larger than expected",
    missing: str = "file not found",
    what: str = "file",
) -> bytes:
    """The whole content of a file or object; ``too_large`` when over ``limit``.

    A local file is read into one new bytes object (``read``: one copy from the page cache,
    the cheapest measured for a 288 MiB graph; bench/RESULTS.md), not mapped: a file cut short
    while it is being read gives shorter bytes, never a SIGBUS."""
    if not is_url(path):
        with read_local(path, limit=limit, too_large=too_large, missing=missing, what=what) as read:
            return read[0]
    with open_source(path, missing=missing, what=what) as src:
        if limit is not None and src.size > limit:
            raise FormatError(path, too_large)
        return bytes(src.read_all())
