"""Rewrite a V1 (or legacy) saver subgraph into the V2 one TensorFlow writes today.

graphtui writes V2 checkpoints only. A graph whose SaverDef says V1 keeps saving V1 files
(``SaveSlices``), ``RestoreSlice`` cannot read a V2 bundle, and a sharded V1 saver would write
one unmerged bundle per shard. So before a graph is written next to a V2 checkpoint its saver is
rewritten node for node into what ``tf.compat.v1.train.Saver(write_version=V2)`` builds:
``SaveV2`` / ``RestoreV2`` with 1-D name and slice constants, and for a sharded saver the
``StringJoin`` temp prefix, ``Pack`` of shard prefixes and ``MergeV2Checkpoints``. Node names the
SaverDef points at are kept, so ``filename_tensor_name`` / ``save_tensor_name`` /
``restore_op_name`` stay valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from graphtui.core.names import node_of
from graphtui.errors import ConflictError

if TYPE_CHECKING:
    from graphtui.core.graph import GraphIndex

V1_SAVE_OPS = frozenset({"SaveSlices", "Save"})
V1_RESTORE_OPS = frozenset({"RestoreSlice", "Restore"})
_V2 = 2
_DT_STRING = 7


def _set_versions(mg: Any) -> list[str]:
    """Set V2 on the SaverDef field and on every SaverDef of the ``savers`` collection."""
    from graphtui.core.graph_edit import proto_items, store_item

    notes = []
    if mg.HasField("saver_def") and mg.saver_def.version != _V2:
        notes.append(f"SaverDef version {mg.saver_def.version} -> V2")
        mg.saver_def.version = _V2
    if "savers" in mg.collection_def:
        coll = mg.collection_def["savers"]
        for i, msg in proto_items("savers", coll):
            if msg.DESCRIPTOR.full_name == "tensorflow.SaverDef" and msg.version != _V2:
                msg.version = _V2
                store_item(coll, i, msg)
                notes.append("savers collection: SaverDef -> V2")
    return notes


def needs_upgrade(mg: Any, index: GraphIndex | None = None) -> bool:
    """Whether the graph's saver would not save or restore a V2 checkpoint as TF does.
    ``index``: a GraphIndex of ``mg`` (its op list is read instead of every node)."""
    if mg.HasField("saver_def") and mg.saver_def.version != _V2:
        return True
    scope = _saver_scope(mg, index)
    if scope is None:
        return False
    return any(
        op in V1_SAVE_OPS or op in V1_RESTORE_OPS or op == "ShardedFilespec"
        for name, op in _names_ops(mg, index)
        if _in_scope(name, scope)
    )


def _names_ops(mg: Any, index: GraphIndex | None) -> Iterator[tuple[str, str]]:
    """(name, op) of every node, from ``index`` when given (no node message touched)."""
    if index is not None:
        return zip(index.names, index.ops, strict=True)
    return ((n.name, n.op) for n in mg.graph_def.node)


def _saver_scope(mg: Any, index: GraphIndex | None = None) -> str | None:
    if mg.HasField("saver_def"):
        sd = mg.saver_def
        ref = sd.filename_tensor_name or sd.save_tensor_name or sd.restore_op_name
        return node_of(ref).rpartition("/")[0]
    for name, op in _names_ops(mg, index):
        if op in V1_SAVE_OPS or op == "SaveV2":
            return name.rpartition("/")[0]
    return None


def _in_scope(name: str, scope: str) -> bool:
    return not scope or name.startswith(scope + "/")


class _Names:
    """Unique node names, TF style (``x``, ``x_1``, ...)."""

    def __init__(self, mg: Any) -> None:
        self.taken = {n.name for n in mg.graph_def.node}

    def __call__(self, base: str) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name


def _shapes_attr(node: Any, dims: list[list[int]]) -> None:
    lst = node.attr["_output_shapes"].list
    lst.ClearField("shape")
    for shape in dims:
        proto = lst.shape.add()
        for d in shape:
            proto.dim.add().size = d


def _string_const(graph: Any, name: str, values: list[bytes], device: str, shapes: bool) -> Any:
    node = graph.node.add(name=name, op="Const", device=device)
    node.attr["dtype"].type = _DT_STRING
    tensor = node.attr["value"].tensor
    tensor.dtype = _DT_STRING
    tensor.tensor_shape.dim.add().size = len(values)
    tensor.string_val.extend(values)
    if shapes:
        _shapes_attr(node, [[len(values)]])
    return node


def _as_vector_const(
    graph: Any,
    nodes: dict[str, Any],
    ref: str,
    owner: Any,
    new_name: Any,
    consumers: dict[str, int],
    shapes: bool,
) -> str:
    """A 1-D string constant with the values of the scalar constant ``ref`` (changed in place
    when ``owner`` is its only reader, else copied)."""
    const = nodes.get(node_of(ref))
    if const is None or const.op != "Const":
        raise ValueError(f"{owner.name}: input {ref!r} is not a constant")
    tensor = const.attr["value"].tensor
    if len(tensor.tensor_shape.dim) == 1:
        return ref
    values = list(tensor.string_val)
    if consumers.get(const.name, 0) <= 1:
        tensor.tensor_shape.ClearField("dim")
        tensor.tensor_shape.dim.add().size = len(values)
        if shapes or "_output_shapes" in const.attr:
            _shapes_attr(const, [[len(values)]])
        return const.name
    copy = _string_const(graph, new_name(const.name + "_v2"), values, const.device, shapes)
    return copy.name


def upgrade_saver(mg: Any) -> list[str]:
    """Rewrite ``mg``'s saver (in place) into TF's V2 saver; return what changed, one line each.

    Raises ValueError when the saver is not built the way TF builds one (nothing is changed
    then only if the caller works on a copy; callers do)."""
    if not needs_upgrade(mg):
        return []
    scope = _saver_scope(mg)
    assert scope is not None
    graph = mg.graph_def
    shapes = any("_output_shapes" in n.attr for n in graph.node)
    nodes = {n.name: n for n in graph.node}
    consumers: dict[str, int] = {}
    for n in graph.node:
        for ref in n.input:
            if not ref.startswith("^"):
                consumers[node_of(ref)] = consumers.get(node_of(ref), 0) + 1
    new_name = _Names(mg)
    notes: list[str] = []
    for node in list(graph.node):
        if not _in_scope(node.name, scope):
            continue
        if node.op == "SaveSlices":
            node.op = "SaveV2"
            node.attr["dtypes"].CopyFrom(node.attr["T"])
            del node.attr["T"]
            notes.append(f"{node.name}: SaveSlices -> SaveV2")
        elif node.op == "Save":
            data = [r for r in node.input if not r.startswith("^")]
            control = [r for r in node.input if r.startswith("^")]
            n = len(data) - 2
            specs = _string_const(
                graph, new_name(node.name + "/shape_and_slices"), [b""] * n, node.device, shapes
            )
            del node.input[:]
            node.input.extend([data[0], data[1], specs.name, *data[2:], *control])
            node.op = "SaveV2"
            node.attr["dtypes"].CopyFrom(node.attr["T"])
            del node.attr["T"]
            notes.append(f"{node.name}: Save -> SaveV2")
        elif node.op in V1_RESTORE_OPS:
            data = [r for r in node.input if not r.startswith("^")]
            control = [r for r in node.input if r.startswith("^")]
            names_ref = _as_vector_const(graph, nodes, data[1], node, new_name, consumers, shapes)
            if node.op == "RestoreSlice":
                specs_ref = _as_vector_const(
                    graph, nodes, data[2], node, new_name, consumers, shapes
                )
            else:
                specs_ref = _string_const(
                    graph, new_name(node.name + "/shape_and_slices"), [b""], node.device, shapes
                ).name
            dt = node.attr["dt"].type
            was = node.op
            node.op = "RestoreV2"
            del node.input[:]
            node.input.extend([data[0], names_ref, specs_ref, *control])
            for attr in ("dt", "preferred_shard"):
                if attr in node.attr:
                    del node.attr[attr]
            node.attr["dtypes"].list.type.append(dt)
            notes.append(f"{node.name}: {was} -> RestoreV2")
    for node in list(graph.node):
        if _in_scope(node.name, scope) and node.op == "ShardedFilespec":
            notes.extend(_merge_shards(mg, node, nodes, new_name, shapes))
    notes.extend(_set_versions(mg))
    return notes


def _merge_shards(
    mg: Any, spec: Any, nodes: dict[str, Any], new_name: Any, shapes: bool
) -> list[str]:
    """V1 sharded save (``ShardedFilename`` per shard, ``ShardedFilespec`` as the save tensor)
    -> V2: shards are written under ``PREFIX_temp/part`` and merged into ``PREFIX``."""
    graph = mg.graph_def
    data = [r for r in spec.input if not r.startswith("^")]
    control = [r for r in spec.input if r.startswith("^")]
    prefix = data[0]
    scope = spec.name.rpartition("/")[0]
    join_base = f"{scope}/StringJoin" if scope else "StringJoin"
    suffix = graph.node.add(name=new_name(join_base + "/inputs_1"), op="Const")
    suffix.attr["dtype"].type = _DT_STRING
    suffix.attr["value"].tensor.dtype = _DT_STRING
    suffix.attr["value"].tensor.string_val.append(b"_temp/part")
    join = graph.node.add(name=new_name(join_base), op="StringJoin")
    join.input.extend([prefix, suffix.name])
    join.attr["N"].i = 2
    join.attr["separator"].s = b""
    if shapes:
        _shapes_attr(suffix, [[]])
        _shapes_attr(join, [[]])
    shard_files: list[str] = []
    for ref in control:
        dep = nodes.get(ref[1:])
        dep_data = [r for r in dep.input if not r.startswith("^")] if dep is not None else []
        filename = nodes.get(node_of(dep_data[0])) if dep_data else None
        if filename is None or filename.op != "ShardedFilename":
            raise ValueError(f"{spec.name}: {ref[1:]!r} is not a shard of a V1 sharded saver")
        filename.input[0] = join.name
        shard_files.append(filename.name)
    device = nodes[shard_files[-1]].device if shard_files else ""
    merge_base = f"{scope}/MergeV2Checkpoints" if scope else "MergeV2Checkpoints"
    merge_name = new_name(merge_base)
    pack = graph.node.add(
        name=new_name(merge_name + "/checkpoint_prefixes"), op="Pack", device=device
    )
    pack.input.extend([*shard_files, *control])
    pack.attr["N"].i = len(shard_files)
    pack.attr["T"].type = _DT_STRING
    pack.attr["axis"].i = 0
    merge = graph.node.add(name=merge_name, op="MergeV2Checkpoints", device=device)
    merge.input.extend([pack.name, prefix])
    merge.attr["delete_old_dirs"].b = True
    if shapes:
        _shapes_attr(pack, [[len(shard_files)]])
        _shapes_attr(merge, [])
    spec.op = "Identity"
    del spec.input[:]
    spec.input.extend([prefix, *control, "^" + merge.name])
    spec.attr.clear()
    spec.attr["T"].type = _DT_STRING
    if shapes:
        _shapes_attr(spec, [[]])
    spec.device = device
    return [f"{spec.name}: ShardedFilespec -> MergeV2Checkpoints of {len(shard_files)} shards"]


def with_v2_saver(mg: Any, index: GraphIndex | None = None) -> tuple[Any, list[str]]:
    """``mg`` itself when its saver already fits a V2 checkpoint, else an upgraded copy and
    what changed; ConflictError when the saver is not built the way TF builds one.
    ``index``: see :func:`needs_upgrade`."""
    if not needs_upgrade(mg, index):
        return mg, []
    upgraded = type(mg)()
    upgraded.CopyFrom(mg)
    try:
        notes = upgrade_saver(upgraded)
    except ValueError as exc:
        raise ConflictError(
            "refused: the graph's V1 saver cannot be rewritten for a V2 checkpoint", [str(exc)]
        ) from None
    return upgraded, notes
