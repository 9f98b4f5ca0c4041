"""Appending a checkpoint's data file at the disk's speed, each copied tensor's checksum checked
on the bytes as they go out.

Why not ``copy_file_range`` or ``write``: on this kind of machine the kernel's page-cache copy is
as slow as ``cp``, and the ``fsync`` after it writes everything back a second time. Here the
file is written with ``O_DIRECT`` from two writer threads: a tensor copied from a source shard
goes straight from the source's mapped pages to the disk (summed first, on those same pages:
the bytes in flight), so the only pass over the data is the one the checksum needs, and it
overlaps the disk's writing; the ``fsync`` at commit has no data left to flush. Bytes that are built in
memory (encoded arrays) or whose place in the source does not line up with their place in the
output are copied into an aligned staging buffer first (and summed there). Where the file
system can share extents (XFS, btrfs: ``FICLONERANGE``) an aligned run of source bytes is
cloned, then its checksums are checked on the source (a bad one fails the write before anything
is committed). Where ``O_DIRECT`` is refused (tmpfs, other systems), the data goes through the
page cache (``copy_file_range``), each chunk checked first.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import queue
import struct
import threading
from collections.abc import Sequence
from typing import BinaryIO, NamedTuple

from graphtui.errors import ChecksumError, FormatError
from graphtui.formats import progress
from graphtui.formats._buffer import Buffer
from graphtui.formats.crc import crc32c, crc32c_held, mask

_COPY_CHUNK = 64 << 20  # bytes per copy_file_range call
_ALIGN = 4096  # O_DIRECT: file offsets, lengths and memory aligned to this (>= any block size)
_CHUNK = 8 << 20  # bytes per O_DIRECT write (and per staging buffer)
_DEPTH = 3  # writes queued ahead of the disk
# a run sent from the source's pages goes in writes growing from _CHUNK to _CHUNK << _GROW bytes:
# the fewer writes, the fewer times the writer thread needs the GIL between two of them (each
# time up to the 5 ms switch interval while another thread runs Python: a restore plans while
# its data is copied), and the first one starts after a small sum
_GROW = 2
# writer threads: while one is back in Python between two writes (waiting for the GIL, up to
# the 5 ms switch interval when another thread runs Python), the other's write keeps the disk busy
_WRITERS = 2
_HOLD_BELOW = 4 << 20  # a tensor's piece this small is summed without releasing the GIL
_CLONE_FROM = 1 << 20  # runs this big are worth a FICLONERANGE attempt
_FICLONERANGE = 0x4020940D  # _IOW(0x94, 13, struct file_clone_range)
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}


SUM = -1  # CopiedTensor.crc: no checksum stored (a .safetensors source): sum the bytes copied


class CopiedTensor(NamedTuple):
    """One tensor of a run copied from a source file: its name, place there, and the masked
    crc32c its raw bytes must have (None: checked by the caller, e.g. strings, whose stored
    checksum is not the crc of their bytes; :data:`SUM`: none to check, the bytes copied are
    summed and :meth:`DataSink.copy` returns the sum)."""

    name: str
    offset: int
    size: int
    crc: int | None


def copy_file_bytes(src_fd: int, dst_fd: int, src_offset: int, size: int) -> None:
    """Append ``size`` bytes at ``src_offset`` of ``src_fd`` at ``dst_fd``'s position, in the
    kernel (``copy_file_range``; ``pread``/``write`` where it is refused), telling
    :mod:`progress` as it goes."""
    done = 0
    copy_range = getattr(os, "copy_file_range", None)
    while done < size:
        chunk = min(_COPY_CHUNK, size - done)
        n = 0
        if copy_range is not None:
            try:
                n = copy_range(src_fd, dst_fd, chunk, src_offset + done)
            except OSError:
                copy_range = None
        if n <= 0:
            data = os.pread(src_fd, chunk, src_offset + done)
            if not data:
                raise OSError("source data file ended early")
            os.write(dst_fd, data)
            n = len(data)
        done += n
        progress.advance(n)


class _Job(NamedTuple):
    data: memoryview
    offset: int
    buffer: mmap.mmap | None  # a staging buffer, handed back once written
    source: tuple[mmap.mmap, int] | None  # (source map, offset): pages dropped once written


class _RunCheck:
    """Checks the tensors of one run of source bytes as the bytes are fed in order."""

    def __init__(
        self, path: str, tensors: Sequence[CopiedTensor], src_fd: int = -1, need: int = 0
    ) -> None:
        self._path = path
        self._tensors = tensors
        self._fd, self._need = src_fd, need
        self._i = 0
        self._done = 0  # bytes of tensor ``_i`` summed so far
        self._crc = 0
        self.sums: list[int | None] = []  # each finished tensor's masked crc32c (None: unsummed)
        self._settle()

    def _settle(self) -> None:
        """Check every tensor whose bytes are all in."""
        while self._i < len(self._tensors):
            t = self._tensors[self._i]
            if self._done < t.size:
                return
            got = None if t.crc is None else mask(self._crc)
            if got is not None and t.crc != SUM and got != t.crc:
                raise ChecksumError(
                    self._path,
                    f"checksum mismatch in tensor {t.name!r} (data corrupt)",
                    offset=t.offset,
                )
            self.sums.append(got)
            self._i += 1
            self._done = 0
            self._crc = 0

    def guard(self) -> None:
        """Before the source's mapped pages are touched: a file cut short since it was mapped
        would kill the process (SIGBUS) instead of failing the write."""
        if self._fd < 0:
            return
        now = os.fstat(self._fd).st_size
        if now < self._need:
            raise FormatError(
                self._path,
                f"the file shrank to {now} bytes while being copied (rewritten by another "
                "process?)",
            )

    def feed(self, data: memoryview) -> None:
        self.guard()
        pos, end = 0, len(data)
        while pos < end:
            t = self._tensors[self._i]
            take = min(t.size - self._done, end - pos)
            if t.crc is not None:
                piece = data[pos : pos + take]
                self._crc = (crc32c_held if take < _HOLD_BELOW else crc32c)(piece, self._crc)
            pos += take
            self._done += take
            self._settle()


class DataSink:
    """Appends to one staged data file (the transaction's ``fh``, empty, at ``path``).

    :meth:`write` appends bytes; :meth:`copy` appends a run of a source file, checking the
    tensors in it; :meth:`close` finishes the file (before it is fsynced and committed);
    :meth:`abort` stops the writer thread on failure."""

    def __init__(self, fh: BinaryIO, path: str) -> None:
        self._fh = fh
        self._fd = fh.fileno()
        self.position = 0
        self._direct: int | None = None
        with contextlib.suppress(OSError, AttributeError):  # no O_DIRECT: the page cache
            self._direct = os.open(path, os.O_WRONLY | os.O_DIRECT)
        self._clone = True
        self._maps: dict[tuple[int, int], tuple[mmap.mmap, memoryview]] = {}  # by (dev, inode)
        # O_DIRECT state: staging buffers, the one being filled (starts at an aligned offset)
        self._buffers: queue.Queue[mmap.mmap] = queue.Queue()
        self._made = 0
        self._stage: mmap.mmap | None = None
        self._stage_at = 0
        self._fill = 0
        # (bytes, file offset, staging buffer to hand back, source pages to drop once written)
        self._jobs: queue.Queue[_Job | None] = queue.Queue(_DEPTH)
        self._threads: list[threading.Thread] = []
        self._failure: list[BaseException] = []

    # -- appending --------------------------------------------------------------------------

    def write(self, data: Buffer) -> None:
        """Append ``data`` (bytes built in memory)."""
        view = memoryview(data).cast("B")
        if self._direct is None:
            self._fh.write(view)
        else:
            self._stage_bytes(view)
        self.position += len(view)

    def line_up(self, src_offset: int) -> int:
        """Append zeros (a gap, as TensorFlow's ``data_alignment`` pads) so that a run copied
        next from ``src_offset`` lines up with its place in the source and goes to the disk
        straight from the source's pages; without O_DIRECT nothing is gained and nothing is
        written. Returns the bytes appended."""
        if self._direct is None:
            return 0
        gap = (src_offset - self.position) % _ALIGN
        if gap:
            self.write(bytes(gap))
        return gap

    def copy(
        self, src_fd: int, src_path: str, start: int, tensors: Sequence[CopiedTensor]
    ) -> list[int | None]:
        """Append the source bytes from ``start`` to the end of ``tensors`` (which follow each
        other from ``start``), checking each tensor's checksum on the bytes copied; return
        each tensor's masked crc32c of those bytes (None where its ``crc`` is None)."""
        self._raise_failure()
        if not tensors:
            return []
        size = tensors[-1].offset + tensors[-1].size - start
        check = _RunCheck(src_path, tensors, src_fd, start + size)
        if size == 0:
            return check.sums
        mapped = self._map(src_fd)
        if mapped is None or len(mapped[1]) < start + size:
            raise FormatError(src_path, "data shard ended early (truncated while copying?)")
        source, view = mapped
        try:
            if not (self._clone and self._try_clone(src_fd, source, view, start, size, check)):
                if self._direct is None:
                    self._copy_cached(src_fd, source, view, start, size, check)
                else:
                    self._copy_direct(source, view, start, size, check)
        except BaseException:
            self.abort()
            raise
        return check.sums

    def _copy_cached(
        self,
        src_fd: int,
        source: mmap.mmap,
        view: memoryview,
        start: int,
        size: int,
        check: _RunCheck,
    ) -> None:
        """Without O_DIRECT: check a chunk on the source's pages, then the kernel copies it."""
        self._fh.flush()
        done = 0
        while done < size:
            self._raise_failure()
            n = min(_CHUNK, size - done)
            check.feed(view[start + done : start + done + n])
            copy_file_bytes(src_fd, self._fd, start + done, n)  # tells progress
            _drop_pages(source, start + done, n)
            done += n
            self.position += n

    def _copy_direct(
        self, source: mmap.mmap, view: memoryview, start: int, size: int, check: _RunCheck
    ) -> None:
        src, end = start, start + size
        if (src - self.position) % _ALIGN == 0:
            # the source lines up with the output: fill the staged block, then send the
            # source's own pages to the disk
            head = min(end - src, -self.position % _ALIGN)
            if head:
                part = view[src : src + head]
                check.feed(part)
                self._stage_bytes(part)
                self.position += head
                src += head
                progress.advance(head)
            if self.position % _ALIGN == 0:
                self._submit_stage()
                chunk = _CHUNK
                while end - src >= _ALIGN:
                    n = min(chunk, (end - src) // _ALIGN * _ALIGN)
                    chunk = min(2 * chunk, _CHUNK << _GROW)
                    part = view[src : src + n]
                    check.feed(part)
                    self._submit(_Job(part, self.position, None, (source, src)))
                    self.position += n
                    src += n
                    self._stage_at = self.position
                    progress.advance(n)
        while src < end:  # not lined up (or the tail): through the staging buffer
            n = min(_CHUNK, end - src)
            self._stage_bytes(view[src : src + n], check)
            _drop_pages(source, src, n)
            self.position += n
            src += n
            progress.advance(n)

    def _try_clone(
        self,
        src_fd: int,
        source: mmap.mmap,
        view: memoryview,
        start: int,
        size: int,
        check: _RunCheck,
    ) -> bool:
        """Share the run's extents with the source (XFS, btrfs), then check its checksums on
        the source's bytes (a bad one fails the write: the staged file is removed)."""
        if size < _CLONE_FROM or start % _ALIGN or self.position % _ALIGN or self._fill:
            return False
        length = size - size % _ALIGN
        arg = struct.pack("qQQQ", src_fd, start, length, self.position)
        try:
            import fcntl

            fcntl.ioctl(self._fd, _FICLONERANGE, arg)
        except (OSError, ImportError) as exc:
            if isinstance(exc, OSError) and exc.errno not in _NO_CLONE:
                raise
            self._clone = False  # not here: copy this run and every later one
            return False
        done = 0
        while done < length:
            self._raise_failure()
            n = min(_CHUNK, length - done)
            check.feed(view[start + done : start + done + n])
            _drop_pages(source, start + done, n)
            done += n
            progress.advance(n)
        self.position += length
        self._stage_at = self.position
        rest = size - length
        if rest:
            tail = view[start + length : start + size]
            check.feed(tail)
            self.write(tail)
            progress.advance(rest)
        return True

    # -- O_DIRECT machinery -------------------------------------------------------------------

    def _stage_bytes(self, data: memoryview, check: _RunCheck | None = None) -> None:
        """Copy ``data`` into the staging buffer (checking the copy), sending full ones."""
        pos, end = 0, len(data)
        while pos < end:
            self._raise_failure()
            if self._stage is None:
                self._stage = self._buffer()
                self._stage_at = self.position + pos - self._fill
            n = min(_CHUNK - self._fill, end - pos)
            if check is not None:
                check.guard()
            self._stage[self._fill : self._fill + n] = data[pos : pos + n]
            if check is not None:
                with memoryview(self._stage) as staged:
                    check.feed(staged[self._fill : self._fill + n])
            self._fill += n
            pos += n
            if self._fill == _CHUNK:
                self._submit_stage()

    def _submit_stage(self) -> None:
        """Send the staged bytes (whole aligned blocks; a short tail only at :meth:`close`)."""
        if self._stage is None or not self._fill:
            return
        stage, n = self._stage, self._fill
        self._stage, self._fill = None, 0
        self._submit(_Job(memoryview(stage)[:n], self._stage_at, stage, None))
        self._stage_at += n

    def _buffer(self) -> mmap.mmap:
        if self._made < _DEPTH + 2:
            try:
                return self._buffers.get_nowait()
            except queue.Empty:
                self._made += 1
                return mmap.mmap(-1, _CHUNK)  # page aligned, as O_DIRECT needs
        while True:
            self._raise_failure()
            try:
                return self._buffers.get(timeout=0.1)
            except queue.Empty:
                continue

    def _submit(self, job: _Job) -> None:
        self._raise_failure()
        if not self._threads:
            for _ in range(_WRITERS):
                thread = threading.Thread(target=self._writer, name="graphtui-write", daemon=True)
                thread.start()
                self._threads.append(thread)
        while True:
            try:
                self._jobs.put(job, timeout=0.1)
                return
            except queue.Full:
                self._raise_failure()

    def _writer(self) -> None:
        direct = self._direct
        while True:
            job = self._jobs.get()
            if job is None:
                return
            data, offset, buffer, source = job
            try:
                if self._failure:
                    continue
                aligned = len(data) - len(data) % _ALIGN
                done = 0
                while done < aligned and direct is not None:
                    try:
                        done += os.pwrite(direct, data[done:aligned], offset + done)
                    except OSError as exc:
                        if exc.errno != errno.EINVAL:
                            raise
                        direct = None  # refused after all: the page cache from here on
                while done < len(data):  # a short tail, or no O_DIRECT after all
                    done += os.pwrite(self._fd, data[done:], offset + done)
            except BaseException as exc:  # noqa: BLE001 - handed to the appending thread
                self._failure.append(exc)
            finally:
                if source is not None:
                    _drop_pages(source[0], source[1], len(data))
                data.release()
                if buffer is not None:
                    self._buffers.put(buffer)

    def _raise_failure(self) -> None:
        if self._failure:
            raise self._failure[0]

    def _stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _map(self, fd: int) -> tuple[mmap.mmap, memoryview] | None:
        st = os.fstat(fd)
        got = self._maps.get((st.st_dev, st.st_ino))
        if got is None or len(got[1]) < st.st_size:
            if st.st_size == 0:
                return None
            mapped = mmap.mmap(fd, st.st_size, prot=mmap.PROT_READ)
            got = self._maps[(st.st_dev, st.st_ino)] = (mapped, memoryview(mapped))
        return got

    # -- finishing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Write what is staged, wait for the disk writes, and raise their error if any."""
        try:
            self._submit_stage()
            self._stop()
            self._raise_failure()
        finally:
            self._release()

    def cancel(self) -> None:
        """Make a copy running on another thread stop with an error at its next chunk (it
        then aborts the sink itself; join it before calling :meth:`abort` here)."""
        self._failure.append(OSError("write aborted"))

    def abort(self) -> None:
        """Stop writing (an error or Ctrl+C): the transaction removes the file."""
        self._failure.append(OSError("write aborted"))
        with contextlib.suppress(BaseException):
            self._stop()
        self._release()

    def _release(self) -> None:
        for mapped, view in self._maps.values():
            view.release()
            with contextlib.suppress(BufferError):
                mapped.close()
        self._maps.clear()
        if self._direct is not None:
            with contextlib.suppress(OSError):
                os.close(self._direct)
            self._direct = None


def _drop_pages(source: mmap.mmap, start: int, length: int) -> None:
    """Unmap source pages already copied (they stay in the page cache), so the resident set
    does not grow with the checkpoint."""
    low = start - start % mmap.PAGESIZE
    with contextlib.suppress(AttributeError, OSError, ValueError):
        source.madvise(mmap.MADV_DONTNEED, low, start + length - low)
