"""TensorFlow's tests of its shapes, translated where graphtui prints or compares a shape:
``tensorflow/python/framework/tensor_shape_test.py`` (``ShapeTest``).

* testConvertFromProto: a TensorShapeProto read as graphtui reads every shape of a graph
  (``shape_list``: -1 for an unknown dim, None for an unknown rank), judged by
  ``TensorShape(proto)``;
* testStr / testUnknownShape: a signature's shape as ``show`` prints it, judged by what
  ``saved_model_cli show`` prints for the same TensorInfo (``unknown_rank``, ``(-1, 3)``);
* testMergeFullAndUnknownShape / assert_is_compatible_with: ``restore`` checks a variable's
  shape against the checkpoint's tensor as TF's ``init_from_checkpoint`` does
  (``is_compatible_with``): a reference variable of unknown shape (``validate_shape=False``)
  takes the tensor whatever its shape; judged by TF restoring what graphtui wrote.

The Dimension arithmetic, merge, concatenate and most-specific-shape cases have no graphtui
surface.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

from graphtui.core.graph import shape_list
from graphtui.core.restore import restore
from graphtui.core.savedmodel import tensor_spec
from graphtui.errors import ConflictError

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

from tensorflow.core.protobuf import meta_graph_pb2  # noqa: E402
from tensorflow.python.framework import tensor_shape  # noqa: E402
from tensorflow.python.tools import saved_model_cli  # noqa: E402

SHAPES = [
    tensor_shape.unknown_shape(),
    tensor_shape.unknown_shape(rank=1),
    tensor_shape.unknown_shape(rank=3),
    tensor_shape.TensorShape([]),
    tensor_shape.TensorShape([7]),
    tensor_shape.TensorShape([3, 8]),
    tensor_shape.TensorShape([4, 5, 2]),
    tensor_shape.TensorShape([32, None, 1, 9]),
    tensor_shape.TensorShape([1, 37, 42]),
]


def test_convert_from_proto() -> None:
    """testConvertFromProto (and testAsProto's unknown_rank): each shape's proto, as TF writes
    it, read back by graphtui as TF reads it."""
    for shape in SHAPES:
        proto = shape.as_proto()
        want = tensor_shape.TensorShape(proto)
        if want.rank is None:
            assert shape_list(proto) is None, shape
        else:
            assert shape_list(proto) == [-1 if d is None else d for d in want.as_list()], shape


def test_str_as_saved_model_cli_prints_it() -> None:
    """testStr, testUnknownShape: a signature input's shape line in ``show`` is
    saved_model_cli's for the same TensorInfo (``unknown_rank``, ``(-1)``, ``()``, ``(32, -1,
    1, 9)``)."""
    for shape in SHAPES:
        info = meta_graph_pb2.TensorInfo(name="x:0", dtype=1, tensor_shape=shape.as_proto())
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            saved_model_cli._print_tensor_info(info)  # noqa: SLF001 - show's per-tensor lines
        want = [line.strip() for line in out.getvalue().splitlines() if "shape:" in line]
        assert [f"shape: {tensor_spec('x', info).shape_text}"] == want, shape


def _save_source(directory: Path) -> Path:
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
        tf1.Variable(np.arange(5, dtype=np.float32), name="a", use_resource=False)
        tf1.Variable(np.ones(4, np.float32), name="c", use_resource=False)
        sess.run(tf1.global_variables_initializer())
        tf1.train.Saver().save(sess, str(directory / "src" / "model"))
    return directory / "src"


def test_unknown_shape_is_compatible_with_the_checkpoint(tmp_path: Path) -> None:
    """testMergeFullAndUnknownShape / is_compatible_with in ``init_from_checkpoint``: a
    reference variable made with ``validate_shape=False`` has no shape, so TF gives it the
    checkpoint's ``[5]`` tensor. graphtui refused it ("Shape of variable ua ([]) doesn't
    match", an unknown shape taken for a scalar); now it writes the tensor whole and TF
    restores exactly what its own init_from_checkpoint gave. A resource variable of shape [1]
    is refused by both."""
    source = _save_source(tmp_path)
    meta = tmp_path / "target.meta"
    with tf.Graph().as_default() as graph:
        ua = tf1.Variable(tf.zeros([1]), validate_shape=False, name="ua", use_resource=False)
        uc = tf1.Variable(tf.zeros([4]), name="uc", use_resource=False)
        assert ua.shape.rank is None
        tf1.train.Saver().export_meta_graph(str(meta))
        tf1.train.init_from_checkpoint(str(source), {"a": ua, "c": uc})
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            want = dict(zip(["ua", "uc"], sess.run([ua, uc]), strict=True))
    out = tmp_path / "out" / "model.ckpt"
    report, _ = restore(str(meta), str(source), [("a", "ua"), ("c", "uc")], str(out))
    assert {a.variable for a in report.matched} == {"ua", "uc"}
    with tf.Graph().as_default() as graph:
        saver = tf1.train.import_meta_graph(f"{out}.meta")
        with tf1.Session(graph=graph) as sess:
            saver.restore(sess, str(out))
            got = {v.op.name: sess.run(v) for v in tf1.global_variables()}
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)

    meta_r = tmp_path / "resource.meta"
    with tf.Graph().as_default():
        r = tf1.Variable(tf.zeros([1]), validate_shape=False, name="ua", use_resource=True)
        tf1.train.Saver().export_meta_graph(str(meta_r))
        with pytest.raises(ValueError, match="doesn't match"):
            tf1.train.init_from_checkpoint(str(source), {"a": r})
    with pytest.raises(ConflictError, match="doesn't match"):
        restore(str(meta_r), str(source), [("a", "ua")], str(tmp_path / "out_r" / "model.ckpt"))
