"""Writer for V2 tensor bundles (``PREFIX.index`` + ``PREFIX.data-00000-of-00001``).

Tensors can be added from numpy arrays (encoded here) or as raw stored bytes with their stored
checksum (copied from a source bundle without decoding: ``os.copy_file_range`` where the kernel
offers it). Sliced tensors get a full entry listing the slices plus one entry per slice, under
its ordered-code key. Entries are sorted by key when the index is written, as TF requires.
Files go through a :class:`FileTransaction`; the index is staged after the data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from graphtui.formats import dtypes
from graphtui.formats.bundle import (
    BUNDLE_VERSION,
    LITTLE_ENDIAN,
    Extents,
    data_path,
    index_path,
)
from graphtui.formats.crc import crc32c, mask
from graphtui.formats.data_sink import SUM, CopiedTensor, DataSink
from graphtui.formats.data_sink import copy_file_bytes as copy_file_bytes  # re-exported
from graphtui.formats.ordered_code import FULL_EXTENT, encode_slice_key
from graphtui.formats.sstable_writer import DEFAULT_BLOCK_SIZE, TableWriter
from graphtui.formats.transaction import FileTransaction
from graphtui.formats.varint import encode_varint

if TYPE_CHECKING:  # numpy is imported by the calls that encode arrays: a copy needs none
    import numpy as np

INDEX_BLOCK_SIZE = DEFAULT_BLOCK_SIZE  # TF's: the index is the bytes TF writes
_RESERVE_FROM = 64 << 10  # a tensor this big is checked against the free space first
_OWN_CHECKSUM = frozenset({"string", "variant"})  # stored crc is not the crc of the raw bytes


def encode_strings(values: np.ndarray) -> tuple[bytes, int]:
    """Bundle string layout and its masked crc32c: varint lengths, masked length crc, bytes."""
    items = [x if isinstance(x, bytes) else str(x).encode() for x in values.ravel()]
    crc = 0
    head = bytearray()
    for item in items:
        head += encode_varint(len(item))
        crc = crc32c(len(item).to_bytes(4 if len(item) <= 0xFFFFFFFF else 8, "little"), crc)
    length_crc = mask(crc).to_bytes(4, "little")
    crc = crc32c(length_crc, crc)
    body = b"".join(items)
    crc = crc32c(body, crc)
    return bytes(head) + length_crc + body, mask(crc)


def tensor_bytes(array: np.ndarray, dtype: dtypes.DType) -> tuple[bytes | memoryview, int]:
    """Stored bytes and masked crc32c of a whole tensor."""
    import numpy as np

    if dtype.name == "string":
        return encode_strings(np.asarray(array, dtype=object))
    if dtype.numpy is None:
        raise ValueError(f"cannot write a {dtype.name} tensor")
    arr = np.ascontiguousarray(np.asarray(array).astype(dtype.numpy, copy=False))
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    raw = arr.reshape(-1).view(np.uint8).data
    return raw, mask(crc32c(raw))


class BundleWriter:
    """Build one V2 checkpoint. Call :meth:`finish` to stage the data and index files."""

    def __init__(self, prefix: str | os.PathLike[str], txn: FileTransaction) -> None:
        from graphtui._proto import pb

        self._pb = pb
        self.prefix = os.fspath(prefix)
        self.txn = txn
        path = data_path(self.prefix, 0, 1)
        self._data: BinaryIO = txn.open(path)
        self._sink = DataSink(self._data, txn.temp_path(path))
        txn.on_abort(self._sink.abort)
        self._entries: dict[bytes, bytes] = {}

    # -- data ----------------------------------------------------------------------------------

    def _append(self, raw: bytes | memoryview) -> int:
        offset = self._sink.position
        if len(raw) >= _RESERVE_FROM:
            self.txn.reserve(data_path(self.prefix, 0, 1), len(raw))
        self._sink.write(raw)
        return offset

    def _append_from_file(
        self,
        src_fd: int,
        src_offset: int,
        size: int,
        checks: Sequence[CopiedTensor] = (),
        src_path: str = "source data file",
    ) -> tuple[int, list[int | None]]:
        """Append ``size`` bytes of an open source file at ``src_offset``; ``checks``: the
        tensors those bytes hold, each checked against its checksum as it is copied. Returns
        the offset written at and each tensor's crc of the bytes copied (see DataSink.copy)."""
        offset = self._sink.position
        if size >= _RESERVE_FROM:
            self.txn.reserve(data_path(self.prefix, 0, 1), size)
        sums = self._sink.copy(
            src_fd, src_path, src_offset, checks or [CopiedTensor("", src_offset, size, None)]
        )
        return offset, sums

    def _entry(
        self,
        dtype: dtypes.DType,
        shape: Sequence[int],
        offset: int,
        size: int,
        crc: int,
        slices: Sequence[Extents] = (),
    ) -> bytes:
        entry = self._pb.BundleEntryProto(
            dtype=dtype.enum, shard_id=0, offset=offset, size=size, crc32c=crc
        )
        for d in shape:
            entry.shape.dim.add().size = int(d)
        for extents in slices:
            sp = entry.slices.add()
            for start, length in extents:
                ext = sp.extent.add()
                ext.start = start
                if length != FULL_EXTENT:
                    ext.length = length
        if slices:
            entry.ClearField("offset")
            entry.ClearField("size")
            entry.ClearField("crc32c")
        return bytes(entry.SerializeToString(deterministic=True))

    def _put(self, key: bytes, value: bytes) -> None:
        if key in self._entries:
            raise ValueError(f"tensor {key!r} added twice")
        self._entries[key] = value

    # -- public API ----------------------------------------------------------------------------

    def add(self, name: str, array: Any, dtype: dtypes.DType | None = None) -> None:
        """Add a whole tensor from a numpy array (object arrays of bytes are strings)."""
        import numpy as np

        arr = np.asarray(array)
        dt = dtype or dtypes.from_numpy(arr.dtype)
        raw, crc = tensor_bytes(arr, dt)
        offset = self._append(raw)
        self._put(_key(name), self._entry(dt, arr.shape, offset, len(raw), crc))

    def add_raw(
        self,
        name: str,
        dtype: dtypes.DType,
        shape: Sequence[int],
        raw: bytes | memoryview,
        crc: int,
    ) -> None:
        """Add a whole tensor from its stored bytes and stored (masked) crc32c."""
        offset = self._append(raw)
        self._put(_key(name), self._entry(dtype, shape, offset, len(raw), crc))

    def add_copy(
        self,
        name: str,
        dtype: dtypes.DType,
        shape: Sequence[int],
        src_fd: int,
        src_offset: int,
        size: int,
        crc: int,
    ) -> None:
        """Add a whole tensor by copying ``size`` bytes of an open source data file (its
        checksum checked on the bytes copied)."""
        self.add_copies(src_fd, [(name, dtype, shape, src_offset, size, crc)])

    def add_copies(
        self,
        src_fd: int,
        tensors: Sequence[tuple[str, dtypes.DType, Sequence[int], int, int, int | None]],
        src_path: str = "source data file",
        src_names: Sequence[str] | None = None,
        line_up: bool = False,
    ) -> None:
        """Add whole tensors ``(name, dtype, shape, src_offset, size, crc)`` copied from an
        open source data file, in order, each one's checksum checked on the bytes copied (a
        string or variant tensor's stored checksum is not the crc of its bytes: the caller
        checks those; ``crc`` None: the source stores none, e.g. a ``.safetensors`` file, and the
        entry gets the crc of the bytes as they are copied); an error names ``src_path`` and the
        tensor's name there (``src_names``, when it had another). Tensors that follow each
        other in the source are copied as one run: an unchanged shard whole (on XFS/btrfs,
        cloned). ``line_up``: a run that would not line up with its place in the source is
        preceded by a gap of zeros (< 4 KiB, as TensorFlow's ``data_alignment`` pads), so that
        it goes to the disk from the source's pages instead of through a staging copy."""
        names = list(src_names) if src_names is not None else [t[0] for t in tensors]
        i = 0
        while i < len(tensors):
            start = tensors[i][3]
            end = start + tensors[i][4]
            j = i + 1
            while j < len(tensors) and tensors[j][3] == end:
                end += tensors[j][4]
                j += 1
            checks = [
                CopiedTensor(
                    old,
                    off,
                    size,
                    SUM if crc is None else None if dt.name in _OWN_CHECKSUM else crc,
                )
                for old, (_, dt, _, off, size, crc) in zip(names[i:j], tensors[i:j], strict=True)
            ]
            if line_up:
                self._sink.line_up(start)
            base, sums = self._append_from_file(src_fd, start, end - start, checks, src_path)
            for (name, dtype, shape, src_offset, size, crc), got in zip(
                tensors[i:j], sums, strict=True
            ):
                kept = crc if crc is not None else got
                assert kept is not None
                self._put(
                    _key(name), self._entry(dtype, shape, base + src_offset - start, size, kept)
                )
            i = j

    def add_sliced(
        self,
        name: str,
        dtype: dtypes.DType,
        full_shape: Sequence[int],
        parts: Sequence[tuple[Extents, Any]],
    ) -> None:
        """Add a partitioned tensor: ``parts`` are ``(extents, array)`` or
        ``(extents, (raw_bytes, crc))`` pairs. One part that covers the whole tensor is
        written as a whole tensor, as TF's ``BundleWriter::AddSlice`` does (TF reads a sliced
        entry whose one slice is full from the entry itself, which holds no data)."""
        full = [_is_full(extents, full_shape) for extents, _ in parts]
        if any(full):
            if len(parts) != 1:
                raise ValueError(f"{name!r}: a slice covering the whole tensor, and others")
            value = parts[0][1]
            if isinstance(value, tuple):
                self.add_raw(name, dtype, full_shape, *value)
            else:
                self.add(name, value, dtype)
            return
        self._put(_key(name), self._entry(dtype, full_shape, 0, 0, 0, [ext for ext, _ in parts]))
        for extents, value in parts:
            shape = [
                d if length == FULL_EXTENT else length
                for d, (_, length) in zip(full_shape, extents, strict=True)
            ]
            if isinstance(value, tuple):
                raw, crc = value
            else:
                import numpy as np

                arr = np.asarray(value)
                if list(arr.shape) != shape:
                    raise ValueError(f"slice {extents} of {name!r} has shape {arr.shape}")
                raw, crc = tensor_bytes(arr, dtype)
            offset = self._append(raw)
            self._put(
                encode_slice_key(name, extents), self._entry(dtype, shape, offset, len(raw), crc)
            )

    def rename_entries(
        self, names: Mapping[str, str], shapes: Mapping[str, Sequence[int]] | None = None
    ) -> None:
        """Move the entries added under the keys of ``names`` (old -> new) to the new names,
        with the shape ``shapes`` gives a new name where it gives one: for tensors copied before
        their names were known (a restore copies its data while it is planned). The entries are
        those :meth:`add_copies` would have made under the new names and shapes."""
        moved = [(new, self._entries.pop(_key(old))) for old, new in names.items()]
        for new, raw in moved:
            shape = (shapes or {}).get(new)
            if shape is not None:
                entry = self._pb.BundleEntryProto.FromString(raw)
                if [d.size for d in entry.shape.dim] != list(shape):
                    raw = self._entry(
                        dtypes.from_enum(entry.dtype),
                        shape,
                        entry.offset,
                        entry.size,
                        entry.crc32c,
                    )
            self._put(_key(new), raw)

    def cancel(self) -> None:
        """Make an append running on another thread stop with an error (see DataSink.cancel)."""
        self._sink.cancel()

    def finish(self) -> None:
        """Stage the index with the header and every entry, key-sorted, while the data file's
        last writes go to the disk; then finish the data file (staged first: renamed first)."""
        header = self._pb.BundleHeaderProto(num_shards=1, endianness=LITTLE_ENDIAN)
        header.version.producer = BUNDLE_VERSION  # min_consumer 0, as TF's
        index = self.txn.open(index_path(self.prefix))
        table = TableWriter(index, block_size=INDEX_BLOCK_SIZE)
        table.add(b"", bytes(header.SerializeToString(deterministic=True)))
        for key in sorted(self._entries):
            table.add(key, self._entries[key])
        table.finish()
        self._sink.close()


def _is_full(extents: Extents, full_shape: Sequence[int]) -> bool:
    """TF's ``IsFullSlice``: every extent is the whole dimension (``-`` or ``0,dim``)."""
    return all(
        length == FULL_EXTENT or (start == 0 and length == dim)
        for (start, length), dim in zip(extents, full_shape, strict=True)
    )


def _key(name: str) -> bytes:
    """A tensor name as its index key; names read from a key that was not UTF-8 carry their
    bytes as surrogate escapes (see :class:`~graphtui.formats.bundle.BundleReader`)."""
    return name.encode("utf-8", "surrogateescape")


def num_elements(shape: Sequence[int]) -> int:
    return math.prod(shape)
