"""Build the benchmark inputs with graphtui's own writers (no TensorFlow here).

* ``many``: a V2 checkpoint of ~2,000 float32 variables of mixed sizes (~2 GiB in all);
* ``single``: a V2 checkpoint holding one ~1 GiB float32 tensor;
* ``history``: a training directory of 10,000 small checkpoints listed by its state file;
* ``graph_<n>``: ``.meta`` files of ``n`` nodes (nested scopes, Const / VariableV2 / Assign /
  Identity / MatMul per variable, a saver, variable collections).

Everything is deterministic (fixed seeds), so the stamp file lets ``run.py`` reuse inputs kept
with ``--keep``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np

GiB = 1 << 30
MANY_VARS = 2000
_SLOT_SUFFIXES = ("kernel", "bias", "kernel/Adam", "kernel/Adam_1", "bias/Adam", "bias/Adam_1")


def many_shapes(total_bytes: int, count: int = MANY_VARS) -> list[tuple[str, tuple[int, ...]]]:
    """``count`` names and float32 shapes adding up to about ``total_bytes``: log-uniform sizes
    from a few floats to millions, as in a real model (biases, kernels, embeddings, slots)."""
    rng = np.random.default_rng(1234)
    sizes = np.exp(rng.uniform(math.log(8), math.log(8 << 20), size=count))
    sizes *= (total_bytes / 4) / sizes.sum()
    out = []
    for i, raw in enumerate(sizes):
        n = max(1, int(raw))
        if n < 4096:
            shape: tuple[int, ...] = (n,)
        else:
            cols = 1 << min(12, max(6, int(math.log2(n) // 2)))
            shape = (max(1, n // cols), cols)
        block, slot = divmod(i, len(_SLOT_SUFFIXES))
        stage = block // 50
        name = f"model/stage_{stage}/block_{block % 50:02d}/dense/{_SLOT_SUFFIXES[slot]}"
        out.append((name, shape))
    return out


def write_checkpoint(prefix: str, tensors: Iterator[tuple[str, np.ndarray]]) -> None:
    """One V2 checkpoint through graphtui's BundleWriter and FileTransaction."""
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, value in tensors:
            writer.add(name, value)
        writer.finish()


def _random(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.random(math.prod(shape), dtype=np.float32).reshape(shape)


def build_many(prefix: str, total_bytes: int) -> None:
    rng = np.random.default_rng(7)
    shapes = many_shapes(total_bytes)
    write_checkpoint(prefix, ((name, _random(rng, shape)) for name, shape in shapes))


def build_single(prefix: str, total_bytes: int) -> None:
    side = int(math.isqrt(total_bytes // 4))
    rng = np.random.default_rng(11)
    value = np.empty((side, side), dtype=np.float32)
    for row in range(0, side, 1024):  # fill in slabs: one big array, no temporary copy
        value[row : row + 1024] = rng.random((min(1024, side - row), side), dtype=np.float32)
    write_checkpoint(prefix, iter([("embedding/weights", value)]))


def build_history(directory: str, count: int) -> None:
    """A training directory of ``count`` small V2 checkpoints (``model.ckpt-<step>``, each with
    its index, one data shard and a ``.meta``) and a state file listing them all with their
    timestamps, as a long run with ``max_to_keep=None`` leaves it."""
    import shutil

    from graphtui.formats.atomic import atomic_write
    from graphtui.formats.state_file import format_state, make_state

    first = os.path.join(directory, "model.ckpt-0")
    write_checkpoint(first, iter([("w", np.arange(4, dtype=np.float32))]))
    with open(first + ".meta", "wb") as fh:
        fh.write(b"")
    names = [f"model.ckpt-{step}" for step in range(count)]
    for name in names[1:]:
        for suffix in (".index", ".data-00000-of-00001", ".meta"):
            shutil.copyfile(first + suffix, os.path.join(directory, name + suffix))
    state = make_state(names[-1], names, [1.7e9 + i for i in range(count)])
    atomic_write(os.path.join(directory, "checkpoint"), format_state(state).encode())


# -- meta graphs ---------------------------------------------------------------------------------


def _attr_type(node: object, key: str, enum: int) -> None:
    node.attr[key].type = enum  # type: ignore[attr-defined]


def _loc(node: object, target: str) -> None:
    node.attr["_class"].list.s.append(f"loc:@{target}".encode())  # type: ignore[attr-defined]


def build_graph(path: str, num_nodes: int) -> int:
    """A MetaGraphDef of exactly ``num_nodes`` nodes written with export_meta_graph."""
    from graphtui._proto import pb
    from graphtui.core.metagraph import export_meta_graph

    float_t = pb.DataType.Value("DT_FLOAT")
    string_t = pb.DataType.Value("DT_STRING")
    saver_fixed = 11
    per_var = 6  # Const, VariableV2, Assign, Identity, MatMul + save/Assign_k
    num_vars = (num_nodes - saver_fixed - 1) // per_var
    mg = pb.MetaGraphDef()
    mg.meta_info_def.tensorflow_version = "1.15.5"
    mg.meta_info_def.tensorflow_git_version = "bench"
    graph = mg.graph_def
    graph.versions.producer = 134
    nodes = graph.node

    x = nodes.add(name="input", op="Placeholder")
    _attr_type(x, "dtype", float_t)
    x.attr["shape"].shape.dim.add(size=-1)
    x.attr["shape"].shape.dim.add(size=64)
    var_names: list[str] = []
    prev = "input"
    for v in range(num_vars):
        stage, rest = divmod(v, 2000)
        block, layer = divmod(rest, 8)
        scope = f"model/stage_{stage}/block_{block:03d}/layer_{layer}/dense"
        var = f"{scope}/kernel"
        var_names.append(var)
        init = nodes.add(name=f"{var}/Initializer/zeros", op="Const")
        _attr_type(init, "dtype", float_t)
        tensor = init.attr["value"].tensor
        tensor.dtype = float_t
        tensor.tensor_shape.dim.add(size=64)
        tensor.tensor_shape.dim.add(size=64)
        tensor.float_val.append(0.0)
        _loc(init, var)
        vnode = nodes.add(name=var, op="VariableV2", device="/device:CPU:0")
        _attr_type(vnode, "dtype", float_t)
        vnode.attr["shape"].shape.dim.add(size=64)
        vnode.attr["shape"].shape.dim.add(size=64)
        vnode.attr["container"].s = b""
        vnode.attr["shared_name"].s = b""
        assign = nodes.add(name=f"{var}/Assign", op="Assign", input=[var, init.name])
        _attr_type(assign, "T", float_t)
        assign.attr["use_locking"].b = True
        assign.attr["validate_shape"].b = True
        _loc(assign, var)
        read = nodes.add(name=f"{var}/read", op="Identity", input=[var])
        _attr_type(read, "T", float_t)
        _loc(read, var)
        mm = nodes.add(name=f"{scope}/MatMul", op="MatMul", input=[prev, read.name])
        _attr_type(mm, "T", float_t)
        mm.attr["transpose_a"].b = False
        mm.attr["transpose_b"].b = False
        prev = mm.name

    def const_strings(name: str, values: list[bytes]) -> None:
        node = nodes.add(name=name, op="Const", device="/device:CPU:0")
        _attr_type(node, "dtype", string_t)
        t = node.attr["value"].tensor
        t.dtype = string_t
        t.tensor_shape.dim.add(size=len(values))
        t.string_val.extend(values)

    keys = [n.encode() for n in var_names]
    const_strings("save/filename/input", [b"model"])
    fname = nodes.add(
        name="save/filename", op="PlaceholderWithDefault", input=["save/filename/input"]
    )
    _attr_type(fname, "dtype", string_t)
    fname.attr["shape"].shape.SetInParent()
    nodes.add(name="save/Const", op="PlaceholderWithDefault", input=["save/filename"])
    const_strings("save/SaveV2/tensor_names", keys)
    const_strings("save/SaveV2/shape_and_slices", [b""] * len(keys))
    save = nodes.add(
        name="save/SaveV2",
        op="SaveV2",
        input=[
            "save/Const",
            "save/SaveV2/tensor_names",
            "save/SaveV2/shape_and_slices",
            *var_names,
        ],
    )
    save.attr["dtypes"].list.type.extend([float_t] * len(keys))
    nodes.add(name="save/control_dependency", op="Identity", input=["save/Const", "^save/SaveV2"])
    const_strings("save/RestoreV2/tensor_names", keys)
    const_strings("save/RestoreV2/shape_and_slices", [b""] * len(keys))
    restore = nodes.add(
        name="save/RestoreV2",
        op="RestoreV2",
        input=["save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"],
    )
    restore.attr["dtypes"].list.type.extend([float_t] * len(keys))
    assigns = []
    for k, var in enumerate(var_names):
        name = f"save/Assign_{k}" if k else "save/Assign"
        a = nodes.add(name=name, op="Assign", input=[var, f"save/RestoreV2:{k}"])
        _attr_type(a, "T", float_t)
        _loc(a, var)
        assigns.append("^" + name)
    nodes.add(name="save/restore_all", op="NoOp", input=assigns)
    while len(nodes) < num_nodes:
        pad = nodes.add(name=f"summaries/identity_{len(nodes)}", op="Identity", input=[prev])
        _attr_type(pad, "T", float_t)

    mg.saver_def.filename_tensor_name = "save/Const:0"
    mg.saver_def.save_tensor_name = "save/control_dependency:0"
    mg.saver_def.restore_op_name = "save/restore_all"
    mg.saver_def.max_to_keep = 5
    mg.saver_def.keep_checkpoint_every_n_hours = 10000.0
    mg.saver_def.version = pb.SaverDef.CheckpointFormatVersion.Value("V2")
    for collection in ("variables", "trainable_variables"):
        items = mg.collection_def[collection].bytes_list.value
        for var in var_names:
            vdef = pb.VariableDef(
                variable_name=var + ":0",
                initializer_name=var + "/Assign",
                snapshot_name=var + "/read:0",
                initial_value_name=var + "/Initializer/zeros:0",
                trainable=True,
            )
            items.append(vdef.SerializeToString(deterministic=True))
    mg.collection_def["train_op"].node_list.value.append(prev)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    export_meta_graph(mg, path)
    return len(nodes)
