"""Snappy raw-block decompression (TensorFlow tables may store blocks snappy-compressed)."""

from __future__ import annotations

from graphtui.formats._buffer import Buffer
from graphtui.formats.varint import VarintError, decode_varint


class SnappyError(ValueError):
    """The compressed bytes are not a valid snappy block."""


def decompress(buf: Buffer, max_size: int) -> bytes:
    """Decompress one raw snappy block; refuse output larger than ``max_size`` bytes."""
    data = memoryview(buf)
    try:
        length, pos = decode_varint(data, 0)
    except VarintError as exc:
        raise SnappyError(f"bad snappy length: {exc}") from None
    if length > max_size:
        raise SnappyError(f"snappy block claims {length} bytes, more than the allowed {max_size}")
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            size = tag >> 2
            if size >= 60:
                nbytes = size - 59
                if pos + nbytes > end:
                    raise SnappyError("truncated literal length")
                size = int.from_bytes(data[pos : pos + nbytes], "little")
                pos += nbytes
            size += 1
            if pos + size > end:
                raise SnappyError("literal runs past the end of the block")
            out += data[pos : pos + size]
            pos += size
        else:
            if kind == 1:
                if pos >= end:
                    raise SnappyError("truncated copy")
                size = ((tag >> 2) & 7) + 4
                offset = ((tag >> 5) << 8) | data[pos]
                pos += 1
            else:
                nbytes = 2 if kind == 2 else 4
                if pos + nbytes > end:
                    raise SnappyError("truncated copy")
                size = (tag >> 2) + 1
                offset = int.from_bytes(data[pos : pos + nbytes], "little")
                pos += nbytes
            if offset == 0 or offset > len(out):
                raise SnappyError("copy offset outside the output")
            if len(out) + size > length:
                raise SnappyError("output longer than the declared length")
            start = len(out) - offset
            if offset >= size:
                out += out[start : start + size]
            else:  # an overlapping copy repeats the last ``offset`` bytes: whole runs at once
                pattern = bytes(out[start:])
                out += (pattern * (size // offset + 1))[:size]
        if len(out) > length:
            raise SnappyError("output longer than the declared length")
    if len(out) != length:
        raise SnappyError(f"output is {len(out)} bytes, the block declared {length}")
    return bytes(out)
