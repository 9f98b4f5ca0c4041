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
