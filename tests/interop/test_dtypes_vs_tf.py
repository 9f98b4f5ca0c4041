"""Interop: the dtypes graphtui shows for a graph's tensors and a checkpoint's entries, judged by
live TensorFlow on the same file: ``op.outputs[i].dtype`` after ``import_meta_graph`` (``_ref``
types of VariableV2 / Assign outputs included), and what TF's readers do with a DataType enum
they do not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphtui.core.graph import GraphIndex
from graphtui.core.outputs import outputs

tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1


def _ref_graph(directory: Path) -> Path:
    """A TF1 graph of reference variables (``use_resource=False``: VariableV2, Assign, the
    Saver's restore Assigns), a resource one beside them, ops of type lists (RestoreV2) and of
    ``number_attr`` outputs (Split), saved with its meta graph."""
    graph = tf.Graph()
    with graph.as_default():
        v = tf1.Variable([1.0, 2.0], use_resource=False, name="v")
        tf1.get_variable("w", [3], dtype=tf.int32, use_resource=False)
        tf1.get_variable("h", [2, 2], dtype=tf.float16, use_resource=False)
        tf1.get_variable("r", [3], use_resource=True)
        tf1.assign(v, [3.0, 4.0], name="set_v")
        tf.split(tf.ones([4, 2]), 2, name="halves")
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, str(directory / "model.ckpt"))
    return directory / "model.ckpt.meta"


def _tf_outputs(meta: Path) -> dict[str, list[str]]:
    graph = tf.Graph()
    with graph.as_default():
        tf1.train.import_meta_graph(str(meta))
    return {op.name: [t.dtype.name for t in op.outputs] for op in graph.get_operations()}


def test_ref_outputs_are_named_as_tf_imports_them(tmp_path: Path) -> None:
    """A VariableV2's output and an Assign's are ``float32_ref`` in TF (``is_ref`` output args);
    graphtui stripped the ``_ref`` from every node output. Every node's output dtypes now equal
    TF's, and the ref ones are there to see."""
    meta = _ref_graph(tmp_path)
    want = _tf_outputs(meta)
    graph = GraphIndex.from_file(meta)
    got = {name: [o.dtype for o in outputs(graph, name)] for name in want}
    assert got == want
    assert want["v"] == ["float32_ref"] and want["w"] == ["int32_ref"]
    assert want["h"] == ["float16_ref"] and want["set_v"] == ["float32_ref"]
    assert want["r"] == ["resource"] and want["v/read"] == ["float32"]


@pytest.mark.parametrize("enum", [34, 1000])
def test_unknown_type_attr_is_named_not_fatal(tmp_path: Path, enum: int) -> None:
    """A graph whose Placeholder ``dtype`` (and a Cast's ``DstT``) holds an enum TF has no type
    for: TF reads the file (``read_meta_graph_file``) and refuses to import it ("AttrValue has
    invalid DataType enum"). graphtui opens it, and the node's output and attr are named in
    TF's words, ``unknown dtype enum (N)`` (its outputs raised ValueError: the details pane
    of that node failed)."""
    from tensorflow.python.framework import meta_graph

    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [2], name="x")
        tf.cast(tf.identity(x, name="y"), tf.int32, name="c")
        exported = tf1.train.export_meta_graph(graph=graph)
    for node in exported.graph_def.node:
        if node.name == "x":
            node.attr["dtype"].type = enum
        if node.name == "c":
            node.attr["DstT"].type = enum
    path = tmp_path / "bad.meta"
    path.write_bytes(exported.SerializeToString())
    assert len(meta_graph.read_meta_graph_file(str(path)).graph_def.node) == 3
    with pytest.raises(ValueError, match=f"invalid DataType enum: {enum}"), tf.Graph().as_default():
        tf1.train.import_meta_graph(str(path))
    index = GraphIndex.from_file(path)
    shown = f"unknown dtype enum ({enum})"
    assert [(o.dtype, o.shape) for o in outputs(index, "x")] == [(shown, (2,))]
    assert [o.dtype for o in outputs(index, "c")] == [shown]
    assert [o.dtype for o in outputs(index, "y")] == ["float32"]
    assert index.attrs("x")["dtype"] == shown


def test_signature_dtype_tf_has_no_type_for() -> None:
    """A signature's TensorInfo whose dtype is an enum TF has no type for: ``saved_model_cli
    show`` fails on it (KeyError, a traceback); ``show`` prints it by TF's ``DataTypeString``
    words (it printed ``DataType(1000)``); a known one (``DT_FLOAT_REF``) as saved_model_cli
    prints it."""
    import contextlib
    import io

    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow.python.tools import saved_model_cli

    from graphtui.core.savedmodel import tensor_spec

    for enum, want in ((1000, None), (34, None), (101, "DT_FLOAT_REF"), (1, "DT_FLOAT")):
        info = meta_graph_pb2.TensorInfo(name="x:0", dtype=enum)
        spec = tensor_spec("x", info)
        if want is None:
            with pytest.raises(KeyError), contextlib.redirect_stdout(io.StringIO()):
                saved_model_cli._print_tensor_info(info)  # noqa: SLF001
            assert spec.dtype_enum == spec.dtype == f"unknown dtype enum ({enum})"
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            saved_model_cli._print_tensor_info(info)  # noqa: SLF001
        assert f"dtype: {spec.dtype_enum}" in out.getvalue() and spec.dtype_enum == want


def test_const_value_tf_cannot_decode_is_refused_in_one_line(tmp_path: Path) -> None:
    """A Const whose value has a dtype enum TF has no type for, and one whose tensor_content
    is short: TF's ``MakeNdarray`` refuses both. graphtui's value of the node (the app's value
    view) raised ValueError / TensorProtoError, which the app did not catch (a traceback and
    the app gone); now a GraphtuiError naming the file and the node, which it shows."""
    from tensorflow.python.framework import tensor_util

    from graphtui.core.values import const_value
    from graphtui.errors import GraphtuiError

    graph = tf.Graph()
    with graph.as_default():
        tf.constant([1.0, 2.0], name="k")
        tf.constant([1, 2, 3], name="short")
        tf.constant([4, 5], name="fine")
        exported = tf1.train.export_meta_graph(graph=graph)
    for node in exported.graph_def.node:
        if node.name == "k":
            node.attr["value"].tensor.dtype = 34
            node.attr["dtype"].type = 34
        if node.name == "short":
            del node.attr["value"].tensor.int_val[:]
            node.attr["value"].tensor.tensor_content = b"\x01\x02"
    path = tmp_path / "consts.meta"
    path.write_bytes(exported.SerializeToString())
    index = GraphIndex.from_file(path)
    for node in exported.graph_def.node:
        if node.name == "fine":
            want = tensor_util.MakeNdarray(node.attr["value"].tensor)
            assert const_value(index, "fine").read(((0, 2),)).tolist() == want.tolist()
            continue
        with pytest.raises((TypeError, ValueError)):
            tensor_util.MakeNdarray(node.attr["value"].tensor)
        with pytest.raises(GraphtuiError, match=f"'{node.name}'") as caught:
            const_value(index, node.name)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_big_endian_npz_converts_to_a_checkpoint_tf_reads(tmp_path: Path) -> None:
    """An ``.npz`` whose arrays are big-endian (``np.save`` keeps the byte order):
    ``tf.as_dtype`` reads ``>f4`` as float32, and ``tf.constant`` of it holds the values.
    ``convert --to-checkpoint`` refused them ("has no TensorFlow dtype"); now TF's reader gives
    the values of the checkpoint it writes, little-endian, dtype for dtype."""
    import numpy as np

    from graphtui.cli import main as cli_main

    arrays = {
        "a": np.arange(3, dtype=">f4"),
        "b": np.arange(4, dtype=">i8").reshape(2, 2),
        "c": np.array([1 + 2j], dtype=">c8"),
    }
    np.savez(tmp_path / "be.npz", **arrays)  # type: ignore[arg-type]
    out = tmp_path / "out" / "model"
    assert cli_main(["convert", str(tmp_path / "be.npz"), "--to-checkpoint", str(out), "-q"]) == 0
    reader = tf.train.load_checkpoint(str(out))
    for name, value in arrays.items():
        got = reader.get_tensor(name)
        assert got.dtype == tf.constant(value).dtype.as_numpy_dtype == value.dtype.newbyteorder("=")
        assert got.tolist() == value.tolist(), name


def test_function_body_outputs_as_tf_builds_them(tmp_path: Path) -> None:
    """A TF2 SavedModel's functions (saved with default attrs stripped): each body node's
    output dtypes in the Functions tab are TF's (``function_def_to_graph``) wherever the file
    describes the op; graphtui showed ``?`` for every node inside a function, no output for an
    argument, and ``Shape`` (its ``out_type`` default stripped) had no dtype."""
    from graphtui.core.savedmodel import open_saved_model
    from tests.interop.test_realworld_dtypes import function_outputs_as_tf_builds_them

    class Model(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def __call__(self, x: Any) -> Any:
            return tf.reshape(tf.matmul(x, self.w), tf.shape(x)), tf.shape(x, out_type=tf.int64)

    tf.saved_model.save(Model(), str(tmp_path / "sm"))
    (info,) = open_saved_model(tmp_path / "sm").meta_graphs
    assert function_outputs_as_tf_builds_them(tf, info.meta_graph, info.graph) > 10
