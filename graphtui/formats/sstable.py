"""Reader for the LevelDB-style table format TensorFlow uses for ``.index`` files and V1 checkpoints.

Layout: data blocks, a meta-index block, an index block, then a 48-byte footer (two block handles,
zero padding, an 8-byte magic). Each block is followed by a 5-byte trailer: a compression type
byte and the masked crc32c of the block contents plus that type byte. Keys inside a block are
prefix-compressed with restart points.
"""

from __future__ import annotations

import bisect
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphtui.errors import ChecksumError, FormatError
from graphtui.formats import snappy
from graphtui.formats.byte_source import (
    ByteSource,
    LocalSource,
    MemorySource,
    open_regular,  # noqa: F401 - re-exported: callers open single files through it
    open_source,
)
from graphtui.formats.crc import crc32c, unmask
from graphtui.formats.varint import VarintError, decode_varint, decode_varints_at

if TYPE_CHECKING:  # numpy is imported by the bulk scan only
    import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # 2 handles padded to 40 bytes + 8-byte magic
BLOCK_TRAILER_SIZE = 5
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1
MAX_BLOCK_SIZE = 1 << 31  # a block handle claiming more than this is corrupt for our purposes
_U64 = (1 << 64) - 1


_CHUNK = 1 << 16  # keys put together per batch
_MAX_RUN = 32  # entries from one restart point to the next decoded in bulk; more: one by one
_WALK_BYTES = 64 << 10  # data blocks this small are walked entry by entry before numpy loads


def numpy_unneeded(size: int) -> bool:
    """Whether ``size`` bytes of a table's data blocks are walked entry by entry instead of in
    bulk: while numpy is not imported yet, and the table is small (a few thousand entries at
    most, a few ms of walking). A command reading a small checkpoint in a fresh process (``graphtui
    verify``) then pays neither numpy's import nor its teardown (~50 ms of a ~200 ms run); once
    numpy is loaded the bulk walk always runs. The walk is the reference the bulk one is tested
    against: the same entries, the same errors."""
    return size <= _WALK_BYTES and "numpy" not in sys.modules


@dataclass(frozen=True)
class TableScan:
    """Every entry of a table at once: key ``keys[i]`` and its value ``data[starts[i]:ends[i]]``,
    where ``data`` holds the data blocks' contents (one copy, not a view into the file).

    Keys are latin-1 text, one character per byte: they compare, slice and join as the bytes
    do, and an ASCII key is its name already (no second decoding of a million keys)."""

    data: bytes
    keys: list[str]
    starts: np.ndarray | list[int]  # int64 (a list when walked without numpy)
    ends: np.ndarray | list[int]

    def value(self, i: int) -> bytes:
        return self.data[int(self.starts[i]) : int(self.ends[i])]


@dataclass(frozen=True)
class BlockHandle:
    offset: int
    size: int


_BAD_HANDLE = BlockHandle(-1, 0)  # an index entry whose value is no block handle


def _decode_handle(buf: memoryview, pos: int, end: int) -> tuple[BlockHandle, int]:
    """TF's ``BlockHandle::DecodeFrom``: two varint64s (bits past the 64th dropped, as there)."""
    offset, pos = decode_varint(buf, pos, end)
    size, pos = decode_varint(buf, pos, end)
    return BlockHandle(offset & _U64, size & _U64), pos


def _varint32(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """TF's ``GetVarint32Ptr`` (a block entry's three lengths): at most 5 bytes, the bits past
    the 32nd dropped; a longer varint is a corrupt entry there and here."""
    value, nxt = decode_varint(buf, pos, end)
    if nxt - pos > 5:
        raise VarintError("varint32 longer than 5 bytes", cut=False)
    return value & 0xFFFFFFFF, nxt


def encode_handle(handle: BlockHandle) -> bytes:
    from graphtui.formats.varint import encode_varint

    return encode_varint(handle.offset) + encode_varint(handle.size)


class Table:
    """A read-only table over a file (memory-mapped, or a remote object read by ranges) or a
    bytes object.

    ``verify_checksums`` checks each block's crc32c when the block is first read. ``whole``
    fetches a remote file in one request (an index is read entirely anyway).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        data: bytes | None = None,
        *,
        verify_checksums: bool = True,
        whole: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.verify_checksums = verify_checksums
        self._src: ByteSource
        if data is None:
            self._src = open_source(self.path, what="table file")
            if self._src.size == 0:
                self._src.close()
                raise FormatError(self.path, "file is empty: not an sstable")
            if whole and not isinstance(self._src, LocalSource):
                remote, self._src = self._src, MemorySource(self._src.read_all(), self.path)
                remote.close()
        else:
            self._src = MemorySource(data, self.path)
        self.size = self._src.size
        self._blocks: dict[int, _Block] = {}
        self.index_handle, self.metaindex_handle = self._read_footer()
        self._index = self._read_block(self.index_handle, "index block")
        self._index_keys, self._index_handles = self._parse_index()
        keys = self._index_keys
        self._index_sorted = all(a < b for a, b in zip(keys, keys[1:], strict=False))

    # -- footer and blocks ---------------------------------------------------------------------

    def _read_footer(self) -> tuple[BlockHandle, BlockHandle]:
        if self.size < FOOTER_SIZE:
            raise FormatError(
                self.path, f"file is {self.size} bytes, too short for a table footer (48)"
            )
        start = self.size - FOOTER_SIZE
        footer = self._src.read(start, FOOTER_SIZE)
        magic = int.from_bytes(footer[40:48], "little")
        if magic != TABLE_MAGIC:
            raise FormatError(
                self.path, "not an sstable (bad magic number in footer)", offset=start + 40
            )
        try:
            meta, pos = _decode_handle(footer, 0, 40)
            index, _ = _decode_handle(footer, pos, 40)
        except VarintError as exc:
            raise FormatError(self.path, f"corrupt footer: {exc}", offset=start) from None
        # TF's Table::Open reads the index block and nothing else: the meta-index (empty, never
        # read by TF) is checked by verify() only; data blocks when they are read
        self._check_handle(index, "index")
        return index, meta

    def _check_handle(self, handle: BlockHandle, what: str) -> None:
        """TF's ``ReadBlock`` reads ``size`` + 5 bytes at ``offset`` anywhere in the file
        ("truncated block read" past its end)."""
        if handle.offset < 0:
            raise FormatError(self.path, f"corrupt index entry: its {what} block handle is bad")
        limit = self.size
        if handle.size > MAX_BLOCK_SIZE or handle.offset + handle.size + BLOCK_TRAILER_SIZE > limit:
            raise FormatError(
                self.path,
                f"{what} block handle (offset {handle.offset}, size {handle.size}) points past "
                f"the end of the file ({self.size} bytes): truncated or corrupt",
            )

    def _check_not_shrunk(self) -> None:
        """Touching mapped pages past the end of a file cut short since it was mapped kills the
        process (SIGBUS): check the size first (a deleted or replaced file is no danger)."""
        now = self._src.shrunk_to() if isinstance(self._src, LocalSource) else None
        if now is not None:
            raise FormatError(
                self.path,
                f"file shrank from {self.size} to {now} bytes while open "
                "(rewritten by another process?)",
            )

    def _read_block(self, handle: BlockHandle, what: str) -> _Block:
        cached = self._blocks.get(handle.offset)
        if cached is not None:
            self._check_not_shrunk()
            return cached
        block = _Block(
            memoryview(self._block_contents(handle, what)), self.path, handle.offset, what
        )
        if len(self._blocks) > 256:
            self._blocks.clear()
        self._blocks[handle.offset] = block
        return block

    def _block_contents(self, handle: BlockHandle, what: str) -> memoryview | bytes:
        """A block's bytes, checksum checked and decompressed (a view into the file when it
        is stored uncompressed)."""
        self._check_not_shrunk()
        self._check_handle(handle, what)
        stored_block = self._src.read(handle.offset, handle.size + BLOCK_TRAILER_SIZE)
        contents = stored_block[: handle.size]
        ctype = stored_block[handle.size]
        if self.verify_checksums:
            stored = int.from_bytes(stored_block[handle.size + 1 :], "little")
            actual = crc32c(stored_block[handle.size : handle.size + 1], crc32c(contents))
            if unmask(stored) != actual:
                raise ChecksumError(
                    self.path, f"{what} checksum mismatch (corrupt table)", offset=handle.offset
                )
        if ctype == SNAPPY_COMPRESSION:
            try:
                # a length no valid block of this size reaches is refused before decoding
                return snappy.decompress(contents)
            except snappy.SnappyError as exc:
                raise FormatError(
                    self.path, f"{what}: bad snappy data: {exc}", offset=handle.offset
                ) from None
        if ctype == NO_COMPRESSION:
            return contents
        raise FormatError(
            self.path, f"{what} uses unknown compression type {ctype}", offset=handle.offset
        )

    def _parse_index(self) -> tuple[list[bytes], list[BlockHandle]]:
        """The index entries: each data block's key and handle. As in TF's two-level iterator a
        handle is decoded and checked only when its block is read (a bad one fails the reads
        that need its block, not the others; a bad value is kept as ``_BAD_HANDLE``)."""
        keys: list[bytes] = []
        handles: list[BlockHandle] = []
        for key, value in self._index.entries():
            try:
                handle, _ = _decode_handle(value, 0, len(value))
            except VarintError:
                handle = _BAD_HANDLE
            keys.append(key)
            handles.append(handle)
        return keys, handles

    # -- public API ----------------------------------------------------------------------------

    @property
    def num_data_blocks(self) -> int:
        return len(self._index_handles)

    def items(self) -> Iterator[tuple[bytes, memoryview]]:
        """Every ``(key, value)`` in key order. Values are views into the file or block."""
        for handle in self._index_handles:
            yield from self._read_block(handle, "data").entries()

    def scan(self) -> TableScan:
        """What :meth:`items` yields, all at once and decoded in bulk, with the same first error.

        Each block's checksum is checked as by :meth:`items`. The entries are walked from every
        restart point at once (numpy over all blocks), each run of entries checked to end exactly
        at the next restart point; a block where anything is unusual (a corrupt restart array,
        long varints, runs longer than ``_MAX_RUN``, entries that cross a restart point) is
        walked entry by entry by :class:`_Block`, whose answers and errors are the reference.
        """
        contents: list[memoryview | bytes] = []
        pending: FormatError | None = None
        for handle in self._index_handles:
            try:
                contents.append(self._block_contents(handle, "data"))
            except FormatError as exc:
                pending = exc  # raised after the blocks before it, as items() would
                break
        data = b"".join(contents)
        if numpy_unneeded(len(data)):
            walked: tuple[list[str], list[int], list[int]] = ([], [], [])
            base = 0
            for handle, block in zip(self._index_handles[: len(contents)], contents, strict=True):
                self._walk_block(memoryview(data), base, len(block), handle, *walked)
                base += len(block)
            if pending is not None:
                raise pending
            return TableScan(data, *walked)
        bases, sizes = _bases_sizes(contents)
        runs = _bulk_runs(data, bases, sizes)
        bulk, keys, starts, ends = runs
        handles = self._index_handles[: len(contents)]
        if not all(bulk):  # the blocks left to the entry-by-entry walk, spliced in in order
            keys, starts, ends = self._splice(data, handles, bases, sizes, runs)
        if pending is not None:
            raise pending
        return TableScan(data, keys, starts, ends)

    def _splice(
        self,
        data: bytes,
        handles: list[BlockHandle],
        bases: np.ndarray,
        sizes: np.ndarray,
        runs: tuple[list[bool], list[str], np.ndarray, np.ndarray],
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        import numpy as np

        bulk, bulk_keys, bulk_starts, bulk_ends = runs
        keys: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        done = 0  # entries of bulk_keys used so far
        view = memoryview(data)
        for block, handle in enumerate(handles):
            base, size = int(bases[block]), int(sizes[block])
            if bulk[block]:
                count = int(np.searchsorted(bulk_starts, base + size, "left")) - done
                keys += bulk_keys[done : done + count]
                starts += bulk_starts[done : done + count].tolist()
                ends += bulk_ends[done : done + count].tolist()
                done += count
                continue
            self._walk_block(view, base, size, handle, keys, starts, ends)
        return keys, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)

    def _walk_block(
        self,
        view: memoryview,
        base: int,
        size: int,
        handle: BlockHandle,
        keys: list[str],
        starts: list[int],
        ends: list[int],
    ) -> None:
        """The entries of the block at ``view[base:base + size]``, walked one by one by
        :class:`_Block`, appended: each key (latin-1 text) and its value's span in ``view``."""
        walk = _Block(view[base : base + size], self.path, handle.offset, "data")
        for key, start, end in walk.spans():
            keys.append(key.decode("latin-1"))
            starts.append(base + start)
            ends.append(base + end)

    @staticmethod
    def _bulk_walked(contents: list[memoryview | bytes]) -> list[bool]:
        """Which blocks the bulk walk checks (the others are walked one by one): none when
        :func:`numpy_unneeded`."""
        if numpy_unneeded(sum(len(c) for c in contents)):
            return [False] * len(contents)
        bases, sizes = _bases_sizes(contents)
        return _bulk_runs(b"".join(contents), bases, sizes, keys_too=False)[0]

    def get(self, key: bytes) -> memoryview | None:
        """The value stored under ``key``, as TF's ``Seek`` then ``key() == key`` finds it
        (TensorSliceReaderTable::Get, BundleReader): the first data block whose index key is
        ``>= key``, the first entry there ``>= key``; a block holding none (an empty block)
        passes on to the next block's first entry."""
        keys = self._index_keys
        if self._index_sorted:
            i = bisect.bisect_left(keys, key)
        else:  # no writer's index: the first index key >= key
            i = next((j for j, k in enumerate(keys) if k >= key), len(keys))
        for j, handle in enumerate(self._index_handles[i:]):
            block = self._read_block(handle, "data")
            found = block.seek(key) if j == 0 else block.first()
            if found is not None:
                return found[1] if found[0] == key else None
        return None

    def verify(self) -> list[FormatError]:
        """Check every block's checksum and structure; return the problems found (one per bad
        block, in file order).

        Blocks are walked in bulk as :meth:`scan` walks them; a block the bulk walk leaves
        is walked entry by entry by :class:`_Block`, whose errors are the reference."""
        found: dict[int, FormatError] = {}
        handles = [self.metaindex_handle, *self._index_handles]
        read: list[int] = []
        contents: list[memoryview | bytes] = []
        saved = self.verify_checksums
        self.verify_checksums = True
        self._blocks.clear()
        kinds = ["meta-index", *["data"] * len(self._index_handles)]
        try:
            for k, handle in enumerate(handles):
                try:  # the meta-index too: TF never reads it, but damage there is damage
                    contents.append(self._block_contents(handle, kinds[k]))
                    read.append(k)
                except FormatError as exc:
                    found[k] = exc
        finally:
            self.verify_checksums = saved
        bulk = self._bulk_walked(contents)
        for k, block, walked in zip(read, contents, bulk, strict=True):
            if walked:
                continue
            try:
                for _ in _Block(memoryview(block), self.path, handles[k].offset, kinds[k]).spans():
                    pass
            except FormatError as exc:
                found[k] = exc
        return [found[k] for k in sorted(found)]

    def close(self) -> None:
        self._blocks.clear()
        self._index_handles = []
        self._src.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Block:
    """One decoded block: prefix-compressed entries followed by the restart array, read as
    TF's ``Block::Iter`` reads it: from the first restart point on (none without restart
    points: TF's iterator of such a block is empty), each entry's lengths varint32s."""

    def __init__(self, data: memoryview, path: str, offset: int, what: str) -> None:
        self.data = data
        self.path = path
        self.offset = offset
        self.what = what
        if len(data) < 4:
            raise FormatError(path, f"{what} block too short", offset=offset)
        num_restarts = int.from_bytes(data[-4:], "little")
        restarts_start = len(data) - 4 - 4 * num_restarts
        if num_restarts > len(data) // 4 or restarts_start < 0:
            raise FormatError(path, f"{what} block has a corrupt restart count", offset=offset)
        self.entries_end = restarts_start
        self.restarts = [
            int.from_bytes(data[restarts_start + 4 * i : restarts_start + 4 * i + 4], "little")
            for i in range(num_restarts)
        ]

    def _fail(self, message: str, pos: int) -> FormatError:
        return FormatError(self.path, f"{self.what} block: {message}", offset=self.offset + pos)

    def entries(self, start: int | None = None) -> Iterator[tuple[bytes, memoryview]]:
        data = self.data
        for key, value_start, value_end in self.spans(start):
            yield key, data[value_start:value_end]

    def spans(self, start: int | None = None) -> Iterator[tuple[bytes, int, int]]:
        """Each entry's key and where its value lies in the block, from ``start`` (by default
        the first restart point, where TF's ``SeekToFirst`` starts): the one entry-by-entry
        walk."""
        data = self.data
        end = self.entries_end
        if start is None:
            start = self.restarts[0] if self.restarts else end
        pos = start
        key = b""
        while pos < end:
            try:
                shared, pos = _varint32(data, pos, end)
                non_shared, pos = _varint32(data, pos, end)
                value_len, pos = _varint32(data, pos, end)
            except VarintError as exc:
                raise self._fail(f"corrupt entry header: {exc}", pos) from None
            if shared > len(key) or pos + non_shared + value_len > end:
                raise self._fail("entry runs past the end of the block", pos)
            key = key[:shared] + bytes(data[pos : pos + non_shared])
            pos += non_shared
            yield key, pos, pos + value_len
            pos += value_len

    def first(self) -> tuple[bytes, memoryview] | None:
        """The first entry, as TF's ``SeekToFirst`` finds it (None: the block is empty)."""
        return next(self.entries(), None)

    def seek(self, target: bytes) -> tuple[bytes, memoryview] | None:
        """The first entry whose key is ``>= target``, found as TF's ``Block::Iter::Seek``
        finds it: the last restart point whose key is ``< target`` (binary search), then
        entry by entry (None: every key is smaller, or the block is empty)."""
        if not self.restarts:
            return None
        lo, hi = 0, len(self.restarts) - 1
        while lo < hi:
            mid = lo + (hi - lo + 1) // 2
            if self._restart_key(self.restarts[mid]) < target:
                lo = mid
            else:
                hi = mid - 1
        for key, value in self.entries(self.restarts[lo]):
            if key >= target:
                return key, value
        return None

    def _restart_key(self, pos: int) -> bytes:
        data = self.data
        try:
            shared, pos = _varint32(data, pos, self.entries_end)
            non_shared, pos = _varint32(data, pos, self.entries_end)
            value_len, pos = _varint32(data, pos, self.entries_end)
        except VarintError as exc:
            raise self._fail(f"corrupt restart entry: {exc}", pos) from None
        if shared != 0 or pos + non_shared + value_len > self.entries_end:
            raise self._fail("corrupt restart entry", pos)
        return bytes(data[pos : pos + non_shared])


def _bases_sizes(contents: list[memoryview | bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Each block's start in the blocks joined in order, and its size (int64 arrays)."""
    import numpy as np

    sizes = np.array([len(c) for c in contents], dtype=np.int64)
    bases = np.zeros(len(contents), dtype=np.int64)
    np.cumsum(sizes[:-1], out=bases[1:])
    return bases, sizes


def _bulk_runs(
    data: bytes, bases: np.ndarray, sizes: np.ndarray, *, keys_too: bool = True
) -> tuple[list[bool], list[str], np.ndarray, np.ndarray]:
    """The entries of every block whose layout is regular, decoded restart run by restart run.

    Returns ``(bulk, keys, starts, ends)``: ``bulk[b]`` says block ``b`` was decoded here (else
    it is left to :meth:`_Block.spans`); keys and value spans (offsets into ``data``) of the
    bulk blocks' entries, in order. A run must start with a whole key (``shared == 0``), stay
    inside the block's entries, and end exactly on the next restart point (or the restart
    array): then walking entry by entry from the block's start passes the same points and
    yields the same entries. Without ``keys_too`` only ``bulk`` is worked out (what
    :meth:`Table.verify` needs).
    """
    import numpy as np

    u8 = np.frombuffer(data, np.uint8)
    nblocks = len(sizes)
    ok = sizes >= 4
    if len(u8) >= 4:
        num_restarts = _u32(u8, np.where(ok, bases + sizes - 4, 0))
    else:
        num_restarts = np.zeros(nblocks, dtype=np.int64)
    entries_end = sizes - 4 - 4 * num_restarts
    ok &= (num_restarts <= sizes // 4) & (entries_end >= 0)
    has = ok & (entries_end > 0)
    ok &= ~has | (num_restarts > 0)
    counts = np.where(has & ok, num_restarts, 0)
    # every restart point of every block, as an offset into the data
    total = int(counts.sum())
    run_block = np.repeat(np.arange(nblocks), counts)
    within = np.arange(total) - (np.cumsum(counts) - counts)[run_block]
    run_start = _u32(u8, bases[run_block] + entries_end[run_block] + 4 * within)
    is_last = within == counts[run_block] - 1
    run_end = np.empty_like(run_start)
    run_end[:-1] = run_start[1:]
    run_end[is_last] = entries_end[run_block[is_last]]
    good = (run_start < run_end) & ((within > 0) | (run_start == 0))
    ok[run_block[~good]] = False
    run_start += bases[run_block]
    run_end += bases[run_block]

    # walk every run at once, one entry per step
    steps: list[tuple[np.ndarray, ...]] = []
    live = np.flatnonzero(ok[run_block])
    pos = run_start[live]
    prev_len = np.zeros(len(live), dtype=np.int64)
    for _ in range(_MAX_RUN):
        if not live.size:
            break
        end = run_end[live]
        # at most 5 bytes each (35 bits): the sums below cannot overflow
        shared, at, ok1 = decode_varints_at(u8, pos, end, 5)
        non_shared, at, ok2 = decode_varints_at(u8, at, end, 5)
        value_len, at, ok3 = decode_varints_at(u8, at, end, 5)
        key_end = at + non_shared
        value_end = key_end + value_len
        bad = ~(ok1 & ok2 & ok3) | (value_end > end) | (shared > prev_len)
        if bad.any():
            ok[run_block[live[bad]]] = False
            keep = ~bad
            live, end, shared, at, key_end, value_end, non_shared = (
                a[keep] for a in (live, end, shared, at, key_end, value_end, non_shared)
            )
        steps.append((live, shared, at, key_end, value_end))
        going = value_end < end
        live, pos, prev_len = live[going], value_end[going], (shared + non_shared)[going]
    ok[run_block[live]] = False  # runs longer than _MAX_RUN

    empty = np.zeros(0, dtype=np.int64)
    if not steps or not keys_too:
        return ok.tolist(), [], empty, empty
    # entry i of run r goes to (the entries of the runs before r) + i, in file order
    run_of = np.concatenate([s[0] for s in steps])
    step_of = np.repeat(np.arange(len(steps)), [len(s[0]) for s in steps])
    keep = ok[run_block[run_of]]
    run_of, step_of = run_of[keep], step_of[keep]
    per_run = np.bincount(run_of, minlength=total)
    slot = (np.cumsum(per_run) - per_run)[run_of] + step_of
    shared, key_start, key_end, value_end = (
        _placed(np.concatenate([s[i] for s in steps])[keep], slot) for i in range(1, 5)
    )
    text = data.decode("latin-1")
    keys: list[str] = []
    append = keys.append
    key = ""
    for row in range(0, len(shared), _CHUNK):  # a chunk of Python ints at a time, not millions
        cuts, starts, stops = (a[row : row + _CHUNK].tolist() for a in (shared, key_start, key_end))
        for cut, start, stop in zip(cuts, starts, stops, strict=True):
            key = key[:cut] + text[start:stop]
            append(key)
    return ok.tolist(), keys, key_end, value_end


def _placed(values: np.ndarray, slot: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.empty_like(values)
    out[slot] = values
    return out


def _u32(u8: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian uint32 at each offset ``at`` (every ``at + 4 <= len(u8)``), as int64."""
    import numpy as np

    value = u8[at].astype(np.int64)
    for k in (1, 2, 3):
        value |= u8[at + k].astype(np.int64) << (8 * k)
    return value
