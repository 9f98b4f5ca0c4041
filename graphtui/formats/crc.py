"""CRC-32C (Castagnoli) and TensorFlow's masked form, over any buffer (zero copy for mmap slices)."""

from __future__ import annotations

import crc32c as _crc32c

from graphtui.formats._buffer import Buffer

_MASK_DELTA = 0xA282EAD8


def crc32c(data: Buffer, crc: int = 0) -> int:
    """The CRC-32C of ``data``, continuing from ``crc`` (0 starts a new checksum)."""
    return _crc32c.crc32c(data, crc)


def mask(crc: int) -> int:
    """TensorFlow/LevelDB masking of a stored crc: rotate right by 15 bits and add a constant."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def masked_crc32c(data: Buffer) -> int:
    """``mask(crc32c(data))``: the form TensorFlow stores in tables and bundle entries."""
    return mask(_crc32c.crc32c(data))
