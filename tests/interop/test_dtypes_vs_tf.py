"""Interop: the dtypes graphtui shows for a graph's tensors and a checkpoint's entries, judged by
live TensorFlow on the same file: ``op.outputs[i].dtype`` after ``import_meta_graph`` (``_ref``
types of VariableV2 / Assign outputs included), and what TF's readers do with a DataType enum
they do not know.
"""

from __future__ import annotations

from pathlib import Path

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
