"""``.npz`` archives through numpy's own ``.npy`` header code, never unpickling.

Reading lists each member's dtype and shape from its ``.npy`` header alone (no data read), and
refuses a member holding Python objects (a pickle) before anything reads it; a value is the
member's bytes after the header, checked against the header's size, viewed as that dtype (no
``numpy.load``: nothing on this path can unpickle). A stored (uncompressed) member's values can
also be taken as a view of the mapped file, its CRC-32 checked first (:meth:`NpzFile.raw`: no
copy through ``zipfile``'s reader). Writing streams one member at a time into a ZIP64 archive
(what ``numpy.savez`` does, without its keyword-argument names), each array's bytes handed to
the archive as they are (no chunk copies).
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import numpy as np

from graphtui.errors import FormatError

METADATA_KEY = "__metadata__"  # a 0-d unicode array holding JSON (source, step)
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local file header (APPNOTE 4.3.7)
_LOCAL_MAGIC = b"PK\x03\x04"


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
        self._mm: mmap.mmap | None = None  # the file mapped, for raw()
        try:
            _prefetch_headers(self.path, self._zip.infolist())
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

    def raw(self, name: str) -> memoryview | None:
        """The member's array bytes as a view of the mapped file (C order, little-endian, as
        stored), after the member's CRC-32 is checked over the mapped bytes; None when the
        member is compressed, Fortran-ordered or big-endian (read it with :meth:`read`)."""
        entry = self.entries[name]
        info = self._zip.getinfo(name + ".npy")
        if (
            info.compress_type != zipfile.ZIP_STORED
            or entry.fortran_order
            or entry.dtype.byteorder == ">"
            or info.compress_size != info.file_size
        ):
            return None
        try:
            if self._mm is None:
                with open(self.path, "rb") as fh:
                    self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            view = memoryview(self._mm)
            head = view[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
            if len(head) < _LOCAL_HEADER.size or head[:4] != _LOCAL_MAGIC:
                raise ValueError("bad local file header")
            *_, name_length, extra_length = _LOCAL_HEADER.unpack(head)
            start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
            member = view[start : start + info.file_size]
            if len(member) != info.file_size:
                raise EOFError(f"{len(member)} of {info.file_size} bytes")
            if zlib.crc32(member) != info.CRC:
                raise ValueError("CRC-32 mismatch (data corrupt)")
            skip = info.file_size - entry.nbytes  # the .npy header before the values
            shape, fortran, dtype = _read_header(io.BytesIO(member[:skip]))
            if (tuple(shape), bool(fortran), dtype) != (entry.shape, False, entry.dtype):
                raise ValueError("the .npy header is not the one read at open")
        except (ValueError, OSError, EOFError) as exc:
            raise FormatError(self.path, f"member {name!r}: {exc}") from None
        return member[skip:]

    def close(self) -> None:
        if self._mm is not None:
            with contextlib.suppress(BufferError):  # a view still held: unmapped when released
                self._mm.close()
            self._mm = None
        self._zip.close()

    def __enter__(self) -> NpzFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _prefetch_headers(path: str, infos: list[zipfile.ZipInfo]) -> None:
    """Ask the kernel for every member's first block at once (each member's local and .npy
    headers are read one by one next: from a cold file, e.g. one just written with O_DIRECT,
    thousands of small reads would each wait on the disk in turn)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None or len(infos) < 2:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        for info in infos:
            advise(fd, info.header_offset, 8192, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_header(fh: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def write_npz(fh: IO[bytes] | io.RawIOBase, arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """Write ``(name, array)`` pairs to ``fh`` as an uncompressed ``.npz`` (no pickles)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays:
            arr = np.asarray(arr)
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                if arr.dtype.hasobject or not arr.flags.c_contiguous:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
                    continue
                # numpy's header (version 1.0 where it fits, as write_array picks), then the
                # values as they lie: write_array would copy them 16 MiB at a time first
                header = np.lib.format.header_data_from_array_1_0(arr)
                try:
                    np.lib.format.write_array_header_1_0(member, header)
                except ValueError:
                    np.lib.format.write_array_header_2_0(member, header)
                member.write(arr.reshape(-1).view(np.uint8).data)
