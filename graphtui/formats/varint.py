"""Little-endian base-128 varints as used by protobuf, LevelDB tables and TF bundles."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from graphtui.formats._buffer import Buffer

if TYPE_CHECKING:  # numpy is imported by the bulk decoder only: every reader imports this module
    import numpy as np


class VarintError(ValueError):
    """A varint runs past the end of its buffer (``cut``) or is longer than 64 bits."""

    def __init__(self, message: str, *, cut: bool) -> None:
        super().__init__(message)
        self.cut = cut


class VarintArrays(NamedTuple):
    """Varints decoded at many positions at once: values, where each ended, which are whole."""

    value: np.ndarray
    next: np.ndarray
    ok: np.ndarray


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


def decode_varints_at(
    buf: np.ndarray, pos: np.ndarray, end: np.ndarray | int, max_bytes: int = 10
) -> VarintArrays:
    """Decode one varint at each of ``pos`` (int64) in ``buf`` (uint8) at once, each bounded
    by its ``end``: the vectorised form of :func:`decode_varint` for scanners that visit
    millions of records (one-byte varints, the most, cost one pass). ``ok`` is False where a
    varint is cut off by its end or longer than ``max_bytes`` (10); values are only meaningful
    where ``ok``. Values of 2**63 and more wrap negative: callers bound them against their
    data, or pass ``max_bytes=9`` (63 bits: every value fits, exactly).
    """
    import numpy as np

    ends = np.broadcast_to(np.asarray(end, dtype=np.int64), pos.shape)
    last = len(buf) - 1
    inside = pos < ends
    byte = buf[np.clip(pos, 0, last)]
    value = (byte & 0x7F).astype(np.int64)
    ok = inside & (byte < 0x80)
    nxt = pos + 1
    todo = np.flatnonzero(inside & (byte >= 0x80))
    for shift in range(7, 7 * max_bytes, 7):
        if not len(todo):
            break
        at = nxt[todo]
        inside = at < ends[todo]
        todo, at = todo[inside], at[inside]
        more = buf[at].astype(np.int64)
        value[todo] |= (more & 0x7F) << shift
        nxt[todo] = at + 1
        done = more < 0x80
        ok[todo[done]] = True
        todo = todo[~done]
    return VarintArrays(value, nxt, ok)
