"""Reader for TensorFlow's V2 tensor bundles: ``PREFIX.index`` (a table) + ``PREFIX.data-K-of-N``.

The index maps ``""`` to a BundleHeaderProto and each tensor name to a BundleEntryProto (dtype,
shape, shard, offset, size, masked crc32c). A tensor saved in slices (a partitioned variable) has
an entry listing its slices and no data; each slice is stored under an ordered-code slice key.
Data files are memory-mapped and only the bytes of the tensor asked for are touched; once a
tensor's checksum is computed its pages leave this process's mapping again (they stay in the page
cache), so reading or verifying a whole checkpoint keeps a small resident set.
"""

from __future__ import annotations

import bisect
import math
import operator
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from graphtui.errors import ChecksumError, FormatError, MissingFileError
from graphtui.formats import dtypes, sstable
from graphtui.formats.byte_source import ByteSource, LocalSource, open_source
from graphtui.formats.crc import crc32c, mask
from graphtui.formats.dtypes import DType
from graphtui.formats.gc_paused import gc_paused
from graphtui.formats.ordered_code import FULL_EXTENT, encode_slice_key
from graphtui.formats.sstable import Table
from graphtui.formats.varint import VarintError, decode_varint, decode_varints_at

if TYPE_CHECKING:  # numpy is imported when a value is decoded, not to list a checkpoint
    import numpy as np

LITTLE_ENDIAN = 0
BIG_ENDIAN = 1
MAX_SHARDS = 1 << 20
_MAX_ADDRESSABLE = 1 << 59  # elements: 2**63 bytes of the widest dtype (16 bytes)
_CRC_CHUNK = 8 << 20  # a mapped tensor is checksummed this many bytes at a time, then unmapped
_RELEASE_BEHIND = 2 << 20

Extents = tuple[tuple[int, int], ...]  # (start, length); length -1 = the whole dimension


def index_path(prefix: str) -> str:
    return prefix + ".index"


def data_path(prefix: str, shard: int, num_shards: int) -> str:
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


@dataclass(frozen=True)
class BundleEntry:
    """One decoded BundleEntryProto."""

    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int  # masked, as stored
    slices: tuple[Extents, ...] = field(default=())
    ref: bool = False  # stored with a ``_REF`` dtype: TF cannot read its value

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def is_sliced(self) -> bool:
        return bool(self.slices)

    @property
    def listed_dtype(self) -> dtypes.DType:
        """The dtype as TF lists it (``float32_ref`` for a ``_REF`` entry; ``dtype`` is the
        base type)."""
        return dtypes.ref_of(self.dtype) if self.ref else self.dtype


@dataclass(frozen=True)
class Listing:
    """Every tensor of a checkpoint, column by column (what ``ls`` shows; no data read).

    Row ``i``: ``names[i]``, dtype ``dtypes[codes[i]]``, shape
    ``dims[dim_starts[i]:dim_starts[i + 1]]``, ``num_elements[i]``, ``nbytes[i]`` stored (the
    slices' sum for a partitioned tensor) and ``slices[i]`` partitions (0: a whole tensor).
    A million rows take a few arrays, not a million objects.
    """

    names: list[str]
    dtypes: list[DType]
    codes: np.ndarray
    dims: np.ndarray
    dim_starts: np.ndarray
    num_elements: np.ndarray
    nbytes: np.ndarray  # int64, or object where a partitioned tensor's sum needs more
    slices: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def shapes(self) -> list[list[int]]:
        """Each row's shape as a list, as TensorFlow's ``get_variable_to_shape_map`` gives it."""
        import numpy as np

        ranks = np.diff(self.dim_starts)
        if not len(ranks):
            return []
        by_rank: dict[int, Iterator[list[int]]] = {}
        with gc_paused():
            for rank in sorted(set(ranks.tolist())):  # np.unique would import numpy.ma: 10 ms
                rows = np.flatnonzero(ranks == rank)
                at = self.dim_starts[rows][:, None] + np.arange(rank)
                by_rank[rank] = iter(self.dims[at].reshape(len(rows), rank).tolist())
            if len(by_rank) == 1:
                return list(next(iter(by_rank.values())))
            return [next(by_rank[rank]) for rank in ranks.tolist()]

    def distinct(self) -> tuple[np.ndarray, list[tuple[DType, tuple[int, ...], Any, int, int]]]:
        """Rows alike but for their name, grouped: ``(codes, kinds)``, where ``kinds[codes[i]]``
        is row ``i``'s ``(dtype, shape, nbytes, slices, num_elements)``. What ``ls`` prints
        beside a name is formatted once per kind, not once per row."""
        import numpy as np

        n = len(self.names)
        ranks = np.diff(self.dim_starts)
        width = int(ranks.max()) if n else 0
        if not n or width > _BULK_RANK or self.nbytes.dtype == object:  # rare: by tuples
            seen: dict[tuple[Any, ...], int] = {}
            shapes = self.shapes()
            codes = [
                seen.setdefault((c, tuple(sh), nb, sl), len(seen))
                for c, sh, nb, sl in zip(
                    self.codes.tolist(),
                    shapes,
                    self.nbytes.tolist(),
                    self.slices.tolist(),
                    strict=True,
                )
            ]
            firsts = {code: i for i, code in reversed(list(enumerate(codes)))}
            order = np.array([firsts[k] for k in range(len(seen))], dtype=np.int64)
            return np.array(codes, dtype=np.int64), self._kinds(order)
        padded = np.full((n, width), -1, dtype=np.int64)
        at = np.arange(width) < ranks[:, None]
        padded[at] = self.dims
        key = np.column_stack([self.codes, ranks, self.nbytes, self.slices, padded])
        # runs of equal rows first (neighbours in name order are often alike), then the runs'
        # distinct rows
        change = np.ones(n, dtype=bool)
        change[1:] = (key[1:] != key[:-1]).any(axis=1)
        starts = np.flatnonzero(change)
        _, first, inverse = np.unique(key[starts], axis=0, return_index=True, return_inverse=True)
        codes = inverse.reshape(-1)[np.cumsum(change) - 1]
        return codes, self._kinds(starts[first])

    def _kinds(self, rows: np.ndarray) -> list[tuple[DType, tuple[int, ...], Any, int, int]]:
        return [
            (
                self.dtypes[int(self.codes[i])],
                tuple(self.dims[self.dim_starts[i] : self.dim_starts[i + 1]].tolist()),
                int(self.nbytes[i]),
                int(self.slices[i]),
                int(self.num_elements[i]),
            )
            for i in rows.tolist()
        ]

    @classmethod
    def of(
        cls, names: list[str], rows: Sequence[tuple[DType, tuple[int, ...], int, int]]
    ) -> Listing:
        """From one ``(dtype, shape, nbytes, slices)`` per name (the entry-by-entry way)."""
        import numpy as np

        kinds: dict[DType, int] = {}
        codes = [kinds.setdefault(dt, len(kinds)) for dt, _, _, _ in rows]
        ranks = [len(shape) for _, shape, _, _ in rows]
        nbytes = [n for _, _, n, _ in rows]
        return cls(
            names=names,
            dtypes=list(kinds),
            codes=np.array(codes, dtype=np.int64),
            dims=np.array([d for _, shape, _, _ in rows for d in shape], dtype=np.int64),
            dim_starts=np.concatenate([[0], np.cumsum(ranks, dtype=np.int64)]),
            num_elements=np.array([math.prod(shape) for _, shape, _, _ in rows], dtype=np.int64),
            nbytes=np.array(nbytes, dtype=np.int64 if max(nbytes, default=0) < 1 << 63 else object),
            slices=np.array([n for _, _, _, n in rows], dtype=np.int64),
        )


@dataclass(frozen=True)
class BulkEntries:
    """Every tensor's entry fields, column by column, row ``i`` the ``i``-th name; where
    ``ok[i]`` is False the row is left to :meth:`BundleReader.entry` (its columns are junk)."""

    kinds: list[DType]  # codes index this
    ok: np.ndarray
    codes: np.ndarray
    dims: np.ndarray  # dims[i, :ranks[i]]
    ranks: np.ndarray
    in_shape: np.ndarray  # (rows, dims) mask of the ok rows' dims
    num_elements: np.ndarray
    shard: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    crc: np.ndarray  # masked, as stored


def extents_of(slice_proto: object) -> Extents:
    """TensorSliceProto -> ((start, length), ...) with -1 for a full extent."""
    out = []
    for ext in slice_proto.extent:  # type: ignore[attr-defined]
        has_length = ext.HasField("length")
        out.append((int(ext.start), int(ext.length) if has_length else FULL_EXTENT))
    return tuple(out)


def extents_text(extents: Extents, limit: int = 8) -> str:
    """``[(start, length), ...]`` for messages, shortened when a corrupt entry has many dims."""
    if len(extents) <= limit:
        return str(list(extents))
    shown = ", ".join(str(e) for e in extents[:limit])
    return f"[{shown}, ... ({len(extents)} dims)]"


def slice_shape(full: tuple[int, ...], extents: Extents) -> tuple[int, ...]:
    if len(extents) != len(full):
        raise ValueError("slice rank differs from tensor rank")
    return tuple(
        d if length == FULL_EXTENT else length for d, (_, length) in zip(full, extents, strict=True)
    )


def slice_index(full: tuple[int, ...], extents: Extents) -> tuple[slice, ...]:
    return tuple(
        slice(None) if length == FULL_EXTENT else slice(start, start + length)
        for (start, length) in extents
    )


_MAX_TILING_CELLS = 1 << 22  # a grid this size is checked cell by cell; beyond, box by box


Box = tuple[tuple[int, int], ...]  # (start, stop) per dimension


def slice_box(path: str, name: str, shape: tuple[int, ...], extents: Extents) -> Box:
    """``extents`` of a tensor of ``shape`` as (start, stop) per dimension; FormatError unless
    it lies inside the shape (extents follow TF's ``TensorSlice::BuildTensorSlice``: a full
    extent is ``(0, -1)``; otherwise start >= 0 and length > 0)."""
    if len(extents) != len(shape):
        raise FormatError(
            path,
            f"tensor {name!r}: slice {extents_text(extents)} has rank {len(extents)}, "
            f"the tensor {len(shape)}",
        )
    box = []
    for (start, length), dim in zip(extents, shape, strict=True):
        if start == 0 and length == FULL_EXTENT:
            box.append((0, dim))
        elif start < 0 or length <= 0 or start + length > dim:
            raise FormatError(
                path,
                f"tensor {name!r}: slice {extents_text(extents)} lies outside its shape "
                f"{list(shape)}",
            )
        else:
            box.append((start, start + length))
    return tuple(box)


def box_overlap(a: Box, b: Box) -> Box | None:
    """The part of box ``a`` that box ``b`` covers (None when they do not meet)."""
    out = tuple((max(lo, blo), min(hi, bhi)) for (lo, hi), (blo, bhi) in zip(a, b, strict=True))
    return None if any(lo >= hi for lo, hi in out) else out


def covered_elements(box: Box, boxes: Sequence[Box]) -> int:
    """How many elements of ``box`` the non-overlapping ``boxes`` cover."""
    return sum(math.prod(hi - lo for lo, hi in part)
               for b in boxes if (part := box_overlap(box, b)) is not None)  # fmt: skip


def check_tiling(
    path: str, name: str, shape: tuple[int, ...], slices: Sequence[Extents], *, gaps: bool = False
) -> list[Box]:
    """The slices' boxes; FormatError unless ``slices`` lie inside ``shape`` and cover it
    exactly once (``gaps``: at most once, as TF's ``TensorSliceSet`` registers them: a region
    the slices cover is read, one they do not is refused when asked for).

    TensorFlow's readers trust the listed slices: an overlap with a gap returns uninitialised
    memory, a slice out of range aborts.
    """
    boxes = [slice_box(path, name, shape, extents) for extents in slices]
    if math.prod(shape) == 0:
        return boxes  # nothing to cover
    problem = _tiling_problem(shape, boxes, gaps)
    if problem:
        raise FormatError(path, f"tensor {name!r}: its slices {problem}")
    return boxes


def uncovered_region(
    path: str,
    name: str,
    shape: tuple[int, ...],
    slices: Sequence[Extents],
    extents: Extents,
    tf_says: str,
) -> FormatError | None:
    """Why region ``extents`` of a partitioned tensor cannot be read: its stored ``slices`` do
    not cover it (``tf_says``: TF's words for it, which differ between V1 and V2), or they
    overlap (raised); None when they cover it."""
    boxes = check_tiling(path, name, shape, slices, gaps=True)
    box = slice_box(path, name, shape, extents)
    if covered_elements(box, boxes) == math.prod(hi - lo for lo, hi in box):
        return None
    return FormatError(
        path,
        f"tensor {name!r}: its stored slices do not cover slice {extents_text(extents)} "
        f"(TensorFlow: {tf_says})",
    )


def place_parts(
    box: Box, dtype: dtypes.DType, parts: Sequence[tuple[Box, Box, np.ndarray]]
) -> np.ndarray:
    """Region ``box`` of a partitioned tensor from stored slices already read: ``(where, part,
    values)`` per slice, its box, the part of it inside ``box``, its values. The region is
    allocated only now, once every part came from stored bytes (never from a claimed shape)."""
    import numpy as np

    out = np.empty(
        tuple(hi - lo for lo, hi in box), dtype=object if dtype.numpy is None else dtype.numpy
    )
    for where, part, values in parts:
        src = tuple(slice(lo - w, hi - w) for (lo, hi), (w, _) in zip(part, where, strict=True))
        dst = tuple(slice(lo - b, hi - b) for (lo, hi), (b, _) in zip(part, box, strict=True))
        # ``...`` for a scalar: an element, never a 0-d array stored as one
        out[dst or ...] = values[src or ...]
    return out


def _tiling_problem(shape: tuple[int, ...], boxes: list[Box], gaps: bool = False) -> str:
    """'' when ``boxes`` tile ``shape`` exactly once (``gaps``: at most once), else what is
    wrong."""
    import numpy as np

    if not boxes:
        return "" if gaps else "are not listed"
    # the grid cut at every slice boundary: each cell is covered by whole slices only
    cuts = [sorted({0, dim, *(b[d][0] for b in boxes), *(b[d][1] for b in boxes)})
            for d, dim in enumerate(shape)]  # fmt: skip
    cells = math.prod(len(c) - 1 for c in cuts)
    if cells <= _MAX_TILING_CELLS:
        grid = np.zeros([len(c) - 1 for c in cuts], dtype=np.int64)
        for box in boxes:
            grid[
                tuple(
                    slice(bisect.bisect_left(c, lo), bisect.bisect_left(c, hi))
                    for c, (lo, hi) in zip(cuts, box, strict=True)
                )
            ] += 1
        for bad, what in ((grid > 1, "overlap"), (grid == 0, "leave a gap")):
            if bad.any() and not (gaps and what == "leave a gap"):
                cell = np.argwhere(bad)[0] if grid.ndim else ()
                at = [int(c[i]) for c, i in zip(cuts, cell, strict=True)]
                return f"{what} at index {at}"
        return ""
    covered = sum(math.prod(hi - lo for lo, hi in box) for box in boxes)
    lo = np.array([[b[0] for b in box] for box in boxes], dtype=np.int64)
    hi = np.array([[b[1] for b in box] for box in boxes], dtype=np.int64)
    for i in range(len(boxes) - 1):
        hit = np.all((lo[i] < hi[i + 1 :]) & (lo[i + 1 :] < hi[i]), axis=1)
        if hit.any():
            return f"overlap at index {lo[i + 1 + int(np.argmax(hit))].tolist()}"
    if covered != math.prod(shape) and not gaps:
        return f"hold {covered} of {math.prod(shape)} elements"
    return ""


class BundleReader:
    """Lazy reader of one V2 checkpoint. Tensors are read, and checksummed, only when asked for."""

    def __init__(self, prefix: str | os.PathLike[str], *, verify_checksums: bool = True) -> None:
        self.prefix = os.fspath(prefix)
        self.index_file = index_path(self.prefix)
        self.verify_checksums = verify_checksums
        self.table = Table(self.index_file, verify_checksums=verify_checksums, whole=True)
        # One copy of the index's data blocks (a file cut short later cannot fault it), and
        # each key's value as a span of it.
        self._scan = scan = self.table.scan()
        keys = scan.keys
        header_value: bytes | None = None
        self._slice_values: dict[bytes, bytes] = {}
        if all(map(operator.lt, keys, keys[1:])):  # in order, as every writer writes them
            header_value = scan.value(0) if keys and keys[0] == "" else None  # the header's key
            first = bisect.bisect_left(keys, "\x01")  # slice keys start with a zero byte
            for i in range(int(header_value is not None), first):
                self._slice_values[keys[i].encode("latin-1")] = scan.value(i)
            self._names = _decoded_names(keys[first:])
            self._rows: Sequence[int] = range(first, len(keys))
            self._by_name: dict[str, int] | None = None  # built when first looked up
        else:  # out of order or repeated: the last value of a key counts, as in a dict
            by_name: dict[str, int] = {}
            for i, key in enumerate(keys):
                if key == "":
                    header_value = scan.value(i)
                elif key[:1] == "\x00":
                    self._slice_values[key.encode("latin-1")] = scan.value(i)
                else:
                    by_name[_decoded_names([key])[0]] = i
            self._names = list(by_name)
            self._rows = list(by_name.values())
            self._by_name = by_name
        if header_value is None:
            raise FormatError(self.index_file, "no bundle header (empty key) in the index")
        header = _scan_header(header_value) or self._parse_header(header_value)
        self.num_shards, self.endianness, producer, min_consumer, bad_consumers = header
        self.version = (producer, min_consumer)
        refused = version_refused(producer, min_consumer, bad_consumers)
        if refused:
            raise FormatError(self.index_file, f"{refused}: TensorFlow refuses this checkpoint")
        if not 0 < self.num_shards <= MAX_SHARDS:
            raise FormatError(self.index_file, f"header claims {self.num_shards} data shards")
        if self.endianness not in (LITTLE_ENDIAN, BIG_ENDIAN):
            raise FormatError(self.index_file, f"unknown endianness {self.endianness}")
        self._decoded: dict[str, BundleEntry] = {}
        self._sources: dict[int, ByteSource] = {}  # data shards opened so far

    @property
    def _pb(self) -> Any:
        """The protobuf classes, imported only for entries the fast scanners leave to them."""
        from graphtui._proto import pb

        return pb

    def _parse_header(self, value: bytes) -> _HeaderFields:
        header = self._pb.BundleHeaderProto()
        try:
            header.ParseFromString(value)
        except Exception:  # noqa: BLE001 - protobuf raises its own DecodeError types
            raise FormatError(self.index_file, "corrupt bundle header") from None
        return (
            int(header.num_shards),
            int(header.endianness),
            int(header.version.producer),
            int(header.version.min_consumer),
            tuple(int(v) for v in header.version.bad_consumers),
        )

    # -- names and entries ---------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every tensor name in key order (slice keys are not names)."""
        return list(self._names)

    @property
    def _entries(self) -> dict[str, int]:
        """Tensor name -> its row in the index scan."""
        if self._by_name is None:
            self._by_name = dict(zip(self._names, self._rows, strict=True))
        return self._by_name

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    @property
    def little_endian(self) -> bool:
        """True when the stored bytes are little-endian: the order graphtui writes and numpy
        reads in place. A big-endian bundle's values are decoded (byte-swapped), never copied
        as stored bytes into a little-endian output."""
        return self.endianness == LITTLE_ENDIAN

    def data_files(self) -> list[str]:
        return [data_path(self.prefix, i, self.num_shards) for i in range(self.num_shards)]

    def entry(self, name: str) -> BundleEntry:
        """The decoded entry of ``name`` (KeyError if absent)."""
        got = self._decoded.get(name)
        if got is None:
            got = self._decode_entry(name, self._scan.value(self._entries[name]))
            self._decoded[name] = got
        return got

    def _decode_entry(self, name: str, value: bytes) -> BundleEntry:
        fields = _scan_entry(value) or self._parse_entry(name, value)
        dtype_enum, shape, unknown_rank, shard_id, offset, size, crc, slices = fields
        dt = dtypes.stored(dtype_enum)  # an enum TF has no type for: listed, never read
        if unknown_rank or any(d < 0 for d in shape):
            raise FormatError(self.index_file, f"tensor {name!r} has an invalid shape {shape}")
        if math.prod(d for d in shape if d) >= _MAX_ADDRESSABLE:  # numpy refuses it, even empty
            raise FormatError(
                self.index_file, f"tensor {name!r} has shape {list(shape)}: too large for any array"
            )
        if not 0 <= shard_id < self.num_shards:
            raise FormatError(
                self.index_file,
                f"tensor {name!r} is in shard {shard_id}, but num_shards is {self.num_shards}",
            )
        if offset < 0 or size < 0:
            raise FormatError(
                self.index_file,
                f"tensor {name!r} has a negative offset or size ({offset}, {size})",
            )
        entry = BundleEntry(
            name=name,
            dtype=dt,
            shape=shape,
            shard_id=shard_id,
            offset=offset,
            size=size,
            crc32c=crc,
            slices=slices,
            ref=dt.known and dtype_enum > dtypes.REF_OFFSET,
        )
        if (
            not entry.is_sliced
            and dt.is_fixed_size
            and entry.size != entry.num_elements * dt.itemsize
        ):
            raise FormatError(
                self.index_file,
                f"tensor {name!r}: shape {list(shape)} of {dt.name} needs "
                f"{entry.num_elements * dt.itemsize} bytes but the entry says {entry.size}",
            )
        return entry

    def _parse_entry(self, name: str, value: bytes) -> _EntryFields:
        proto = self._pb.BundleEntryProto()
        try:
            proto.ParseFromString(value)
        except Exception:  # noqa: BLE001
            raise FormatError(self.index_file, f"corrupt index entry for tensor {name!r}") from None
        return (
            int(proto.dtype),
            tuple(int(d.size) for d in proto.shape.dim),
            bool(proto.shape.unknown_rank),
            int(proto.shard_id),
            int(proto.offset),
            int(proto.size),
            int(proto.crc32c),
            tuple(extents_of(s) for s in proto.slices),
        )

    def bulk_entries(self) -> BulkEntries:
        """Every tensor's entry decoded and checked at once where it is as writers produce it
        (:func:`_scan_entries`, then the checks of :meth:`_decode_entry`): the one bulk path of
        :meth:`listing` and :meth:`verify`."""
        import numpy as np

        rows = (
            np.arange(self._rows.start, self._rows.stop)
            if isinstance(self._rows, range)
            else np.array(self._rows, dtype=np.int64)
        )
        starts, ends = np.asarray(self._scan.starts)[rows], np.asarray(self._scan.ends)[rows]
        scanned = _scan_entries(np.frombuffer(self._scan.data, np.uint8), starts, ends)
        ok, dtype_enum, dims, ranks, shard, offset, size, crc = scanned
        kinds = sorted(dtypes.BY_ENUM.values(), key=lambda dt: dt.enum)
        code_of = np.full(max(dt.enum for dt in kinds) + 1, -1, dtype=np.int64)
        code_of[[dt.enum for dt in kinds]] = np.arange(len(kinds))
        base = np.where(dtype_enum > dtypes.REF_OFFSET, dtype_enum - dtypes.REF_OFFSET, dtype_enum)
        codes = np.where(base < len(code_of), code_of[np.minimum(base, len(code_of) - 1)], -1)
        ok &= (codes >= 0) & (dtype_enum <= dtypes.REF_OFFSET)  # _REF dtypes: one by one
        if self.endianness == BIG_ENDIAN:  # dtypes TF does not byte-swap: one by one
            ok &= np.array([dt.byte_swappable for dt in kinds])[np.maximum(codes, 0)]
        # exact while the product stays below 2**53; larger ones are checked one by one
        nonzero = np.where(dims > 0, dims, 1).astype(np.float64).prod(axis=1)
        ok &= nonzero < 2.0**53
        in_shape = (np.arange(dims.shape[1]) < ranks[:, None]) & ok[:, None]
        num_elements = np.where(in_shape, dims, 1).prod(axis=1)
        itemsize = np.array([dt.itemsize if dt.is_fixed_size else -1 for dt in kinds])
        item = itemsize[np.maximum(codes, 0)]
        ok &= (shard < self.num_shards) & ((item < 0) | (size == num_elements * item))
        return BulkEntries(kinds, ok, codes, dims, ranks, in_shape, num_elements, shard, offset,
                        size, crc)  # fmt: skip

    def listing(self) -> Listing:
        """Every tensor's dtype, shape and stored bytes, decoded in bulk.

        Entries as writers produce them are decoded and checked all at once
        (:meth:`bulk_entries`); the rest (partitioned tensors, anything unusual or wrong)
        go through :meth:`entry`, in order, so the first bad entry raises the error that
        reading it alone raises."""
        import numpy as np

        names = self._names
        bulk = self.bulk_entries()
        kinds, ok, codes, dims, ranks = bulk.kinds, bulk.ok, bulk.codes, bulk.dims, bulk.ranks
        in_shape, num_elements, size = bulk.in_shape, bulk.num_elements, bulk.size

        # the rest, entry by entry
        slices = np.zeros(len(names), dtype=np.int64)
        nbytes: np.ndarray = size.copy()
        extra: dict[int, tuple[int, ...]] = {}
        for i in np.flatnonzero(~ok).tolist():
            entry = self.entry(names[i])
            if entry.listed_dtype not in kinds:
                kinds.append(entry.listed_dtype)
            codes[i] = kinds.index(entry.listed_dtype)
            extra[i] = entry.shape
            num_elements[i] = entry.num_elements
            if entry.is_sliced:
                total = sum(self.slice_entry(entry.name, e).size for e in entry.slices)
                if total >= 1 << 63 and nbytes.dtype != object:
                    nbytes = nbytes.astype(object)
                nbytes[i] = total
                slices[i] = len(entry.slices)
            else:
                nbytes[i] = entry.size
        for i, shape in extra.items():
            ranks[i] = len(shape)
        dim_starts = np.zeros(len(names) + 1, dtype=np.int64)
        np.cumsum(ranks, out=dim_starts[1:])
        flat = np.zeros(int(dim_starts[-1]), dtype=np.int64)
        at_row, at_dim = np.nonzero(in_shape)
        flat[dim_starts[at_row] + at_dim] = dims[at_row, at_dim]
        for i, shape in extra.items():
            flat[dim_starts[i] : dim_starts[i + 1]] = shape
        used, codes = np.unique(codes, return_inverse=True)
        return Listing(
            names=list(names),
            dtypes=[kinds[c] for c in used.tolist()],
            codes=codes.reshape(-1),
            dims=flat,
            dim_starts=dim_starts,
            num_elements=num_elements,
            nbytes=nbytes,
            slices=slices,
        )

    def slice_entry(self, name: str, extents: Extents) -> BundleEntry:
        key = encode_slice_key(name, extents)
        value = self._slice_values.get(key)
        if value is None:
            raise FormatError(
                self.index_file, f"slice {extents_text(extents)} of tensor {name!r} is missing"
            )
        return self._decode_entry(f"{name} slice {extents_text(extents)}", value)

    def slice_entries(
        self, entry: BundleEntry, *, gaps: bool = False
    ) -> list[tuple[Extents, BundleEntry]]:
        """The stored slices of a partitioned tensor, once they are known to tile its shape
        exactly (``gaps``: to cover it at most once; FormatError otherwise: the tensor cannot be
        read, the rest of the checkpoint still can)."""
        check_tiling(self.index_file, entry.name, entry.shape, entry.slices, gaps=gaps)
        return [(extents, self.slice_entry(entry.name, extents)) for extents in entry.slices]

    def uncovered(self, entry: BundleEntry, extents: Extents) -> FormatError | None:
        """Why region ``extents`` of a partitioned tensor cannot be read: its stored slices do
        not cover it (TF's ``BundleReader::LookupSlice``: "Does not have sufficient slices for
        partitioned tensor"), or they overlap; None when they cover it."""
        return uncovered_region(
            self.index_file,
            entry.name,
            entry.shape,
            entry.slices,
            extents,
            "does not have sufficient slices for partitioned tensor",
        )

    # -- data ----------------------------------------------------------------------------------

    def _shard(self, shard: int) -> ByteSource:
        src = self._sources.get(shard)
        if src is None:
            path = data_path(self.prefix, shard, self.num_shards)
            src = open_source(path, missing="data shard is missing", what="data shard")
            self._sources[shard] = src
        return src

    def shard_source(self, shard: int) -> ByteSource:
        """The bytes of data shard ``shard`` (opened once, kept; FormatError when missing)."""
        return self._shard(shard)

    def check_checksum(self, entry: BundleEntry, raw: memoryview) -> None:
        """ChecksumError when ``raw`` (the entry's stored bytes) does not match its crc32c."""
        self._check_crc(entry, raw, data_path(self.prefix, entry.shard_id, self.num_shards))

    def raw_bytes(self, entry: BundleEntry, *, verify: bool | None = None) -> memoryview:
        """The stored bytes of a (non-sliced) entry, checksum verified; a view into the map
        (or the bytes of one range request for a remote shard)."""
        if not entry.dtype.known:  # TF's reader aborts on it, RestoreV2 refuses it
            raise FormatError(
                self.index_file,
                f"tensor {entry.name!r} is stored with dtype enum {entry.dtype.enum}, which "
                "TensorFlow has no type for: it cannot be read",
            )
        if entry.ref:  # TF's reader aborts on it, RestoreV2 refuses it
            raise FormatError(
                self.index_file,
                f"tensor {entry.name!r} is stored with the reference dtype {entry.dtype.name}_ref: "
                "TensorFlow cannot read it",
            )
        if self.endianness == BIG_ENDIAN and not entry.dtype.byte_swappable:
            raise FormatError(  # ByteSwapBuffer: "Byte-swapping not supported"
                self.index_file,
                f"tensor {entry.name!r} is {entry.dtype.name} in a big-endian bundle: "
                "TensorFlow cannot read it (it does not byte-swap that dtype)",
            )
        src = self._shard(entry.shard_id)
        path = data_path(self.prefix, entry.shard_id, self.num_shards)
        end = entry.offset + entry.size
        if end > src.size:
            raise FormatError(
                path,
                f"tensor {entry.name!r} needs bytes {entry.offset}..{end} but the file has "
                f"{src.size}: truncated",
            )
        self._check_not_shrunk(entry, path, end)
        raw = src.read(entry.offset, entry.size)
        if self.verify_checksums if verify is None else verify:
            self._check_crc(entry, raw, path)
        return raw

    def _check_not_shrunk(self, entry: BundleEntry, path: str, end: int) -> None:
        """Touching mapped pages past the end of a file cut short since it was mapped kills the
        process (SIGBUS): check the file's size first."""
        src = self._sources.get(entry.shard_id)
        now = src.shrunk_to() if isinstance(src, LocalSource) else None
        if now is not None and now < end:
            raise FormatError(
                path,
                f"tensor {entry.name!r} needs bytes {entry.offset}..{end} but the file shrank to "
                f"{now} bytes while open (rewritten by another process?)",
            )

    def _check_crc(self, entry: BundleEntry, raw: memoryview, path: str) -> None:
        if entry.dtype.name == "string":
            order: Literal["little", "big"] = "big" if self.endianness == BIG_ENDIAN else "little"
            actual = _string_checksum(raw, entry.num_elements, path, entry.name, order)
        elif entry.dtype.name == "variant":
            actual = _variant_checksum(raw, entry.num_elements, path, entry.name)
        else:
            actual = mask(self._crc_and_release(entry.shard_id, raw, entry.offset))
        if actual != entry.crc32c:
            raise ChecksumError(
                path,
                f"checksum mismatch in tensor {entry.name!r} (data corrupt)",
                offset=entry.offset,
            )

    def _crc_and_release(self, shard: int, raw: memoryview, offset: int) -> int:
        """crc32c of ``raw`` (the bytes at ``offset`` of a mapped shard), a chunk at a time.

        Each chunk's pages are dropped from this process's mapping once summed
        (``MADV_DONTNEED``: for a read-only file mapping the data stays in the page cache and
        faults back in if the array is read), so the resident set does not grow with the
        checkpoint. Arrays handed out earlier stay valid.
        """
        src = self._sources.get(shard)
        if not isinstance(src, LocalSource):
            return crc32c(raw)
        crc = 0
        size = len(raw)
        pos = 0
        while pos < size:
            stop = min(size, pos + _CRC_CHUNK)
            crc = crc32c(raw[pos:stop], crc)
            # 2 MiB behind too: a page fault maps neighbouring pages (fault-around, large
            # folios), so reading a tensor maps the tail of the one before it again.
            src.release(offset + pos, stop - pos, _RELEASE_BEHIND)
            pos = stop
        return crc

    def read(self, name: str) -> np.ndarray:
        """The full value of ``name`` (slices reassembled), as TF's ``get_tensor`` returns it."""
        entry = self.entry(name)
        if entry.is_sliced:
            return self._read_sliced(entry)
        return self._decode(entry)

    def _decode(self, entry: BundleEntry) -> np.ndarray:
        import numpy as np

        raw = self.raw_bytes(entry)
        dt = entry.dtype
        if dt.name == "string":
            path = data_path(self.prefix, entry.shard_id, self.num_shards)
            return decode_strings(raw, entry.num_elements, path, entry.name).reshape(entry.shape)
        if dt.numpy is None:
            raise FormatError(
                self.index_file,
                f"tensor {entry.name!r}: {dt.name} tensors have no numpy value "
                "(TensorFlow cannot convert them either)",
            )
        np_dtype = dt.numpy if self.endianness == LITTLE_ENDIAN else dt.numpy.newbyteorder(">")
        arr = np.frombuffer(raw, dtype=np_dtype)
        if self.endianness == BIG_ENDIAN or (dt.itemsize and entry.offset % dt.itemsize):
            arr = arr.astype(dt.numpy)  # a copy: native order, aligned
        return arr.reshape(entry.shape)

    def read_slice(self, name: str, extents: Extents) -> np.ndarray:
        """Region ``extents`` of tensor ``name`` (``(start, length)`` per dimension, ``(0, -1)``
        for all of one), as TF's ``RestoreV2`` with a slice spec restores it: a partitioned
        tensor's region is read from the stored slices that cover it, though others leave holes
        elsewhere; a region they do not cover is refused."""
        import numpy as np

        entry = self.entry(name)
        box = slice_box(self.index_file, name, entry.shape, extents)
        index = tuple(slice(lo, hi) for lo, hi in box)
        if not entry.is_sliced:
            if box != tuple((0, d) for d in entry.shape):
                self.check_copyable(entry)  # TF copies a part of the whole tensor
            return np.array(self._decode(entry)[index])
        problem = self.uncovered(entry, extents)
        if problem is not None:
            raise problem
        return self._assemble(entry, self.slice_entries(entry, gaps=True), box)

    def _read_sliced(self, entry: BundleEntry) -> np.ndarray:
        box = tuple((0, d) for d in entry.shape)
        return self._assemble(entry, self.slice_entries(entry), box)

    def _assemble(
        self, entry: BundleEntry, slices: list[tuple[Extents, BundleEntry]], box: Box
    ) -> np.ndarray:
        """Region ``box`` of a partitioned tensor from those of its ``slices`` that meet it."""

        dt = entry.dtype
        if not dt.slice_copyable:  # TF reads one stored slice whole, assembles nothing
            exact = [sub for extents, sub in slices
                     if slice_box(self.index_file, entry.name, entry.shape, extents) == box]  # fmt: skip
            if not exact:
                self.check_copyable(entry)
            slices = [(ext, sub) for ext, sub in slices if sub is exact[0]]
        parts = []
        for extents, sub in slices:
            part_shape = slice_shape(entry.shape, extents)
            if sub.dtype != dt:
                raise FormatError(
                    self.index_file,
                    f"tensor {entry.name!r} is {dt.name}, its slice {extents_text(extents)} is "
                    f"{sub.dtype.name}",
                )
            if sub.shape != part_shape:
                raise FormatError(
                    self.index_file,
                    f"tensor {entry.name!r}: slice {extents_text(extents)} has shape {list(sub.shape)}",
                )
            self._check_stored(sub)  # before the output is allocated from the claimed shape
            where = slice_box(self.index_file, entry.name, entry.shape, extents)
            if (part := box_overlap(box, where)) is not None:
                parts.append((where, part, sub))
        return place_parts(
            box, dt, [(where, part, self._decode(sub)) for where, part, sub in parts]
        )

    def check_copyable(self, entry: BundleEntry) -> None:
        """FormatError unless TF copies ``entry``'s dtype between slices (a part of a tensor,
        or a partitioned tensor assembled from its slices)."""
        if not entry.dtype.slice_copyable:
            raise FormatError(
                self.index_file,
                f"tensor {entry.name!r}: TensorFlow does not assemble {entry.dtype.name} "
                "tensors from slices (its slice copy: 'Dtype not supported'); only a stored "
                "slice can be read",
            )

    def _check_stored(self, entry: BundleEntry) -> None:
        """The entry's bytes lie inside its data file, and a string or variant tensor has at
        least one byte (its length prefix) per element, so its size bounds any allocation."""
        self.raw_bytes(entry, verify=False)
        if not entry.dtype.is_fixed_size and entry.num_elements > entry.size:
            raise FormatError(
                data_path(self.prefix, entry.shard_id, self.num_shards),
                f"tensor {entry.name!r} claims {entry.num_elements} elements in {entry.size} bytes",
            )

    def present_shards(self) -> set[int] | None:
        """The shards whose data file exists (or is open already), from one listing of the
        directory (a header may claim 2**20 shards in a 100-byte index); None where a store
        cannot be listed."""
        from graphtui.formats import storage

        if self.prefix.startswith(("http://", "https://")):
            return None  # a web server cannot be listed
        directory, base = os.path.split(self.prefix)
        suffix = f"-of-{self.num_shards:05d}"
        head = f"{base}.data-"
        present = set(self._sources)  # already open: readable even if deleted since
        try:
            entries = [e.path for e in storage.listdir(directory or ".")]
        except OSError:
            return present
        for path in entries:
            name = storage.basename(path)
            number = name[len(head) : -len(suffix)]
            if name.startswith(head) and name.endswith(suffix) and number.isdigit():
                shard = int(number)
                if shard < self.num_shards and name == data_path(base, shard, self.num_shards):
                    present.add(shard)
        return present

    def _missing_shards(self, present: set[int], named: int = 8) -> list[FormatError]:
        """The first ``named`` missing shards, then one line counting them all."""
        missing = self.num_shards - len(present)
        out: list[FormatError] = []
        for shard in range(self.num_shards):
            if len(out) == named:
                break
            if shard not in present:
                path = data_path(self.prefix, shard, self.num_shards)
                out.append(MissingFileError(path, "data shard is missing"))
        if missing > named:
            out.append(
                FormatError(
                    self.index_file,
                    f"{missing} of {self.num_shards} data shards are missing "
                    f"(the header's count; {len(present)} present)",
                )
            )
        return out

    def verify(self, *, data: bool = True) -> list[FormatError]:
        """Check every block and every tensor's checksum; return every problem found.

        ``data=False`` reads no tensor bytes: every block of the index, every entry, and that
        each tensor lies inside its shard (for a file just written whose tensors' checksums
        were checked on the bytes as they were copied)."""
        problems = self.table.verify()
        present = self.present_shards()
        for shard in range(self.num_shards) if present is None else sorted(present):
            try:
                self._shard(shard)
            except FormatError as exc:
                problems.append(exc)
        if present is not None and len(present) < self.num_shards:
            problems.extend(self._missing_shards(present))
        from graphtui.formats import bundle_verify

        local = all(isinstance(src, LocalSource) for src in self._sources.values())
        if local and data and sstable.numpy_unneeded(len(self._scan.data)):
            problems.extend(bundle_verify.check_one_by_one(self, problems))
            return problems
        stored = bundle_verify.stored_extents(self, problems)
        if not local:
            from graphtui.formats.bundle_stream import verify_streamed

            problems.extend(verify_streamed(self, list(stored.entries())))
        elif data:
            problems.extend(bundle_verify.check_local(stored))
        else:
            problems.extend(bundle_verify.outside_shards(stored))
        return problems

    def close(self) -> None:
        for src in self._sources.values():
            src.close()
        self._sources.clear()
        self.table.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- index values without protobuf -------------------------------------------------------------
#
# Listing a checkpoint decodes one BundleEntryProto per tensor. Entries as every writer produces
# them are decoded here, so `graphtui ls` need not import protobuf and load the descriptor pool
# (a third of its run time). Anything unusual (slices, dim names, unknown or repeated fields,
# values protobuf would read as negative or truncate, malformed bytes) gives None, and protobuf
# decodes it with its own checks and errors.

# dtype, shape, unknown_rank, shard_id, offset, size, crc32c, slices
_EntryFields = tuple[int, tuple[int, ...], bool, int, int, int, int, tuple[Extents, ...]]
_INT32_LIMIT = 1 << 31
_INT64_LIMIT = 1 << 63


# num_shards, endianness, producer, min_consumer, bad_consumers
_HeaderFields = tuple[int, int, int, int, tuple[int, ...]]

# TF's checkpoint versions: kTensorBundleVersion / kTensorBundleMinProducer (tensor_bundle.cc)
# for V2, TF_CHECKPOINT_VERSION / TF_CHECKPOINT_VERSION_MIN_PRODUCER (version.h) for V1; the
# same numbers. BUNDLE_VERSION is the consumer version of today's readers.
BUNDLE_VERSION = 1
BUNDLE_MIN_PRODUCER = 0


def version_refused(producer: int, min_consumer: int, bad_consumers: Sequence[int]) -> str:
    """Why TF's ``CheckVersions`` refuses a checkpoint's VersionDef ("" if it does not)."""
    if producer < BUNDLE_MIN_PRODUCER:
        return f"checkpoint producer version {producer} below min producer {BUNDLE_MIN_PRODUCER}"
    if min_consumer > BUNDLE_VERSION:
        return (
            f"checkpoint min consumer version {min_consumer} above current version "
            f"{BUNDLE_VERSION} (written for a newer TensorFlow)"
        )
    if BUNDLE_VERSION in bad_consumers:
        return f"checkpoint disallows consumer version {BUNDLE_VERSION}"
    return ""


def _scan_header(value: bytes) -> _HeaderFields | None:
    """BundleHeaderProto -> (num_shards, endianness, producer, min_consumer, ()), or None
    (bad_consumers and anything unusual are left to protobuf)."""
    num_shards = endianness = producer = min_consumer = 0
    seen_version = False
    pos, end = 0, len(value)
    try:
        while pos < end:
            tag = value[pos]
            pos += 1
            if tag == 0x1A:  # 3: version (VersionDef)
                length, pos = decode_varint(value, pos)
                stop = pos + length
                if seen_version or stop > end:
                    return None
                while pos < stop:
                    inner = value[pos]
                    number, pos = decode_varint(value, pos + 1)
                    if number >= _INT32_LIMIT:
                        return None
                    if inner == 0x08:  # 1: producer
                        producer = number
                    elif inner == 0x10:  # 2: min_consumer
                        min_consumer = number
                    else:  # bad_consumers, anything else
                        return None
                if pos != stop:
                    return None
                seen_version = True
                continue
            number, pos = decode_varint(value, pos)
            if number >= _INT32_LIMIT:
                return None
            if tag == 0x08:  # 1: num_shards
                num_shards = number
            elif tag == 0x10:  # 2: endianness
                endianness = number
            else:
                return None
    except (IndexError, VarintError):
        return None
    return (num_shards, endianness, producer, min_consumer, ()) if pos == end else None


def _scan_entry(value: bytes) -> _EntryFields | None:
    """BundleEntryProto of a whole tensor (dtype, shape, shard, offset, size, crc32c), or None."""
    dtype = shard = offset = size = crc = 0
    dims: tuple[int, ...] = ()
    seen_shape = False
    pos, end = 0, len(value)
    try:
        while pos < end:
            tag = value[pos]
            pos += 1
            if tag == 0x35:  # 6: crc32c, fixed32
                if pos + 4 > end:
                    return None
                crc = int.from_bytes(value[pos : pos + 4], "little")
                pos += 4
            elif tag == 0x12:  # 2: shape (TensorShapeProto)
                length, pos = decode_varint(value, pos)
                stop = pos + length
                if seen_shape or stop > end:
                    return None
                scanned = _scan_shape(value, pos, stop)
                if scanned is None:
                    return None
                dims = scanned
                seen_shape = True
                pos = stop
            else:
                number, pos = decode_varint(value, pos)
                if tag == 0x20 and number < _INT64_LIMIT:  # 4: offset
                    offset = number
                elif tag == 0x28 and number < _INT64_LIMIT:  # 5: size
                    size = number
                elif tag == 0x08 and number < _INT32_LIMIT:  # 1: dtype
                    dtype = number
                elif tag == 0x18 and number < _INT32_LIMIT:  # 3: shard_id
                    shard = number
                else:
                    return None
    except (IndexError, VarintError):
        return None
    if pos != end:
        return None
    return dtype, dims, False, shard, offset, size, crc, ()


def _scan_shape(buf: bytes, pos: int, stop: int) -> tuple[int, ...] | None:
    """TensorShapeProto dims made only of sizes (no names, no unknown_rank), else None."""
    dims = []
    while pos < stop:
        if buf[pos] != 0x12:  # 2: dim
            return None
        length, pos = decode_varint(buf, pos + 1)
        dim_stop = pos + length
        if dim_stop > stop:
            return None
        size = 0
        while pos < dim_stop:
            if buf[pos] != 0x08:  # 1: size (a name, or anything else: protobuf decides)
                return None
            size, pos = decode_varint(buf, pos + 1)
            if size >= _INT64_LIMIT:
                return None
        if pos != dim_stop:
            return None
        dims.append(size)
    return tuple(dims) if pos == stop else None


_BULK_RANK = 8  # entries of more dimensions are left to _scan_entry
_BULK_FIELDS = 12  # and entries of more fields


def _scan_entries(u8: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`_scan_entry` of every value ``u8[starts[i]:ends[i]]`` at once (numpy).

    Returns ``(ok, dtype, dims, ranks, shard, offset, size, crc)``: where ``ok[i]``, the entry
    is one
    :func:`_scan_entry` decodes and these are its fields (``dims[i, :ranks[i]]`` its shape);
    elsewhere the entry is left to the entry-by-entry scanner (whatever it is). Only the
    common case is taken: one-byte tags, varints of at most 9 bytes, each dim a single size
    field, at most ``_BULK_RANK`` dims and ``_BULK_FIELDS`` fields.
    """
    import numpy as np

    n = len(starts)
    ok = np.ones(n, dtype=bool)
    dtype, shard, offset, size, crc = (np.zeros(n, dtype=np.int64) for _ in range(5))
    dims = np.zeros((n, 0), dtype=np.int64)
    ranks = np.zeros(n, dtype=np.int64)
    seen_shape = np.zeros(n, dtype=bool)
    pos = starts.copy()
    live = np.flatnonzero(pos < ends)
    for _ in range(_BULK_FIELDS):
        if not live.size:
            break
        tag = u8[pos[live]]
        crced = live[tag == 0x35]  # 6: crc32c, fixed32
        if crced.size:
            fits = pos[crced] + 5 <= ends[crced]
            ok[crced[~fits]] = False
            crced = crced[fits]
            at = pos[crced] + 1
            crc[crced] = sum(u8[at + k].astype(np.int64) << (8 * k) for k in range(4))
            pos[crced] += 5
        shaped = live[tag == 0x12]  # 2: shape
        if shaped.size:
            length, at, fine = decode_varints_at(u8, pos[shaped] + 1, ends[shaped], 9)
            bad = ~fine | seen_shape[shaped] | (length > ends[shaped] - at)
            stop = np.where(bad, at, at + length)
            got, got_ranks, good = _scan_dims(u8, at, stop)
            ok[shaped[bad | ~good]] = False
            if got.shape[1] > dims.shape[1]:
                dims = np.pad(dims, ((0, 0), (0, got.shape[1] - dims.shape[1])))
            dims[shaped, : got.shape[1]] = got
            ranks[shaped] = got_ranks
            seen_shape[shaped] = True
            pos[shaped] = np.where(bad, ends[shaped], stop)
        plain = live[(tag != 0x35) & (tag != 0x12)]
        if plain.size:
            number, at, fine = decode_varints_at(u8, pos[plain] + 1, ends[plain], 9)
            bad = ~fine
            kind = tag[(tag != 0x35) & (tag != 0x12)]
            small = number < _INT32_LIMIT  # 9 bytes hold at most 63 bits: int64 always fits
            for field_tag, column, limit in (
                (0x08, dtype, True),  # 1: dtype
                (0x18, shard, True),  # 3: shard_id
                (0x20, offset, False),  # 4: offset
                (0x28, size, False),  # 5: size
            ):
                hit = kind == field_tag
                if limit:
                    bad |= hit & ~small
                column[plain[hit]] = number[hit]
            bad |= ~np.isin(kind, (0x08, 0x18, 0x20, 0x28))
            ok[plain[bad]] = False
            pos[plain] = at
        live = live[ok[live] & (pos[live] < ends[live])]
    ok[live] = False  # more fields than _BULK_FIELDS
    ok &= pos == ends  # nothing ran past the value
    return ok, dtype, dims, ranks, shard, offset, size, crc


def _scan_dims(
    u8: np.ndarray, pos: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_scan_shape` of many TensorShapeProtos at once: ``(dims, ranks, good)``; ``dims``
    has a column per dimension any of them has (none for scalars)."""
    import numpy as np

    n = len(pos)
    columns: list[np.ndarray] = []
    ranks = np.zeros(n, dtype=np.int64)
    good = np.ones(n, dtype=bool)
    pos = pos.copy()
    live = np.flatnonzero(pos < stop)
    for _ in range(_BULK_RANK):
        if not live.size:
            break
        at, end = pos[live], stop[live]
        bad = u8[at] != 0x12  # 2: dim
        length, at, fine = decode_varints_at(u8, at + 1, end, 9)
        bad |= ~fine | (length > end - at)
        dim_stop = np.where(bad, end, at + length)
        sized = at < dim_stop  # an empty dim is size 0
        bad |= sized & (u8[np.where(sized & ~bad, at, 0)] != 0x08)  # 1: size (no name)
        value, after, fine = decode_varints_at(u8, at + 1, dim_stop, 9)
        bad |= sized & (~fine | (after != dim_stop))
        good[live[bad]] = False
        column = np.zeros(n, dtype=np.int64)
        column[live] = np.where(sized, value, 0)
        columns.append(column)
        ranks[live] += 1
        pos[live] = np.where(bad, end, dim_stop)
        live = live[good[live] & (pos[live] < stop[live])]
    good[live] = False  # more dims than _BULK_RANK
    dims = np.stack(columns, axis=1) if columns else np.zeros((n, 0), dtype=np.int64)
    return dims, ranks, good


def _decoded_names(keys: list[str]) -> list[str]:
    """Keys (latin-1 text of their bytes) as names: UTF-8, a byte that is not UTF-8 as its
    surrogate escape. ASCII keys are names already; others are decoded in one call, joined by
    a zero byte, unless a key holds one."""
    joined = "\x00".join(keys)
    if joined.isascii():
        return keys
    names = joined.encode("latin-1").decode("utf-8", "surrogateescape").split("\x00")
    if len(names) == len(keys):  # a zero byte ends any incomplete UTF-8 sequence before it
        return names
    return [key.encode("latin-1").decode("utf-8", "surrogateescape") for key in keys]


_UINT64 = (1 << 64) - 1


def _read_lengths(
    raw: memoryview, count: int, path: str, name: str, *, whole: bool = True
) -> tuple[list[int], int]:
    """The varint lengths of a string tensor and where they end; ``whole``: also check that
    they add up to the entry's size (the checksum checks them first, as TF does)."""
    if count > len(raw):  # each element has a length of at least one byte
        raise FormatError(
            path, f"string tensor {name!r} claims {count} elements in {len(raw)} bytes"
        )
    lengths = []
    pos = 0
    try:
        for _ in range(count):
            length, pos = decode_varint(raw, pos)
            # TF's ReadVarint64 drops a tenth byte's bits past the 64th (a uint64)
            lengths.append(length & _UINT64)
    except VarintError:
        raise FormatError(path, f"string tensor {name!r}: corrupt length prefix") from None
    if whole:
        _check_total(lengths, pos, raw, path, name)
    return lengths, pos


def _check_total(lengths: list[int], pos: int, raw: memoryview, path: str, name: str) -> None:
    if pos + 4 + sum(lengths) != len(raw):
        raise FormatError(
            path,
            f"string tensor {name!r}: lengths add up to {pos + 4 + sum(lengths)} bytes, "
            f"the entry holds {len(raw)}",
        )


def _string_checksum(
    raw: memoryview, count: int, path: str, name: str, order: Literal["little", "big"] = "little"
) -> int:
    """TF's checksum of a string tensor: crc32c over each length as uint32 (uint64 if larger),
    then the 4-byte masked length checksum, then the bytes. The lengths and the length
    checksum are in the writer's byte order (``order``: a big-endian bundle's are big-endian)."""
    lengths, pos = _read_lengths(raw, count, path, name, whole=False)
    crc = 0
    for length in lengths:
        crc = crc32c(length.to_bytes(4 if length <= 0xFFFFFFFF else 8, order), crc)
    stored_len_crc = int.from_bytes(raw[pos : pos + 4], order)
    if pos + 4 > len(raw) or stored_len_crc != mask(crc):
        raise ChecksumError(path, f"checksum mismatch in the lengths of string tensor {name!r}")
    _check_total(lengths, pos, raw, path, name)
    crc = crc32c(raw[pos:], crc)
    return mask(crc)


def _variant_checksum(raw: memoryview, count: int, path: str, name: str) -> int:
    """TF's checksum of a variant tensor. Each element is stored as a varint length, the
    serialized VariantTensorDataProto and the masked running crc; the running crc covers each
    length as uint64, the element bytes and that 4-byte checksum."""
    if not len(raw):
        return mask(0)
    crc = 0
    pos = 0
    end = len(raw)
    for i in range(count):
        try:
            length, pos = decode_varint(raw, pos)
        except VarintError:
            raise FormatError(path, f"variant tensor {name!r}: corrupt length prefix") from None
        if pos + length + 4 > end:
            raise FormatError(path, f"variant tensor {name!r}: element {i} runs past its entry")
        crc = crc32c(length.to_bytes(8, "little"), crc)
        crc = crc32c(raw[pos : pos + length], crc)
        pos += length
        stored = raw[pos : pos + 4]
        if int.from_bytes(stored, "little") != mask(crc):
            raise ChecksumError(
                path, f"checksum mismatch in element {i} of variant tensor {name!r}"
            )
        crc = crc32c(stored, crc)
        pos += 4
    if pos != end:
        raise FormatError(
            path, f"variant tensor {name!r}: {end - pos} bytes left after its elements"
        )
    return mask(crc)


def decode_strings(raw: memoryview, count: int, path: str, name: str) -> np.ndarray:
    """Bundle string encoding -> object array of ``bytes``."""
    import numpy as np

    lengths, pos = _read_lengths(raw, count, path, name)
    pos += 4
    out = np.empty(count, dtype=object)
    for i, length in enumerate(lengths):
        out[i] = bytes(raw[pos : pos + length])
        pos += length
    return out
