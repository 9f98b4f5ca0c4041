"""Freeze without TensorFlow, on the committed real-TF fixtures: what is kept, what becomes a
constant, what is refused, and that refusals and previews write nothing. TensorFlow judges the
results in tests/interop/test_freeze_vs_tf.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.cli import main as cli_main
from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.freeze import FreezeRequest, apply_freeze, plan_freeze
from graphtui.core.metagraph import read_meta_graph
from graphtui.errors import ConflictError, CoreError
from graphtui.formats import dtypes
from graphtui.formats.tensor_proto import make_tensor_proto, to_numpy

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
TRAIN = DATA / "train" / "model.ckpt-50"
PARTITIONED = DATA / "partitioned" / "model.ckpt"
SAVED_MODEL_V1 = DATA / "saved_model_v1"
TRAINING_OPS = {"ApplyAdam", "ResourceApplyAdam", "SaveV2", "RestoreV2", "Assign",
                "AssignVariableOp", "ScalarSummary", "MergeSummary"}  # fmt: skip


def digest(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def read_graph_def(path: Path) -> object:
    graph = pb.GraphDef()
    graph.ParseFromString(path.read_bytes())
    return graph


def test_plan_keeps_what_the_outputs_need_and_freezes_their_variables() -> None:
    plan = plan_freeze(FreezeRequest(str(TRAIN), ("predictions",)))
    assert plan.ok and plan.outputs == ["predictions"]
    assert plan.nodes_before > 500 and plan.nodes_after < 30
    names = sorted(v.node for v in plan.variables)
    assert names == sorted(
        f"model/layer_{i}/dense/{w}" for i in (1, 2, 10) for w in ("kernel", "bias")
    )
    # layer_2's kernel is a resource variable (VarHandleOp), the rest are VariableV2
    ops = {v.node: v.op for v in plan.variables}
    assert ops["model/layer_2/dense/kernel"] == "VarHandleOp"
    assert ops["model/layer_1/dense/kernel"] == "VariableV2"
    assert (
        plan.const_bytes
        == sum(v.nbytes for v in plan.variables)
        == (4 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3) * 4
    )
    assert plan.inputs == ["inputs"]
    node_ops = {n.op for n in plan.graph_def.node}
    assert not node_ops & TRAINING_OPS and "VariableV2" not in node_ops
    assert plan.functions_kept == [] and plan.functions_dropped > 0


def test_apply_writes_constants_equal_to_the_checkpoint(tmp_path: Path) -> None:
    before = digest(TRAIN.parent)
    out = tmp_path / "frozen.pb"
    plan = plan_freeze(FreezeRequest(str(TRAIN), ("predictions", "energy"), str(out)))
    result = apply_freeze(plan)
    assert result.path == str(out) and result.variables == 6
    graph = read_graph_def(out)
    consts = {n.name: n for n in graph.node if n.op == "Const"}
    with CheckpointReader(TRAIN) as reader:
        for var in plan.variables:
            value = to_numpy(consts[var.node].attr["value"].tensor)
            assert value.tobytes() == reader.get_tensor(var.key).tobytes()
            assert consts[var.node].attr["dtype"].type == dtypes.from_name("float32").enum
    # the resource read became an Identity of the constant
    reads = [
        n
        for n in graph.node
        if n.op == "Identity" and n.input[:1] == ["model/layer_2/dense/kernel"]
    ]
    assert reads and reads[0].attr["T"].type == dtypes.from_name("float32").enum
    # energy calls a tf.function: it stays in the library, nothing else does
    assert [f.signature.name for f in graph.library.function] == plan.functions_kept != []
    assert all(not n.device for n in graph.node)
    assert digest(TRAIN.parent) == before


def test_partitioned_variables_freeze_per_partition(tmp_path: Path) -> None:
    meta = read_meta_graph(f"{PARTITIONED}.meta")
    outputs = tuple(
        n.name
        for n in meta.graph_def.node
        if n.name.startswith("embeddings/") and n.op == "Identity"
    )
    plan = plan_freeze(FreezeRequest(str(PARTITIONED), outputs, str(tmp_path / "f.pb")))
    parts = [v for v in plan.variables if v.extents is not None]
    assert parts, plan.variables
    apply_freeze(plan)
    graph = read_graph_def(tmp_path / "f.pb")
    consts = {n.name: n for n in graph.node}
    with CheckpointReader(PARTITIONED) as reader:
        for var in parts:
            whole = reader.get_tensor(var.key)
            index = tuple(slice(s, s + n) for s, n in var.extents or ())
            value = to_numpy(consts[var.node].attr["value"].tensor)
            assert value.shape == var.shape
            assert value.tobytes() == np.ascontiguousarray(whole[index]).tobytes()


def test_saved_model_signature_outputs_are_the_default(tmp_path: Path) -> None:
    plan = plan_freeze(FreezeRequest(str(SAVED_MODEL_V1)))
    assert plan.ok and plan.outputs and plan.variables
    with pytest.raises(CoreError, match="no signature 'nope'"):
        plan_freeze(FreezeRequest(str(SAVED_MODEL_V1), signature="nope"))
    with pytest.raises(CoreError, match="no meta graph with tag-set 'train'"):
        plan_freeze(FreezeRequest(str(SAVED_MODEL_V1), tag_set="train"))


def test_refusals_name_the_problem_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "f.pb"
    plan = plan_freeze(FreezeRequest(str(TRAIN), ("predictions", "no_such_node"), str(out)))
    assert plan.problems == ["output 'no_such_node' is not a node of the graph"]
    with pytest.raises(ConflictError, match="no_such_node"):
        apply_freeze(plan)
    # the training op writes variables: a frozen graph cannot run it
    plan = plan_freeze(FreezeRequest(str(TRAIN), ("train_op",), str(out)))
    assert any("writes, checks or gathers from variable" in p for p in plan.problems)
    with pytest.raises(ConflictError):
        apply_freeze(plan)
    assert not list(tmp_path.iterdir())
    with pytest.raises(CoreError, match="say which outputs"):
        plan_freeze(FreezeRequest(str(TRAIN)))
    out.write_bytes(b"keep me")
    with pytest.raises(ConflictError, match="output file exists"):
        apply_freeze(plan_freeze(FreezeRequest(str(TRAIN), ("predictions",), str(out))))
    assert out.read_bytes() == b"keep me"


def test_cli_dry_run_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["freeze", str(TRAIN), "--outputs", "predictions", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "6 variables frozen" in text and "inputs to feed: inputs" in text
    assert not list(tmp_path.iterdir())
    out = tmp_path / "f.pbtxt"
    assert cli_main(["freeze", str(TRAIN), "--outputs", "predictions:0", "--out", str(out),
                     "--as-text", "--keep-devices", "--json"]) == 0  # fmt: skip
    assert '"verified": true' in capsys.readouterr().out
    assert out.read_text().startswith("node {")
    for argv, message in [
        (["--outputs", "x", "--out", str(tmp_path / "a.pb")], "'x' is not a node"),
        (["--outputs", "predictions"], "needs --out"),
        (["--outputs", "predictions", "--out", str(tmp_path / "no" / "a.pb")], "no such directory"),
        (["--signature", "s", "--outputs", "predictions", "--dry-run"], "need a SavedModel"),
    ]:
        assert cli_main(["freeze", str(TRAIN), *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith("graphtui: error: ") and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("dtype", "values", "field"),
    [
        ("float32", [1.5], "float_val"),
        ("float32", [1.5, 2.5], "tensor_content"),
        ("int64", [7], "int64_val"),
        ("bool", [True, False], "bool_val"),
        ("bfloat16", [1.0], "half_val"),
        ("bfloat16", [1.0, 2.0], "tensor_content"),
        ("float8_e4m3fn", [1.0], "float8_val"),
        ("complex64", [1 + 2j], "scomplex_val"),
        ("string", [b"a", b"bc"], "string_val"),
    ],
)
def test_make_tensor_proto_layout_follows_tensorflow(dtype: str, values: list, field: str) -> None:
    dt = dtypes.from_name(dtype)
    arr = np.array(values, dtype=object if dtype == "string" else dt.numpy)
    proto = make_tensor_proto(arr, dt, pb.TensorProto())
    assert proto.HasField("tensor_shape")
    assert [f.name for f, _ in proto.ListFields() if f.name not in ("dtype", "tensor_shape")] == [
        field
    ]
    back = to_numpy(proto)
    assert back.shape == arr.shape and list(back.ravel()) == list(arr.ravel())


def test_tf2_saved_model_variables_are_followed_into_functions(tmp_path: Path) -> None:
    """Keys come from the object graph; the signature's functions are copied and renamed."""
    source = DATA / "tf2" / "saved_model"
    plan = plan_freeze(FreezeRequest(str(source), out=str(tmp_path / "f.pb")))
    assert plan.ok, plan.problems
    assert {v.node: v.key for v in plan.variables} == {
        "scale": "scale/.ATTRIBUTES/VARIABLE_VALUE",
        "offset": "offset/.ATTRIBUTES/VARIABLE_VALUE",
    }
    apply_freeze(plan)
    graph = read_graph_def(tmp_path / "f.pb")
    call = next(n for n in graph.node if n.op == "StatefulPartitionedCall")
    assert "_frozen_" in call.attr["f"].func.name
    assert list(call.attr["Tin"].list.type) == [dtypes.from_name("float32").enum] * 3
    names = {f.signature.name for f in graph.library.function}
    assert call.attr["f"].func.name in names
    for fdef in graph.library.function:
        assert not [n for n in fdef.node_def if n.op in ("ReadVariableOp", "VarHandleOp")]
