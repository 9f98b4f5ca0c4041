"""CRC-32C (Castagnoli) and TensorFlow's masked form, over any buffer (zero copy for mmap slices)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from graphtui.formats._buffer import Buffer

_MASK_DELTA = 0xA282EAD8


def _load_crc32c() -> Callable[..., int]:
    """The ``crc32c`` package's C function (hardware accelerated where the CPU allows).

    The package's ``__init__`` imports ``importlib.metadata`` for its version string, which
    costs more start-up time than everything else a ``graphtui ls`` does; so its extension
    module is loaded on its own when it can be found, else the package is imported as usual.
    """
    module: Any = sys.modules.get("crc32c._crc32c")
    if module is None:
        try:
            from importlib.machinery import PathFinder
            from importlib.util import module_from_spec

            package = PathFinder.find_spec("crc32c")
            spec = (
                PathFinder.find_spec("crc32c._crc32c", package.submodule_search_locations)
                if package is not None and package.submodule_search_locations
                else None
            )
            if spec is None or spec.loader is None:
                raise ImportError("crc32c extension module not found")
            module = module_from_spec(spec)
            spec.loader.exec_module(module)
            # Registered under its own name: a later ``import crc32c`` reuses it.
            sys.modules[spec.name] = module
        except Exception:  # noqa: BLE001 - any trouble: the ordinary import
            import crc32c as module
    function: Callable[..., int] = module.crc32c
    return function


_crc32c = _load_crc32c()


def crc32c(data: Buffer, crc: int = 0) -> int:
    """The CRC-32C of ``data``, continuing from ``crc`` (0 starts a new checksum)."""
    return _crc32c(data, crc)


def crc32c_held(data: Buffer, crc: int = 0) -> int:
    """:func:`crc32c` without releasing the GIL, for pieces summed in a fraction of a
    millisecond: a thread that releases it queues to take it back, for up to the 5 ms switch
    interval while another thread runs Python (a restore plans while its data is summed)."""
    return _crc32c(data, crc, 0)


def mask(crc: int) -> int:
    """TensorFlow/LevelDB masking of a stored crc: rotate right by 15 bits and add a constant."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def masked_crc32c(data: Buffer) -> int:
    """``mask(crc32c(data))``: the form TensorFlow stores in tables and bundle entries."""
    return mask(_crc32c(data))


_TABLE: Any = None  # numpy table of the byte-at-a-time CRC-32C, made on first use


def masked_crc32c_rows(u8: Any, starts: Any, length: int) -> Any:
    """``masked_crc32c(u8[s : s + length])`` for every ``s`` of ``starts`` at once (numpy, one
    byte column at a time): for many tiny tensors, where one C call each costs more than the
    bytes. ``u8`` is a uint8 array, ``starts`` an int64 array; returns a uint32 array."""
    import numpy as np

    global _TABLE
    if _TABLE is None:
        table = np.arange(256, dtype=np.uint32)
        for _ in range(8):
            table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1)
        _TABLE = table.astype(np.uint32)
    crc = np.full(len(starts), 0xFFFFFFFF, dtype=np.uint32)
    for k in range(length):
        low = crc.astype(np.uint8) ^ u8[starts + k]
        crc >>= 8
        crc ^= _TABLE[low]
    crc ^= np.uint32(0xFFFFFFFF)
    rotated = (crc >> np.uint32(15)) | (crc << np.uint32(17))
    return rotated + np.uint32(_MASK_DELTA)  # wraps modulo 2**32, as mask() does
