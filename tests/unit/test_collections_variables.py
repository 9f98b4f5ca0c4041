"""Collections, variables and the saver against the facts TensorFlow reported for each fixture."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from graphtui._proto import pack_any, pb
from graphtui.core.collections import CollectionTable, RawAny, decode_collection
from graphtui.core.graph import GraphIndex
from graphtui.core.variables import VariableTable, saver_info
from graphtui.errors import NotFoundError
from tests.fixtures.shared import FACTS, meta_cases

ROOT = Path(__file__).resolve().parents[2]
TRAIN = "train/model.ckpt-50.meta"
# meta graph -> the checkpoint its saver wrote (when the names do not say it)
CHECKPOINT_OF = {"train/graph.meta.txt": "train/model.ckpt-50"}
# facts' variable lists -> our VariableDef collection keys
FACT_COLLECTIONS = {
    "global": "variables",
    "trainable": "trainable_variables",
    "local": "local_variables",
    "moving_average": "moving_average_variables",
    "model": "model_variables",
}


def _facts() -> dict[str, Any]:
    if not FACTS:
        pytest.skip("tests/fixtures/facts.json is missing (run tests/fixtures/generate.py)")
    return FACTS


_meta_cases = meta_cases


def _section(section: str) -> dict[str, Any]:
    facts = _facts()
    result: dict[str, Any] = facts if section == "metas" else facts["demo"]
    return result


_INDEXES: dict[Path, GraphIndex] = {}


def _index(section: str, rel: str) -> GraphIndex:
    gen = _facts()["generator"]
    path = ROOT / (gen["data_root"] if section == "metas" else gen["demo_root"]) / rel
    if path not in _INDEXES:
        _INDEXES[path] = GraphIndex.from_file(path)
    return _INDEXES[path]


@pytest.fixture(scope="module")
def train() -> GraphIndex:
    return _index("metas", TRAIN)


# -- per fixture, against TensorFlow ------------------------------------------------------------


@pytest.mark.parametrize(("section", "rel"), _meta_cases())
def test_collection_keys_and_kinds(section: str, rel: str) -> None:
    facts = _section(section)["metas"][rel]
    table = CollectionTable.of(_index(section, rel))
    assert table.kinds() == facts["collections"]
    assert sorted(table.keys()) == sorted(facts["collections"])
    for coll in table:
        assert len(coll) == len(coll.display())


@pytest.mark.parametrize(("section", "rel"), _meta_cases())
def test_variables_per_collection(section: str, rel: str) -> None:
    facts = _section(section)["metas"][rel]
    table = VariableTable.of(_index(section, rel))
    for fact_key, key in FACT_COLLECTIONS.items():
        ours = [name + ":0" for name in table.in_collection(key)]
        assert ours == facts["variables"][fact_key], key
    for tensor, info in facts["variable_info"].items():
        var = table.get(tensor)
        assert var.name + ":0" == tensor
        assert (var.dtype, var.shape, var.op) == (info["dtype"], info["shape"], info["op"])
        assert var.resource == (info["op"] == "VarHandleOp")
    trainable = set(facts["variables"]["trainable"])
    local = set(facts["variables"]["local"])
    for var in table.variables():
        assert var.trainable == (var.name + ":0" in trainable)
        assert var.local == (var.name + ":0" in local)


@pytest.mark.parametrize(("section", "rel"), _meta_cases())
def test_saver_fields_and_keys(section: str, rel: str) -> None:
    part = _section(section)
    facts = part["metas"][rel]
    index = _index(section, rel)
    saver = saver_info(index)
    expected = facts["saver_def"]
    if expected is None:
        assert saver is None or saver.source != "saver_def"
        return
    assert saver is not None and saver.source == "saver_def"
    assert saver.filename_tensor == expected["filename_tensor_name"]
    assert saver.save_tensor == expected["save_tensor_name"]
    assert saver.restore_op == expected["restore_op_name"]
    assert saver.max_to_keep == expected["max_to_keep"]
    assert saver.sharded == expected["sharded"]
    assert saver.keep_checkpoint_every_n_hours == pytest.approx(
        expected["keep_checkpoint_every_n_hours"])
    assert saver.version == expected["version_name"]
    assert saver.save_ops and all(e.variable is not None for e in saver.entries)
    prefix = CHECKPOINT_OF.get(rel, rel.removesuffix(".meta"))
    checkpoint = part["checkpoints"].get(prefix)
    if checkpoint is None:
        return
    ckpt_shapes = {name: shape for name, shape in checkpoint["list_variables"]}
    assert sorted(saver.keys) == sorted(ckpt_shapes)
    table = VariableTable.of(index)
    for var in table.variables():
        if not var.key_from_saver:
            assert var.local, f"{var.name} is global but its key was not found in the save op"
            continue
        full = var.save_slice.full_shape if var.save_slice else var.shape
        assert ckpt_shapes[var.checkpoint_key] == full, var.name


# -- train: collections decoded -----------------------------------------------------------------


def test_plain_collections(train: GraphIndex) -> None:
    table = CollectionTable.of(train)
    strings = table["my_strings"]
    assert strings.kind == "bytes_list" and strings.proto_type is None
    assert strings.items == [b"hello", "wörld".encode(), b"\xff\x00raw"]
    assert strings.display() == ["hello", "wörld", repr(b"\xff\x00raw")]
    assert table["my_ints"].items == [1, -2, 2**40]
    assert table["my_floats"].items == [0.5, -1.25, 3.0]
    tensors = table["my_tensors"]
    assert tensors.kind == "node_list" and "predictions:0" in tensors.items
    assert table["my_ops"].items == ["train_op"]
    with pytest.raises(NotFoundError, match="no collection 'nope'"):
        table["nope"]
    assert table.get("nope") is None and "my_ops" in table


def test_any_list_unpacked(train: GraphIndex) -> None:
    coll = CollectionTable.of(train)["my_any"]
    shape, text = coll.items
    assert shape.DESCRIPTOR.full_name == "tensorflow.TensorShapeProto"
    assert [(d.size, d.name) for d in shape.dim] == [(3, "rows"), (-1, "")]
    assert text.DESCRIPTOR.full_name == "google.protobuf.StringValue"
    assert text.value == "graphtui"
    assert coll.undecoded == 0


def test_unknown_any_stays_raw() -> None:
    coll = pb.CollectionDef()
    coll.any_list.value.append(pack_any(pb.VersionDef(producer=7)))
    odd = coll.any_list.value.add()
    odd.type_url = "type.googleapis.com/acme.Unknown"
    odd.value = b"\x08\x01"
    decoded = decode_collection("mixed", coll)
    assert decoded.items[0].producer == 7
    assert decoded.items[1] == RawAny("type.googleapis.com/acme.Unknown", b"\x08\x01")
    assert decoded.undecoded == 1
    assert decode_collection("empty", pb.CollectionDef()).kind == "empty"


@pytest.mark.parametrize(("section", "rel"), _meta_cases())
def test_lazy_items_are_the_decoded_items(section: str, rel: str) -> None:
    """What the collections pane shows without decoding a whole collection (items(), size(),
    proto_type()) is what decode_collection gives, item by item and by slices."""
    index = _index(section, rel)
    meta = index.meta_graph_header if index.has_meta_graph else pb.MetaGraphDef()
    table = CollectionTable(meta)  # fresh: nothing decoded yet
    for key in table.keys():  # noqa: SIM118
        lazy = table.items(key)
        decoded = decode_collection(key, meta.collection_def[key])
        assert table.size(key) == len(lazy) == len(decoded)
        assert table.proto_type(key) == decoded.proto_type
        assert [lazy[i] for i in range(len(lazy))] == decoded.items
        assert lazy[1:4] == decoded.items[1:4] and list(lazy) == decoded.items
    with pytest.raises(NotFoundError, match="no collection 'nope'"):
        table.items("nope")


def test_lazy_items_keep_undecodable_items_raw() -> None:
    coll = pb.CollectionDef()
    coll.bytes_list.value.extend([pb.VariableDef(variable_name="v").SerializeToString(), b"\xff"])
    meta = pb.MetaGraphDef()
    meta.collection_def["variables"].CopyFrom(coll)
    meta.collection_def["nothing"].CopyFrom(pb.CollectionDef())
    table = CollectionTable(meta)
    lazy = table.items("variables")
    assert lazy[0].variable_name == "v" and lazy[1] == b"\xff"
    assert list(lazy) == decode_collection("variables", coll).items
    assert table["variables"].undecoded == 1
    assert table.items("variables") is table["variables"].items  # decoded once: the list
    assert (table.size("nothing"), table.proto_type("nothing"), len(table.items("nothing"))) == (
        0,
        None,
        0,
    )


def test_control_flow_contexts(train: GraphIndex) -> None:
    table = CollectionTable.of(train)
    conds, whiles = table["cond_context"], table["while_context"]
    assert (len(conds), len(whiles)) == (24, 1)
    assert conds.proto_type == "tensorflow.CondContextDef"
    if conds.undecoded:  # our protos do not hold control_flow.proto: raw bytes, said so
        assert all(isinstance(x, bytes) for x in conds.items)
        assert all(line.startswith("<CondContextDef: ") for line in conds.display())
    else:
        names = [x.context_name for x in conds.items]
        assert "loops/v1_cond/cond_text" in names
        assert whiles.items[0].context_name == "loops/v1_while/while_context"


def test_collections_of(train: GraphIndex) -> None:
    table = CollectionTable.of(train)
    assert table.collections_of("model/layer_1/dense/kernel") == [
        "moving_average_variables", "trainable_variables", "variables"]
    assert table.collections_of("model/layer_1/dense/kernel/Assign") == [
        "moving_average_variables", "trainable_variables", "variables"]
    assert table.collections_of("mean_squared_error/value") == ["losses", "my_tensors"]
    assert table.collections_of("train_op") == ["my_ops", "train_op"]
    assert table.collections_of("global_step") == ["global_step", "variables"]
    assert table.collections_of("predictions/not") == []


# -- train: variables ---------------------------------------------------------------------------


def test_roles(train: GraphIndex) -> None:
    table = VariableTable.of(train)
    roles: dict[str, list[str]] = {}
    for var in table.variables():
        roles.setdefault(var.role, []).append(var.name)
    assert sorted(roles["optimizer"]) == ["beta1_power", "beta2_power"]
    assert roles["global_step"] == ["global_step"]
    assert len(roles["slot"]) == 12 and len(roles["ema"]) == 6
    assert len(roles["model"]) == 9
    slot = table.get("model/layer_2/dense/kernel/Adam_1")  # a resource slot
    assert (slot.role, slot.slot_of, slot.slot_name, slot.resource) == (
        "slot", "model/layer_2/dense/kernel", "Adam_1", True)
    shadow = table.get("model/layer_10/dense/bias/ExponentialMovingAverage")
    assert (shadow.role, shadow.slot_of) == ("ema", "model/layer_10/dense/bias")
    kernel = table.get("model/layer_1/dense/kernel")
    assert kernel.role == "model" and kernel.moving_average and kernel.trainable
    assert kernel.initializer == "model/layer_1/dense/kernel/Assign"
    assert kernel.snapshot == "model/layer_1/dense/kernel/read"
    assert kernel.initial_value == "model/layer_1/dense/kernel/Initializer/random_uniform"
    assert kernel.num_elements == 32 and kernel.checkpoint_key == kernel.name


def test_graph_only_variables_are_found() -> None:
    meta = pb.MetaGraphDef()
    node = meta.graph_def.node.add(name="orphan", op="VariableV2")
    node.attr["dtype"].type = 1
    node.attr["shape"].shape.dim.add().size = 5
    listed = meta.graph_def.node.add(name="listed", op="VarHandleOp")
    listed.attr["dtype"].type = 9
    listed.attr["shape"].shape.SetInParent()
    vdef = pb.VariableDef(variable_name="listed:0", is_resource=True, trainable=True)
    meta.collection_def["variables"].bytes_list.value.append(vdef.SerializeToString())
    table = VariableTable.of(GraphIndex(meta))
    assert [v.name for v in table.variables()] == ["listed", "orphan"]
    orphan = table.get("orphan:0")
    assert not orphan.in_collection and orphan.shape == [5] and orphan.dtype == "float32"
    assert orphan.checkpoint_key == "orphan" and not orphan.key_from_saver
    assert table.get("listed").resource and table.get("listed").dtype == "int64"
    assert saver_info(GraphIndex(meta)) is None
    with pytest.raises(NotFoundError, match="no variable named 'x'"):
        table.get("x")


# -- partitions, shards, V1 ---------------------------------------------------------------------


def test_partitioned_groups() -> None:
    index = _index("metas", "partitioned/model.ckpt.meta")
    table = VariableTable.of(index)
    groups = table.partitioned_variables()
    assert list(groups) == ["embeddings/columns", "embeddings/ids", "embeddings/table",
                            "embeddings/wide"]
    assert [len(p) for p in groups.values()] == [2, 3, 3, 5]
    saver = saver_info(index)
    assert saver is not None
    spec_of = {e.variable: e.slice_spec for e in saver.entries}
    for full_name, parts in groups.items():
        first = parts[0].save_slice
        assert first is not None
        axis = 1 if full_name == "embeddings/columns" else 0
        offset = 0
        for part in parts:
            info = part.save_slice
            assert info is not None and info.full_shape == first.full_shape
            assert info.var_offset[axis] == offset and info.var_shape == part.shape
            offset += info.var_shape[axis]
            assert part.checkpoint_key == full_name and part.key_from_saver
            assert spec_of[part.name] == info.slice_spec
        assert offset == first.full_shape[axis]
    assert math.prod(groups["embeddings/wide"][0].save_slice.full_shape) == 22  # type: ignore[union-attr]
    assert table.by_checkpoint_key()["dense/bias"][0].name == "dense/bias"


def test_sharded_saver() -> None:
    index = _index("metas", "sharded/model.ckpt.meta")
    saver = saver_info(index)
    assert saver is not None and saver.sharded and len(saver.save_ops) == 2
    var_devices: dict[str, set[str]] = {}  # save op -> devices of the variables it saves
    for entry in saver.entries:
        assert entry.variable is not None
        var_devices.setdefault(entry.save_op, set()).add(index.device(entry.variable))
    # one save op per variable device (TF places both save ops themselves on CPU:0)
    assert sorted(d for devs in var_devices.values() for d in devs) == [
        "/device:CPU:0", "/device:CPU:1"]
    assert sorted(saver.keys) == ["global_step", "tower_0/bias", "tower_0/weights",
                                  "tower_1/bias", "tower_1/counter", "tower_1/weights"]


def test_v1_saver() -> None:
    index = _index("metas", "v1/model.ckpt-2.meta")
    saver = saver_info(index)
    assert saver is not None and saver.version == "V1"
    assert [index.op(op) for op in saver.save_ops] == ["SaveSlices"]
    parts = VariableTable.of(index).partitioned_variables()["v1/emb"]
    assert [p.save_slice.var_offset for p in parts] == [[0, 0], [2, 0], [4, 0]]  # type: ignore[union-attr]
