"""Variables of a graph and what the saver writes for them.

Variables come from the VariableDef collections (``variables``, ``trainable_variables``, ...) and
from variable ops no collection lists (``VariableV2``, ``Variable``, ``VarHandleOp``). Each one's
checkpoint key is read from the saver's save op (its ``tensor_names`` Const, the ground truth),
falling back to the partition's full name or the variable's own name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphtui.core.collections import VARIABLE_COLLECTIONS, CollectionTable
from graphtui.core.graph import GraphIndex, decode_attr, shape_list, tensor_node
from graphtui.core.natural import natural_key
from graphtui.core.slot_names import is_optimizer_state, slot_role
from graphtui.errors import NotFoundError
from graphtui.formats.node_bytes import pace

VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
RESOURCE_OPS = frozenset({"VarHandleOp"})
SAVE_OPS = frozenset({"SaveV2", "SaveSlices", "Save"})
# Ops a saved tensor may pass through between the variable and the save op.
_PASS_THROUGH = frozenset({"Identity", "ReadVariableOp", "Snapshot", "StopGradient"})
# An op updating a variable with an optimizer: ApplyAdam, ResourceSparseApplyMomentum, ...
_APPLY_OP = re.compile(r"^(Resource)?(Sparse)?Apply[A-Z]")
_EMA_UPDATE_OPS = frozenset({"AssignSub", "AssignSubVariableOp"})

ROLES = ("model", "slot", "ema", "optimizer", "global_step")


@dataclass(frozen=True)
class SaveSliceInfo:
    """Where a partition sits in its full variable (a SaveSliceInfoDef)."""

    full_name: str
    full_shape: list[int]
    var_offset: list[int]
    var_shape: list[int]

    @property
    def slice_spec(self) -> str:
        """TensorFlow's text form: ``"10 3 0,4:0,3"`` (full shape, then start,length per dim)."""
        dims = " ".join(str(d) for d in self.full_shape)
        parts = ":".join(f"{o},{n}" for o, n in zip(self.var_offset, self.var_shape, strict=False))
        return f"{dims} {parts}"


@dataclass(frozen=True, slots=True)  # slots: 166,000 variables in ~80 MB less
class VariableInfo:
    """One variable of the graph.

    ``role`` is one of :data:`ROLES`: ``slot`` (optimizer slot such as ``w/Adam``), ``ema``
    (an ExponentialMovingAverage shadow), ``optimizer`` (optimizer state that is no slot, such as
    ``beta1_power``), ``global_step`` or ``model``. ``slot_of`` is the variable a slot or shadow
    belongs to and ``slot_name`` the rest of its name.
    """

    name: str
    node: str
    op: str
    resource: bool
    dtype: str | None
    shape: list[int] | None
    trainable: bool
    local: bool
    model: bool
    moving_average: bool  # listed in moving_average_variables (an EMA averages it)
    collections: tuple[str, ...]
    role: str
    slot_of: str | None
    slot_name: str | None
    initializer: str | None
    initial_value: str | None
    snapshot: str | None
    save_slice: SaveSliceInfo | None
    checkpoint_key: str
    key_from_saver: bool  # checkpoint_key was read from the save op

    @property
    def in_collection(self) -> bool:
        return bool(self.collections)

    @property
    def num_elements(self) -> int | None:
        """Element count, or None when the shape is not fully known."""
        if self.shape is None or any(d < 0 for d in self.shape):
            return None
        return math.prod(self.shape)


@dataclass(frozen=True)
class SaveEntry:
    """One tensor a save op writes: checkpoint ``key``, ``slice_spec`` (``""`` = whole)."""

    key: str
    slice_spec: str
    tensor: str  # the save op's input feeding it
    variable: str | None  # the variable node behind that input, when one is found
    save_op: str


@dataclass(frozen=True)
class SaverInfo:
    """A SaverDef plus the keys its save ops write.

    ``source`` says where the SaverDef came from: ``saver_def`` (the MetaGraphDef field),
    ``savers`` (that collection) or ``graph`` (no SaverDef: save ops found by type).
    """

    filename_tensor: str
    save_tensor: str
    restore_op: str
    version: str  # "LEGACY", "V1" or "V2"
    sharded: bool
    max_to_keep: int
    keep_checkpoint_every_n_hours: float
    scope: str
    source: str
    save_ops: list[str] = field(default_factory=list)
    entries: list[SaveEntry] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """Distinct checkpoint keys written, in save-op order."""
        return list(dict.fromkeys(e.key for e in self.entries))


_VERSIONS = {0: "LEGACY", 1: "V1", 2: "V2"}


def _scope_of(tensor_name: str) -> str:
    return tensor_node(tensor_name).rpartition("/")[0]


def _const_strings(index: GraphIndex, name: str) -> list[str] | None:
    try:
        node = index.node(name)
    except NotFoundError:
        return None
    if node.op != "Const" or "value" not in node.attr:
        return None
    value = decode_attr(node.attr["value"], max_elements=1 << 22)
    if not isinstance(value, np.ndarray) or value.dtype != object:
        return None
    return [x.decode("utf-8", "replace") for x in value.ravel()]


def op_of(index: GraphIndex, name: str) -> str | None:
    """The op of node ``name``, or None when the graph has no such node (one name lookup, not
    a membership test and then another)."""
    try:
        return index.op(name)
    except NotFoundError:
        return None


def resolve_variable(index: GraphIndex, name: str, *, max_depth: int = 8) -> str | None:
    """The variable node behind a tensor name, following Identity/ReadVariableOp chains and
    finally the node's ``loc:@`` colocation."""
    node = tensor_node(name)
    start = node
    for _ in range(max_depth):
        op = op_of(index, node)
        if op is None:
            return None
        if op in VARIABLE_OPS:
            return index.canonical(node)
        if op not in _PASS_THROUGH:
            break
        # the first data input's node (``parse_input(text).node``, without an InputRef each)
        first = next((t for t in index.node(node).input if not t.startswith("^")), None)
        if first is None:
            break
        node = first.partition(":")[0]
    for loc in index.colocation(start):
        if op_of(index, loc) in VARIABLE_OPS:
            return index.canonical(loc)
    return None


def _save_entries(index: GraphIndex, op_name: str) -> list[SaveEntry]:
    node = index.node(op_name)
    data = [ref for ref in index.inputs(op_name) if not ref.control]
    if len(data) < 2:
        return []
    names = _const_strings(index, data[1].node)
    if names is None:
        return []
    if node.op == "Save":
        specs: list[str] | None = [""] * len(names)
        tensors = data[2:]
    else:
        specs = _const_strings(index, data[2].node) if len(data) > 2 else None
        tensors = data[3:]
    if specs is None or len(specs) != len(names):
        specs = [""] * len(names)
    out = []
    for key, spec, ref in zip(names, specs, tensors, strict=False):
        tensor = index.canonical(str(ref))  # the graph's strings: no copy per variable
        variable = resolve_variable(index, tensor)
        out.append(SaveEntry(index.canonical(key), spec, tensor, variable, op_name))
    return out


def saver_info(index: GraphIndex) -> SaverInfo | None:
    """The graph's saver: SaverDef fields and the entries its save ops write, or None."""
    return index.derived("saver", _build_saver)


def _build_saver(index: GraphIndex) -> SaverInfo | None:
    saver_def: Any = None
    source = "graph"
    if index.has_meta_graph:
        meta = index.meta_graph_header
        if meta.HasField("saver_def"):
            saver_def, source = meta.saver_def, "saver_def"
        else:
            coll = CollectionTable.of(index).get("savers")
            found = [x for x in coll.items if hasattr(x, "filename_tensor_name")] if coll else []
            if found:
                saver_def, source = found[0], "savers"
    save_nodes = index.nodes_with_op(*SAVE_OPS)
    if saver_def is not None:
        scope = _scope_of(saver_def.filename_tensor_name or saver_def.save_tensor_name)
    else:
        scopes = sorted({n.rpartition("/")[0] for n in save_nodes}, key=natural_key)
        if not scopes:
            return None
        scope = "save" if "save" in scopes else scopes[0]
    prefix = scope + "/" if scope else ""
    ops = sorted((n for n in save_nodes if n.startswith(prefix)
                  and "/" not in n[len(prefix):]), key=natural_key)
    if not ops and prefix:  # a save op nested deeper in the saver's scope
        ops = sorted((n for n in save_nodes if n.startswith(prefix)), key=natural_key)
    entries = [e for op in ops for e in _save_entries(index, op)]
    if saver_def is None:
        return SaverInfo("", "", "", "V1" if any(op_of(index, o) != "SaveV2" for o in ops) else "V2",
                         len(ops) > 1, 0, 0.0, scope, source, ops, entries)
    return SaverInfo(
        filename_tensor=str(saver_def.filename_tensor_name),
        save_tensor=str(saver_def.save_tensor_name),
        restore_op=str(saver_def.restore_op_name),
        version=_VERSIONS.get(int(saver_def.version), str(saver_def.version)),
        sharded=bool(saver_def.sharded),
        max_to_keep=int(saver_def.max_to_keep),
        keep_checkpoint_every_n_hours=float(saver_def.keep_checkpoint_every_n_hours),
        scope=scope,
        source=source,
        save_ops=ops,
        entries=entries,
    )


def _save_slice(vdef: Any) -> SaveSliceInfo | None:
    """A VariableDef's SaveSliceInfoDef (a partition's place in its full variable), or None."""
    if vdef is None or not vdef.HasField("save_slice_info_def"):
        return None
    s = vdef.save_slice_info_def
    return SaveSliceInfo(str(s.full_name), list(s.full_shape), list(s.var_offset),
                         list(s.var_shape))


def _variable_defs(collections: CollectionTable) -> Iterator[tuple[str, str, Any]]:
    """(collection key, variable node, VariableDef) for every VariableDef of the variable
    collections, in key order then stored order; decoded one by one, not kept. The node name
    is the VariableDef's own string (see :meth:`GraphIndex.canonical` to share the graph's)."""
    for key in VARIABLE_COLLECTIONS:
        if key not in collections:
            continue
        for item in collections.items(key):
            if hasattr(item, "variable_name"):
                yield key, tensor_node(item.variable_name), item


def _saver_keys(index: GraphIndex) -> dict[str, str]:
    """Variable node -> the first checkpoint key the saver writes it under."""
    saver = saver_info(index)
    keys: dict[str, str] = {}
    for entry in saver.entries if saver else ():
        if entry.variable is not None:
            keys.setdefault(entry.variable, entry.key)
    return keys


@dataclass(frozen=True, slots=True)
class SavedVariable:
    """What a restore needs of a variable: :class:`VariableInfo`'s fields of the same names."""

    name: str
    dtype: str | None
    shape: list[int] | None
    save_slice: SaveSliceInfo | None
    initial_value: str | None


def restorable_variables(index: GraphIndex) -> dict[str, SavedVariable]:
    """The variables a restore binds: those of :class:`VariableTable` that the ``variables`` or
    ``local_variables`` collection mentions or the saver writes, with the same fields, but
    without the rest of the table (roles, every collection of every variable, natural order):
    a third of its time on a 2,000-variable graph. Keyed by name, in no particular order."""
    collections = CollectionTable.of(index)
    wanted: set[str] = set()
    for key in ("variables", "local_variables"):
        if key in collections:
            wanted |= collections.mentioned(key)
    wanted |= _saver_keys(index).keys()  # variable nodes (resolve_variable's), all in the table
    defs: dict[str, Any] = {}
    for _, node, item in _variable_defs(collections):
        if node in wanted:
            defs.setdefault(node, item)
    nodes = list(defs)
    nodes += [n for n in index.nodes_with_op(*VARIABLE_OPS) if n in wanted and n not in defs]
    read_dtype_shapes(index, [n for n in nodes if n in index])
    out: dict[str, SavedVariable] = {}
    for node in nodes:
        vdef = defs.get(node)
        dtype, shape, save_slice = _declared(index, node, vdef, op_of(index, node) is not None)
        init = vdef.initial_value_name if vdef is not None else ""
        out[node] = SavedVariable(node, dtype, shape, save_slice,
                                  tensor_node(init) if init else None)
    return out


def _declared(
    index: GraphIndex, node: str, vdef: Any, exists: bool
) -> tuple[str | None, list[int] | None, SaveSliceInfo | None]:
    """A variable's dtype and shape as its node declares them (none without a node; the
    shape then from its VariableDef's save slice, when partitioned), and that save slice."""
    dtype, shape = node_dtype_shape(index, node) if exists else (None, None)
    save_slice = _save_slice(vdef)
    if shape is None and save_slice is not None:
        shape = list(save_slice.var_shape)
    return dtype, shape, save_slice


def node_dtype_shape(index: GraphIndex, node: str) -> tuple[str | None, list[int] | None]:
    """A variable node's dtype (without ``_ref``) and shape, from its attrs: read once per
    index (the variable table and the check after a write both ask for every variable)."""
    seen = _dtype_shapes(index)
    found = seen.get(node)
    if found is None:
        found = seen[node] = _dtype_shape_of(index.node(node))
    dtype, shape = found
    return dtype, None if shape is None else list(shape)


def _dtype_shapes(index: GraphIndex) -> dict[str, tuple[str | None, list[int] | None]]:
    return index.derived("variable-dtype-shape", lambda _: {})


def read_dtype_shapes(index: GraphIndex, nodes: list[str]) -> None:
    """Read the dtype and shape of every one of ``nodes`` (nodes of the graph) for
    :func:`node_dtype_shape`, their nodes decoded in one pass over the file
    (:meth:`GraphIndex.nodes_of`) rather than one by one: 166,000 variables of a 1,000,000-node
    graph read back after its bytes were let go took ~5 s of system calls alone."""
    seen = _dtype_shapes(index)
    todo = [n for n in dict.fromkeys(nodes) if n not in seen]
    if len(todo) < 2:
        return
    memo: dict[int, str] = {}
    for node, node_def in index.nodes_of(todo):
        seen[node] = _dtype_shape_of(node_def, memo)


def _dtype_shape_of(node_def: Any, memo: dict[int, str] | None = None
                    ) -> tuple[str | None, list[int] | None]:
    """A variable NodeDef's dtype and shape (``memo``: dtype enum -> name, for many nodes)."""
    attrs = node_def.attr
    dtype: Any = None
    found = attrs.get("dtype")
    if found is not None:
        if memo is not None and found.WhichOneof("value") == "type":
            enum = found.type
            dtype = memo.get(enum)
            if dtype is None:
                dtype = memo[enum] = decode_attr(found)
        else:
            dtype = decode_attr(found)
    found = attrs.get("shape")
    shape = None if found is None else _declared_shape(node_def.op, found.shape)
    if shape is None and node_def.op not in RESOURCE_OPS:
        found = attrs.get("_output_shapes")
        if found is not None:
            shapes = found.list.shape
            shape = shape_list(shapes[0]) if len(shapes) else None
    if isinstance(dtype, str) and dtype.endswith("_ref"):
        dtype = dtype[:-4]
    return dtype, shape


def _declared_shape(op: str, shape_proto: Any) -> list[int] | None:
    """A variable node's ``shape`` attr as TF's shape function reads it (``shape_list``), but
    for the old ``Variable`` op a rank-0 shape is unknown too: TF 0.x wrote ``shape {}`` for
    "no shape", and TF still reads it so ("old style unknown shape"; ``v.shape`` is unknown
    unless the node's ``_output_shapes`` says more). VariableV2's ``shape {}`` is a scalar."""
    if op == "Variable" and not shape_proto.unknown_rank and not len(shape_proto.dim):
        return None
    return shape_list(shape_proto)


_BATCH = 4096  # VariableDefs whose names are made the graph's strings at once
_REF_FIELDS = ("initializer_name", "initial_value_name", "snapshot_name")


def _node_refs(index: GraphIndex, vdefs: list[Any], field: str) -> list[str | None]:
    """The node (the graph's string) each VariableDef's tensor name ``field`` names, None
    where unset or for no VariableDef: every variable's in one pass (``tensor_node`` and
    ``canonical`` inlined; 500,000 calls each on a 1M-node graph)."""
    out: list[str | None] = []
    for c in range(0, len(vdefs), _BATCH):  # a batch of new strings at a time, not all
        raw = [getattr(v, field) if v is not None else "" for v in vdefs[c : c + _BATCH]]
        found = iter(index.canonical_all(
            [t[1:] if t.startswith("^") else t.partition(":")[0] for t in raw if t]))
        out += [next(found) if t else None for t in raw]
    return out


# (nodes an optimizer's Apply op updates as another variable's state, nodes an EMA update writes)
_Updates = tuple[set[str], set[str]]
_NONE: _Updates = (set(), set())  # a variable the graph does not hold has no consumers


def _role(node: str, colls: list[str], present: set[str], updates: _Updates
          ) -> tuple[str, str | None, str | None]:
    """Role, the variable a slot or shadow belongs to, and the rest of its name."""
    if "global_step" in colls or node == "global_step":
        return "global_step", None, None
    base = None
    head = node
    while "/" in head:  # the longest other variable this name extends
        head = head.rpartition("/")[0]
        if head in present:
            base = head
            break
    applies_other = node in updates[0]
    ema_update = node in updates[1]
    if base is not None:
        rest = node[len(base) + 1:]
        by_name = slot_role(rest, under_variable=True)
        if applies_other or by_name == "slot":
            return "slot", base, rest
        if ema_update or by_name == "ema":
            return "ema", base, rest
        return "model", None, None
    if is_optimizer_state(node) or applies_other:
        return "optimizer", None, None
    return "model", None, None


class VariableTable:
    """The variables of a graph, keyed by variable name (the node name, no ``:0``)."""

    def __init__(self, index: GraphIndex) -> None:
        self.index = index
        self._collections = CollectionTable.of(index)
        self._by_collection: dict[str, list[str]] = {
            key: [] for key in VARIABLE_COLLECTIONS if key in self._collections
        }
        self._vars: dict[str, VariableInfo] = {}
        self._build()

    @classmethod
    def of(cls, index: GraphIndex) -> VariableTable:
        """The table for ``index``, built once and cached on it."""
        return index.derived("variables", cls)

    def _build(self) -> None:
        index = self.index
        defs: dict[str, Any] = {}
        member: dict[str, list[str]] = {}
        by_collection = self._by_collection

        def take(batch: list[tuple[str, str, Any]]) -> None:
            # the graph's strings for a batch of names at once (no copy of each kept)
            canonical = index.canonical_all([node for _, node, _ in batch])
            for (key, _, item), node in zip(batch, canonical, strict=True):
                by_collection.setdefault(key, []).append(node)
                defs.setdefault(node, item)
                member.setdefault(node, []).append(key)

        batch: list[tuple[str, str, Any]] = []
        for entry in _variable_defs(self._collections):
            batch.append(entry)
            if len(batch) == _BATCH:
                take(batch)
                batch = []
        take(batch)
        graph_names = index.names
        nodes = list(defs)
        at = index.positions(nodes)  # one lookup per variable, for its op and order
        unlisted = [n for n in index.nodes_with_op(*VARIABLE_OPS) if n not in defs]
        nodes += unlisted
        at += index.positions(unlisted)
        keys = _saver_keys(index)
        present = set(nodes)
        read_dtype_shapes(index, [n for n, i in zip(nodes, at, strict=True) if i >= 0])
        updates = self._updates()
        ops = index.ops
        found_ops: list[str | None]
        if all(i >= 0 for i in at):  # every variable a node: the graph's natural order
            order_at = index.in_natural_order(list(dict.fromkeys(at)))
            ordered = [graph_names[i] for i in order_at]
            found_ops = [ops[i] for i in order_at]
        else:
            op_at = dict(zip(nodes, (ops[i] if i >= 0 else None for i in at), strict=True))
            ordered = sorted(dict.fromkeys(nodes), key=natural_key)
            found_ops = [op_at[node] for node in ordered]
        del at, nodes
        vdefs = [defs.get(node) for node in ordered]
        refs = zip(*(_node_refs(index, vdefs, field) for field in _REF_FIELDS), strict=True)
        for i, (node, op, vdef, (initializer, initial_value, snapshot)) in enumerate(
                zip(ordered, found_ops, vdefs, refs, strict=True)):
            if not i & 15:
                pace()  # ~0.3 ms of work: a warm-up gives way here (see node_bytes.set_pace)
            self._vars[node] = self._info(node, op, vdef, member.get(node, []), keys, present,
                                          updates, initializer, initial_value, snapshot)

    def _info(self, node: str, found: str | None, vdef: Any, colls: list[str],
              keys: dict[str, str], present: set[str], updates: _Updates,
              initializer: str | None, initial_value: str | None, snapshot: str | None
              ) -> VariableInfo:
        """One variable's row; ``found``: its node's op (None: no such node)."""
        index = self.index
        exists = found is not None
        op = found or ""
        dtype, shape, save_slice = _declared(index, node, vdef, exists)
        resource = bool(vdef.is_resource) if vdef is not None else op in RESOURCE_OPS
        in_saver = node in keys
        key = keys.get(node) or (save_slice.full_name if save_slice else node)
        role, slot_of, slot_name = _role(node, colls, present, updates if exists else _NONE)
        return VariableInfo(
            name=node,
            node=node,
            op=op,
            resource=resource or op in RESOURCE_OPS,
            dtype=dtype,
            shape=shape,
            trainable="trainable_variables" in colls,
            local="local_variables" in colls,
            model="model_variables" in colls,
            moving_average="moving_average_variables" in colls,
            collections=self._collections.keys_of(node),
            role=role,
            slot_of=slot_of,
            slot_name=slot_name,
            initializer=initializer,
            initial_value=initial_value,
            snapshot=snapshot,
            save_slice=save_slice,
            checkpoint_key=key,
            key_from_saver=in_saver,
        )

    def _updates(self) -> _Updates:
        """The nodes optimizer ops update as another variable's state, and the nodes EMA
        updates write, found from those ops' inputs (a handful of nodes) rather than from every
        variable's consumers (which needs the consumer index of the whole graph).

        A node ``v`` counts when an ``*Apply*`` op reads it through a data input other than
        the first, or an ``AssignSub`` through its first, either directly or through one
        pass-through op (Identity, ReadVariableOp, ...) that reads ``v``."""
        index = self.index
        kinds = set(index.ops)
        apply_ops = [op for op in kinds if _APPLY_OP.match(op)]
        ema_ops = [op for op in kinds if op in _EMA_UPDATE_OPS]
        applied: set[str] = set()
        averaged: set[str] = set()
        for ops, into, wanted in ((apply_ops, applied, False), (ema_ops, averaged, True)):
            if not ops:
                continue
            for user in dict.fromkeys(index.nodes_with_op(*ops)):
                for slot, ref in enumerate(index.inputs(user)):
                    if ref.control or (slot == 0) != wanted:
                        continue
                    into.add(ref.node)
                    if op_of(index, ref.node) in _PASS_THROUGH:
                        into.update(r.node for r in index.inputs(ref.node) if not r.control)
        return applied, averaged

    # -- queries ---------------------------------------------------------------------------------

    def variables(self) -> list[VariableInfo]:
        """Every variable, in natural order of name."""
        return list(self._vars.values())

    def __len__(self) -> int:
        return len(self._vars)

    def __contains__(self, name: object) -> bool:
        return name in self._vars

    def get(self, name: str) -> VariableInfo:
        """The variable named ``name`` (``:0`` is accepted)."""
        found = self._vars.get(tensor_node(name))
        if found is None:
            where = self.index.path or "graph"
            raise NotFoundError(f"{where}: no variable named {name!r}")
        return found

    def in_collection(self, key: str) -> list[str]:
        """Variable names listed in a VariableDef collection, in its stored order."""
        return list(self._by_collection.get(key, ()))

    def partitioned_variables(self) -> dict[str, list[VariableInfo]]:
        """Full name -> its partitions sorted by offset, for variables with a SaveSliceInfoDef."""
        groups: dict[str, list[VariableInfo]] = {}
        for var in self._vars.values():
            if var.save_slice is not None:
                groups.setdefault(var.save_slice.full_name, []).append(var)
        for parts in groups.values():
            parts.sort(key=lambda v: v.save_slice.var_offset if v.save_slice else [])
        return dict(sorted(groups.items(), key=lambda kv: natural_key(kv[0])))

    def by_checkpoint_key(self) -> dict[str, list[VariableInfo]]:
        """Checkpoint key -> the variables (partitions) saved under it."""
        out: dict[str, list[VariableInfo]] = {}
        for var in self._vars.values():
            out.setdefault(var.checkpoint_key, []).append(var)
        return out
