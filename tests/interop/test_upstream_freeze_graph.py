"""TensorFlow's ``tensorflow/python/tools/freeze_graph_test.py``, translated.

Each test names the upstream test it comes from. The graphs, checkpoints and SavedModels are
built as upstream builds them; TensorFlow's own ``freeze_graph`` tool freezes them (its answer),
``graphtui freeze`` freezes them without TensorFlow, and then:

- both frozen GraphDefs have upstream's node count and no variable op;
- with ``--keep-devices`` (freeze_graph's ``clear_devices=False``) graphtui's NodeDefs equal
  freeze_graph's byte for byte, in the same order;
- both import into TF and compute upstream's expected output.

testSinglePartitionedVariable: freeze_graph refuses (ValueError) to freeze ``save/restore_all``
of a graph with a partitioned variable; graphtui refuses that output too (it writes the
variables), in one line with nothing written, and freezes the graph's real output, which
freeze_graph cannot, equal to TF's ``convert_variables_to_constants`` in a session.

Also saved_model_cli_test.py testFreezeModel (``saved_model_cli freeze_model`` of a TF2
signature), judged by running both frozen graphs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main as cli_main

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

from tensorflow.core.protobuf import saver_pb2  # noqa: E402
from tensorflow.python.tools import freeze_graph  # noqa: E402

VARIABLE_OPS = {"VariableV2", "Variable", "VarHandleOp"}


def _graph_def(path: Path) -> Any:
    graph_def = tf1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    return graph_def


def _run(graph_def: Any, output: str, feeds: dict[str, Any] | None = None) -> Any:
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        with tf1.Session(graph=graph) as sess:
            return sess.run(output, feed_dict=feeds)


def _freeze(src: Path | str, out: Path, outputs: str, *extra: str) -> Any:
    """``graphtui freeze`` (no ``--outputs`` when ``outputs`` is empty: a SavedModel's
    signature outputs); the GraphDef it wrote."""
    selected = ["--outputs", outputs] if outputs else []
    assert cli_main(["freeze", str(src), *selected, "--out", str(out), *extra]) == 0
    return _graph_def(out)


def assert_same_nodes(ours: Any, theirs: Any, *, shapes: bool = True) -> None:
    """freeze_graph's nodes, in its order, each NodeDef equal byte for byte (``shapes=False``:
    ``_output_shapes`` left out, where graphtui froze the ``.meta``, which has them, and TF a
    GraphDef written without them)."""
    assert [n.name for n in ours.node] == [n.name for n in theirs.node]
    for a, b in zip(ours.node, theirs.node, strict=True):
        if not shapes:
            a, b = (
                type(a).FromString(a.SerializeToString()),
                type(b).FromString(b.SerializeToString()),
            )
            for node in (a, b):
                if "_output_shapes" in node.attr:
                    del node.attr["_output_shapes"]
        assert a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True), (
            a.name
        )


def _variable_times_two(tmp_path: Path, version: int) -> tuple[str, Path]:
    """``_testFreezeGraph``'s graph: ``variable_node`` = 1.0, ``output_node`` = it * 2, saved
    with a Saver of ``version``; the GraphDef written as text ``input_graph.pb``."""
    with tf.Graph().as_default():
        variable_node = tf1.Variable(1.0, name="variable_node", use_resource=False)
        output_node = tf.multiply(variable_node, 2.0, name="output_node")
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            assert abs(sess.run(output_node) - 2.0) < 1e-5
            saver = tf1.train.Saver(write_version=version)
            checkpoint_path = saver.save(
                sess,
                str(tmp_path / "saved_checkpoint"),
                global_step=0,
                latest_filename="checkpoint_state",
            )
            tf1.train.write_graph(sess.graph, str(tmp_path), "input_graph.pb")
    return checkpoint_path, tmp_path / "input_graph.pb"


@pytest.mark.parametrize(
    "version", [saver_pb2.SaverDef.V1, saver_pb2.SaverDef.V2], ids=["V1", "V2"]
)
def test_freeze_graph(tmp_path: Path, version: int) -> None:
    """freeze_graph_test.py testFreezeGraphV1 / testFreezeGraphV2: a V1 and a V2 checkpoint;
    4 nodes, no variable, output 2.0."""
    checkpoint_path, input_graph = _variable_times_two(tmp_path, version)
    theirs_path = tmp_path / "output_graph.pb"
    freeze_graph.freeze_graph(
        str(input_graph), "", False, checkpoint_path, "output_node", "save/restore_all",
        "save/Const:0", str(theirs_path), False, "", "", "", checkpoint_version=version,
    )  # fmt: skip
    theirs = _graph_def(theirs_path)
    ours = _freeze(checkpoint_path, tmp_path / "ours.pb", "output_node", "--keep-devices")
    for graph_def in (theirs, ours):
        assert len(graph_def.node) == 4
        assert not [n.name for n in graph_def.node if n.op in VARIABLE_OPS]
        assert abs(_run(graph_def, "output_node:0") - 2.0) < 1e-5
    assert_same_nodes(ours, theirs, shapes=False)


def test_freeze_meta_graph(tmp_path: Path) -> None:
    """freeze_graph_test.py testFreezeMetaGraph: frozen from the ``.meta`` the Saver wrote
    (freeze_graph's ``input_meta_graph``; graphtui's ``--meta``)."""
    checkpoint_path, _ = _variable_times_two(tmp_path, saver_pb2.SaverDef.V2)
    theirs_path = tmp_path / "output_graph.pb"
    freeze_graph.freeze_graph(
        "", "", True, checkpoint_path, "output_node", "save/restore_all", "save/Const:0",
        str(theirs_path), False, "", "", "", checkpoint_path + ".meta",
    )  # fmt: skip
    theirs = _graph_def(theirs_path)
    meta = checkpoint_path + ".meta"
    ours = _freeze(checkpoint_path, tmp_path / "ours.pb", "output_node", "--meta", meta,
                   "--keep-devices")  # fmt: skip
    for graph_def in (theirs, ours):
        assert len(graph_def.node) == 4
        assert not [n.name for n in graph_def.node if n.op in VARIABLE_OPS]
        assert abs(_run(graph_def, "output_node:0") - 2.0) < 1e-5
    assert_same_nodes(ours, theirs)
    # graphtui clears devices by default; the nodes are otherwise the same
    cleared = _freeze(checkpoint_path, tmp_path / "cleared.pb", "output_node")
    assert [n.name for n in cleared.node] == [n.name for n in theirs.node]
    assert not [n.name for n in cleared.node if n.device]


def _example(feature_name: str, value: float) -> bytes:
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    example.features.feature[feature_name].float_list.value.extend([value])
    return example.SerializeToString()


def _dummy_saved_model(path: Path, feature_name: str, tags: list[str]) -> None:
    """``_writeDummySavedModel``: a classifier over a parsed ``tf.Example``, saved as text."""
    with tf.Graph().as_default():
        examples = tf1.placeholder(tf.string, name="input_node")
        features = tf1.parse_example(
            examples, {feature_name: tf1.FixedLenFeature(shape=[], dtype=tf.float32)}
        )
        feature = features[feature_name]
        variable_node = tf1.Variable(1.0, name="variable_node", use_resource=False)
        scores = tf.multiply(variable_node, feature, name="output_node")
        class_feature = tf.fill(tf.shape(feature), f"class_{feature_name}")
        classes = tf.transpose(class_feature)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            signature = tf1.saved_model.classification_signature_def(
                examples=examples, classes=classes, scores=scores
            )
            builder = tf1.saved_model.Builder(str(path))
            builder.add_meta_graph_and_variables(
                sess, tags, signature_def_map={"serving_default": signature}
            )
            builder.save(as_text=True)


@pytest.mark.parametrize(
    ("tags_string", "tags_list"), [("", []), ("serve", ["serve"])], ids=["empty", "serve"]
)
def test_freeze_saved_model(tmp_path: Path, tags_string: str, tags_list: list[str]) -> None:
    """freeze_graph_test.py testFreezeSavedModel (empty_tags_set, default_tags_set): a text
    SavedModel; 10 nodes with ParseExampleV2 (8 before it), no variable, 2.0 for an example
    of 2.0."""
    saved_model_dir = tmp_path / "saved_model_dir"
    _dummy_saved_model(saved_model_dir, "feature", tags_list)
    theirs_path = tmp_path / "output_graph.pb"
    freeze_graph.freeze_graph(
        None, False, False, None, "output_node", None, None, str(theirs_path), False, "", "",
        "", False, str(saved_model_dir), tags_string,
    )  # fmt: skip
    theirs = _graph_def(theirs_path)
    extra = ["--tag-set", tags_string] if tags_string else []
    ours = _freeze(saved_model_dir, tmp_path / "ours.pb", "output_node", "--keep-devices", *extra)
    example = _example("feature", 2.0)
    for graph_def in (theirs, ours):
        expected = 10 if any("ParseExampleV2" in n.name for n in graph_def.node) else 8
        assert len(graph_def.node) == expected
        assert not [n.name for n in graph_def.node if n.op in VARIABLE_OPS]
        got = _run(graph_def, "output_node:0", {"input_node:0": [example]})
        assert abs(float(np.asarray(got).reshape(-1)[0]) - 2.0) < 1e-5
    assert_same_nodes(ours, theirs)


def test_single_partitioned_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """freeze_graph_test.py testSinglePartitionedVariable: a variable partitioned into one
    part; freeze_graph refuses ``save/restore_all`` (ValueError) and so does graphtui (one
    line, nothing written); graphtui freezes ``part/test/relu6`` as TF's
    ``convert_variables_to_constants`` does in a session."""
    partitioner = tf1.fixed_size_partitioner(1)
    graph = tf.Graph()
    with graph.as_default():
        with tf1.variable_scope("part", partitioner=partitioner):
            batch_size, height, width, depth = 5, 128, 128, 3
            input1 = tf.zeros((batch_size, height, width, depth), name="input1")
            input2 = tf.zeros((batch_size, height, width, depth), name="input2")
            filter1 = tf1.get_variable("filter", [depth, depth], use_resource=False)
            filter2 = tf.reshape(filter1, [1, 1, depth, depth])
            conv = tf.nn.conv2d(input=input1, filters=filter2, strides=[1, 1, 1, 1],
                                padding="SAME")  # fmt: skip
            node = tf.add(conv, input2, name="test/add")
            tf.nn.relu6(node, name="test/relu6")
        sess = tf1.Session(graph=graph)
        sess.run(tf1.global_variables_initializer())
        saver = tf1.train.Saver()
        checkpoint_path = saver.save(sess, str(tmp_path / "saved_checkpoint"), global_step=0,
                                     latest_filename="checkpoint_state")  # fmt: skip
        assert [op.name for op in graph.get_operations() if "/part_0" in op.name]
        reference = tf1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["part/test/relu6"]
        )
    with pytest.raises(ValueError):
        freeze_graph.freeze_graph_with_def_protos(
            input_graph_def=sess.graph_def,
            input_saver_def=None,
            input_checkpoint=checkpoint_path,
            output_node_names="save/restore_all",
            restore_op_name="save/restore_all",
            filename_tensor_name="save/Const:0",
            output_graph=str(tmp_path / "output_graph.pb"),
            clear_devices=False,
            initializer_nodes="",
        )
    sess.close()

    refused = tmp_path / "refused.pb"
    capsys.readouterr()
    code = cli_main(["freeze", checkpoint_path, "--outputs", "save/restore_all",
                     "--out", str(refused)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert not refused.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    ours = _freeze(checkpoint_path, tmp_path / "ours.pb", "part/test/relu6", "--keep-devices")
    assert not [n.name for n in ours.node if n.op in VARIABLE_OPS]
    assert_same_nodes(ours, reference, shapes=False)
    assert np.array_equal(_run(ours, "part/test/relu6:0"), _run(reference, "part/test/relu6:0"))


def test_freeze_model_of_a_signature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_cli_test.py testFreezeModel (``saved_model_cli freeze_model``, i.e.
    ``saved_model_aot_compile.freeze_model``) on its AOTCompileDummyModel: the ``func``
    signature (``x + my_var``, an unused input ``y``) frozen by TF and by graphtui computes the
    same, with no variable left. TF's tool optimizes with grappler, which inlines the call and
    prunes ``y`` ("Signature input key 'y' ... has been pruned"); graphtui keeps the call and
    so lists ``func_y`` among the inputs, as freeze_graph does. The ``func_write`` signature
    assigns a variable: graphtui refuses it, in one line, writing nothing."""
    from tensorflow.python.tools import saved_model_aot_compile, saved_model_utils
    from tensorflow.python.trackable import autotrackable

    class AOTCompileDummyModel(autotrackable.AutoTrackable):
        def __init__(self) -> None:
            self.var = tf.Variable(1.0, name="my_var")
            self.write_var = tf.Variable(1.0, name="write_var")

        @tf.function(
            input_signature=[tf.TensorSpec((2, 2), tf.float32), tf.TensorSpec((), tf.float32)]
        )
        def func2(self, x: Any, y: Any) -> Any:
            del y
            return {"res": x + self.var}

        @tf.function(input_signature=[tf.TensorSpec((), tf.float32), tf.TensorSpec((), tf.float32)])
        def func_write(self, x: Any, y: Any) -> Any:
            del y
            self.write_var.assign(x + self.var)
            return {"res": self.write_var}

    model = AOTCompileDummyModel()
    saved = tmp_path / "dummy_model"
    tf.saved_model.save(
        model, str(saved), signatures={"func": model.func2, "write": model.func_write}
    )
    feed = {"func_x:0": np.arange(4, dtype=np.float32).reshape(2, 2)}
    expected = feed["func_x:0"] + 1.0

    if tf.test.is_built_with_xla():
        meta = saved_model_utils.get_meta_graph_def(str(saved), "serve")
        frozen_path, _ = saved_model_aot_compile.freeze_model(
            str(saved / "variables" / "variables"), meta, str(tmp_path / "out"), "func", []
        )
        theirs = _graph_def(Path(frozen_path))
        assert not [n.name for n in theirs.node if n.op in VARIABLE_OPS | {"ReadVariableOp"}]
        assert "func_y" not in {n.name for n in theirs.node}  # pruned by grappler
        assert np.array_equal(_run(theirs, "StatefulPartitionedCall:0", feed), expected)

    capsys.readouterr()
    ours = _freeze(saved, tmp_path / "ours.pb", "", "--signature", "func")
    report = capsys.readouterr().out
    assert "inputs to feed: func_x, func_y" in report
    assert not [n.name for n in ours.node if n.op in VARIABLE_OPS]
    for fdef in ours.library.function:
        assert not [n.name for n in fdef.node_def if n.op in VARIABLE_OPS | {"ReadVariableOp"}]
    got = _run(ours, "StatefulPartitionedCall:0", {**feed, "func_y:0": 0.0})
    assert np.array_equal(got, expected)

    refused = tmp_path / "write.pb"
    code = cli_main(["freeze", str(saved), "--signature", "write", "--out", str(refused)])
    captured = capsys.readouterr()
    assert code == 1 and not refused.exists()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "write_var" in lines[0] and "AssignVariableOp" in lines[0]
