"""TensorFlow's OrderedCode, as used for checkpoint slice keys (``EncodeTensorNameSlice``).

A slice key is ``num(0) + string(name) + num(rank) + (signed(start), signed(length)) * rank``;
a full extent is stored as start 0, length -1. Keys begin with a 0 byte, so they sort before
every printable tensor name.
"""

from __future__ import annotations

from collections.abc import Sequence

_ESCAPE = 0x00
_FF = 0xFF
_SEPARATOR = b"\x00\x01"
FULL_EXTENT = -1


class OrderedCodeError(ValueError):
    """The bytes are not a valid ordered-code slice key."""


def encode_num_increasing(value: int) -> bytes:
    """Unsigned: one length byte, then the value big-endian with leading zeros dropped."""
    if value < 0:
        raise ValueError("encode_num_increasing takes a non-negative value")
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return bytes([len(body)]) + body


def encode_string(value: bytes) -> bytes:
    """Escape 0x00 as 00 FF and 0xFF as FF 00, then terminate with 00 01."""
    return _escape(value) + _SEPARATOR


def _escape(value: bytes) -> bytes:
    out = bytearray()
    for byte in value:
        if byte == _ESCAPE:
            out += b"\x00\xff"
        elif byte == _FF:
            out += b"\xff\x00"
        else:
            out.append(byte)
    return bytes(out)


def _signed_length(value: int) -> int:
    magnitude = ~value if value < 0 else value
    return (magnitude.bit_length() + 7) // 7 if magnitude.bit_length() >= 1 else 1


def encode_signed_num_increasing(value: int) -> bytes:
    """Signed: length in unary header bits (inverted for negatives), then two's complement."""
    length = _signed_length(value)
    if length > 10:
        raise ValueError("signed value out of int64 range")
    raw = bytearray((value & ((1 << (8 * length)) - 1)).to_bytes(length, "big"))
    header = ((1 << length) - 1) << (16 - length) if length <= 16 else 0
    hi, lo = (header >> 8) & 0xFF, header & 0xFF
    raw[0] ^= hi
    if length >= 2:
        raw[1] ^= lo
    return bytes(raw)


def encode_slice_key(name: str | bytes, extents: Sequence[tuple[int, int]]) -> bytes:
    """The table key of one saved slice; ``extents`` are ``(start, length)``, length -1 = full."""
    raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    parts = [encode_num_increasing(0), encode_string(raw), encode_num_increasing(len(extents))]
    for start, length in extents:
        parts.append(encode_signed_num_increasing(start))
        parts.append(encode_signed_num_increasing(length))
    return b"".join(parts)


def _decode_num(key: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(key):
        raise OrderedCodeError("truncated number")
    n = key[pos]
    if n > 8 or pos + 1 + n > len(key):
        raise OrderedCodeError("bad number length")
    return int.from_bytes(key[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def _decode_string(key: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while pos < len(key):
        byte = key[pos]
        if byte == _ESCAPE:
            if pos + 1 >= len(key):
                break
            nxt = key[pos + 1]
            if nxt == 0x01:
                return bytes(out), pos + 2
            if nxt != _FF:
                raise OrderedCodeError("bad escape in string")
            out.append(0)
            pos += 2
        elif byte == _FF:
            if pos + 1 >= len(key) or key[pos + 1] != 0x00:
                raise OrderedCodeError("bad escape in string")
            out.append(0xFF)
            pos += 2
        else:
            out.append(byte)
            pos += 1
    raise OrderedCodeError("unterminated string")


def _decode_signed(key: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(key):
        raise OrderedCodeError("truncated signed number")
    negative = not key[pos] & 0x80
    first_two = key[pos : pos + 2].ljust(2, b"\x00")
    bits = int.from_bytes(first_two, "big")
    if negative:
        bits ^= 0xFFFF
    length = 0
    while length < 16 and bits & (1 << (15 - length)):
        length += 1
    if length == 0 or length > 10 or pos + length > len(key):
        raise OrderedCodeError("bad signed number header")
    raw = bytearray(key[pos : pos + length])
    header = ((1 << length) - 1) << (16 - length)
    raw[0] ^= (header >> 8) & 0xFF
    if length >= 2:
        raw[1] ^= header & 0xFF
    value = int.from_bytes(raw, "big", signed=False)
    if negative:
        value -= 1 << (8 * length)
    return value, pos + length


def decode_slice_key(key: bytes) -> tuple[str, list[tuple[int, int]]]:
    """Inverse of :func:`encode_slice_key`: ``(name, [(start, length), ...])``."""
    zero, pos = _decode_num(key, 0)
    if zero != 0:
        raise OrderedCodeError("slice keys start with the number 0")
    raw_name, pos = _decode_string(key, pos)
    rank, pos = _decode_num(key, pos)
    if rank > 64:
        raise OrderedCodeError(f"slice rank {rank} is absurd")
    extents = []
    for _ in range(rank):
        start, pos = _decode_signed(key, pos)
        length, pos = _decode_signed(key, pos)
        extents.append((start, length))
    if pos != len(key):
        raise OrderedCodeError("trailing bytes after slice key")
    return raw_name.decode("utf-8", "replace"), extents
