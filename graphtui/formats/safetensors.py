"""safetensors files: the header read safely by our own code, tensors served as zero-copy views of
a memory map; files are laid out by the ``safetensors`` package itself (its header order), the
tensor bytes copied into place by the caller.

Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
(``{"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}``),
then the data buffer; offsets are relative to the buffer, tensors are little-endian, C order, and
cover the buffer exactly. Every size is checked against the file before anything is allocated,
as the package does (its header cap is 100 MB).
"""

from __future__ import annotations

import json
import math
import mmap
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphtui.errors import FormatError
from graphtui.formats import dtypes
from graphtui.formats.sstable import open_regular

HEADER_LENGTH_BYTES = 8
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
METADATA_KEY = "__metadata__"


@dataclass(frozen=True)
class SafeEntry:
    name: str
    code: str  # the header's dtype code ("F32", "BF16", ...)
    dtype: dtypes.DType | None  # None: a code TensorFlow has no dtype for (F8_E8M0, F4, ...)
    shape: tuple[int, ...]
    begin: int  # offsets in the data buffer
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass
class SafetensorsFile:
    """A parsed header plus the file mapped read-only; close it (or use ``with``)."""

    path: str
    metadata: dict[str, str]
    entries: dict[str, SafeEntry]  # in header order
    data_start: int
    _mm: mmap.mmap | None = field(default=None, repr=False)

    def raw(self, name: str) -> memoryview:
        """The stored bytes of tensor ``name`` (a view of the map)."""
        entry = self.entries[name]
        if self._mm is None:
            return memoryview(b"")
        start = self.data_start + entry.begin
        return memoryview(self._mm)[start : start + entry.nbytes]

    def read(self, name: str) -> Any:
        """Tensor ``name`` as a read-only numpy array viewing the map."""
        import numpy as np

        entry = self.entries[name]
        if entry.dtype is None or entry.dtype.numpy is None:
            raise FormatError(self.path, f"tensor {name!r}: dtype {entry.code} has no numpy type")
        # little-endian in the file, as on every host TensorFlow runs on
        return np.frombuffer(self.raw(name), dtype=entry.dtype.numpy).reshape(entry.shape)

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None

    def __enter__(self) -> SafetensorsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_safetensors(path: str | os.PathLike[str]) -> SafetensorsFile:
    """Read and check the header of ``path``; FormatError (file, offset, what) when it is bad."""
    path = os.fspath(path)
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(HEADER_LENGTH_BYTES)
            if len(head) < HEADER_LENGTH_BYTES:
                raise FormatError(path, f"{size} bytes: too short for a safetensors header length")
            length = int.from_bytes(head, "little")
            if length > MAX_HEADER_BYTES:
                raise FormatError(
                    path,
                    f"header length {length} exceeds the {MAX_HEADER_BYTES}-byte limit",
                    offset=0,
                )
            if HEADER_LENGTH_BYTES + length > size:
                raise FormatError(
                    path,
                    f"header of {length} bytes runs past the end of the {size}-byte file: truncated",
                    offset=0,
                )
            text = fh.read(length)
            data_start = HEADER_LENGTH_BYTES + length
            mm = None
            if size > data_start:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise FormatError(path, "no such file") from None
    except IsADirectoryError:
        raise FormatError(path, "is a directory, expected a .safetensors file") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        metadata, entries = parse_header(text, size - data_start, path)
    except FormatError:
        if mm is not None:
            mm.close()
        raise
    return SafetensorsFile(path, metadata, entries, data_start, mm)


def parse_header(
    text: bytes, buffer_size: int, path: str | None = None
) -> tuple[dict[str, str], dict[str, SafeEntry]]:
    """The metadata and entries of a header; checks what the safetensors package checks."""
    where = HEADER_LENGTH_BYTES
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, f"header is not valid UTF-8 JSON: {exc}", offset=where) from None
    except RecursionError:
        raise FormatError(path, "header JSON is nested too deeply", offset=where) from None
    if not isinstance(header, dict):
        raise FormatError(path, "header is not a JSON object", offset=where)
    raw_meta = header.pop(METADATA_KEY, None) or {}
    if not isinstance(raw_meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_meta.items()
    ):
        raise FormatError(path, f"{METADATA_KEY} must map strings to strings", offset=where)
    entries: dict[str, SafeEntry] = {}
    for name, info in header.items():
        entries[name] = _entry(name, info, path)
    spans = sorted((e.begin, e.end, e.name) for e in entries.values())
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise FormatError(
                path,
                f"tensor {name!r} starts at {begin}, expected {pos}: overlapping or gapped data",
            )
        pos = end
    if pos != buffer_size:
        raise FormatError(
            path,
            f"tensors cover {pos} bytes but the data buffer has {buffer_size}"
            + (": truncated" if buffer_size < pos else ""),
        )
    return dict(raw_meta), entries


def _entry(name: str, info: Any, path: str | None) -> SafeEntry:
    def bad(what: str) -> FormatError:
        return FormatError(path, f"tensor {name!r}: {what}")

    if not isinstance(info, dict):
        raise bad("entry is not a JSON object")
    code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(code, str):
        raise bad("no dtype")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise bad(f"shape {shape!r} is not a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise bad(f"data_offsets {offsets!r} are not [begin, end]")
    dt = dtypes.BY_SAFETENSORS.get(code)
    if dt is not None:
        want = math.prod(shape) * dt.itemsize
        if want != offsets[1] - offsets[0]:
            raise bad(
                f"{code} {shape} needs {want} bytes, data_offsets span {offsets[1] - offsets[0]}"
            )
    return SafeEntry(name, code, dt, tuple(shape), offsets[0], offsets[1])


def safetensors_header(
    tensors: Mapping[str, tuple[dtypes.DType, tuple[int, ...], int]],
    metadata: Mapping[str, str],
) -> tuple[bytes, list[str]]:
    """The header the ``safetensors`` package writes for ``name -> (dtype, shape, nbytes)``
    (length prefix, JSON, space padding to 8 bytes) and the order of the tensors in the data
    buffer, so that the data can be copied into place without passing through the package.

    The order is the package's own, asked of it with every tensor empty (its header lists
    tensors in buffer order); the offsets follow from the sizes. The result is the file
    ``serialize_file`` writes (tests compare them byte for byte, but for the order of the
    metadata keys, which the package keeps in a hash map)."""
    import numpy as np
    from safetensors import TensorSpec, serialize

    empty = np.zeros(1, np.uint8)
    specs = {
        name: TensorSpec(dtype=dt.name, shape=[0], data_ptr=empty.ctypes.data, data_len=0)
        for name, (dt, _, _) in tensors.items()
    }
    probe = serialize(specs, metadata=dict(metadata) or None)
    length = int.from_bytes(probe[:HEADER_LENGTH_BYTES], "little")
    laid_out = json.loads(probe[HEADER_LENGTH_BYTES : HEADER_LENGTH_BYTES + length])
    order = [k for k in laid_out if k != METADATA_KEY]
    header: dict[str, Any] = {}
    if METADATA_KEY in laid_out:  # in the package's order (a hash map's: any)
        header[METADATA_KEY] = laid_out[METADATA_KEY]
    offset = 0
    for name in order:
        dt, shape, nbytes = tensors[name]
        assert dt.safetensors is not None
        header[name] = {
            "dtype": dt.safetensors,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(HEADER_LENGTH_BYTES + len(text)) % 8)
    return len(text).to_bytes(HEADER_LENGTH_BYTES, "little") + text, order
