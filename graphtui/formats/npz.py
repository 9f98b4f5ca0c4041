"""``.npz`` archives through numpy's own ``.npy`` header code, never unpickling.

Reading lists each member's dtype and shape from its ``.npy`` header alone (no data read), and
refuses a member holding Python objects (a pickle) before anything reads it; a value is the
member's bytes after the header, checked against the header's size, viewed as that dtype (no
``numpy.load``: nothing on this path can unpickle). Writing streams one member at a time into a
ZIP64 archive (what ``numpy.savez`` does, without its keyword-argument names).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import numpy as np

from graphtui.errors import FormatError

METADATA_KEY = "__metadata__"  # a 0-d unicode array holding JSON (source, step)


@dataclass(frozen=True)
class NpzEntry:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool = False

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


class NpzFile:
    """The members of an ``.npz`` (headers read on open); close it or use ``with``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise FormatError(self.path, "no such file") from None
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise FormatError(self.path, f"not an .npz archive: {exc}") from None
        self.entries: dict[str, NpzEntry] = {}
        try:
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                if not info.filename.endswith(".npy"):
                    raise FormatError(self.path, f"member {info.filename!r} is not a .npy array")
                name = info.filename[: -len(".npy")]
                self.entries[name] = self._header(info)
        except BaseException:
            self._zip.close()
            raise

    def _header(self, info: zipfile.ZipInfo) -> NpzEntry:
        name = info.filename[: -len(".npy")]
        try:
            with self._zip.open(info) as fh:
                shape, fortran, dtype = _read_header(fh)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FormatError(self.path, f"member {name!r}: bad .npy header: {exc}") from None
        if dtype.hasobject:
            raise FormatError(
                self.path,
                f"member {name!r} holds Python objects (a pickle): refused, never unpickled",
            )
        entry = NpzEntry(name, dtype, tuple(int(d) for d in shape), bool(fortran))
        if entry.nbytes > info.file_size:
            raise FormatError(
                self.path,
                f"member {name!r}: {dtype} {list(entry.shape)} needs {entry.nbytes} bytes, the "
                f"member has {info.file_size}: truncated",
            )
        return entry

    def read(self, name: str) -> np.ndarray:
        """The member's values (the zip's CRC is checked as the bytes are read)."""
        entry = self.entries[name]
        try:
            with self._zip.open(name + ".npy") as fh:
                _read_header(fh)
                data = fh.read(entry.nbytes)
                if len(data) != entry.nbytes:
                    raise EOFError(f"{len(data)} of {entry.nbytes} bytes")
                fh.read()  # to the end, so that zipfile checks the member's CRC
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FormatError(self.path, f"member {name!r}: {exc}") from None
        arr = np.frombuffer(data, dtype=entry.dtype)
        if entry.fortran_order:
            return np.ascontiguousarray(arr.reshape(entry.shape[::-1]).T)
        return arr.reshape(entry.shape)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_header(fh: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def write_npz(fh: IO[bytes], arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """Write ``(name, array)`` pairs to ``fh`` as an uncompressed ``.npz`` (no pickles)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays:
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(arr), allow_pickle=False)
