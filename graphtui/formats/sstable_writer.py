"""Writer for the table format of ``.index`` files (see :mod:`graphtui.formats.sstable`)."""

from __future__ import annotations

from typing import BinaryIO

from graphtui.formats.crc import crc32c, mask
from graphtui.formats.sstable import (
    FOOTER_SIZE,
    NO_COMPRESSION,
    TABLE_MAGIC,
    BlockHandle,
    encode_handle,
)
from graphtui.formats.varint import encode_varint

# TensorFlow's table::Options (table_options.h): what its bundle writer uses for every index.
DEFAULT_BLOCK_SIZE = 262144
DEFAULT_RESTART_INTERVAL = 16


def shortest_separator(start: bytes, limit: bytes) -> bytes:
    """TF's ``FindShortestSeparator`` (table_builder.cc): a short key in ``[start, limit)``,
    the index entry of a data block that ends at ``start`` when the next starts at ``limit``."""
    common = 0
    size = min(len(start), len(limit))
    while common < size and start[common] == limit[common]:
        common += 1
    if common < size:
        byte = start[common]
        if byte < 0xFF and byte + 1 < limit[common]:
            return start[:common] + bytes([byte + 1])
    return start


def short_successor(key: bytes) -> bytes:
    """TF's ``FindShortSuccessor``: a short key >= ``key`` (the last data block's index key)."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


class _BlockBuilder:
    def __init__(self, restart_interval: int) -> None:
        self.restart_interval = restart_interval
        self.buf = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter < self.restart_interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.counter = 0
        self.buf += encode_varint(shared)
        self.buf += encode_varint(len(key) - shared)
        self.buf += encode_varint(len(value))
        self.buf += key[shared:]
        self.buf += value
        self.last_key = key
        self.counter += 1

    def size_estimate(self) -> int:
        return len(self.buf) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        out = bytearray(self.buf)
        for restart in self.restarts:
            out += restart.to_bytes(4, "little")
        out += len(self.restarts).to_bytes(4, "little")
        return bytes(out)

    @property
    def empty(self) -> bool:
        return not self.buf


class TableWriter:
    """Append ``(key, value)`` pairs in strictly increasing key order, then :meth:`finish`."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        restart_interval: int = DEFAULT_RESTART_INTERVAL,
    ) -> None:
        self.out = out
        self.block_size = block_size
        self.restart_interval = restart_interval
        self.offset = 0
        self._data = _BlockBuilder(restart_interval)
        self._index = _BlockBuilder(1)
        self._last_key: bytes | None = None
        self._pending: BlockHandle | None = None  # a flushed block whose index entry waits
        self.num_entries = 0

    def add(self, key: bytes, value: bytes) -> None:
        if self._last_key is not None and key <= self._last_key:
            raise ValueError(f"table keys must increase: {key!r} after {self._last_key!r}")
        if self._pending is not None:  # TF's key for it: short, between its last key and this
            assert self._last_key is not None
            self._index.add(shortest_separator(self._last_key, key), encode_handle(self._pending))
            self._pending = None
        self._data.add(key, value)
        self._last_key = key
        self.num_entries += 1
        if self._data.size_estimate() >= self.block_size:
            self._flush_data()

    def _write_block(self, contents: bytes) -> BlockHandle:
        handle = BlockHandle(self.offset, len(contents))
        type_byte = bytes([NO_COMPRESSION])
        crc = mask(crc32c(type_byte, crc32c(contents)))
        self.out.write(contents)
        self.out.write(type_byte + crc.to_bytes(4, "little"))
        self.offset += len(contents) + 5
        return handle

    def _flush_data(self) -> None:
        if self._data.empty:
            return
        self._pending = self._write_block(self._data.finish())
        self._data = _BlockBuilder(self.restart_interval)

    def finish(self) -> int:
        """Write the remaining block, meta-index, index and footer; return the file size.
        The bytes are those TF's ``table::TableBuilder`` writes for the same entries."""
        self._flush_data()
        meta_handle = self._write_block(_BlockBuilder(self.restart_interval).finish())
        if self._pending is not None:
            assert self._last_key is not None
            self._index.add(short_successor(self._last_key), encode_handle(self._pending))
            self._pending = None
        index_handle = self._write_block(self._index.finish())
        footer = bytearray(encode_handle(meta_handle) + encode_handle(index_handle))
        footer += b"\x00" * (FOOTER_SIZE - 8 - len(footer))
        footer += TABLE_MAGIC.to_bytes(8, "little")
        self.out.write(footer)
        self.offset += len(footer)
        return self.offset
