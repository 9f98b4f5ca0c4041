"""Reader for V1 checkpoints: table files of SavedTensorSlices (``Saver(write_version=V1)``).

Key ``""`` holds the metadata (every tensor with its dtype, shape and saved slices); each slice's
values are a TensorProto stored under the ordered-code slice key. A sharded V1 checkpoint is
several such files named ``PREFIX-00000-of-0000N``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from graphtui.errors import FormatError
from graphtui.formats import dtypes, tensor_proto
from graphtui.formats.bundle import (
    Extents,
    box_overlap,
    check_tiling,
    extents_of,
    extents_text,
    place_parts,
    slice_box,
    slice_index,
    slice_shape,
    uncovered_region,
    version_refused,
)
from graphtui.formats.ordered_code import FULL_EXTENT, encode_slice_key
from graphtui.formats.sstable import Table
from graphtui.formats.v1_shards import missing_shards, v1_files


@dataclass(frozen=True)
class V1Tensor:
    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    slices: tuple[tuple[Extents, int], ...]  # (extents, index of the file that holds it)
    ref: bool = False  # stored as a ``_REF`` dtype: TensorFlow refuses to read it

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def listed_dtype(self) -> dtypes.DType:
        """The dtype as TF lists it (``float32_ref`` for a ``_REF`` tensor)."""
        return dtypes.ref_of(self.dtype) if self.ref else self.dtype


class V1Reader:
    """Lazy reader of a V1 checkpoint (one file or several shards)."""

    def __init__(self, path: str | os.PathLike[str], *, verify_checksums: bool = True) -> None:
        from graphtui._proto import pb

        self._pb = pb
        self.path = os.fspath(path)
        self.files = v1_files(self.path)
        if not self.files:
            from graphtui.errors import MissingFileError

            raise MissingFileError(self.path, "no V1 checkpoint file (or shards) found")
        gaps = missing_shards(self.files)
        if gaps:
            from graphtui.errors import MissingFileError

            raise MissingFileError(
                self.path, f"{len(gaps)} V1 checkpoint shards missing (shard {gaps[0]} first)"
            )
        self.tables = [Table(f, verify_checksums=verify_checksums) for f in self.files]
        self.tensors: dict[str, V1Tensor] = {}
        slices: dict[str, list[tuple[Extents, int]]] = {}
        for i, table in enumerate(self.tables):
            raw = table.get(b"")
            if raw is None:
                raise FormatError(self.files[i], "not a V1 checkpoint (no metadata entry)")
            msg = pb.SavedTensorSlices()
            try:
                msg.ParseFromString(bytes(raw))
            except Exception:  # noqa: BLE001
                raise FormatError(self.files[i], "corrupt V1 checkpoint metadata") from None
            if not msg.HasField("meta"):
                raise FormatError(self.files[i], "not a V1 checkpoint (metadata entry has no meta)")
            versions = msg.meta.versions
            refused = version_refused(
                versions.producer, versions.min_consumer, versions.bad_consumers
            )
            if refused:
                raise FormatError(self.files[i], f"{refused}: TensorFlow refuses this checkpoint")
            for meta in msg.meta.tensor:
                # DT_INVALID or a type TF does not know is listed and refused when read, as in TF
                dt = dtypes.stored(meta.type)
                shape = tuple(int(d.size) for d in meta.shape.dim)
                if any(d < 0 for d in shape) or not tensor_proto.addressable(shape):
                    raise FormatError(self.files[i], f"tensor {meta.name!r} has shape {shape}")
                known = self.tensors.get(meta.name)
                if known is not None and (known.shape != shape or known.dtype != dt):
                    raise FormatError(
                        self.files[i], f"tensor {meta.name!r} differs between checkpoint shards"
                    )
                ref = dt.known and meta.type > dtypes.REF_OFFSET
                self.tensors[meta.name] = V1Tensor(meta.name, dt, shape, (), ref)
                extents = [extents_of(s) for s in meta.slice]
                for ext in extents:  # TF's TensorSlice refuses these when the file is opened
                    if any(a < 0 or (n != FULL_EXTENT and n <= 0) for a, n in ext):
                        raise FormatError(
                            self.files[i],
                            f"tensor {meta.name!r} has a slice {extents_text(ext)} with a "
                            "negative start or a length that is not positive",
                        )
                slices.setdefault(meta.name, []).extend((ext, i) for ext in extents)
        for name, t in list(self.tensors.items()):
            parts = slices.get(name, [])
            if not parts:  # never registered by TF's reader: not one of its tensors
                del self.tensors[name]
                continue
            self.tensors[name] = V1Tensor(name, t.dtype, t.shape, tuple(parts), t.ref)
            # TF's TensorSliceSet::Register fails the whole reader on a slice outside the shape
            # or slices that overlap ("Overlapping slices"); holes are fine there
            check_tiling(self.path, name, t.shape, [extents for extents, _ in parts], gaps=True)

    def names(self) -> list[str]:
        return sorted(self.tensors)

    def is_partitioned(self, name: str) -> bool:
        """Whether tensor ``name`` is saved as slices of a whole (not one slice covering it
        all)."""
        t = self.tensors[name]
        return len(t.slices) > 1 or any(n != FULL_EXTENT for ext, _ in t.slices for _, n in ext)

    def uncovered(self, name: str, extents: Extents) -> FormatError | None:
        """Why region ``extents`` of tensor ``name`` cannot be read: its stored slices do not
        cover it (TF's ``TensorSliceSet::QueryMeta`` fails, ``CopySliceData`` returns false:
        RestoreV2's "Error copying slice data"); None when they cover it."""
        t = self.tensors[name]
        slices = [e for e, _ in t.slices]
        return uncovered_region(
            self.path, name, t.shape, slices, extents, "error copying slice data"
        )

    def read_slice(self, name: str, extents: Extents) -> np.ndarray:
        """Region ``extents`` of tensor ``name`` (``(start, length)`` per dimension, ``(0, -1)``
        for all of one), as TF's ``CopySliceData`` (RestoreV2 or RestoreSlice with a slice
        spec) reads it: from the stored slices that meet it, though others leave holes
        elsewhere; a region they do not cover is refused."""
        t = self._readable(name)
        problem = self.uncovered(name, extents)
        if problem is not None:
            raise problem
        box = slice_box(self.path, name, t.shape, extents)
        parts = []
        for stored, i in t.slices:  # only the records of the slices that meet the region
            where = slice_box(self.path, name, t.shape, stored)
            part = box_overlap(box, where)
            if part is not None:
                value = self._read_slice(t, stored, i, slice_shape(t.shape, stored))
                parts.append((where, part, value))
        return place_parts(box, t.dtype, parts)

    def _readable(self, name: str) -> V1Tensor:
        t = self.tensors[name]
        if t.dtype is dtypes.INVALID:
            raise FormatError(self.path, f"tensor {name!r} has no dtype (DT_INVALID)")
        if not t.dtype.known:
            raise FormatError(
                self.path,
                f"tensor {name!r} is stored with dtype enum {t.dtype.enum}, which TensorFlow "
                "has no type for: it cannot be read",
            )
        if t.ref:
            raise FormatError(
                self.path,
                f"tensor {name!r} is stored with the reference dtype {t.dtype.name}_ref: "
                "TensorFlow cannot read it",
            )
        return t

    def read(self, name: str) -> np.ndarray:
        t = self._readable(name)
        check_tiling(self.path, name, t.shape, [extents for extents, _ in t.slices])
        parts = [
            (extents, self._read_slice(t, extents, i, slice_shape(t.shape, extents)))
            for extents, i in t.slices
        ]
        # Allocated only now: every element came from at least one stored byte.
        out = np.empty(t.shape, dtype=object if t.dtype.numpy is None else t.dtype.numpy)
        for extents, value in parts:
            # ``...`` for a scalar: ``out[()] = value`` would store a 0-d object array as the
            # element of a string scalar (array(array(b'k1'))) instead of its bytes.
            out[slice_index(t.shape, extents) or ...] = value
        return out

    def _read_slice(
        self, t: V1Tensor, extents: Extents, file_index: int, part_shape: tuple[int, ...]
    ) -> np.ndarray:
        path = self.files[file_index]
        raw = self.tables[file_index].get(encode_slice_key(t.name, extents))
        if raw is None:
            raise FormatError(
                path, f"slice {extents_text(extents)} of tensor {t.name!r} is missing"
            )
        count = math.prod(part_shape)
        if count > len(raw):  # TF writes every value, each in at least one byte
            raise FormatError(
                path,
                f"tensor {t.name!r}: slice {extents_text(extents)} claims {count} elements "
                f"in {len(raw)} bytes",
            )
        msg = self._pb.SavedTensorSlices()
        try:
            msg.ParseFromString(bytes(raw))
        except Exception:  # noqa: BLE001
            raise FormatError(path, f"corrupt data for tensor {t.name!r}") from None
        # TF's V1 reader takes the values from the dtype's own field, exactly one per element
        # (no tensor_content, no last value repeated: a TensorProto's rules for a Const)
        values = msg.data.data
        held = tensor_proto.typed_count(values, t.dtype)
        if values.tensor_content or held != count:
            stored = "tensor_content" if values.tensor_content else f"{held} values"
            raise FormatError(
                path,
                f"tensor {t.name!r}: slice {extents_text(extents)} holds {stored} for "
                f"{count} elements (TensorFlow cannot read it)",
            )
        try:
            return tensor_proto.to_numpy(
                values,
                max_elements=max(1, math.prod(part_shape)),
                shape=part_shape,
                dtype=t.dtype,
            )
        except tensor_proto.TensorProtoError as exc:
            raise FormatError(path, f"tensor {t.name!r}: {exc}") from None

    def verify(self) -> list[FormatError]:
        """Every block of every file, and every stored slice of every tensor read as TF reads
        it; a partitioned tensor whose slices leave holes is no problem (TF restores the regions
        they cover, as a Saver given some of a variable's partitions writes it)."""
        problems: list[FormatError] = []
        for table in self.tables:
            problems.extend(table.verify())
        for name in self.names():
            t = self.tensors[name]
            try:
                self._readable(name)
                for extents, i in t.slices:
                    self._read_slice(t, extents, i, slice_shape(t.shape, extents))
            except FormatError as exc:
                problems.append(exc)
        return problems

    def close(self) -> None:
        for table in self.tables:
            table.close()
