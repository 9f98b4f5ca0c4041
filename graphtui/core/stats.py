"""Statistics of one tensor and the difference between two checkpoints, block by block.

Mean and variance are merged per block (Chan et al.), so precision does not degrade with size;
both verify checksums first and report progress and honour cancellation between blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from graphtui.core.natural import natural_key
from graphtui.core.values import CHUNK_ELEMENTS, TensorValue, as_float, iter_blocks, iter_chunks
from graphtui.errors import CoreError, GraphtuiError

if TYPE_CHECKING:
    from graphtui.core.checkpoint import CheckpointReader

HISTOGRAM_BINS = 24
DiffStatus = Literal["changed", "same", "only-a", "only-b", "mismatch", "skipped"]

Progress = Callable[[float], None]  # fraction done, 0..1
Cancelled = Callable[[], bool]


class OperationCancelled(GraphtuiError):
    """A long computation stopped because its caller asked it to."""


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
    for chunk in iter_chunks(value.shape, max_elements):
        _check(cancelled)
        block = as_float(value[chunk])
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
        for chunk in iter_chunks(value.shape, max_elements):
            _check(cancelled)
            block = as_float(value[chunk])
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
    status: DiffStatus
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
            np.array_equal(a[c], b[c]) for c in iter_chunks(a.shape, max(1, max_elements // 64))
        )
        return DiffRow(a.name, "same" if same else "changed", a.dtype.name, a.shape, None, None)
    max_abs = 0.0
    sq_diff = 0.0
    sq_a = 0.0
    done = 0
    nan_mismatch = False
    for chunk in iter_chunks(a.shape, max_elements):
        _check(cancelled)
        xa = as_float(a[chunk])
        xb = as_float(b[chunk])
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
    status: DiffStatus = "changed" if rel or max_abs or nan_mismatch else "same"
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
            d = as_float(flat_b) - as_float(flat_a)
        delta = [float(x) for x in d]
    return SideBySide(index, list(flat_a), list(flat_b), delta)


def diff_checkpoints(
    ra: CheckpointReader,
    rb: CheckpointReader,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    max_elements: int = CHUNK_ELEMENTS,
) -> list[DiffRow]:
    """Every tensor of two checkpoints compared, biggest relative change first."""
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
