"""Snappy raw-block decompression (TensorFlow tables may store blocks snappy-compressed).

The bound on a block's decompressed size, against what TensorFlow does: ``ReadBlock`` in
tensorflow/tensorflow ``third_party/xla/xla/tsl/lib/io/format.cc`` (as LevelDB's
``table/format.cc``) applies none of its own: it asks snappy's ``GetUncompressedLength`` and
allocates that many bytes. snappy reads the length with ``Varint::Parse32WithLimit``: at most
five bytes, the fifth below 16, so a length of 2**32 or more (or a longer varint) is "corrupted
compressed block contents" there and here. Within that, TensorFlow would allocate up to 4 GiB
for a 6-byte block that then fails to decode; we refuse first any length no valid block of its
size can reach (:func:`max_output`), which is stricter only for blocks snappy rejects as well.
"""

from __future__ import annotations

from graphtui.formats._buffer import Buffer
from graphtui.formats.varint import VarintError, decode_varint


class SnappyError(ValueError):
    """The compressed bytes are not a valid snappy block."""


MAX_LENGTH = (1 << 32) - 1  # snappy's length header is a varint32 (Varint::Parse32WithLimit)


def max_output(compressed_size: int) -> int:
    """The most bytes a valid block of ``compressed_size`` bytes decodes to. Each element costs
    at least 1 byte per byte (a literal), 2 per 11 (a copy with a 1-byte offset) or 3 per 64
    (a copy with a 2-byte offset), and the first one is a literal: 64/3 per byte is the most."""
    return min(MAX_LENGTH, (64 * compressed_size) // 3 + 64)


def decompress(buf: Buffer, max_size: int | None = None) -> bytes:
    """Decompress one raw snappy block; refuse output larger than ``max_size`` bytes (by default
    :func:`max_output` of the block's size) before decoding it."""
    data = memoryview(buf)
    if max_size is None:
        max_size = max_output(len(data))
    try:
        length, pos = decode_varint(data, 0)
    except VarintError as exc:
        raise SnappyError(f"bad snappy length: {exc}") from None
    if pos > 5 or length > MAX_LENGTH:
        raise SnappyError("bad snappy length: not a 32-bit varint")
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
