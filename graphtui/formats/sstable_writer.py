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

DEFAULT_BLOCK_SIZE = 16 * 1024
DEFAULT_RESTART_INTERVAL = 16


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
        self.num_entries = 0

    def add(self, key: bytes, value: bytes) -> None:
        if self._last_key is not None and key <= self._last_key:
            raise ValueError(f"table keys must increase: {key!r} after {self._last_key!r}")
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
        handle = self._write_block(self._data.finish())
        # The last key of the block is a valid separator: >= every key in it, < the next block's.
        assert self._last_key is not None
        self._index.add(self._last_key, encode_handle(handle))
        self._data = _BlockBuilder(self.restart_interval)

    def finish(self) -> int:
        """Write the remaining block, meta-index, index and footer; return the file size."""
        self._flush_data()
        meta_handle = self._write_block(_BlockBuilder(self.restart_interval).finish())
        index_handle = self._write_block(self._index.finish())
        footer = bytearray(encode_handle(meta_handle) + encode_handle(index_handle))
        footer += b"\x00" * (FOOTER_SIZE - 8 - len(footer))
        footer += TABLE_MAGIC.to_bytes(8, "little")
        self.out.write(footer)
        self.offset += len(footer)
        return self.offset
