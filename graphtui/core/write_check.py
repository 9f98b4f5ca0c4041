"""The one check every write (restore, rename, strip, export) passes before it reports success:
what TensorFlow will do with the output, not only that its bytes read back.

1. The checkpoint's index reads back with every block checksum right, every tensor inside its
   data file, and holds exactly the expected keys, each with the expected dtype and shape
   (``[]`` stays ``[]``). Tensor checksums were checked as the bytes were written (a copied
   tensor's source bytes against the source's checksum, which it keeps), so the data is not
   read a second time.
2. Values: a tensor written from decoded values (restore, V1 sources, the object graph) must
   equal, element for element, the value it was made from, as an independent reader decodes
   the written file (which checks its checksum).
3. The meta graph written beside it: its SaverDef version is V2 (what is written), no op of
   its saver is a V1 save or restore op, and every tensor its ``RestoreV2`` ops restore exists
   with the dtype they ask for and the shape of the variable it is assigned to (or the slice
   spec's full shape). This is what ``import_meta_graph`` + ``Saver.restore`` checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from graphtui.core.checkpoint import CheckpointReader
from graphtui.errors import FormatError

if TYPE_CHECKING:  # the graph code is imported by check_saver: not every write has a graph
    from graphtui.core.graph import GraphIndex, InputRef
    from graphtui.formats.bundle import Extents

_ASSIGN_OPS = frozenset({"Assign", "AssignVariableOp"})
_PASS = frozenset({"Identity", "Reshape"})


@dataclass(frozen=True)
class Expected:
    """What one written tensor must be: dtype name, shape, and (when the writer decoded or
    built it) a callable giving the value it must equal."""

    dtype: str
    shape: tuple[int, ...]
    value: Callable[[], Any] | None = None
    # written as these slices (which may leave holes, as a Saver given some partitions leaves
    # them): ``value`` gives one array per slice, each compared with what TF's RestoreV2 reads
    # for that slice spec
    slices: tuple[Extents, ...] | None = None


def values_equal(a: Any, b: Any) -> bool:
    """Equal shape and elements; strings element by element as bytes (a nested array or a
    ``str`` where bytes belong is a difference, not a match)."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype == object or b.dtype == object:
        left, right = list(a.ravel()), list(b.ravel())
        return all(
            type(x) is bytes and type(y) is bytes and x == y
            for x, y in zip(left, right, strict=True)
        )
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


# tensor name -> (dtype name, shape), as TensorFlow's reader lists the checkpoint
Stored = dict[str, tuple[str, tuple[int, ...]]]


def stored_tensors(reader: CheckpointReader) -> Stored:
    """Every tensor's dtype and shape, from the index decoded in bulk (what
    ``tensor_info`` says of each, without decoding the entries one by one)."""
    listing = reader.listing()
    kinds = listing.dtypes
    return {
        name: (kinds[code].name, tuple(shape))
        for name, code, shape in zip(
            listing.names, listing.codes.tolist(), listing.shapes(), strict=True
        )
    }


def check_checkpoint(reader: CheckpointReader, expected: Mapping[str, Expected]) -> list[str]:
    """Problems of the written checkpoint against what the writer meant to write."""
    # No second read of the data: every tensor's checksum was checked on the bytes as they were
    # written (copied ones against the source's checksum); here the index, every entry and each
    # tensor's extent, then what TF will see (keys, dtypes, shapes; values where decoded).
    problems = [str(p) for p in reader.verify(data=False)]
    if problems:
        return problems
    stored = stored_tensors(reader)
    for key in sorted(set(expected) - stored.keys()):
        problems.append(f"tensor {key!r} was not written")
    for key in sorted(stored.keys() - set(expected)):
        problems.append(f"tensor {key!r} was written but not meant to be")
    for key in sorted(stored.keys() & set(expected)):
        want = expected[key]
        dtype, shape = stored[key]
        if dtype != want.dtype or shape != tuple(want.shape):
            problems.append(
                f"tensor {key!r} is {dtype}{list(shape)}, meant {want.dtype}{list(want.shape)}"
            )
            continue
        if want.value is None:
            continue
        if want.slices is not None and reader.bundle is not None:
            bundle = reader.bundle
            same = all(
                values_equal(bundle.read_slice(key, extents), part)
                for extents, part in zip(want.slices, want.value(), strict=True)
            )
        else:
            same = values_equal(reader.read(key), want.value())
        if not same:
            problems.append(f"tensor {key!r} reads back with other values than were meant")
    return problems


@dataclass(frozen=True)
class _Target:
    name: str
    dtype: str | None
    shape: list[int] | None


# A chain from a restore op's output to the Assign taking it, ordered as a breadth-first walk
# over the consumers would meet it: (first consumer's (position, input slot), steps after it,
# each later consumer's (position, slot))
_ChainKey = tuple[tuple[int, int], int, tuple[tuple[int, int], ...]]
_MAX_STEPS = 8  # consumers from the restore op to its Assign


def _restore_targets(index: GraphIndex, ops: set[str]) -> dict[str, dict[int, _Target]]:
    """For each restore op of ``ops``, the variable each output port is assigned to: an
    ``Assign``/``AssignVariableOp`` taking the port (input 1) directly or through at most seven
    Identity/Reshape ops (each read at output 0). Found from the graph's Assign ops back to
    the restore ops (a few nodes each) rather than from the consumers of every node; where
    several Assigns take one port, the one a breadth-first walk over the port's consumers
    (in graph order) meets first wins, as TensorFlow lists them."""
    from graphtui.core.graph import parse_input
    from graphtui.core.variables import node_dtype_shape, op_of, resolve_variable

    best: dict[tuple[str, int], tuple[_ChainKey, str]] = {}
    variables: dict[str, str | None] = {}  # Assign node -> the variable it assigns
    for assign in dict.fromkeys(index.nodes_with_op(*_ASSIGN_OPS)):
        texts = index.node(assign).input  # only input 1 parsed: most lead nowhere near
        if len(texts) < 2 or texts[1].startswith("^"):
            continue
        first = parse_input(texts[1])
        if first.node not in ops and (first.port != 0 or op_of(index, first.node) not in _PASS):
            continue  # most Assigns (initializers): the walk below would stop at once
        # (input read, the consumers from the one reading it down to the Assign)
        stack: list[tuple[InputRef, tuple[tuple[int, int], ...]]] = [
            (first, ((index.index_of(assign), 1),))
        ]
        while stack:
            ref, tail = stack.pop()
            if ref.node in ops:
                key: _ChainKey = (tail[0], len(tail) - 1, tail[1:])
                where = (ref.node, ref.port)
                if where in best and best[where][0] <= key:
                    continue
                if assign not in variables:
                    variables[assign] = resolve_variable(index, texts[0])
                if variables[assign] is not None:
                    best[where] = (key, assign)
            elif ref.port == 0 and len(tail) < _MAX_STEPS and op_of(index, ref.node) in _PASS:
                at = index.index_of(ref.node)
                for slot, inner in enumerate(index.inputs(ref.node)):
                    if not inner.control:
                        stack.append((inner, ((at, slot), *tail)))
    out: dict[str, dict[int, _Target]] = {op: {} for op in ops}
    for (op, port), (_, assign) in best.items():
        var = variables[assign]
        assert var is not None
        out[op][port] = _Target(var, *node_dtype_shape(index, var))
    return out


def _spec_shapes(spec: str) -> tuple[list[int], list[int]] | None:
    """``"10 2 0,5:-"`` -> (full shape [10, 2], slice shape [5, 2]); None for ``""``."""
    if not spec.strip():
        return None
    *dims, slices = spec.split(" ")
    full = [int(d) for d in dims]
    part = []
    for dim, text in zip(full, slices.split(":"), strict=True):
        part.append(dim if text == "-" else int(text.split(",")[1]))
    return full, part


class _Restored(NamedTuple):
    """One tensor a ``RestoreV2`` op restores: the op, its output port, the key, the dtype
    the op asks for (an enum; None: not given), the slice spec, the variable it is assigned to."""

    op: str
    port: int
    key: str
    asked: int | None
    spec: str | None
    target: _Target | None


@dataclass(frozen=True)
class SaverSide:
    """The graph's half of :func:`check_saver`: what its saver asks of the checkpoint beside
    it. It depends on the graph alone, so a write works it out while its data is copied."""

    problems: list[str]  # of the saver itself (its version, V1 ops)
    restored: list[_Restored]


def saver_side(meta_graph: Any, index: GraphIndex | None = None) -> SaverSide:
    """What ``import_meta_graph`` + ``Saver.restore`` will ask of a checkpoint beside
    ``meta_graph`` (``index``: a GraphIndex already built over an equal graph, reused)."""
    from graphtui.core.graph import GraphIndex
    from graphtui.core.graph_edit import const_strings
    from graphtui.core.saver_upgrade import V1_RESTORE_OPS, V1_SAVE_OPS
    from graphtui.core.variables import saver_info

    index = index if index is not None else GraphIndex(meta_graph)
    saver = saver_info(index)
    if saver is None:
        return SaverSide([], [])
    problems = []
    if saver.version != "V2":
        problems.append(f"the graph's SaverDef says {saver.version}, the checkpoint is V2")
    prefix = saver.scope + "/" if saver.scope else ""
    for name in index.nodes_with_op(*V1_SAVE_OPS, *V1_RESTORE_OPS, "ShardedFilespec"):
        if name.startswith(prefix):
            problems.append(f"saver op {name} ({index.op(name)}) is a V1 op")
    restore_ops = [op for op in index.nodes_with_op("RestoreV2") if op.startswith(prefix)]
    all_targets: dict[str, dict[int, _Target]] | None = None
    restored: list[_Restored] = []
    for op in restore_ops:
        data = [r for r in index.inputs(op) if not r.control]
        if len(data) < 3:
            continue
        try:
            keys = const_strings(index.node(data[1].node))
            specs = const_strings(index.node(data[2].node))
        except Exception:  # noqa: BLE001 - keys fed from elsewhere: TF decides at run time
            continue
        types = (
            list(index.raw_attrs(op)["dtypes"].list.type) if "dtypes" in index.raw_attrs(op) else []
        )
        if all_targets is None:
            all_targets = _restore_targets(index, set(restore_ops))
        targets = all_targets[op]
        for i, key in enumerate(keys):
            restored.append(
                _Restored(
                    op,
                    i,
                    key,
                    types[i] if i < len(types) else None,
                    specs[i] if i < len(specs) else None,
                    targets.get(i),
                )
            )
    return SaverSide(problems, restored)


def check_saver(
    meta_graph: Any,
    reader: CheckpointReader,
    index: GraphIndex | None = None,
    side: SaverSide | None = None,
) -> list[str]:
    """Problems ``import_meta_graph`` + ``Saver.restore`` of this checkpoint would hit.
    ``index``: a GraphIndex already built over a graph equal to ``meta_graph`` (reused);
    ``side``: :func:`saver_side` of that graph, worked out already."""
    from graphtui.core.graph import dtype_name

    side = side if side is not None else saver_side(meta_graph, index)
    problems = list(side.problems)
    stored = stored_tensors(reader) if side.restored else {}
    for r in side.restored:
        op, key = r.op, r.key
        if key not in stored:
            problems.append(f"{op} restores {key!r}, which the checkpoint does not have")
            continue
        dtype, shape = stored[key]
        if r.asked is not None and dtype_name(r.asked) != dtype:
            problems.append(
                f"{op} restores {key!r} as {dtype_name(r.asked)}, the checkpoint has {dtype}"
            )
        shapes = _spec_shapes(r.spec) if r.spec is not None else None
        want = list(shape)
        if shapes is not None:
            if shapes[0] != want:
                problems.append(
                    f"{op} restores {key!r} as a slice of {shapes[0]}, the checkpoint has {want}"
                )
                continue
            want = shapes[1]
        var = r.target
        if var is None:
            continue
        if var.dtype and var.dtype != dtype:
            problems.append(
                f"variable {var.name} is {var.dtype}, {key!r} in the checkpoint is {dtype}"
            )
        if var.shape is not None and all(d >= 0 for d in var.shape) and var.shape != want:
            problems.append(f"variable {var.name} has shape {var.shape}, {key!r} restores {want}")
    return problems


def verify_output(
    prefix: str | None,
    meta_graph: Any,
    expected: Mapping[str, Expected] | None,
    index: GraphIndex | None = None,
    side: SaverSide | None = None,
) -> tuple[int, int]:
    """Raise FormatError with every problem; return (tensors, bytes) of the checkpoint.
    ``index``, ``side``: see :func:`check_saver`."""
    problems: list[str] = []
    tensors = nbytes = 0
    where = prefix or "output"
    if prefix is not None:
        with CheckpointReader(prefix) as reader:
            if expected is not None:
                problems += check_checkpoint(reader, expected)
            else:
                problems += [str(p) for p in reader.verify()]
            if meta_graph is not None and not problems:
                problems += check_saver(meta_graph, reader, index, side)
            listing = reader.listing()  # counted by column: no row objects, no shapes
            tensors, nbytes = len(listing), sum(listing.nbytes.tolist())
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FormatError(where, problems[0] + more)
    return tensors, nbytes
