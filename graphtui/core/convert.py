"""Convert weights between TensorFlow checkpoints and the formats other frameworks load:
``.safetensors`` (through the ``safetensors`` package) and ``.npz`` (numpy, never pickles).

Checkpoint -> file: every tensor under its full name (partitioned variables whole), renamed by
``--map`` scopes, filtered by ``--drop`` globs, floats optionally cast (``--dtype``). A dtype the
target cannot hold (bfloat16 / float8 in ``.npz``, complex128 or int4 in safetensors) is refused
per tensor, by name; string tensors are skipped with a warning. The file's metadata records the
source and the training step.

File -> checkpoint: a V2 checkpoint TensorFlow restores; with a graph (``--meta``) the names,
dtypes and shapes are checked against what its saver restores, reported as ``restore`` reports
(matched / missing / unused / mismatched).

``plan_convert`` reads headers only (the preview); ``apply_convert`` writes atomically and reads
the result back.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.ckpt_write import OBJECT_GRAPH_KEY
from graphtui.errors import ConflictError, CoreError, FormatError, GraphtuiError, WriteError
from graphtui.formats import dtypes, progress
from graphtui.formats.bundle import data_path
from graphtui.formats.byte_source import is_url, open_regular

if TYPE_CHECKING:  # the graph code (restore's report) only with --meta
    from graphtui.core.restore import RestoreReport
    from graphtui.formats.data_sink import DataSink

Kind = Literal["checkpoint", "safetensors", "npz"]
CastTo = Literal["float16", "bfloat16", "float32"]
FLOATS = frozenset({"float16", "bfloat16", "float32", "float64"})  # what --dtype casts
StepCallback = Callable[[int, int, str], None]
_STEP_SUFFIX = re.compile(r"-(\d+)$")


def kind_of(path: str) -> Kind:
    """``.safetensors`` / ``.npz`` by suffix; anything else is a checkpoint."""
    lower = path.lower()
    if lower.endswith(".safetensors"):
        return "safetensors"
    if lower.endswith(".npz"):
        return "npz"
    return "checkpoint"


@dataclass(frozen=True)
class ConvertRequest:
    """``source`` -> ``out``; ``target`` defaults to the kind ``out``'s suffix names
    (``"checkpoint"`` must be asked for)."""

    source: str
    out: str | None = None
    target: Kind | None = None
    maps: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    dtype: CastTo | None = None
    meta: str | None = None
    allow_missing: bool = False


@dataclass(frozen=True)
class ConvertItem:
    source_name: str
    name: str
    dtype: str  # in the source
    out_dtype: str
    shape: tuple[int, ...]
    nbytes: int  # in the output

    def to_json(self) -> dict[str, Any]:
        return {
            "source_name": self.source_name,
            "name": self.name,
            "dtype": self.dtype,
            "out_dtype": self.out_dtype,
            "shape": list(self.shape),
            "bytes": self.nbytes,
        }


@dataclass
class ConvertPlan:
    request: ConvertRequest
    source_kind: Kind
    target: Kind
    items: list[ConvertItem]
    skipped: list[str]  # string (and other non-numeric) tensors left out, with why
    dropped: list[str]  # matched --drop
    problems: list[str]  # refusals, one per tensor or conflict
    metadata: dict[str, str]
    report: RestoreReport | None = None  # with --meta
    graph: Any = field(default=None, repr=False)  # the meta graph written beside a checkpoint

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_bytes(self) -> int:
        return sum(i.nbytes for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "source_kind": self.source_kind,
            "target": self.target,
            "tensors": [i.to_json() for i in self.items],
            "bytes": self.total_bytes,
            "skipped": self.skipped,
            "dropped": self.dropped,
            "problems": self.problems,
            "metadata": self.metadata,
            "report": self.report.to_json() if self.report else None,
        }


@dataclass
class ConvertResult:
    path: str
    target: Kind
    tensors: int
    bytes: int
    files: list[str]
    write_result: Any = field(default=None, repr=False)  # the checkpoint write's WriteResult

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "target": self.target,
            "tensors": self.tensors,
            "bytes": self.bytes,
            "files": self.files,
            "verified": True,
        }


# -- sources ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: dtypes.DType | None  # None: no TensorFlow dtype
    dtype_text: str
    shape: tuple[int, ...]


class _Stored(NamedTuple):
    """Where a tensor's bytes lie, as the output holds them, in a local source file."""

    fd: int  # open until the source is closed
    path: str
    offset: int
    size: int
    crc: int | None  # the masked crc32c they must have (None: the source stores none)


class _Source:
    """One interface over the three kinds: tensor list, values, zero-copy bytes, step."""

    kind: Kind
    path: str

    def tensors(self) -> list[_Tensor]:
        raise NotImplementedError

    def array(self, name: str) -> Any:
        raise NotImplementedError

    def raw(self, name: str) -> Any:
        """Little-endian C-order bytes of ``name`` without a copy, or None."""
        return None

    def file_ranges(self, names: list[str]) -> dict[str, _Stored]:
        """Where the tensors among ``names`` that are stored whole, as the output holds them,
        lie in a local file (copied from there by the data sink); valid until close."""
        return {}

    def step(self) -> int | None:
        return None

    def close(self) -> None:
        return None


class _CheckpointSource(_Source):
    kind: Kind = "checkpoint"

    def __init__(self, path: str) -> None:
        self.reader = CheckpointReader(path)
        self.path = self.reader.prefix
        self._fds: dict[int, int] = {}  # data shard -> fd (file_ranges)
        self._sizes: dict[int, int] = {}

    def tensors(self) -> list[_Tensor]:
        return [
            _Tensor(i.name, i.dtype, i.dtype.name, tuple(i.shape))
            for i in self.reader.tensors()
            if i.name != OBJECT_GRAPH_KEY
        ]

    def array(self, name: str) -> Any:
        return self.reader.read(name)

    def raw(self, name: str) -> Any:
        bundle = self.reader.bundle
        if bundle is None or not bundle.little_endian:
            return None
        entry = bundle.entry(name)
        if entry.is_sliced or not entry.dtype.is_fixed_size:
            return None
        return bundle.raw_bytes(entry)  # checksum verified

    def file_ranges(self, names: list[str]) -> dict[str, _Stored]:
        bundle = self.reader.bundle
        if bundle is None or is_url(bundle.prefix) or not bundle.little_endian:
            return {}
        out: dict[str, _Stored] = {}
        for name in names:
            entry = bundle.entry(name)
            if entry.is_sliced or not entry.dtype.is_fixed_size:
                continue
            path = data_path(bundle.prefix, entry.shard_id, bundle.num_shards)
            fd = self._fds.get(entry.shard_id)
            if fd is None:
                try:
                    with open_regular(path) as fh:
                        fd = self._fds[entry.shard_id] = os.dup(fh.fileno())
                        size = os.fstat(fd).st_size
                except OSError as exc:
                    raise FormatError(path, f"cannot read data shard: {exc.strerror}") from None
                self._sizes[entry.shard_id] = size
            if entry.offset + entry.size > self._sizes[entry.shard_id]:
                raise FormatError(path, f"tensor {name!r} runs past the end of the file: truncated")
            out[name] = _Stored(fd, path, entry.offset, entry.size, entry.crc32c)
        return out

    def step(self) -> int | None:
        import numpy as np

        if self.reader.has_tensor("global_step"):
            value = np.asarray(self.reader.get_tensor("global_step"))
            if value.shape == () and value.dtype.kind in "iu":
                return int(value)
        found = _STEP_SUFFIX.search(self.path)
        return int(found.group(1)) if found else None

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self.reader.close()


class _SafetensorsSource(_Source):
    kind: Kind = "safetensors"

    def __init__(self, path: str) -> None:
        from graphtui.formats.safetensors import open_safetensors

        self.path = path
        self.file = open_safetensors(path)
        self._fd: int | None = None  # file_ranges

    def tensors(self) -> list[_Tensor]:
        return [_Tensor(e.name, e.dtype, e.code, e.shape) for e in self.file.entries.values()]

    def file_ranges(self, names: list[str]) -> dict[str, _Stored]:
        """Every tensor: a safetensors file holds each one whole, little-endian, C order (as a
        checkpoint does); it stores no checksum (the copy sums the bytes it copies)."""
        if self._fd is None:
            try:
                with open_regular(self.path) as fh:
                    self._fd = os.dup(fh.fileno())
            except OSError as exc:
                raise FormatError(self.path, f"cannot read: {exc.strerror}") from None
        start = self.file.data_start
        entries = self.file.entries
        return {
            name: _Stored(self._fd, self.path, start + e.begin, e.nbytes, None)
            for name in names
            for e in (entries[name],)
        }

    def array(self, name: str) -> Any:
        return self.file.read(name)

    def raw(self, name: str) -> Any:
        return self.file.raw(name)

    def step(self) -> int | None:
        text = self.file.metadata.get("step", "")
        return int(text) if text.isdigit() else None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.file.close()


class _NpzSource(_Source):
    kind: Kind = "npz"

    def __init__(self, path: str) -> None:
        from graphtui.formats.npz import NpzFile

        self.path = path
        self.file = NpzFile(path)

    def tensors(self) -> list[_Tensor]:
        from graphtui.formats.npz import METADATA_KEY

        out = []
        for e in self.file.entries.values():
            if e.name == METADATA_KEY:
                continue
            try:
                dt: dtypes.DType | None = dtypes.from_numpy(e.dtype)
            except ValueError:
                dt = None
            out.append(_Tensor(e.name, dt, str(e.dtype), e.shape))
        return out

    def array(self, name: str) -> Any:
        return self.file.read(name)

    def raw(self, name: str) -> Any:
        return self.file.raw(name)  # a stored member's values, its CRC-32 checked

    def close(self) -> None:
        self.file.close()


def _open(path: str) -> _Source:
    kind = kind_of(path)
    if kind == "safetensors":
        return _SafetensorsSource(path)
    if kind == "npz":
        return _NpzSource(path)
    return _CheckpointSource(path)


# -- planning -------------------------------------------------------------------------------------


def _target_of(request: ConvertRequest) -> Kind:
    if request.target is not None:
        return request.target
    if not request.out:
        raise CoreError("convert needs a target: --to FILE.safetensors|FILE.npz or --to-checkpoint")
    kind = kind_of(request.out)
    if kind == "checkpoint":
        raise CoreError(
            f"{request.out}: --to takes a .safetensors or .npz file (use --to-checkpoint for a "
            "checkpoint)"
        )
    return kind


def _cannot_hold(dt: dtypes.DType, target: Kind) -> str | None:
    if target == "safetensors" and dt.safetensors is None:
        return f"{dt.name} has no safetensors dtype"
    if target == "npz" and not dt.in_npz:
        return f"{dt.name} cannot be stored in .npz without a pickle"
    if target == "checkpoint" and not dt.is_fixed_size:
        return f"{dt.name} cannot be written"
    return None


def plan_convert(request: ConvertRequest) -> ConvertPlan:
    """What would be written (names, dtypes, sizes, skips, refusals); reads headers only."""
    from graphtui.core.names import ScopeMap
    from graphtui.core.strip import matcher

    target = _target_of(request)
    rename = ScopeMap.parse(request.maps) if request.maps else None
    drop = matcher(list(request.drop)) if request.drop else None
    cast = dtypes.from_name(request.dtype) if request.dtype else None
    source = _open(request.source)
    try:
        if source.kind == "checkpoint" and target == "checkpoint":
            raise CoreError(
                f"{source.path}: already a checkpoint (use 'graphtui export' or 'rename')"
            )
        if source.kind != "checkpoint" and target != "checkpoint":
            raise CoreError(
                f"{request.source}: convert goes from a checkpoint to a file or back "
                "(--to-checkpoint)"
            )
        items: list[ConvertItem] = []
        skipped: list[str] = []
        dropped: list[str] = []
        problems: list[str] = []
        seen: dict[str, str] = {}
        for t in source.tensors():
            if drop is not None and drop(t.name):
                dropped.append(t.name)
                continue
            name = rename(t.name) if rename is not None else t.name
            if t.dtype is None:
                problems.append(f"{t.name}: {t.dtype_text} has no TensorFlow dtype")
                continue
            if t.dtype.name in ("string", "variant", "resource"):
                skipped.append(f"{t.name} ({t.dtype.name})")
                continue
            out_dt = cast if cast is not None and t.dtype.name in FLOATS else t.dtype
            why = _cannot_hold(out_dt, target)
            if why is not None:
                hint = (
                    " (--dtype float16 casts it, or --drop it)"
                    if t.dtype.name in FLOATS
                    else (" (--drop it)")
                )
                problems.append(f"{t.name}: {why}{hint}")
                continue
            if name in seen:
                problems.append(f"{seen[name]!r} and {t.name!r} would both be named {name!r}")
                continue
            if target == "npz" and name == "__metadata__":
                problems.append(f"{t.name}: the name {name!r} is reserved for the metadata")
                continue
            seen[name] = t.name
            nbytes = math.prod(t.shape) * out_dt.itemsize
            items.append(ConvertItem(t.name, name, t.dtype.name, out_dt.name, t.shape, nbytes))
        metadata = {
            "source": os.path.abspath(source.path),
            "source_format": "tensorflow_checkpoint"
            if source.kind == "checkpoint"
            else source.kind,
            "converted_by": f"graphtui {_version()}",
        }
        step = source.step()
        if step is not None:
            metadata["step"] = str(step)
        if request.dtype:
            metadata["dtype"] = request.dtype
    finally:
        source.close()
    plan = ConvertPlan(request, source.kind, target, items, skipped, dropped, problems, metadata)
    if not items and not problems:
        problems.append(f"{request.source}: no tensor left to write")
    if request.meta is not None:
        if target != "checkpoint":
            raise CoreError("--meta checks names against a graph: it goes with --to-checkpoint")
        _check_against_graph(plan, request.meta)
    return plan


def _version() -> str:
    from graphtui._version import __version__

    return __version__


def _check_against_graph(plan: ConvertPlan, meta: str) -> None:
    """Names, dtypes and shapes against what the graph's saver restores (as ``restore``)."""
    from graphtui._proto import pb
    from graphtui.core.graph import GraphIndex
    from graphtui.core.graph_edit import drop_saver_entries
    from graphtui.core.metagraph import read_meta_graph
    from graphtui.core.restore import Assignment, RestoreReport, _spec_extents
    from graphtui.core.variables import VariableTable, saver_info

    graph = read_meta_graph(meta)
    index = GraphIndex(graph, path=meta)
    table = VariableTable.of(index)
    saver = saver_info(index)
    expected: dict[str, tuple[str, str | None, list[int] | None, Any]] = {}
    if saver is not None and saver.entries:
        for entry in saver.entries:
            info = table.get(entry.variable) if entry.variable and entry.variable in table else None
            spec = _spec_extents(entry.slice_spec)
            shape = spec[0] if spec else (info.shape if info else None)
            expected.setdefault(
                entry.key,
                (info.name if info else entry.tensor, info.dtype if info else None, shape,
                 spec[1] if spec else None),
            )  # fmt: skip
    else:
        for info in table.variables():
            shape = list(info.save_slice.full_shape) if info.save_slice else info.shape
            expected.setdefault(info.checkpoint_key, (info.name, info.dtype, shape, None))
    report = RestoreReport()
    by_name = {i.name: i for i in plan.items}
    for key, (var, dtype, shape, extents) in sorted(expected.items()):
        item = by_name.get(key)
        if item is None:
            report.missing.append(var if var == key else f"{var} (checkpoint key {key})")
            continue
        if dtype is not None and dtype != item.out_dtype:
            report.mismatched.append(f"{var}: graph dtype {dtype}, {key} is {item.out_dtype}")
        elif shape is not None and all(d >= 0 for d in shape) and list(shape) != list(item.shape):
            report.mismatched.append(
                f"Shape of variable {var} ({list(shape)}) doesn't match with shape of tensor "
                f"{key} ({list(item.shape)})"
            )
        else:
            report.matched.append(Assignment(var, key, extents))
    report.unused = sorted(name for name in by_name if name not in expected)
    plan.report = report
    plan.problems.extend(report.mismatched)
    missing_keys = {k for k in expected if k not in by_name}
    if report.missing and not plan.request.allow_missing:
        plan.problems.append(
            "graph variables would have no value (--allow-missing leaves them to their "
            "initializers): "
            + ", ".join(report.missing[:5])
            + (f" (+{len(report.missing) - 5} more)" if len(report.missing) > 5 else "")
        )
    out_graph = pb.MetaGraphDef()
    out_graph.CopyFrom(graph)
    if missing_keys:
        drop_saver_entries(out_graph, lambda k: k in missing_keys)
    plan.graph = out_graph


# -- applying -------------------------------------------------------------------------------------


def _buffers(
    source: _Source, plan: ConvertPlan, on_step: StepCallback | None
) -> Iterator[tuple[ConvertItem, Any, Any]]:
    """(item, little-endian bytes, array or None) per item; bytes without a copy when the
    source stores them as the output needs them."""
    total = len(plan.items)
    progress.expect(plan.total_bytes)
    for i, item in enumerate(plan.items):
        raw, arr = _item_bytes(source, item)
        yield item, raw, arr
        progress.advance(item.nbytes)
        if on_step is not None:
            on_step(i + 1, total, item.name)


def _check_new_file(out: str, source: str) -> str:
    out = os.path.abspath(out)
    if out == os.path.abspath(source):
        raise ConflictError("refused: the output would overwrite the source", [out])
    if os.path.lexists(out):
        raise ConflictError("refused: the output file exists (choose a new name)", [out])
    if not os.path.isdir(os.path.dirname(out)):
        raise FormatError(os.path.dirname(out), "no such directory for the output")
    return out


def apply_convert(plan: ConvertPlan, on_step: StepCallback | None = None) -> ConvertResult:
    """Write the plan's output (refused when it has problems), atomically, then read it back."""
    if plan.problems:
        raise ConflictError("refused: nothing was written", plan.problems)
    request = plan.request
    if not request.out:
        raise CoreError("convert needs an output (--to FILE or --to-checkpoint PREFIX)")
    source = _open(request.source)
    try:
        if plan.target == "checkpoint":
            return _write_checkpoint(plan, source, request.out, on_step)
        out = _check_new_file(request.out, source.path)
        if plan.target == "safetensors":
            _write_safetensors(plan, source, out, on_step)
        else:
            _write_npz(plan, source, out, on_step)
        return ConvertResult(out, plan.target, len(plan.items), plan.total_bytes, [out])
    finally:
        source.close()


_RUN_BYTES = 64 << 20  # a run of copied tensors handed to the sink at once (steps between)


def _write_safetensors(
    plan: ConvertPlan, source: _Source, out: str, on_step: StepCallback | None
) -> None:
    """The header as the ``safetensors`` package lays it out, then each tensor's bytes through
    the one data path of every checkpoint write (:class:`~graphtui.formats.data_sink.DataSink`):
    a checkpoint's whole tensors go from its data file's mapped pages to the disk (``O_DIRECT``
    where the file system allows it, else the page cache), each one's checksum checked on the
    bytes as they are copied, in one pass; the rest (converted dtypes, sliced or remote tensors,
    checked when read) are written from memory. The staged file is read back (the header by our
    parser and the package's ``safe_open``), fsynced, and renamed over ``out``."""
    from graphtui.formats.safetensors import safetensors_header

    by_name = {item.name: item for item in plan.items}
    header, order = safetensors_header(
        {i.name: (dtypes.from_name(i.out_dtype), i.shape, i.nbytes) for i in plan.items},
        plan.metadata,
    )
    ranges = source.file_ranges([i.source_name for i in plan.items if i.out_dtype == i.dtype])
    progress.expect(plan.total_bytes)
    with _output_sink(plan, out, len(header)) as sink:
        sink.write(header)
        done = 0
        for run in _runs(order, by_name, ranges):
            if isinstance(run, ConvertItem):
                sink.write(_item_bytes(source, run)[0])
                progress.advance(run.nbytes)
                names = [run.name]
            else:
                first = run[0][1]
                sink.copy(
                    first.fd,
                    first.path,
                    first.offset,
                    [_copied(item, where) for item, where in run],
                )
                names = [item.name for item, _ in run]
            for name in names:
                done += 1
                if on_step is not None:
                    on_step(done, len(order), name)


@contextlib.contextmanager
def _output_sink(plan: ConvertPlan, out: str, extra: int) -> Iterator[DataSink]:
    """The data sink of a staged file that becomes ``out`` (a ``.safetensors`` or ``.npz``):
    written with ``O_DIRECT`` where allowed, as every checkpoint's data file is; once the body
    is done the file is finished, read back (:func:`_verify_file`), fsynced and renamed over
    ``out``; on any failure it is removed (an OSError becomes one WriteError line)."""
    from graphtui.formats.data_sink import DataSink
    from graphtui.formats.transaction import FileTransaction

    txn = FileTransaction()
    try:
        txn.reserve(out, plan.total_bytes + extra)
        fh = txn.open(out)
        sink = DataSink(fh, txn.temp_path(out))
        txn.on_abort(sink.abort)
        yield sink
        sink.close()
        fh.flush()
        _verify_file(plan, txn.temp_path(out), out)
        txn.commit()
    except BaseException as exc:
        txn.abort()
        if isinstance(exc, OSError) and not isinstance(exc, GraphtuiError):
            raise WriteError.of(out, exc) from None
        raise


class _SinkStream(io.RawIOBase):
    """A write-only, unseekable file over a data sink, for ``zipfile`` (which then writes
    each member's CRC-32 and sizes after its data, in a data descriptor)."""

    def __init__(self, sink: DataSink) -> None:
        super().__init__()
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        self._sink.write(data)
        return n

    def tell(self) -> int:
        return self._sink.position


def _runs(
    order: list[str], by_name: dict[str, ConvertItem], ranges: dict[str, _Stored]
) -> Iterator[ConvertItem | list[tuple[ConvertItem, _Stored]]]:
    """The items in output order: an item written from memory alone, and items copied from a
    source file grouped while they follow each other there too (one run for the sink, at
    most :data:`_RUN_BYTES` unless one tensor is bigger)."""
    run: list[tuple[ConvertItem, _Stored]] = []
    size = 0
    for name in order:
        item = by_name[name]
        where = ranges.get(item.source_name)
        if run and (
            where is None
            or where.fd != run[-1][1].fd
            or where.offset != run[-1][1].offset + run[-1][1].size
            or size + where.size > _RUN_BYTES
        ):
            yield run
            run, size = [], 0
        if where is None:
            yield item
        else:
            run.append((item, where))
            size += where.size
    if run:
        yield run


def _copied(item: ConvertItem, where: _Stored) -> Any:
    from graphtui.formats.data_sink import CopiedTensor

    return CopiedTensor(item.source_name, where.offset, where.size, where.crc)


def _item_bytes(source: _Source, item: ConvertItem) -> tuple[Any, Any]:
    """Little-endian bytes of ``item`` as the output holds them (without a copy when the
    source stores them so), and the array when it had to be converted (else None)."""
    import numpy as np

    raw = source.raw(item.source_name) if item.out_dtype == item.dtype else None
    if raw is not None:
        return raw, None
    out_dt = dtypes.from_name(item.out_dtype)
    assert out_dt.numpy is not None
    arr = np.asarray(source.array(item.source_name))
    arr = arr.astype(out_dt.numpy, order="C", copy=False)  # little-endian hosts
    return arr.reshape(-1).view(np.uint8), arr


def _write_npz(plan: ConvertPlan, source: _Source, out: str, on_step: StepCallback | None) -> None:
    import numpy as np

    from graphtui.formats.npz import METADATA_KEY, write_npz

    def arrays() -> Iterator[tuple[str, Any]]:
        for item, raw, arr in _buffers(source, plan, on_step):
            if arr is None:
                out_dt = dtypes.from_name(item.out_dtype)
                assert out_dt.numpy is not None
                arr = np.frombuffer(raw, dtype=out_dt.numpy).reshape(item.shape)
            yield item.name, arr
        yield METADATA_KEY, np.array(json.dumps(plan.metadata, sort_keys=True))

    with _output_sink(plan, out, 1 << 20) as sink:
        write_npz(_SinkStream(sink), arrays())


def _verify_file(plan: ConvertPlan, tmp: str, out: str) -> None:
    """Read the written file back (header by our parser and by the package, or every .npy
    header) and compare names, dtypes and shapes with the plan."""
    want = {i.name: (i.out_dtype, i.shape) for i in plan.items}
    try:
        if plan.target == "safetensors":
            from safetensors import safe_open

            from graphtui.formats.safetensors import open_safetensors

            with open_safetensors(tmp) as f:
                got = {
                    e.name: (e.dtype.name if e.dtype else e.code, e.shape)
                    for e in f.entries.values()
                }
                meta = f.metadata
            with safe_open(tmp, framework="np") as g:
                if sorted(g.keys()) != sorted(want) or (g.metadata() or {}) != meta:
                    raise FormatError(out, "the safetensors package reads other names or metadata")
        else:
            from graphtui.formats.npz import METADATA_KEY, NpzFile

            with NpzFile(tmp) as f:
                got = {
                    e.name: (dtypes.from_numpy(e.dtype).name, e.shape)
                    for e in f.entries.values()
                    if e.name != METADATA_KEY
                }
                meta = json.loads(str(f.read(METADATA_KEY)))
        if got != want or meta != plan.metadata:
            raise FormatError(out, "the file read back differs from what was written")
    except GraphtuiError as exc:
        raise FormatError(
            out, f"written output failed verification and was removed: {exc}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the package's own error types
        raise FormatError(
            out, f"written output failed verification and was removed: {exc}"
        ) from None


def _write_checkpoint(
    plan: ConvertPlan, source: _Source, out: str, on_step: StepCallback | None
) -> ConvertResult:
    """A V2 checkpoint by the one checkpoint writer: tensors stored whole in a local source
    file (a ``.safetensors``) are copied through its data sink, summed on the bytes in flight
    (that sum is the checksum TensorFlow will check), lined up with their place in the source
    (a gap of zeros before the run, as TF's ``data_alignment`` pads) so that they go to the
    disk from the source's pages; the rest is encoded from values. The
    check after writing compares names, dtypes and shapes, and the values of what was encoded
    (converted dtypes, ``.npz`` members): the copied bytes are not read a second time."""
    import functools

    from graphtui.core.output import write_checkpoint
    from graphtui.core.write_check import Expected
    from graphtui.formats.crc import crc32c, mask

    by_name = {item.name: item for item in plan.items}
    ranges = source.file_ranges([i.source_name for i in plan.items if i.out_dtype == i.dtype])

    def fill(writer: Any) -> dict[str, Expected]:
        expected: dict[str, Expected] = {}
        progress.expect(plan.total_bytes)
        done = 0
        for run in _runs(list(by_name), by_name, ranges):
            if isinstance(run, ConvertItem):
                dt = dtypes.from_name(run.out_dtype)
                raw, arr = _item_bytes(source, run)
                value = None
                if arr is None:  # stored bytes, checked when read
                    writer.add_raw(run.name, dt, run.shape, raw, mask(crc32c(raw)))
                else:
                    writer.add(run.name, arr.reshape(run.shape), dt)
                    value = functools.partial(_item_value, source, run)
                expected[run.name] = Expected(run.out_dtype, run.shape, value)
                progress.advance(run.nbytes)
                items = [run]
            else:
                first = run[0][1]
                writer.add_copies(
                    first.fd,
                    [
                        (i.name, dtypes.from_name(i.out_dtype), i.shape, w.offset, w.size, w.crc)
                        for i, w in run
                    ],
                    first.path,
                    [i.source_name for i, _ in run],
                    line_up=True,
                )
                items = [i for i, _ in run]
                for i in items:
                    expected[i.name] = Expected(i.out_dtype, i.shape)
            for i in items:
                done += 1
                if on_step is not None:
                    on_step(done, len(by_name), i.name)
        return expected

    result = write_checkpoint(out, sources=[source.path], fill=fill, meta_graph=plan.graph)
    return ConvertResult(
        result.prefix, "checkpoint", result.tensors, result.bytes, result.files, result
    )


def _item_value(source: _Source, item: ConvertItem) -> Any:
    """The value an encoded item must read back as (computed again from the source)."""
    return _item_bytes(source, item)[1].reshape(item.shape)
