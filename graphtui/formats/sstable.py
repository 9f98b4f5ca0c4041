"""Reader for the LevelDB-style table format TensorFlow uses for ``.index`` files and V1 checkpoints.

Layout: data blocks, a meta-index block, an index block, then a 48-byte footer (two block handles,
zero padding, an 8-byte magic). Each block is followed by a 5-byte trailer: a compression type
byte and the masked crc32c of the block contents plus that type byte. Keys inside a block are
prefix-compressed with restart points.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from dataclasses import dataclass

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
from graphtui.formats.varint import VarintError, decode_varint

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # 2 handles padded to 40 bytes + 8-byte magic
BLOCK_TRAILER_SIZE = 5
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1
MAX_BLOCK_SIZE = 1 << 31  # a block handle claiming more than this is corrupt for our purposes


@dataclass(frozen=True)
class BlockHandle:
    offset: int
    size: int


def _decode_handle(buf: memoryview, pos: int, end: int) -> tuple[BlockHandle, int]:
    offset, pos = decode_varint(buf, pos, end)
    size, pos = decode_varint(buf, pos, end)
    return BlockHandle(offset, size), pos


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
        for what, handle in (("index", index), ("meta-index", meta)):
            self._check_handle(handle, what)
        return index, meta

    def _check_handle(self, handle: BlockHandle, what: str) -> None:
        limit = self.size - FOOTER_SIZE
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
        self._check_not_shrunk()
        cached = self._blocks.get(handle.offset)
        if cached is not None:
            return cached
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
                raw: memoryview | bytes = snappy.decompress(contents)
            except snappy.SnappyError as exc:
                raise FormatError(
                    self.path, f"{what}: bad snappy data: {exc}", offset=handle.offset
                ) from None
        elif ctype == NO_COMPRESSION:
            raw = contents
        else:
            raise FormatError(
                self.path, f"{what} uses unknown compression type {ctype}", offset=handle.offset
            )
        block = _Block(memoryview(raw), self.path, handle.offset, what)
        if len(self._blocks) > 256:
            self._blocks.clear()
        self._blocks[handle.offset] = block
        return block

    def _parse_index(self) -> tuple[list[bytes], list[BlockHandle]]:
        keys: list[bytes] = []
        handles: list[BlockHandle] = []
        for key, value in self._index.entries():
            try:
                handle, _ = _decode_handle(value, 0, len(value))
            except VarintError as exc:
                raise FormatError(self.path, f"corrupt index entry: {exc}") from None
            self._check_handle(handle, "data")
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

    def get(self, key: bytes) -> memoryview | None:
        """The value stored under ``key``, reading only the one data block that can hold it."""
        i = bisect.bisect_left(self._index_keys, key)
        if i >= len(self._index_handles):
            return None
        return self._read_block(self._index_handles[i], "data").get(key)

    def verify(self) -> list[FormatError]:
        """Check every block's checksum and structure; return the problems found."""
        problems: list[FormatError] = []
        saved = self.verify_checksums
        self.verify_checksums = True
        self._blocks.clear()
        try:
            for handle in [self.metaindex_handle, *self._index_handles]:
                try:
                    for _ in self._read_block(handle, "data").entries():
                        pass
                except FormatError as exc:
                    problems.append(exc)
        finally:
            self.verify_checksums = saved
        return problems

    def close(self) -> None:
        self._blocks.clear()
        self._index_handles = []
        self._src.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Block:
    """One decoded block: prefix-compressed entries followed by the restart array."""

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

    def entries(self, start: int = 0) -> Iterator[tuple[bytes, memoryview]]:
        data = self.data
        end = self.entries_end
        pos = start
        key = b""
        while pos < end:
            try:
                shared, pos = decode_varint(data, pos, end)
                non_shared, pos = decode_varint(data, pos, end)
                value_len, pos = decode_varint(data, pos, end)
            except VarintError as exc:
                raise self._fail(f"corrupt entry header: {exc}", pos) from None
            if shared > len(key) or pos + non_shared + value_len > end:
                raise self._fail("entry runs past the end of the block", pos)
            key = key[:shared] + bytes(data[pos : pos + non_shared])
            pos += non_shared
            yield key, data[pos : pos + value_len]
            pos += value_len

    def get(self, target: bytes) -> memoryview | None:
        # Binary search the restart points (full keys stored there), then scan forward.
        lo, hi = 0, len(self.restarts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            key = self._restart_key(self.restarts[mid])
            if key <= target:
                lo = mid
            else:
                hi = mid - 1
        start = self.restarts[lo] if self.restarts else 0
        for key, value in self.entries(start):
            if key == target:
                return value
            if key > target:
                return None
        return None

    def _restart_key(self, pos: int) -> bytes:
        data = self.data
        try:
            shared, pos = decode_varint(data, pos, self.entries_end)
            non_shared, pos = decode_varint(data, pos, self.entries_end)
            _, pos = decode_varint(data, pos, self.entries_end)
        except VarintError as exc:
            raise self._fail(f"corrupt restart entry: {exc}", pos) from None
        if shared != 0 or pos + non_shared > self.entries_end:
            raise self._fail("corrupt restart entry", pos)
        return bytes(data[pos : pos + non_shared])
