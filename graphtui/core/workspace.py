"""A workspace: what one path gives, joined: a graph, a checkpoint history and an active checkpoint.

:func:`open_workspace` accepts a ``.meta`` file, a checkpoint prefix (or one of its files), a
directory or a SavedModel, and finds the rest beside it. The workspace then answers the explorer's questions
without a UI: the variables of graph and checkpoint joined row by row, lazy windows over a
tensor's values, chunked statistics and the difference between two checkpoints.

Values are never read whole to be looked at: V2 tensors are memory-mapped and a window copies
only the elements it covers; statistics and diffs walk a tensor in blocks of at most
``CHUNK_ELEMENTS`` elements.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.history import History, scan_history
from graphtui.core.locate import locate
from graphtui.core.natural import natural_key
from graphtui.errors import CoreError, GraphtuiError, NotFoundError
from graphtui.formats import dtypes, storage
from graphtui.formats.bundle import LITTLE_ENDIAN, BundleEntry, slice_index, slice_shape

if TYPE_CHECKING:
    from graphtui.core.graph import GraphIndex
    from graphtui.core.objects import ObjectGraph, ObjectNode
    from graphtui.core.savedmodel import MetaGraphInfo, SavedModelInfo, Signature

CHUNK_ELEMENTS = 1 << 20  # elements per block for statistics and diffs (8 MiB as float64)
HISTOGRAM_BINS = 24

Window = tuple[tuple[int, int], ...]  # (start, stop) per dimension
Progress = Callable[[float], None]  # fraction done, 0..1
Cancelled = Callable[[], bool]


class OperationCancelled(GraphtuiError):
    """A long computation stopped because its caller asked it to."""


# -- lazy tensor values ---------------------------------------------------------------------------


class TensorValue:
    """One checkpoint tensor, read lazily: :meth:`read` copies a window, :meth:`blocks` walks it.

    Little-endian V2 tensors of a fixed-size dtype (whole or saved in slices) are mapped from the
    data files; anything else (V1 checkpoints, strings, big-endian bundles) is read once, whole.
    """

    def __init__(self, reader: CheckpointReader, name: str) -> None:
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
            for extents, sub in bundle.slice_entries(entry):
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
        if self._parts is None:
            return np.array(self._load_whole()[index])
        if len(self._parts) == 1 and self._parts[0][1].shape == self.shape:
            return np.array(self._parts[0][1][index])
        out_shape = tuple(max(0, b - a) for a, b in window)
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
        if self._parts is not None and len(self._parts) == 1:
            return self._parts[0][1]
        return self.read(tuple((0, d) for d in self.shape))

    def blocks(self, max_elements: int = CHUNK_ELEMENTS) -> Iterator[Window]:
        """Windows covering the tensor in C order, each of at most ``max_elements`` elements."""
        yield from iter_blocks(self.shape, max_elements)


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


def _as_float(block: np.ndarray) -> np.ndarray:
    """A block as float64 for statistics (complex as magnitude, bool as 0/1)."""
    if np.iscomplexobj(block):
        return np.abs(block).astype(np.float64).ravel()
    return block.astype(np.float64).ravel()


# -- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorStats:
    """Summary of one tensor's values (computed block by block)."""

    name: str
    count: int
    finite: int
    nan: int
    inf: int
    zeros: int
    min: float | None  # over finite values
    max: float | None
    mean: float | None
    std: float | None  # population standard deviation
    histogram: tuple[int, ...] = ()  # counts of finite values in equal bins over [min, max]
    edges: tuple[float, ...] = ()


def _check(cancelled: Cancelled | None) -> None:
    if cancelled is not None and cancelled():
        raise OperationCancelled("cancelled")


def compute_stats(
    value: TensorValue,
    *,
    bins: int = HISTOGRAM_BINS,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    max_elements: int = CHUNK_ELEMENTS,
) -> TensorStats:
    """Min/max/mean/std, NaN/Inf/zero counts and a histogram, one block at a time.

    Verifies the tensor's checksum first. Mean and variance are merged per block (Chan et al.),
    so precision does not degrade with size. Raises CoreError for non-numeric tensors.
    """
    if not value.numeric:
        raise CoreError(f"{value.prefix}: tensor {value.name!r} is {value.dtype.name}, not numeric")
    value.verify()
    passes = 2 if bins > 0 else 1
    total = max(1, value.size) * passes
    done = 0
    n = 0
    mean = 0.0
    m2 = 0.0
    nan = inf = zeros = 0
    lo = math.inf
    hi = -math.inf
    for window in value.blocks(max_elements):
        _check(cancelled)
        block = _as_float(value.read(window))
        nan_mask = np.isnan(block)
        inf_mask = np.isinf(block)
        nan += int(nan_mask.sum())
        inf += int(inf_mask.sum())
        zeros += int(np.count_nonzero(block == 0))
        finite = block[~(nan_mask | inf_mask)] if (nan or inf) else block
        if finite.size:
            lo = min(lo, float(finite.min()))
            hi = max(hi, float(finite.max()))
            b_n = finite.size
            b_mean = float(finite.mean())
            b_m2 = float(np.square(finite - b_mean).sum())
            delta = b_mean - mean
            total_n = n + b_n
            mean += delta * b_n / total_n
            m2 += b_m2 + delta * delta * n * b_n / total_n
            n = total_n
        done += block.size
        if progress is not None:
            progress(done / total)
    counts: tuple[int, ...] = ()
    edges: tuple[float, ...] = ()
    if bins > 0 and n:
        hist = np.zeros(bins, dtype=np.int64)
        span = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
        edge_array = np.linspace(span[0], span[1], bins + 1)
        for window in value.blocks(max_elements):
            _check(cancelled)
            block = _as_float(value.read(window))
            block = block[np.isfinite(block)]
            hist += np.histogram(block, bins=edge_array)[0]
            done += max(1, block.size)
            if progress is not None:
                progress(min(1.0, done / total))
        counts = tuple(int(c) for c in hist)
        edges = tuple(float(e) for e in edge_array)
    if progress is not None:
        progress(1.0)
    return TensorStats(
        name=value.name,
        count=value.size,
        finite=n,
        nan=nan,
        inf=inf,
        zeros=zeros,
        min=lo if n else None,
        max=hi if n else None,
        mean=mean if n else None,
        std=math.sqrt(m2 / n) if n else None,
        histogram=counts,
        edges=edges,
    )


# -- diff of two checkpoints ----------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    """How one tensor changed from checkpoint A to checkpoint B."""

    name: str
    status: str  # "changed", "same", "only-a", "only-b", "mismatch", "skipped"
    detail: str  # what differs, or why it was skipped
    shape: tuple[int, ...] | None
    max_abs: float | None  # max |b - a|
    rel_l2: float | None  # ||b - a|| / ||a|| (inf when a is all zeros and b is not)

    @property
    def change(self) -> float:
        """Sort key: the relative change (missing or mismatched tensors sort first)."""
        if self.status in ("only-a", "only-b", "mismatch"):
            return math.inf
        return self.rel_l2 if self.rel_l2 is not None else -1.0


def diff_values(
    a: TensorValue,
    b: TensorValue,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    max_elements: int = CHUNK_ELEMENTS,
) -> DiffRow:
    """Max absolute and relative L2 change of one tensor between two checkpoints."""
    if a.dtype.name != b.dtype.name or a.shape != b.shape:
        what = []
        if a.dtype.name != b.dtype.name:
            what.append(f"dtype {a.dtype.name} -> {b.dtype.name}")
        if a.shape != b.shape:
            what.append(f"shape {list(a.shape)} -> {list(b.shape)}")
        return DiffRow(a.name, "mismatch", ", ".join(what), None, None, None)
    if not a.numeric:
        same = all(
            np.array_equal(a.read(w), b.read(w)) for w in a.blocks(max(1, max_elements // 64))
        )
        return DiffRow(a.name, "same" if same else "changed", a.dtype.name, a.shape, None, None)
    max_abs = 0.0
    sq_diff = 0.0
    sq_a = 0.0
    done = 0
    nan_mismatch = False
    for window in a.blocks(max_elements):
        _check(cancelled)
        xa = _as_float(a.read(window))
        xb = _as_float(b.read(window))
        d = xb - xa
        both_nan = np.isnan(xa) & np.isnan(xb)
        if both_nan.any():
            d = np.where(both_nan, 0.0, d)
        if np.isnan(d).any():
            nan_mismatch = True
            d = np.nan_to_num(d, nan=0.0)
        if d.size:
            max_abs = max(max_abs, float(np.max(np.abs(d))))
            sq_diff += float(np.dot(d, d)) if np.isfinite(d).all() else math.inf
            fa = np.nan_to_num(xa, nan=0.0, posinf=0.0, neginf=0.0)
            sq_a += float(np.dot(fa, fa))
        done += xa.size
        if progress is not None:
            progress(done / max(1, a.size))
    if sq_diff == 0.0 and not nan_mismatch:
        rel = 0.0
    elif sq_a > 0.0:
        rel = math.sqrt(sq_diff / sq_a)
    else:
        rel = math.inf
    status = "changed" if rel or max_abs or nan_mismatch else "same"
    detail = "NaN where the other is not" if nan_mismatch else ""
    return DiffRow(a.name, status, detail, a.shape, max_abs, rel)


@dataclass(frozen=True)
class SideBySide:
    """The first elements of one tensor in checkpoints A and B, and B - A where numeric."""

    index: list[tuple[int, ...]]
    a: list[object]
    b: list[object]
    delta: list[float | None]


def side_by_side(a: TensorValue, b: TensorValue, count: int = 8) -> SideBySide:
    """The first ``count`` elements (C order) of A and B after checking both checksums."""
    if a.shape != b.shape:
        raise CoreError(
            f"{a.name}: shape {list(a.shape)} in A, {list(b.shape)} in B: nothing to line up"
        )
    a.verify()
    b.verify()
    window = next(iter(iter_blocks(a.shape, max(count, 1))), None)
    flat_a = a.read(window).ravel()[:count] if window is not None else np.array([])
    flat_b = b.read(window).ravel()[:count] if window is not None else np.array([])
    n = int(flat_a.size)
    index = [tuple(int(i) for i in np.unravel_index(k, a.shape)) for k in range(n)]
    delta: list[float | None] = [None] * n
    if a.numeric and b.numeric and n:
        with np.errstate(all="ignore"):
            d = _as_float(flat_b) - _as_float(flat_a)
        delta = [float(x) for x in d]
    return SideBySide(index, list(flat_a), list(flat_b), delta)


def _widened(dtype: np.dtype) -> np.dtype:
    """The plain numpy type holding every value of an ml_dtypes type."""
    if "float" in dtype.name:
        return np.dtype(np.float32)
    return np.dtype(np.uint8 if dtype.name.startswith("u") else np.int8)


# -- joined variables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableRow:
    """One variable of the graph and/or the active checkpoint."""

    name: str  # the graph variable's name, else the checkpoint key
    dtype: str
    shape: tuple[int, ...] | None  # None when the graph does not know it
    params: int
    nbytes: int  # bytes in the checkpoint (0 when graph-only)
    # "ok", "graph-only", "checkpoint-only", "mismatch"; "local" (a local variable: TensorFlow
    # never saves them); "unreadable" (the checkpoint that should hold it does not read)
    status: str
    detail: str = ""  # for "mismatch": what differs, e.g. "shape [4, 8] vs [8, 4] in checkpoint"
    is_slot: bool = False  # optimizer slot, moving average or beta power
    key: str | None = None  # checkpoint key (None when graph-only)
    trainable: bool | None = None  # None for checkpoint-only rows
    in_graph: bool = False
    node: str | None = None  # the graph node to show (first partition of a partitioned one)
    role: str = ""  # the graph's role: model, slot, ema, optimizer, global_step
    partitions: int = 0  # graph partitions saved under this key (0: not partitioned)
    object_path: str | None = None  # TF2: the path of the object that saved the key
    object_name: str = ""  # TF2: the attribute's full name (the Python-side name)


_SLOT_SUFFIXES = (
    "/Adam", "/Adam_1", "/Momentum", "/RMSProp", "/RMSProp_1", "/Adagrad", "/Adadelta",
    "/Adadelta_1", "/Ftrl", "/Ftrl_1", "/ExponentialMovingAverage", "/AdamWeightDecay",
    "/AdamWeightDecay_1", "/accumulator", "/update_accumulator", "/gradient_accumulator",
    "/ProximalAdagrad",
)  # fmt: skip
_SLOT_NAMES = ("beta1_power", "beta2_power")


def looks_like_slot(name: str) -> bool:
    """Heuristic for checkpoint keys with no graph to ask: optimizer slots, EMA, beta powers."""
    base = name.rsplit("/", 1)[-1]
    if base.split("_", 2)[0:2] == ["beta1", "power"] or base.startswith(_SLOT_NAMES):
        return True
    if "/.OPTIMIZER_SLOT/" in name or name.startswith("optimizer/"):
        return True
    head, _, tail = name.rpartition("/")
    return bool(head) and any(("/" + tail).startswith(s) for s in _SLOT_SUFFIXES)


NAME_BASED_STRIP = ("*/Adam*", "*/ExponentialMovingAverage")


def strip_patterns(rows: list[VariableRow]) -> list[str]:
    """Glob patterns (``strip``'s) matching the optimizer state among ``rows`` and nothing
    else: TF1's slot names (the app's defaults), and for an object-based checkpoint its slot keys (Keras 2's
    ``*/.OPTIMIZER_SLOT/*``, Keras 3's ``optimizer/_variables/*`` momentums and velocities),
    a numbered sibling group as one ``*`` pattern when that matches no model weight."""
    import fnmatch

    slots = [r.key for r in rows if r.is_slot and r.key and r.object_path is not None]
    weights = [r.key for r in rows if not r.is_slot and r.key]
    out = list(NAME_BASED_STRIP)

    def safe(pattern: str) -> bool:
        return not any(fnmatch.fnmatchcase(k, pattern) for k in weights)

    if any("/.OPTIMIZER_SLOT/" in k for k in slots) and safe("*/.OPTIMIZER_SLOT/*"):
        out.append("*/.OPTIMIZER_SLOT/*")
    for key in slots:
        if any(fnmatch.fnmatchcase(key, p) for p in out):
            continue
        head, _, rest = key.partition("/.ATTRIBUTES/")
        parent, _, last = head.rpartition("/")
        group = f"{_glob_literal(parent)}/*" if last.isdigit() and parent else ""
        out.append(group if group and safe(group) else _glob_literal(key))
    return out


def _glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


# -- the workspace --------------------------------------------------------------------------------


class Workspace:
    """Graph, history and active checkpoint found from one path (see :func:`open_workspace`)."""

    def __init__(
        self,
        path: str,
        *,
        graph: GraphIndex | None = None,
        meta_path: str | None = None,
        history: History | None = None,
        active: str | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.path = path
        self.graph = graph
        self.meta_path = meta_path
        self.history = history
        self.warnings: list[str] = list(warnings or [])
        self._readers: dict[str, CheckpointReader] = {}
        self.active: CheckpointReader | None = None
        self._variables: list[VariableRow] | None = None
        self._objects: ObjectGraph | GraphtuiError | None = None
        self._objects_of: CheckpointReader | None = None  # the reader _objects was read from
        self.saved_model: SavedModelInfo | None = None
        self.meta_graph: MetaGraphInfo | None = None  # the SavedModel's chosen meta graph
        self.variables_problem: str | None = None  # why a SavedModel's variables do not read
        self._links: tuple[tuple[object, object], dict[str, str]] | None = None
        # why the checkpoint that should give the values does not (fully) read; None when fine
        self.checkpoint_problem: str | None = None
        # (prefix, key) -> why: tensors whose stored checksum failed when they were read
        self.corrupt: dict[tuple[str, str], str] = {}
        if active is not None:
            self.set_active(active)

    # -- SavedModels ----------------------------------------------------------------------------

    def use_saved_model(self, model: SavedModelInfo, tags: str | None = None) -> None:
        """Show SavedModel ``model``: its meta graph ``tags`` (default: ``serve``, else the only
        one) as the graph, its ``variables/variables`` as the active checkpoint. Variables that
        are missing or do not read become :attr:`variables_problem` (and a warning)."""
        self.saved_model = model
        self.select_tag_set(tags)
        self.variables_problem = None
        if model.has_variables:
            try:
                self.set_active(model.variables_prefix)
            except GraphtuiError as exc:
                self.variables_problem = str(exc)
        elif model.expects_variables():
            self.variables_problem = (
                f"{model.variables_prefix}.index: no such file: the SavedModel's variables "
                "are missing"
            )
        if self.variables_problem:
            self.warnings.append(self.variables_problem)

    @property
    def tag_sets(self) -> list[str]:
        """The SavedModel's tag-sets (``"serve"``, ``"train,gpu"``); empty for other sources."""
        return [] if self.saved_model is None else [m.tag_set for m in self.saved_model.meta_graphs]

    @property
    def tag_set(self) -> str | None:
        return None if self.meta_graph is None else self.meta_graph.tag_set

    def select_tag_set(self, tags: str | None = None) -> MetaGraphInfo:
        """Make meta graph ``tags`` the graph shown (None: ``serve``, else the first one)."""
        model = self.saved_model
        if model is None:
            raise CoreError(f"{self.path}: not a SavedModel: no tag-sets to choose from")
        if tags is None:
            try:
                chosen = model.meta_graph(None)
            except NotFoundError:
                chosen = model.meta_graphs[0]
        else:
            chosen = model.meta_graph(tags)
        self.meta_graph = chosen
        self.graph = chosen.graph
        self._variables = None
        return chosen

    @property
    def signatures(self) -> list[Signature]:
        """The chosen meta graph's signatures (empty when this is no SavedModel)."""
        return [] if self.meta_graph is None else self.meta_graph.signatures

    # -- TF2 object graph -----------------------------------------------------------------------

    @property
    def has_objects(self) -> bool:
        """True when the active checkpoint is object-based (has ``_CHECKPOINTABLE_OBJECT_GRAPH``)."""
        from graphtui.core.objects import OBJECT_GRAPH_KEY

        return self.active is not None and self.active.has_tensor(OBJECT_GRAPH_KEY)

    @property
    def objects(self) -> ObjectGraph | None:
        """The active checkpoint's object graph, decoded on first use (None when the checkpoint is
        name-based or there is none); an object graph that does not decode raises its error."""
        if self._objects_of is not self.active or self._objects is None:
            self._objects_of = self.active
            self._objects = None
            if self.active is not None and self.has_objects:
                from graphtui.core.objects import load_object_graph

                try:
                    self._objects = load_object_graph(self.active)
                except GraphtuiError as exc:
                    self._objects = exc
        if isinstance(self._objects, GraphtuiError):
            raise self._objects
        return self._objects

    def _objects_or_none(self) -> ObjectGraph | None:
        try:
            return self.objects
        except GraphtuiError as exc:
            message = str(exc)
            if message not in self.warnings:
                self.warnings.append(message)
            return None

    def object_links(self) -> dict[str, str]:
        """TF2 SavedModel: graph variable node -> checkpoint key, joined through the object
        graph (the SavedObjectGraph and the checkpoint's object graph share node ids)."""
        if self._links is not None and self._links[0] == (self.meta_graph, self.active):
            return self._links[1]
        objects = self._objects_or_none()
        links: dict[str, str] = {}
        self._links = ((self.meta_graph, self.active), links)
        if self.meta_graph is None or objects is None or self.graph is None:
            return links
        for saved in self.meta_graph.saved_objects():
            if saved.kind != "variable" or not saved.variable_name:
                continue
            if saved.node_id >= len(objects) or saved.variable_name not in self.graph:
                continue
            attr = objects.nodes[saved.node_id].value_attribute
            if attr is not None:
                links[saved.variable_name] = attr.checkpoint_key
        return links

    def checkpoint_key_of(self, node: str) -> str | None:
        """The checkpoint key graph variable ``node`` is saved under (None: not a variable)."""
        from graphtui.core.variables import VariableTable

        if self.graph is None:
            return None
        linked = self.object_links().get(node)
        if linked is not None:
            return linked
        table = VariableTable.of(self.graph)
        return table.get(node).checkpoint_key if node in table else None

    # -- checkpoints ----------------------------------------------------------------------------

    def reader(self, prefix: str) -> CheckpointReader:
        """A reader of checkpoint ``prefix`` (opened once, kept)."""
        key = storage.abspath(prefix)
        got = self._readers.get(key)
        if got is None:
            got = self._readers[key] = CheckpointReader(prefix)
        return got

    def set_active(self, prefix: str) -> CheckpointReader:
        """Make checkpoint ``prefix`` the one values, statistics and variables come from.

        A checkpoint whose index does not read raises; one whose data shards are missing
        becomes active with :attr:`checkpoint_problem` saying which."""
        self.active = self.reader(prefix)
        self._variables = None
        missing = self.active.missing_files()
        self.checkpoint_problem = (
            f"{os.path.basename(missing[0])}: missing shard "
            f"({len(missing)} of {len(self.active.files()) - 1} data files not found)"
            if missing
            else None
        )
        return self.active

    def set_unreadable(self, problem: str) -> None:
        """No checkpoint gives values: ``problem`` says why (shown, never a silent fallback)."""
        self.active = None
        self._variables = None
        self.checkpoint_problem = problem

    def mark_corrupt(self, prefix: str, key: str, why: str) -> None:
        """Remember that tensor ``key`` of ``prefix`` failed its checksum."""
        self.corrupt[(os.path.normpath(prefix), key)] = why

    def corrupt_reason(self, key: str | None, prefix: str | None = None) -> str | None:
        """Why tensor ``key`` (of ``prefix``, default the active checkpoint) is corrupt, if it is."""
        where = prefix or self.active_prefix
        if key is None or where is None:
            return None
        return self.corrupt.get((os.path.normpath(where), key))

    @property
    def active_prefix(self) -> str | None:
        return None if self.active is None else self.active.prefix

    def tensor(self, key: str, prefix: str | None = None) -> TensorValue:
        """Lazy access to tensor ``key`` of ``prefix`` (default: the active checkpoint)."""
        reader = self.reader(prefix) if prefix is not None else self.active
        if reader is None:
            raise NotFoundError(f"{self.path}: no checkpoint to read {key!r} from")
        if not reader.has_tensor(key):
            raise NotFoundError(f"{reader.prefix}: tensor {key!r} not found in checkpoint")
        return TensorValue(reader, key)

    def stats(
        self,
        key: str,
        *,
        prefix: str | None = None,
        bins: int = HISTOGRAM_BINS,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        max_elements: int = CHUNK_ELEMENTS,
    ) -> TensorStats:
        """Statistics of tensor ``key`` (see :func:`compute_stats`)."""
        return compute_stats(
            self.tensor(key, prefix),
            bins=bins,
            progress=progress,
            cancelled=cancelled,
            max_elements=max_elements,
        )

    def diff(
        self,
        prefix_a: str,
        prefix_b: str,
        *,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        max_elements: int = CHUNK_ELEMENTS,
    ) -> list[DiffRow]:
        """Every tensor of two checkpoints compared, biggest relative change first."""
        ra = self.reader(prefix_a)
        rb = self.reader(prefix_b)
        names_a = set(ra.names())
        names_b = set(rb.names())
        names = sorted(names_a | names_b, key=natural_key)
        infos = {n: ra.tensor_info(n) for n in names_a}
        total = sum(i.num_elements for i in infos.values() if i.name in names_b) or 1
        done = 0
        rows: list[DiffRow] = []
        for name in names:
            _check(cancelled)
            if name not in names_b:
                rows.append(DiffRow(name, "only-a", "", infos[name].shape, None, None))
                continue
            if name not in names_a:
                info = rb.tensor_info(name)
                rows.append(DiffRow(name, "only-b", "", info.shape, None, None))
                continue
            base = done
            size = max(1, infos[name].num_elements)

            def step(fraction: float, base: int = base, size: int = size) -> None:
                if progress is not None:
                    progress(min(1.0, (base + fraction * size) / total))

            try:
                row = diff_values(
                    TensorValue(ra, name),
                    TensorValue(rb, name),
                    progress=step,
                    cancelled=cancelled,
                    max_elements=max_elements,
                )
            except OperationCancelled:
                raise
            except GraphtuiError as exc:
                row = DiffRow(name, "skipped", str(exc), infos[name].shape, None, None)
            rows.append(row)
            done += infos[name].num_elements
        if progress is not None:
            progress(1.0)
        order = {"mismatch": 0, "only-a": 1, "only-b": 1, "changed": 2, "skipped": 3, "same": 4}
        rows.sort(key=lambda r: (order[r.status], -(r.rel_l2 or 0.0), -(r.max_abs or 0.0)))
        return rows

    def export_npy(self, key: str, path: str | os.PathLike[str], prefix: str | None = None) -> str:
        """Write tensor ``key`` to a ``.npy`` file atomically; returns the path written.

        The file loads with plain numpy: strings become fixed-width bytes (no pickle; only
        strings ending in NUL bytes, which that type would drop, are stored as a pickled object
        array), and the ml_dtypes types numpy cannot name are widened losslessly (bfloat16 and
        float8 to float32, int4 to int8, ...).
        """
        from graphtui.formats.atomic import atomic_writer

        value = self.tensor(key, prefix)
        value.verify()
        arr = value.whole()
        pickle = False
        if arr.dtype == object:
            items = [x if isinstance(x, bytes) else str(x).encode() for x in arr.ravel()]
            # numpy's fixed-width bytes drop trailing NULs: keep such strings as objects
            pickle = any(x.endswith(b"\0") for x in items)
            if not pickle:
                arr = np.array(items or [b""], dtype=bytes)[: len(items)].reshape(arr.shape)
        elif arr.dtype.type.__module__.startswith("ml_dtypes"):
            arr = arr.astype(_widened(arr.dtype))
        out = os.fspath(path)
        with atomic_writer(out, "wb") as f:
            np.save(f, arr, allow_pickle=pickle)
        return out

    # -- variables ------------------------------------------------------------------------------

    def variables(self) -> list[VariableRow]:
        """Variables of the graph joined with the active checkpoint's tensors (natural order)."""
        if self._variables is None:
            self._variables = _join_variables(
                self.graph,
                self.active,
                self.object_links(),
                self._objects_or_none(),
                unreadable=self.active is None and self.checkpoint_problem is not None,
            )
        return list(self._variables)

    def variable(self, name: str) -> VariableRow:
        for row in self.variables():
            if row.name == name or row.key == name:
                return row
        raise NotFoundError(f"{self.path}: no variable named {name!r}")

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for reader in self._readers.values():
            with contextlib.suppress(BufferError, OSError):
                reader.close()
        self._readers.clear()
        self.active = None
        self._objects = self._objects_of = None
        self._links = None
        if self.saved_model is not None:
            self.saved_model.close()


def _describe_mismatch(
    graph_dtype: str | None, graph_shape: tuple[int, ...] | None, info: Any
) -> str:
    what = []
    if graph_dtype and graph_dtype != info.dtype.name:
        what.append(f"dtype {graph_dtype} vs {info.dtype.name} in checkpoint")
    if graph_shape is not None and tuple(graph_shape) != tuple(info.shape):
        what.append(f"shape {list(graph_shape)} vs {list(info.shape)} in checkpoint")
    return ", ".join(what)


def _object_facts(objects: ObjectGraph | None) -> Callable[[str], tuple[str | None, str, bool]]:
    """For a checkpoint key: (object path, attribute full name, is optimizer state) from the
    object graph. Optimizer state: a slot variable, or an object only an optimizer reaches
    (Keras 3 lists the model's variables under the optimizer too; those stay model variables)."""
    if objects is None:
        return lambda key: (None, "", looks_like_slot(key))
    # Nodes reached from the root without passing through an optimizer. A Keras 3 model keeps
    # a reference to its optimizer (``model/optimizer``), so an optimizer is recognised on
    # every edge, not only among the root's children.
    def is_optimizer(edge: Any) -> bool:
        return edge.node.kind == "optimizer" or "optimizer" in edge.local_name.lower()

    outside: set[int] = set()
    stack: list[ObjectNode] = [c.node for c in objects.root.children if not is_optimizer(c)]
    while stack:
        node = stack.pop()
        if node.node_id in outside:
            continue
        outside.add(node.node_id)
        stack.extend(c.node for c in node.children if not is_optimizer(c))

    def facts(key: str) -> tuple[str | None, str, bool]:
        try:
            node = objects.node_for_key(key)
        except GraphtuiError:
            return None, "", looks_like_slot(key)
        attr = next(a for a in node.attributes if a.checkpoint_key == key)
        if node.kind == "slot":
            slot = True
        elif node.node_id in outside:
            slot = False
        else:
            slot = looks_like_slot(key) or node.kind == "optimizer"
        return node.path, attr.full_name, slot

    return facts


def _row_name(key: str, path: str | None, full_name: str, is_slot: bool) -> str:
    """A checkpoint-only row's name: its key, except for a model weight whose key runs
    through the optimizer (Keras 3 saves ``optimizer/_trainable_variables/0``): there the
    variable's own name (``sequential/dense_a/kernel``, as ``ls --objects`` shows it)."""
    if is_slot or not full_name or path is None or not path.lower().startswith("optimizer"):
        return key
    return full_name


def _join_variables(
    graph: GraphIndex | None,
    reader: CheckpointReader | None,
    links: dict[str, str] | None = None,
    objects: ObjectGraph | None = None,
    *,
    unreadable: bool = False,
) -> list[VariableRow]:
    """One row per graph variable (partitions of one variable share a row, keyed by its
    checkpoint key) plus one per checkpoint tensor no graph variable claims. ``links`` maps
    graph variables to keys found through a TF2 object graph; ``objects`` gives each key its
    object path. Local variables (never saved) read ``local``; with ``unreadable`` (the
    checkpoint does not read) the others read ``unreadable``, not ``graph-only``."""
    rows: list[VariableRow] = []
    keys = set(reader.names()) if reader is not None else set()
    used: set[str] = set()
    links = links or {}
    linked = set(links.values())
    facts = _object_facts(objects)
    if graph is not None:
        from graphtui.core.variables import VariableTable

        groups: dict[str, list[Any]] = {}
        for var in VariableTable.of(graph).variables():
            groups.setdefault(links.get(var.node, var.checkpoint_key), []).append(var)
        for key, parts in groups.items():
            var = parts[0]
            if var.save_slice is not None:
                shape: tuple[int, ...] | None = tuple(var.save_slice.full_shape)
                name = var.save_slice.full_name or key
            else:
                shape = tuple(var.shape) if var.shape is not None else None
                name = var.name
            info = reader.tensor_info(key) if reader is not None and key in keys else None
            dtype = var.dtype
            if info is None:
                status, detail, nbytes = "graph-only", "", 0
                if var.local:
                    status, detail = "local", "a local variable: TensorFlow never saves it"
                elif unreadable:
                    status = "unreadable"
            else:
                used.add(key)
                detail = _describe_mismatch(dtype, shape, info)
                status = "mismatch" if detail else "ok"
                nbytes = info.nbytes
                if shape is None or any(d < 0 for d in shape):
                    shape = tuple(info.shape) if not detail else shape
                dtype = dtype or info.dtype.name
            known = shape is not None and all(d >= 0 for d in shape)
            is_slot = var.role in ("slot", "ema", "optimizer")
            path, full_name = None, ""
            if info is not None and key in linked:
                path, full_name, is_slot = facts(key)
            rows.append(
                VariableRow(
                    name=name,
                    dtype=dtype or "?",
                    shape=shape,
                    params=math.prod(shape) if known and shape is not None else 0,
                    nbytes=nbytes,
                    status=status,
                    detail=detail,
                    is_slot=is_slot,
                    key=key if info is not None else None,
                    trainable=var.trainable,
                    in_graph=True,
                    node=var.node,
                    role=var.role,
                    partitions=len(parts) if var.save_slice is not None else 0,
                    object_path=path,
                    object_name=full_name,
                )
            )
    if reader is not None:
        for key in keys - used:
            info = reader.tensor_info(key)
            path, full_name, is_slot = facts(key)
            rows.append(
                VariableRow(
                    name=_row_name(key, path, full_name, is_slot),
                    dtype=info.dtype.name,
                    shape=tuple(info.shape),
                    params=info.num_elements,
                    nbytes=info.nbytes,
                    status="checkpoint-only" if graph is not None else "ok",
                    is_slot=is_slot,
                    key=key,
                    object_path=path,
                    object_name=full_name,
                )
            )
    rows.sort(key=lambda r: natural_key(r.name))
    return rows


# -- opening --------------------------------------------------------------------------------------


def _load_graph(meta: str) -> GraphIndex:
    from graphtui.core.graph import GraphIndex

    return GraphIndex.from_file(meta)


def _pick_active(history: History | None) -> tuple[str | None, str | None]:
    """(the checkpoint to make active, why the state file's latest cannot be it).

    The state file's latest checkpoint when it is complete; when it is missing or damaged,
    none (no silent fallback to another step: the problem names the others to pick from);
    with no state file, the newest complete checkpoint on disk."""
    if history is None:
        return None, None
    latest = history.latest
    if latest is not None:
        if latest.complete:
            return latest.prefix, None
        why = "no such files (missing)" if latest.missing else latest.problem
        return None, _latest_problem(history, latest.name, latest.prefix, why)
    complete = history.readable_others(None)
    return (complete[0].prefix if complete else None), None


def _latest_problem(history: History | None, name: str, prefix: str, why: str) -> str:
    """A checkpoint that should be active does not read: say why and what else there is."""
    latest = history.latest if history is not None else None
    what = " (the state file's latest)" if latest and latest.prefix == prefix else ""
    problem = f"{name}{what}: {why}"
    others = history.readable_others(prefix) if history is not None else []
    if others:
        names = ", ".join(r.name for r in others[:3]) + (", …" if len(others) > 3 else "")
        problem += f"; readable: {names} (History, 5: Enter opens one)"
    return problem


def _why(exc: GraphtuiError, prefix: str) -> str:
    """An open error without the path the message already names at its start."""
    text = str(exc)
    for path in (prefix + ".index", prefix):
        if text.startswith(path):
            return os.path.basename(path) + text[len(path) :]
    return text


def _history_of(directory: str, warnings: list[str]) -> History | None:
    try:
        hist = scan_history(directory)
    except GraphtuiError as exc:
        warnings.append(str(exc))
        return None
    if hist.state_error:
        warnings.append(hist.state_error)
    if not hist.records and hist.state_file is None:
        return None
    return hist


def open_workspace(path: str | os.PathLike[str] | None) -> Workspace:
    """Open what ``path`` names (None: the bundled demo) and find what belongs with it.

    * a ``.meta`` file: that graph, the checkpoint of the same prefix (else the directory's
      latest) and the directory's history;
    * a checkpoint prefix, ``.index`` or data file, or V1 file: that checkpoint active, the
      ``PREFIX.meta`` graph when present, the directory's history;
    * a directory: its history, the latest checkpoint active, and its ``.meta`` (the latest
      checkpoint's, else the newest ``.meta`` there);
    * a SavedModel directory (or its ``saved_model.pb`` / ``.pbtxt``): the meta graph tagged
      ``serve`` (else the first; :meth:`Workspace.select_tag_set` switches) as the graph, its
      ``variables/variables`` active (a problem with them is a warning), no history.

    An object-based (TF2) checkpoint also gives :attr:`Workspace.objects`.

    A graph or state file found beside the one asked for that cannot be read becomes a warning;
    what was asked for raises its error.
    """
    if path is None:
        from graphtui.demo import demo_path

        path = demo_path()
    raw = os.fspath(path)
    located = locate(raw)
    if located.kind == "saved_model":
        return _open_saved_model(raw, located.saved_model_dir or raw)
    warnings: list[str] = []
    graph: GraphIndex | None = None
    meta: str | None = None
    active: str | None = None
    history: History | None = None

    def beside_graph(candidate: str) -> None:
        nonlocal graph, meta
        try:
            graph = _load_graph(candidate)
            meta = candidate
        except GraphtuiError as exc:
            warnings.append(str(exc))

    directory = located.directory
    problem: str | None = None
    if located.kind == "directory":
        history = _history_of(directory, warnings)
        # the state file's latest when it reads; when it is missing or damaged, none (the
        # problem says so and names the others: no silent fallback)
        active, problem = _pick_active(history)
        latest = history.latest if history is not None else None
        wanted = active or (latest.prefix if latest is not None else None)
        if wanted is not None and storage.isfile(wanted + ".meta"):
            beside_graph(wanted + ".meta")
        elif located.meta is not None:
            beside_graph(located.meta)
        if history is None and graph is None:
            raise NotFoundError(f"{raw}: no checkpoint or .meta file in directory")
    elif located.kind == "meta":
        graph = _load_graph(raw)
        meta = raw
        history = _history_of(directory, warnings)
        active = located.prefix and storage.abspath(located.prefix)
        if active is None:
            active, problem = _pick_active(history)
    else:
        if not located.found and not storage.exists(raw):
            raise NotFoundError(f"{raw}: no such file, directory or checkpoint prefix")
        _fmt, prefix = located.checkpoint()
        active = storage.abspath(prefix)
        history = _history_of(directory, warnings)
        if located.meta is not None:
            beside_graph(located.meta)
    ws = Workspace(
        storage.abspath(raw),
        graph=graph,
        meta_path=meta,
        history=history,
        warnings=warnings,
    )
    if problem is not None:
        ws.set_unreadable(problem)
    elif active is not None:
        try:
            ws.set_active(active)
        except GraphtuiError as exc:
            if located.kind not in ("directory", "meta") and graph is None:
                raise  # a checkpoint alone that does not read: nothing to show
            name = os.path.relpath(active, directory)
            ws.set_unreadable(_latest_problem(history, name, active, _why(exc, active)))
    return ws


def _open_saved_model(raw: str, directory: str) -> Workspace:
    from graphtui.core.savedmodel import open_saved_model

    model = open_saved_model(raw)
    ws = Workspace(storage.abspath(directory))
    try:
        ws.use_saved_model(model)
    except BaseException:
        ws.close()
        raise
    return ws
