"""Edits of a MetaGraphDef that keep it loadable by ``import_meta_graph``: renaming scopes
everywhere names live, and removing checkpoint entries from the saver's subgraph."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from graphtui._proto import message_class, pack_any, unpack_any
from graphtui.core.collections import PROTO_COLLECTIONS
from graphtui.core.names import ScopeMap, node_of
from graphtui.errors import ConflictError

# TF's node name rule (node_def_util.cc): what import_meta_graph accepts.
VALID_NODE_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
SAVE_OPS = frozenset({"SaveV2", "SaveSlices", "Save"})
RESTORE_OPS = frozenset({"RestoreV2", "RestoreSlice", "Restore"})
_ENTER_OPS = frozenset({"Enter", "RefEnter"})
_TYPE_LIST_ATTR = {"SaveV2": "dtypes", "SaveSlices": "T", "Save": "T", "RestoreV2": "dtypes"}


@dataclass
class RenameReport:
    """What a rename changed (counts) and what it refused (conflicts)."""

    nodes: int = 0
    inputs: int = 0
    collection_items: int = 0
    signature_tensors: int = 0
    saver_fields: int = 0
    checkpoint_keys: int = 0
    frame_names: int = 0  # while-loop Enter nodes' frame_name attrs
    conflicts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "inputs": self.inputs,
            "collection_items": self.collection_items,
            "signature_tensors": self.signature_tensors,
            "saver_fields": self.saver_fields,
            "checkpoint_keys": self.checkpoint_keys,
            "frame_names": self.frame_names,
            "conflicts": self.conflicts,
        }


# -- constants of string lists (the saver's tensor_names) -----------------------------------------


def const_strings(node: Any) -> list[str]:
    from graphtui.formats.tensor_proto import to_numpy

    value = to_numpy(node.attr["value"].tensor)
    return [x.decode("utf-8", "surrogateescape") for x in value.ravel()]


def set_const_strings(node: Any, values: list[str]) -> None:
    tensor = node.attr["value"].tensor
    scalar = len(tensor.tensor_shape.dim) == 0
    tensor.ClearField("string_val")
    tensor.ClearField("tensor_content")
    tensor.string_val.extend(v.encode("utf-8", "surrogateescape") for v in values)
    if not scalar:
        tensor.tensor_shape.ClearField("dim")
        tensor.tensor_shape.dim.add().size = len(values)
    if "_output_shapes" in node.attr and not scalar:
        shapes = node.attr["_output_shapes"].list.shape
        if shapes:
            shapes[0].ClearField("dim")
            shapes[0].dim.add().size = len(values)


def _nodes_by_name(graph_def: Any) -> dict[str, Any]:
    return {node.name: node for node in graph_def.node}


def saver_key_consts(graph_def: Any) -> list[Any]:
    """The Const nodes that hold checkpoint keys: input 1 of every save and restore op."""
    nodes = _nodes_by_name(graph_def)
    seen: dict[str, Any] = {}
    for node in graph_def.node:
        if node.op in SAVE_OPS or node.op in RESTORE_OPS:
            data = [i for i in node.input if not i.startswith("^")]
            if len(data) > 1:
                const = nodes.get(node_of(data[1]))
                if const is not None and const.op == "Const":
                    seen.setdefault(const.name, const)
    return list(seen.values())


# -- collection items that are protos ----------------------------------------------------------------


def proto_items(key: str, coll: Any) -> list[tuple[int, Any]]:
    """``(index, message)`` for the decodable proto items of a bytes_list or any_list."""
    kind = coll.WhichOneof("kind")
    out: list[tuple[int, Any]] = []
    if kind == "any_list":
        for i, item in enumerate(coll.any_list.value):
            try:
                out.append((i, unpack_any(item)))
            except Exception:  # noqa: BLE001 - an Any of a type we do not know stays as is
                continue
    elif kind == "bytes_list" and key in PROTO_COLLECTIONS:
        try:
            cls = message_class(PROTO_COLLECTIONS[key])
        except KeyError:
            return out
        for i, raw in enumerate(coll.bytes_list.value):
            try:
                out.append((i, cls.FromString(raw)))
            except Exception:  # noqa: BLE001 - not the proto TF registers for this key
                continue
    return out


_TF_COLLECTION_TYPES = frozenset(PROTO_COLLECTIONS.values())


def _always(name: str) -> bool:
    return True


def store_item(coll: Any, index: int, msg: Any) -> None:
    if coll.WhichOneof("kind") == "any_list":
        coll.any_list.value[index].CopyFrom(pack_any(msg))
    else:
        coll.bytes_list.value[index] = msg.SerializeToString(deterministic=True)


# -- renaming --------------------------------------------------------------------------------------


def _is_repeated(fd: FieldDescriptor) -> bool:
    flag = getattr(fd, "is_repeated", None)  # protobuf >= 6; `label` is gone in 7
    if flag is not None:
        return bool(flag)
    return bool(fd.label == FieldDescriptor.LABEL_REPEATED)


def _rename_strings_in(msg: Any, fn: Callable[[str], str], known: Callable[[str], bool]) -> int:
    """Rename every string field of ``msg`` (recursively) that names a known node."""
    changed = 0
    for fd, value in msg.ListFields():
        if fd.type == FieldDescriptor.TYPE_STRING:
            if _is_repeated(fd):
                for i, s in enumerate(value):
                    if known(node_of(s)):
                        new = fn(s)
                        if new != s:
                            value[i] = new
                            changed += 1
            elif known(node_of(value)):
                new = fn(value)
                if new != value:
                    setattr(msg, fd.name, new)
                    changed += 1
        elif fd.type == FieldDescriptor.TYPE_MESSAGE:
            if fd.message_type.GetOptions().map_entry:
                items = list(value.items())
                if items and isinstance(items[0][1], str):
                    value.clear()
                    for k, v in items:
                        nk = fn(k) if known(node_of(k)) else k
                        nv = fn(v) if known(node_of(v)) else v
                        changed += (nk != k) + (nv != v)
                        value[nk] = nv
                continue
            subs = value if _is_repeated(fd) else [value]
            for sub in subs:
                changed += _rename_strings_in(sub, fn, known)
    return changed


def rename_graph(
    mg: Any, names: ScopeMap, *, rename_keys: ScopeMap | None, report: RenameReport
) -> None:
    """Rename scopes in place through the whole MetaGraphDef. ``rename_keys`` also renames the
    checkpoint keys listed by the saver (None keeps them: TF's ``import_scope`` behaviour).

    Conflicts (two nodes onto one name, a dangling input) are collected in ``report``; the
    caller refuses to write when there are any.
    """
    graph = mg.graph_def
    old_names = [node.name for node in graph.node]
    known_set = set(old_names)

    def known(n: str) -> bool:
        return n in known_set

    new_names: dict[str, str] = {}
    for old in old_names:
        new = names(old)
        if new in new_names:
            report.conflicts.append(f"{new_names[new]!r} and {old!r} would both become {new!r}")
        new_names[new] = old
    key_consts = {c.name for c in saver_key_consts(graph)}
    for node in graph.node:
        new = names(node.name)
        if new != node.name:
            report.nodes += 1
            node.name = new
        for i, ref in enumerate(node.input):
            new_ref = names.tensor(ref)
            if new_ref != ref:
                node.input[i] = new_ref
                report.inputs += 1
        if "_class" in node.attr:
            lst = node.attr["_class"].list.s
            for i, raw in enumerate(lst):
                text = raw.decode("utf-8", "surrogateescape")
                if text.startswith("loc:@"):
                    lst[i] = names.tensor(text).encode("utf-8", "surrogateescape")
        if node.op in _ENTER_OPS and "frame_name" in node.attr:
            # the while context's name, renamed with it (TF's WhileContext.from_proto
            # rewrites the Enter ops of an imported context the same way)
            frame = node.attr["frame_name"].s.decode("utf-8", "surrogateescape")
            new_frame = names(frame)
            if new_frame != frame:
                node.attr["frame_name"].s = new_frame.encode("utf-8", "surrogateescape")
                report.frame_names += 1
    # names TF would refuse, and inputs naming no node (TF's importer rejects both)
    for old in old_names:
        new = names(old)
        if new != old and not VALID_NODE_NAME.match(new):
            report.conflicts.append(f"{old!r} would become {new!r}, not a valid node name")
    final = {node.name for node in graph.node}
    for node in graph.node:
        for ref in node.input:
            target = node_of(ref)
            if target not in final:
                was = "" if target in known_set else " (no such node in the source either)"
                report.conflicts.append(f"input {ref!r} of {node.name!r} would dangle{was}")
    # collections
    for key in list(mg.collection_def):
        coll = mg.collection_def[key]
        kind = coll.WhichOneof("kind")
        if kind == "node_list":
            for i, ref in enumerate(coll.node_list.value):
                if known(node_of(ref)):
                    new_ref = names.tensor(ref)
                    if new_ref != ref:
                        coll.node_list.value[i] = new_ref
                        report.collection_items += 1
        else:
            for i, msg in proto_items(key, coll):
                # TF's own collection protos hold only graph names (context names included);
                # other messages only have the strings that name a node renamed.
                own = msg.DESCRIPTOR.full_name in _TF_COLLECTION_TYPES
                changed = _rename_strings_in(msg, names.tensor, _always if own else known)
                if msg.DESCRIPTOR.full_name == "tensorflow.VariableDef" and msg.HasField(
                    "save_slice_info_def"
                ):
                    full = msg.save_slice_info_def.full_name
                    new_full = names(full)  # the partitioned variable's name, as TF prefixes it
                    if new_full != full:
                        msg.save_slice_info_def.full_name = new_full
                        changed += 1
                if changed:
                    store_item(coll, i, msg)
                    report.collection_items += 1
    # saver def, signatures, assets
    if mg.HasField("saver_def"):
        sd = mg.saver_def
        for attr in ("filename_tensor_name", "save_tensor_name", "restore_op_name"):
            value = getattr(sd, attr)
            if value and names.tensor(value) != value:
                setattr(sd, attr, names.tensor(value))
                report.saver_fields += 1
    for sig in mg.signature_def.values():
        for infos in (sig.inputs, sig.outputs):
            for info in infos.values():
                report.signature_tensors += _rename_strings_in(info, names.tensor, known)
    for asset in mg.asset_file_def:
        report.signature_tensors += _rename_strings_in(asset.tensor_info, names.tensor, known)
    # checkpoint keys in the saver's constants
    if rename_keys is not None:
        nodes = _nodes_by_name(graph)
        for const_name in key_consts:
            const = nodes[names(const_name)]
            keys = const_strings(const)
            renamed = [rename_keys(k) for k in keys]
            if renamed != keys:
                report.checkpoint_keys += sum(a != b for a, b in zip(keys, renamed, strict=True))
                set_const_strings(const, renamed)


# -- removing checkpoint entries from the saver ----------------------------------------------------


def drop_saver_entries(mg: Any, drop_key: Callable[[str], bool]) -> set[str]:
    """Remove the keys ``drop_key`` selects from every save and restore op (and the restore
    assignments that consumed them). Returns the variable nodes whose restore was removed."""
    graph = mg.graph_def
    nodes = _nodes_by_name(graph)
    removed_nodes: set[str] = set()
    dropped_vars: set[str] = set()
    patched_consts: set[str] = set()
    emptied: list[Any] = []  # save / restore ops left without any key
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for ref in node.input:
            if not ref.startswith("^"):
                consumers.setdefault(node_of(ref), []).append(node)
    for node in list(graph.node):
        if node.op not in SAVE_OPS and node.op not in RESTORE_OPS:
            continue
        data = [i for i in node.input if not i.startswith("^")]
        control = [i for i in node.input if i.startswith("^")]
        if len(data) < 2:
            continue
        names_const = nodes.get(node_of(data[1]))
        if names_const is None or names_const.op != "Const":
            continue
        keys = const_strings(names_const)
        drop = [i for i, k in enumerate(keys) if drop_key(k)]
        if not drop:
            continue
        if node.op in ("RestoreSlice", "Restore"):
            raise ConflictError(
                "cannot strip a V1 per-variable restore op", [f"{node.name} restores {keys[0]!r}"]
            )
        keep = [i for i in range(len(keys)) if i not in set(drop)]
        if not keep:
            emptied.append(node)
        if names_const.name not in patched_consts:
            set_const_strings(names_const, [keys[i] for i in keep])
            patched_consts.add(names_const.name)
        if len(data) > 2 and node.op != "Save":
            specs_const = nodes.get(node_of(data[2]))
            if (
                specs_const is not None
                and specs_const.op == "Const"
                and (specs_const.name not in patched_consts)
            ):
                specs = const_strings(specs_const)
                if len(specs) == len(keys):
                    set_const_strings(specs_const, [specs[i] for i in keep])
                patched_consts.add(specs_const.name)
        type_attr = _TYPE_LIST_ATTR.get(node.op)
        if type_attr and type_attr in node.attr:
            types = list(node.attr[type_attr].list.type)
            if len(types) == len(keys):
                node.attr[type_attr].list.ClearField("type")
                node.attr[type_attr].list.type.extend(types[i] for i in keep)
        if node.op in SAVE_OPS:
            fixed = 2 if node.op == "Save" else 3
            tensors = data[fixed:]
            for i in drop:
                if i < len(tensors):
                    var = _variable_behind(nodes, tensors[i])
                    if var is not None:
                        dropped_vars.add(var)
            new_inputs = data[:fixed] + [t for i, t in enumerate(tensors) if i not in set(drop)]
            del node.input[:]
            node.input.extend(new_inputs + control)
        else:  # RestoreV2: outputs renumbered; the assignments of dropped outputs removed
            remap = {old: new for new, old in enumerate(keep)}
            if "_output_shapes" in node.attr:
                # one shape per output; TF's importer checks consumers against them
                shapes = node.attr["_output_shapes"].list.shape
                if len(shapes) == len(keys):
                    kept_shapes = [type(shapes[i])() for i in keep]
                    for copy, i in zip(kept_shapes, keep, strict=True):
                        copy.CopyFrom(shapes[i])
                    del shapes[:]
                    shapes.extend(kept_shapes)
            for consumer in consumers.get(node.name, []):
                for j, ref in enumerate(consumer.input):
                    if node_of(ref) != node.name or ref.startswith("^"):
                        continue
                    port = int(ref.rpartition(":")[2]) if ":" in ref else 0
                    if port in remap:
                        consumer.input[j] = (
                            f"{node.name}:{remap[port]}" if remap[port] else node.name
                        )
                    else:
                        removed_nodes.add(consumer.name)
    # remove the dead restore chain: every node fed (data) only through a removed node
    frontier = list(removed_nodes)
    while frontier:
        name = frontier.pop()
        for consumer in consumers.get(name, []):
            if consumer.name not in removed_nodes and consumer.op != "NoOp":
                removed_nodes.add(consumer.name)
                frontier.append(consumer.name)
    for name in removed_nodes:
        node = nodes.get(name)
        if node is not None:
            for ref in node.input:
                if not ref.startswith("^") and nodes.get(node_of(ref)) is not None:
                    target = nodes[node_of(ref)]
                    if target.op in ("VariableV2", "Variable", "VarHandleOp"):
                        dropped_vars.add(target.name)
    # a save or restore op cannot have zero tensors: remove it (with its shard, for a sharded
    # saver); an unsharded saver that would save nothing is refused
    for node in emptied:
        if node.op in RESTORE_OPS:
            removed_nodes.add(node.name)
        else:
            removed_nodes |= _remove_shard(graph, nodes, node)
    for name in list(removed_nodes):
        node = nodes.get(name)
        for ref in node.input if node is not None else ():
            const = nodes.get(node_of(ref))
            if (
                const is not None
                and const.op == "Const"
                and const.name in patched_consts
                and all(c.name in removed_nodes for c in consumers.get(const.name, []))
            ):
                removed_nodes.add(const.name)
    keep_nodes = [n for n in graph.node if n.name not in removed_nodes]
    if len(keep_nodes) != len(graph.node):
        for n in keep_nodes:
            refs = [r for r in n.input if node_of(r) not in removed_nodes]
            if len(refs) != len(n.input):
                del n.input[:]
                n.input.extend(refs)
        del graph.node[:]
        graph.node.extend(keep_nodes)
    return dropped_vars


_VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
_READS = frozenset({"Identity", "ReadVariableOp", "Snapshot"})


def _variable_behind(nodes: dict[str, Any], ref: str) -> str | None:
    """The variable node a save op's input reads (through Identity / ReadVariableOp), or
    None when it is not a variable (a custom saveable's tensor)."""
    name = node_of(ref)
    for _ in range(8):
        node = nodes.get(name)
        if node is None:
            return None
        if node.op in _VARIABLE_OPS:
            return name
        data = [r for r in node.input if not r.startswith("^")]
        if node.op not in _READS or not data:
            return None
        name = node_of(data[0])
    return None


def _remove_shard(graph: Any, nodes: dict[str, Any], save: Any) -> set[str]:
    """The nodes of a sharded saver's shard whose save op lost every tensor; the Pack of shard
    file names that feeds MergeV2Checkpoints loses that shard's entry."""
    shard_file = nodes.get(node_of(save.input[0]))
    if shard_file is None or shard_file.op != "ShardedFilename":
        raise ConflictError(
            "refused: the saver would save no tensor at all",
            [f"{save.name} would have no tensors left"],
        )
    removed = {save.name, shard_file.name}
    control = "^" + save.name
    for node in graph.node:
        if node.op == "Identity" and control in node.input:
            removed.add(node.name)  # save/control_dependency_k
    for node in graph.node:
        if node.op != "Pack" or node.name in removed:
            continue
        data = [r for r in node.input if not r.startswith("^")]
        gone = [r for r in data if node_of(r) == shard_file.name]
        if not gone:
            continue
        if len(gone) == len(data):
            raise ConflictError(
                "refused: the saver would save no tensor at all",
                [f"{save.name} would have no tensors left"],
            )
        node.attr["N"].i = len(data) - len(gone)
        shapes = node.attr["_output_shapes"].list.shape if "_output_shapes" in node.attr else []
        if len(shapes) == 1 and len(shapes[0].dim) == 1:
            shapes[0].dim[0].size = len(data) - len(gone)
    for ref in shard_file.input:  # its shard-number constant, unless shared
        const = nodes.get(node_of(ref))
        if (
            const is not None
            and const.op == "Const"
            and const.name.startswith(shard_file.name + "/")
        ):
            removed.add(const.name)
    return removed


def drop_from_collections(mg: Any, variable_nodes: set[str]) -> int:
    """Remove the variables (by node name) from every collection; return items removed."""
    removed = 0
    for key in list(mg.collection_def):
        coll = mg.collection_def[key]
        kind = coll.WhichOneof("kind")
        if kind == "node_list":
            keep = [v for v in coll.node_list.value if node_of(v) not in variable_nodes]
            removed += len(coll.node_list.value) - len(keep)
            del coll.node_list.value[:]
            coll.node_list.value.extend(keep)
        else:
            drop = {
                i
                for i, msg in proto_items(key, coll)
                if msg.DESCRIPTOR.full_name == "tensorflow.VariableDef"
                and node_of(msg.variable_name) in variable_nodes
            }
            if drop:
                removed += len(drop)
                values = getattr(coll, kind).value
                kept = [values[i] for i in range(len(values)) if i not in drop]
                if kind == "any_list":
                    copies = [type(k)() for k in kept]
                    for c, k in zip(copies, kept, strict=True):
                        c.CopyFrom(k)
                    kept = copies
                del values[:]
                values.extend(kept)
    return removed
