"""Little-endian base-128 varints as used by protobuf, LevelDB tables and TF bundles."""

from __future__ import annotations

from graphtui.formats._buffer import Buffer


class VarintError(ValueError):
    """A varint runs past the end of its buffer or is longer than 64 bits."""


def decode_varint(buf: Buffer, pos: int, end: int | None = None) -> tuple[int, int]:
    """Decode one varint at ``pos``; return ``(value, next_pos)``. ``end`` bounds the read."""
    data = memoryview(buf)
    limit = len(data) if end is None else end
    result = 0
    shift = 0
    while True:
        if pos >= limit:
            raise VarintError("varint runs past the end of the data")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise VarintError("varint longer than 10 bytes")


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer below 2**64 as a varint."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
