"""Little-endian base-128 varints as used by protobuf, LevelDB tables and TF bundles."""

from __future__ import annotations

from graphtui.formats._buffer import Buffer


class VarintError(ValueError):
    """A varint runs past the end of its buffer (``cut``) or is longer than 64 bits."""

    def __init__(self, message: str, *, cut: bool) -> None:
        super().__init__(message)
        self.cut = cut


def decode_varint(buf: Buffer, pos: int, end: int | None = None) -> tuple[int, int]:
    """Decode one varint at ``pos``; return ``(value, next_pos)``. ``end`` bounds the read.

    The one place varints are decoded (tables, bundle entries, the wire-format walker): a
    one-byte varint (most tags and lengths) returns at once, without a loop.
    """
    try:
        byte = buf[pos]
        pos += 1
        if byte < 0x80:
            result = byte
        else:
            result = byte & 0x7F
            shift = 7
            while True:
                byte = buf[pos]
                pos += 1
                result |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
                if shift > 63:
                    raise VarintError("varint longer than 10 bytes", cut=False)
    except IndexError:
        raise VarintError("varint runs past the end of the data", cut=True) from None
    if end is not None and pos > end:
        raise VarintError("varint runs past the end of the data", cut=True)
    return result, pos


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
