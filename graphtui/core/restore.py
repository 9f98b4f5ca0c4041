"""Restore: bind a checkpoint's values to a graph's variables with an assignment map that
follows ``tf.compat.v1.train.init_from_checkpoint``'s rules, and write the result as a new
checkpoint (what ``init_from_checkpoint`` followed by a ``Saver.save`` would produce).

Map forms (checkpoint side -> graph side): ``'ckpt_scope/': 'graph_scope/'``,
``'ckpt_scope/var': 'graph_scope/var'``, ``'/': 'graph_scope/'`` (the checkpoint's root), and a
partitioned variable by its full name. The map is a dict or a list of pairs (one checkpoint
tensor may go to several variables). Errors where TensorFlow raises them.

Which variables a scope map covers: TF's ``init_from_checkpoint`` walks its variable store,
i.e. variables made by ``tf.get_variable``, never a plain ``tf.Variable``. A graph does not
record the store, but the initializer subgraphs differ: a plain ``tf.Variable(value)`` reads
``VAR/initial_value`` (``VAR/Initializer/initial_value`` for resource variables), while
``get_variable`` builds its initializer under ``VAR/Initializer/``. Variables of the first kind
are left out of scope maps (listed apart in the report); those whose initial value lives
elsewhere (``get_variable(initializer=tensor)`` and ``tf.Variable(tensor)`` look the same) are
treated as ``get_variable`` variables and listed as assumed. A one-to-one entry may name any
variable (in TF, pass the Variable object).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from graphtui._proto import pb
from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.graph import GraphIndex, tensor_node
from graphtui.core.graph_edit import drop_saver_entries
from graphtui.core.metagraph import read_meta_graph_bytes
from graphtui.core.output import WriteResult, write_checkpoint
from graphtui.core.restore_map import AssignmentMap, map_pairs
from graphtui.core.variables import SavedVariable, restorable_variables, saver_info
from graphtui.core.write_check import Expected, Stored, stored_tensors
from graphtui.errors import ConflictError, CoreError
from graphtui.formats import dtypes, progress
from graphtui.formats.bundle import Extents
from graphtui.formats.gc_paused import gc_paused
from graphtui.formats.transaction import OnStep

if TYPE_CHECKING:
    from graphtui.core.copy_ahead import CopyAhead


@dataclass(frozen=True)
class Assignment:
    variable: str  # graph variable (a partition's own name for partitioned variables)
    key: str  # checkpoint tensor
    extents: Extents | None  # the part of the checkpoint tensor it takes (None = all)


@dataclass
class RestoreReport:
    matched: list[Assignment] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # graph variables with no value
    initialized: list[str] = field(default_factory=list)  # no map entry; constant initializer
    unused: list[str] = field(default_factory=list)  # checkpoint tensors nothing took
    mismatched: list[str] = field(default_factory=list)  # dtype / shape problems
    reshaped: list[str] = field(default_factory=list)  # shape differs, element count equal
    # plain tf.Variables a scope map reached but TF's would not (not in the variable store)
    not_in_store: list[str] = field(default_factory=list)
    # variables a scope map took whose initializer does not show how they were made
    assumed_in_store: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "matched": [
                {
                    "variable": a.variable,
                    "checkpoint_key": a.key,
                    "slice": None if a.extents is None else [list(e) for e in a.extents],
                }
                for a in self.matched
            ],
            "missing": self.missing,
            "initialized_from_constant": self.initialized,
            "unused": self.unused,
            "mismatched": self.mismatched,
            "reshaped": self.reshaped,
            "plain_variables_skipped_by_scope_maps": self.not_in_store,
            "assumed_get_variable": self.assumed_in_store,
        }


Origin = Literal["get_variable", "plain", "unknown"]


def variable_origin(var: SavedVariable) -> Origin:
    """How the graph says ``var`` was made (see the module docstring)."""
    init = var.initial_value
    if not init:
        return "unknown"
    node = tensor_node(init)
    base = var.name
    if node in (f"{base}/initial_value", f"{base}/Initializer/initial_value"):
        return "plain"
    if node.startswith(f"{base}/Initializer/"):
        return "get_variable"
    return "unknown"


def _partitions(variables: list[SavedVariable]) -> dict[str, list[SavedVariable]]:
    out: dict[str, list[SavedVariable]] = {}
    for var in variables:
        if var.save_slice is not None:
            out.setdefault(var.save_slice.full_name, []).append(var)
    return out


def _part_extents(var: SavedVariable) -> Extents | None:
    info = var.save_slice
    if info is None:
        return None
    return tuple((int(o), int(n)) for o, n in zip(info.var_offset, info.var_shape, strict=True))


def resolve_assignment_map(
    variables: list[SavedVariable],
    reader: CheckpointReader,
    amap: AssignmentMap,
    report: RestoreReport | None = None,
) -> list[Assignment]:
    """Apply ``init_from_checkpoint``'s rules; raise CoreError where TensorFlow raises.
    Scope maps cover only the variable store (see the module docstring); ``report`` gets the
    plain variables they left out and the ones assumed to be in the store."""
    store = {v.name: v for v in variables}
    partitioned = _partitions(variables)
    origin = {v.name: variable_origin(v) for v in variables}
    in_store = {name for name, how in origin.items() if how != "plain"}
    skipped: set[str] = set()
    assumed: set[str] = set()
    where = reader.prefix
    out: list[Assignment] = []

    def assign(target: str, key: str) -> None:
        parts = partitioned.get(target) or [store[target]]
        for part in parts:
            out.append(Assignment(part.name, key, _part_extents(part)))

    # TF walks the map sorted by checkpoint name; a later entry re-assigns a variable.
    for ckpt_name, graph_name in map_pairs(amap):
        if graph_name in store or graph_name in partitioned:
            if not reader.has_tensor(ckpt_name):
                raise CoreError(f"Tensor {ckpt_name} is not found in {where} checkpoint")
            assign(graph_name, ckpt_name)
            continue
        if not ckpt_name.endswith("/"):
            raise CoreError(
                f"Assignment map with scope only name {graph_name} should map to scope only "
                f"{ckpt_name}. Should be 'scope/': 'other_scope/'. (no graph variable is named "
                f"{graph_name!r})"
            )
        scopes = graph_name[: graph_name.rindex("/")] if "/" in graph_name else ""
        bases: set[str] = set()
        for var_name in store:
            if not scopes or var_name.startswith(scopes + "/"):
                if var_name not in in_store:
                    skipped.add(var_name)
                    continue
                if origin[var_name] == "unknown":
                    assumed.add(var_name)
                if "/part_" in var_name:
                    var_name = var_name[: var_name.index("/part_")]
                bases.add(var_name)
        for base in sorted(bases):
            full = base[len(scopes) :]
            if graph_name != "/":
                full = full[1:]
            if ckpt_name != "/":
                full = ckpt_name + full
            if full.endswith("/"):
                full = full[:-1]
            if not reader.has_tensor(full):
                raise CoreError(
                    f"Tensor {full} ({base[len(scopes) + 1 :]} in {ckpt_name}) is not found in "
                    f"{where} checkpoint"
                )
            if base in store or base in partitioned:
                assign(base, full)
    if report is not None:
        taken = {a.variable for a in out}
        report.not_in_store = sorted(skipped - taken)
        report.assumed_in_store = sorted(assumed & taken)
    return out


def _const_value(index: GraphIndex, tensor: str, depth: int = 0) -> np.ndarray | None:
    """The value of a constant expression (Const, Fill of constants, Identity of those)."""
    from graphtui.formats.tensor_proto import TensorProtoError, to_numpy

    node_name = tensor_node(tensor)
    if depth > 6 or node_name not in index:
        return None
    node = index.node(node_name)
    if node.op == "Const":
        try:
            return to_numpy(node.attr["value"].tensor)
        except TensorProtoError:
            return None
    data = [r for r in index.inputs(node_name) if not r.control]
    if node.op == "Identity" and data:
        return _const_value(index, str(data[0]), depth + 1)
    if node.op == "Fill" and len(data) == 2:
        dims = _const_value(index, str(data[0]), depth + 1)
        value = _const_value(index, str(data[1]), depth + 1)
        if dims is None or value is None or math.prod(int(d) for d in dims.ravel()) > 1 << 26:
            return None
        return np.full([int(d) for d in dims.ravel()], value, dtype=value.dtype)
    return None


def _spec_extents(spec: str) -> tuple[list[int], Extents] | None:
    """TF's slice spec text ``"10 2 0,2:0,2"`` -> (full shape, extents); None for ``""``."""
    if not spec.strip():
        return None
    *dims, slices = spec.split(" ")
    extents = []
    for part in slices.split(":"):
        if part == "-":
            extents.append((0, -1))
        else:
            start, length = part.split(",")
            extents.append((int(start), int(length)))
    return [int(d) for d in dims], tuple(extents)


@dataclass
class RestorePlan:
    report: RestoreReport
    values: dict[str, list[tuple[Extents | None, np.ndarray]]]  # checkpoint key -> parts
    dtypes: dict[str, dtypes.DType]
    shapes: dict[str, list[int]]
    meta_graph: Any  # what DST.meta gets (the saver trimmed of missing variables if allowed)
    # output key -> source tensor taken whole: its stored bytes are copied (checksum checked
    # in flight), never decoded, read at plan time or read back
    copies: dict[str, str] = field(default_factory=dict)
    checkpoint: str | None = None  # the source checkpoint the copies come from
    index: GraphIndex | None = None  # of ``meta_graph``, reused by the check after writing
    meta_bytes: bytes | None = None  # ``meta_graph``'s binary file, when it is written unchanged


def plan_restore(
    meta_graph: Any,
    reader: CheckpointReader,
    amap: AssignmentMap,
    *,
    allow_missing: bool = False,
    reshape: bool = False,
    meta_bytes: bytes | None = None,
) -> RestorePlan:
    """``meta_bytes``: the binary file ``meta_graph`` was decoded from (written as it is when
    the graph needs no change)."""
    with gc_paused():  # records and tuples by the ten thousand, none in a cycle
        return _plan(meta_graph, reader, amap, allow_missing, reshape, meta_bytes)


def _plan(
    meta_graph: Any,
    reader: CheckpointReader,
    amap: AssignmentMap,
    allow_missing: bool,
    reshape: bool,
    meta_bytes: bytes | None,
) -> RestorePlan:
    index = GraphIndex(meta_graph)
    table = restorable_variables(index)
    variables = list(table.values())
    report = RestoreReport()
    assignments = resolve_assignment_map(variables, reader, amap, report)
    by_var = {a.variable: a for a in assignments}  # the last assignment of a variable wins
    report.matched = sorted(by_var.values(), key=lambda a: a.variable)
    used = {a.key for a in by_var.values()}
    report.unused = [n for n in reader.names() if n not in used]
    for a in report.matched:
        if a.extents is not None and reader.partitioned(a.key):
            # TF's initializer restores the partition by its slice spec: refused when the
            # stored slices leave it out ("does not have sufficient slices")
            problem = reader.uncovered(a.key, a.extents)
            if problem is not None:
                report.mismatched.append(f"{a.variable}: {problem.detail}")
    saver = saver_info(index)
    if saver is None:
        raise CoreError("the meta graph has no saver: nothing says which keys to write")
    values: dict[str, list[tuple[Extents | None, np.ndarray]]] = {}
    key_dtypes: dict[str, dtypes.DType] = {}
    key_shapes: dict[str, list[int]] = {}
    missing_keys: set[str] = set()
    copies: dict[str, str] = {}
    cache: dict[str, np.ndarray] = {}
    stored: Stored | None = None  # read when a variable takes a checkpoint tensor
    sliced: set[str] = set()
    for entry in saver.entries:
        var = table.get(entry.variable) if entry.variable else None
        if var is None:
            continue
        spec = _spec_extents(entry.slice_spec)
        full_shape = spec[0] if spec else (var.shape or [])
        extents = spec[1] if spec else None
        try:
            dt = dtypes.from_name(var.dtype or "")
        except ValueError:
            report.mismatched.append(f"{var.name}: unknown dtype {var.dtype}")
            continue
        value: np.ndarray | None = None
        assignment = by_var.get(var.name)
        if assignment is not None:
            if stored is None:
                stored, sliced = _stored(reader)
            have_dtype, have_shape = stored[assignment.key]
            if have_dtype != dt.name:
                report.mismatched.append(
                    f"{var.name}: graph dtype {dt.name}, checkpoint {assignment.key} is {have_dtype}"
                )
                continue
            declared = list(full_shape) if assignment.extents is not None else var.shape
            have = list(have_shape)
            want = have if _compatible(declared, have) else list(declared or [])
            if want != have:
                if reshape and -1 not in want and math.prod(want) == math.prod(have):
                    report.reshaped.append(f"{var.name}: {have} -> {want}")
                else:
                    report.mismatched.append(
                        f"Shape of variable {var.name} ({want}) doesn't match with shape of "
                        f"tensor {assignment.key} ({have}) from checkpoint reader."
                    )
                    continue
            if assignment.extents is None:
                full_shape = want  # a variable of unknown shape takes the tensor's
            if (
                assignment.extents is None
                and spec is None
                and entry.key not in values
                and reader.bundle is not None  # a whole V2 tensor: its bytes as they are
                and assignment.key not in sliced
            ):
                copies[entry.key] = assignment.key
                key_dtypes[entry.key] = dt
                key_shapes[entry.key] = list(want)
                continue
            if (
                assignment.extents is not None and assignment.key in sliced and want == have
            ):  # the slices that hold the partition, as TF's RestoreV2 reads it: others may
                # leave holes elsewhere in the tensor
                value = reader.read_slice(assignment.key, assignment.extents)
            else:
                if assignment.key not in cache:
                    cache[assignment.key] = reader.read(assignment.key).reshape(want)
                value = cache[assignment.key]
                if assignment.extents is not None:
                    value = value[tuple(slice(s, s + n) for s, n in assignment.extents)]
        else:
            init = var.initial_value
            value = _const_value(index, init) if init else None
            if value is not None and not _compatible(
                [n for _, n in extents] if extents else var.shape, list(value.shape)
            ):
                value = None
            if value is not None and not extents:
                full_shape = list(value.shape)
            if value is None:
                report.missing.append(var.name)
                missing_keys.add(entry.key)
                continue
            report.initialized.append(var.name)
            value = value.astype(dt.numpy) if dt.numpy is not None else value
        # np.ascontiguousarray would make a scalar [1]: keep every shape exactly
        values.setdefault(entry.key, []).append((extents, np.require(value, requirements="C")))
        key_dtypes[entry.key] = dt
        key_shapes[entry.key] = list(full_shape)
    if report.mismatched:
        raise ConflictError(
            "refused: dtype or shape mismatches, nothing was written", report.mismatched
        )
    out_graph = meta_graph
    if report.missing:
        if not allow_missing:
            raise ConflictError(
                "refused: graph variables would have no value (use --allow-missing to leave "
                "them to their initializers), nothing was written",
                report.missing,
            )
        out_graph = pb.MetaGraphDef()
        out_graph.CopyFrom(meta_graph)
        drop_saver_entries(out_graph, lambda k: k in missing_keys)
        for key in missing_keys:
            values.pop(key, None)
            copies.pop(key, None)
    for key in copies.keys() & values.keys():  # a key also written from values: decode it too
        source = copies.pop(key)
        values[key].insert(0, (None, reader.read(source).reshape(key_shapes[key])))
    return RestorePlan(
        report,
        values,
        key_dtypes,
        key_shapes,
        out_graph,
        copies,
        str(reader.prefix),
        index if out_graph is meta_graph else None,
        meta_bytes if out_graph is meta_graph else None,
    )


def _compatible(declared: list[int] | None, shape: list[int]) -> bool:
    """TF's ``TensorShape.is_compatible_with``, what ``init_from_checkpoint`` checks a
    variable's shape with: an unknown rank (None) matches any shape, an unknown dim (-1) any
    size (a reference variable made with ``validate_shape=False`` has no shape)."""
    return declared is None or (
        len(declared) == len(shape)
        and all(d in (-1, n) for d, n in zip(declared, shape, strict=True))
    )


def _stored(reader: CheckpointReader) -> tuple[Stored, set[str]]:
    """Every tensor's dtype and shape, and the partitioned ones (no entry decoded one by one)."""
    listing = reader.listing()
    sliced = {n for n, k in zip(listing.names, listing.slices.tolist(), strict=True) if k}
    return stored_tensors(reader), sliced


def _arrays(parts: list[tuple[Extents | None, np.ndarray]]) -> list[np.ndarray]:
    return [arr for _, arr in parts]


def _assembled(parts: list[tuple[Extents | None, np.ndarray]], shape: list[int]) -> np.ndarray:
    """The whole tensor the written parts make up (what a reader returns for the key)."""
    if len(parts) == 1 and parts[0][0] is None:
        return parts[0][1]
    full = np.empty(shape, dtype=parts[0][1].dtype)
    for extents, arr in parts:
        assert extents is not None
        full[tuple(slice(s, None if n == -1 else s + n) for s, n in extents)] = arr
    return full


def restore(
    meta: str,
    ckpt: str,
    amap: AssignmentMap,
    out: str,
    *,
    allow_missing: bool = False,
    reshape: bool = False,
    on_step: OnStep | None = None,
) -> tuple[RestoreReport, WriteResult]:
    """``graphtui restore``: DST.meta + a checkpoint of the values the map assigns (the data
    copy begun while it is planned: :mod:`graphtui.core.copy_ahead`)."""
    from graphtui.core.copy_ahead import copying_ahead

    with copying_ahead(ckpt, amap, out, [meta], on_step) as ahead:
        meta_graph, meta_bytes = read_meta_graph_bytes(meta)
        with CheckpointReader(ckpt) as reader:
            plan = plan_restore(
                meta_graph,
                reader,
                amap,
                allow_missing=allow_missing,
                reshape=reshape,
                meta_bytes=meta_bytes,
            )
            sources = [meta, reader.prefix]
        return plan.report, write_restored(plan, out, sources, on_step=on_step, ahead=ahead)


def write_restored(
    plan: RestorePlan,
    out: str,
    sources: list[str],
    *,
    on_step: OnStep | None = None,
    ahead: CopyAhead | None = None,
) -> WriteResult:
    """Write a planned restore: ``out.meta`` + the checkpoint of the planned values; tensors
    taken whole are copied from the source as stored bytes (see :func:`copy_tensors`), the
    others encoded from their values (and compared by value after writing). ``ahead``: the
    copy begun while this was planned, taken when it copies what the plan copies."""
    begun = ahead.take(plan.copies, plan.checkpoint) if ahead is not None else None

    def fill(writer: Any) -> dict[str, Expected]:
        expected: dict[str, Expected] = {}
        if begun is not None:
            assert ahead is not None
            expected |= ahead.finish(plan.copies, plan.shapes)
        elif plan.copies:
            from graphtui.core.ckpt_write import copy_tensors

            assert plan.checkpoint is not None
            with CheckpointReader(plan.checkpoint) as reader:
                expected |= copy_tensors(
                    reader,
                    writer,
                    [(old, new) for new, old in plan.copies.items()],
                    {new: plan.shapes[new] for new in plan.copies},
                )
        progress.expect(sum(np.asarray(arr).nbytes for ps in plan.values.values() for _, arr in ps))
        for key, parts in plan.values.items():
            dt = plan.dtypes[key]
            if len(parts) == 1 and parts[0][0] is None:
                writer.add(key, parts[0][1], dt)
            else:
                writer.add_sliced(
                    key, dt, plan.shapes[key], [(ext, arr) for ext, arr in parts if ext is not None]
                )
            progress.advance(sum(np.asarray(arr).nbytes for _, arr in parts))
            slices = [ext for ext, _ in parts]
            if None in slices:
                expected[key] = Expected(
                    dt.name,
                    tuple(plan.shapes[key]),
                    functools.partial(_assembled, parts, plan.shapes[key]),
                )
            else:  # each slice as TF restores it: partitions may leave holes
                expected[key] = Expected(
                    dt.name,
                    tuple(plan.shapes[key]),
                    functools.partial(_arrays, parts),
                    tuple(ext for ext in slices if ext is not None),
                )
        return expected

    # the check after writing makes a record per restored variable: without the collector's
    # passes over the whole heap (a 26,000-node graph's plan made one take ~10 ms)
    with gc_paused():
        return write_checkpoint(
            out,
            sources=sources,
            fill=fill,
            meta_graph=plan.meta_graph,
            on_step=on_step,
            graph_index=plan.index,
            meta_bytes=plan.meta_bytes,
            begun=begun,
        )
