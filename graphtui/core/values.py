"""Checkpoint tensor values, read lazily: :class:`TensorValue` (windows and blocks of one tensor)
and :class:`TensorArray`, the array-like a user indexes (``reader.get_slice(name)[:, ::8]``).

Values are never read whole to be looked at: little-endian V2 tensors are memory-mapped and a
window copies only the elements it covers; :func:`iter_blocks` walks a tensor in blocks of at most
``CHUNK_ELEMENTS`` elements.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from graphtui.formats import dtypes
from graphtui.formats.bundle import LITTLE_ENDIAN, BundleEntry, slice_index, slice_shape

if TYPE_CHECKING:
    from graphtui.core.checkpoint import CheckpointReader
    from graphtui.core.graph import GraphIndex

CHUNK_ELEMENTS = 1 << 20  # elements per block for statistics and diffs (8 MiB as float64)

Window = tuple[tuple[int, int], ...]  # (start, stop) per dimension


class TensorValue:
    """One checkpoint tensor, read lazily: :meth:`read` copies a window, :meth:`blocks` walks it.

    Little-endian V2 tensors of a fixed-size dtype (whole or saved in slices) are mapped from the
    data files; anything else (V1 checkpoints, strings, big-endian bundles) is read once, whole.
    """

    def __init__(self, reader: CheckpointReader, name: str, *, holes: bool = False) -> None:
        """``holes``: a partitioned tensor whose stored slices leave holes is taken (as TF's
        ``RestoreV2`` with a slice spec takes it: a window they cover is read, one they do not
        is refused); else it is refused here, as its whole value is."""
        self._holes_ok = holes
        info = reader.tensor_info(name)
        self.name = name
        self.prefix = reader.prefix
        self.dtype: dtypes.DType = info.dtype
        self.shape: tuple[int, ...] = tuple(info.shape)
        self.size = math.prod(self.shape)
        self.nbytes = info.nbytes  # as stored in the checkpoint
        self._reader = reader
        self._entries: list[BundleEntry] = []
        # (where the part sits in the whole tensor, its mapped array)
        self._parts: list[tuple[Window, np.ndarray]] | None = self._map_parts()
        self._whole: np.ndarray | None = None
        self._verified = False
        bundle = reader.bundle
        entry = bundle.entry(name) if bundle is not None else None
        if bundle is not None and entry is not None and entry.is_sliced and not holes:
            bundle.check_copyable(entry)  # TF cannot assemble it
        # a partitioned tensor not mapped (V1, or V2 TF reads only slice by slice): each
        # window read from the slices it meets, as TF's RestoreV2 reads a slice spec
        self._sliced = holes and (
            (entry is None and reader.partitioned(name))
            or (
                entry is not None
                and entry.is_sliced
                and (self._parts is None or not entry.dtype.slice_copyable)
            )
        )
        # mapped slices that leave holes (TF reads the windows they cover, refuses the others)
        self._holes = self._parts is not None and sum(a.size for _, a in self._parts) != self.size

    @property
    def verified(self) -> bool:
        """True once :meth:`verify` has passed (values may be shown as they are)."""
        return self._verified

    @property
    def numeric(self) -> bool:
        return self.dtype.numpy is not None

    @property
    def mapped(self) -> bool:
        """True when windows are read from the mapped file, never the whole tensor."""
        return self._parts is not None

    def _map_parts(self) -> list[tuple[Window, np.ndarray]] | None:
        bundle = self._reader.bundle
        np_dtype = self.dtype.numpy
        if bundle is None or np_dtype is None or bundle.endianness != LITTLE_ENDIAN:
            return None
        entry = bundle.entry(self.name)
        full = tuple((0, d) for d in self.shape)
        if not entry.is_sliced:
            pieces = [(full, entry, self.shape)]
        else:
            pieces = []
            # with ``holes``, a window the slices leave out is refused when read
            for extents, sub in bundle.slice_entries(entry, gaps=self._holes_ok):
                where = tuple(
                    (s.start or 0, d if s.stop is None else s.stop)
                    for s, d in zip(slice_index(self.shape, extents), self.shape, strict=True)
                )
                pieces.append((where, sub, slice_shape(self.shape, extents)))
        parts = []
        for where, sub, shape in pieces:
            # numpy reads unaligned buffers; windows are copied out aligned
            raw = bundle.raw_bytes(sub, verify=False)
            parts.append((where, np.frombuffer(raw, dtype=np_dtype).reshape(shape)))
            self._entries.append(sub)
        return parts

    def _load_whole(self) -> np.ndarray:
        if self._whole is None:
            self._whole = self._reader.read(self.name)
        return self._whole

    def verify(self) -> None:
        """Check the stored checksums of this tensor's bytes once (raises ChecksumError)."""
        if self._verified:
            return
        bundle = self._reader.bundle
        if bundle is not None and self._entries:
            for entry in self._entries:
                bundle.raw_bytes(entry, verify=True)
        else:
            self._load_whole()  # V1 and strings: reading checks every block
        self._verified = True

    def read(self, window: Window) -> np.ndarray:
        """A copy of the elements in ``window`` ((start, stop) per dimension, clipped)."""
        window = tuple(
            (max(0, min(a, d)), max(0, min(b, d)))
            for (a, b), d in zip(window, self.shape, strict=True)
        )
        index = tuple(slice(a, b) for a, b in window)
        out_shape = tuple(max(0, b - a) for a, b in window)
        if self._sliced and all(out_shape):
            return self._reader.read_slice(self.name, tuple((a, b - a) for a, b in window))
        if self._parts is None:
            return np.array(self._load_whole()[index])
        if len(self._parts) == 1 and self._parts[0][1].shape == self.shape:
            return np.array(self._parts[0][1][index])
        if self._holes and all(out_shape):
            bundle = self._reader.bundle
            assert bundle is not None
            problem = bundle.uncovered(
                bundle.entry(self.name), tuple((a, b - a) for a, b in window)
            )
            if problem is not None:
                raise problem
        out = np.zeros(out_shape, dtype=self._parts[0][1].dtype)
        for where, arr in self._parts:
            lo = [max(a, p0) for (a, _), (p0, _) in zip(window, where, strict=True)]
            hi = [min(b, p1) for (_, b), (_, p1) in zip(window, where, strict=True)]
            if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)) and out.size:
                continue
            src = tuple(
                slice(lo_ - p0, h - p0) for lo_, h, (p0, _) in zip(lo, hi, where, strict=True)
            )
            dst = tuple(
                slice(lo_ - a, h - a) for lo_, h, (a, _) in zip(lo, hi, window, strict=True)
            )
            out[dst] = arr[src]
        return out

    def whole(self) -> np.ndarray:
        """Every element: a read-only view of the mapped file when stored whole, else a copy."""
        if self._parts is not None and len(self._parts) == 1 and not self._holes:
            return self._parts[0][1]
        return self.read(tuple((0, d) for d in self.shape))

    def blocks(self, max_elements: int = CHUNK_ELEMENTS) -> Iterator[Window]:
        """Windows covering the tensor in C order, each of at most ``max_elements`` elements."""
        yield from iter_blocks(self.shape, max_elements)

    def __getitem__(self, key: Any) -> np.ndarray:
        """numpy's basic indexing (integers, slices with any step, ``...``) as a new array.

        A box (steps of 1) is one :meth:`read`; a stepped index of a tensor stored whole is
        taken where it lies (the mapped file), so ``[:, ::8]`` copies only every eighth column; a
        tensor saved in slices copies the box that holds the selection, then steps through it.
        """
        ranges, drop = _basic_index(key, self.shape)
        stepped = any(r.step != 1 for r in ranges)
        whole = (self._parts is None and not self._sliced) or (
            self._parts is not None
            and len(self._parts) == 1
            and self._parts[0][1].shape == self.shape
        )
        if stepped and whole:  # index where it lies: only the selected elements are copied
            source = self._load_whole() if self._parts is None else self._parts[0][1]
            index = tuple(
                r.start if axis in drop else slice(r.start, r.stop if r.stop >= 0 else None, r.step)
                for axis, r in enumerate(ranges)
            )
            return np.array(source[index], dtype=source.dtype)
        window = tuple((min(r), max(r) + 1) if len(r) else (0, 0) for r in ranges)
        box = self.read(window)
        local = tuple(
            _local(r, lo, axis in drop)
            for axis, (r, (lo, _)) in enumerate(zip(ranges, window, strict=True))
        )
        return np.array(box[local], dtype=box.dtype)


def _local(r: range, lo: int, scalar: bool) -> int | slice:
    """Range ``r`` of the whole tensor as an index into a box starting at ``lo``."""
    if not len(r):
        return slice(0, 0)
    first, last = r[0] - lo, r[-1] - lo
    if scalar:
        return first
    if r.step > 0:
        return slice(first, last + 1, r.step)
    return slice(first, last - 1 if last >= 1 else None, r.step)


def _basic_index(key: Any, shape: tuple[int, ...]) -> tuple[list[range], set[int]]:
    """numpy's basic index ``key`` as one range per axis, and the axes an integer removes."""
    items = key if isinstance(key, tuple) else (key,)
    ellipses = [i for i, k in enumerate(items) if k is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if ellipses:
        i = ellipses[0]
        fill = (slice(None),) * (len(shape) - len(items) + 1)
        items = items[:i] + fill + items[i + 1 :]
    if len(items) > len(shape):
        raise IndexError(
            f"too many indices: the tensor is {len(shape)}-dimensional, but {len(items)} "
            "were indexed"
        )
    items = items + (slice(None),) * (len(shape) - len(items))
    ranges: list[range] = []
    drop: set[int] = set()
    for axis, (k, size) in enumerate(zip(items, shape, strict=True)):
        if isinstance(k, slice):
            ranges.append(range(*k.indices(size)))
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            i = int(k)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {size}")
            i %= size
            ranges.append(range(i, i + 1))
            drop.add(axis)
        else:
            raise TypeError(
                f"a lazy tensor takes integers, slices and '...' as an index, not "
                f"{type(k).__name__} (np.asarray() it first for fancy indexing)"
            )
    return ranges, drop


class TensorArray:
    """A checkpoint tensor as a lazy array (h5py's ``Dataset``, safetensors' ``get_slice``):
    ``shape``, ``dtype`` (numpy; ``object`` for strings), basic indexing that reads only what it
    needs, ``np.asarray(array)`` for every element and :meth:`iter_chunks` to walk it."""

    def __init__(self, value: TensorValue) -> None:
        self.value = value
        self.name = value.name
        self.tf_dtype: dtypes.DType = value.dtype
        self.dtype = np.dtype(value.dtype.numpy if value.dtype.numpy is not None else object)
        self.shape = value.shape
        self.ndim = len(value.shape)
        self.size = value.size
        self.nbytes = value.nbytes  # as stored in the checkpoint

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar tensor")
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.value[key]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        whole = self.value[...]
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def iter_chunks(self, max_elements: int = CHUNK_ELEMENTS) -> Iterator[tuple[slice, ...]]:
        """Indexes covering the tensor in C order, each of at most ``max_elements`` elements."""
        return iter_chunks(self.shape, max_elements)

    def __repr__(self) -> str:
        return f"<TensorArray {self.name!r} shape={self.shape} dtype={self.tf_dtype.name}>"


CONST_MAX_ELEMENTS = 1 << 24  # a Const bigger than this is not decoded for the value view


class ArrayValue(TensorValue):
    """A value held in the graph (a ``Const`` node's tensor), read like a checkpoint tensor:
    the value view, statistics and export take it as they take a :class:`TensorValue`."""

    def __init__(self, name: str, source: str, array: np.ndarray, dtype: dtypes.DType) -> None:
        self.name = name
        self.prefix = source  # where it comes from: the graph file
        self.dtype = dtype
        self.shape = tuple(int(d) for d in array.shape)
        self.size = math.prod(self.shape)
        self.nbytes = int(array.nbytes) if array.dtype != object else 0
        self._entries = []
        self._parts = None
        self._sliced = self._holes = False
        self._whole = array
        self._verified = True  # nothing stored to check: the graph file is the value


def const_value(graph: GraphIndex, name: str) -> ArrayValue:
    """The tensor of ``Const`` node ``name`` (raises CoreError for other ops)."""
    from graphtui.errors import CoreError
    from graphtui.formats.tensor_proto import TensorProtoError, to_numpy

    node = graph.node(name)
    if "value" not in node.attr or not node.attr["value"].HasField("tensor"):
        raise CoreError(f"{name}: a {node.op} node holds no tensor value")
    proto = node.attr["value"].tensor
    try:  # TF's MakeNdarray refuses it too (a dtype it has no type for, a short content)
        array = np.asarray(to_numpy(proto, CONST_MAX_ELEMENTS))
    except TensorProtoError as exc:
        raise CoreError(f"{graph.path or 'graph'}: Const {name!r}: {exc}") from None
    dtype = dtypes.from_enum(int(proto.dtype))
    return ArrayValue(name, graph.path or "graph", array, dtype)


def iter_blocks(shape: tuple[int, ...], max_elements: int) -> Iterator[Window]:
    """Windows covering ``shape`` in C order, each at most ``max_elements`` elements (min one
    element): whole trailing dimensions, a run of one dimension, fixed leading indices."""
    if not shape:
        yield ()
        return
    if 0 in shape:
        return
    max_elements = max(1, max_elements)
    axis = len(shape) - 1
    inner = 1
    while axis >= 0 and inner * shape[axis] <= max_elements:
        inner *= shape[axis]
        axis -= 1
    if axis < 0:
        yield tuple((0, d) for d in shape)
        return
    step = max(1, max_elements // inner)
    tail = tuple((0, d) for d in shape[axis + 1 :])
    for lead in np.ndindex(*shape[:axis]):
        head = tuple((int(i), int(i) + 1) for i in lead)
        for start in range(0, shape[axis], step):
            yield (*head, (start, min(start + step, shape[axis])), *tail)


def iter_chunks(shape: tuple[int, ...], max_elements: int) -> Iterator[tuple[slice, ...]]:
    """:func:`iter_blocks` as indexes: ``array[chunk]`` for each chunk covers the array once."""
    for window in iter_blocks(shape, max_elements):
        yield tuple(slice(a, b) for a, b in window)


def as_float(block: np.ndarray) -> np.ndarray:
    """A block as float64 for statistics (complex as magnitude, bool as 0/1)."""
    if np.iscomplexobj(block):
        return np.abs(block).astype(np.float64).ravel()
    return block.astype(np.float64).ravel()
