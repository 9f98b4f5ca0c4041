"""TensorFlow's ``tensorflow/python/training/saver_test.py`` ``MetaGraphTest``, the parts
``tests/interop/test_upstream_saver.py`` (testAddCollectionDef) does not translate.

Each test names the upstream test it comes from. TF builds and saves the graph as upstream
does; graphtui rewrites it without TF (``export``, ``rename``); TF then imports what graphtui
wrote and must restore and see upstream's values.

Not translated: testAddCollectionDefFails and testClearExtraneousSavers (what TF's exporter
puts in a collection; graphtui keeps a graph's collections as they are), and the graph
extension / control-flow serialization tests (``test_upstream_meta_graph.py`` covers while
and cond contexts through export and rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from graphtui.cli import main as cli_main

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1


def _run(argv: list[str]) -> None:
    assert cli_main(argv) == 0, argv


def test_multi_saver_collection(tmp_path: Path) -> None:
    """saver_test.py testMultiSaverCollection: a meta graph without a saver_def and two
    savers in the ``savers`` collection (SaverDefs as bytes), each with its own checkpoint.
    graphtui re-exports it and renames the whole graph under ``top/`` (graph only, as
    ``import_scope``); from each, TF's savers restore their own variable only."""
    with tf.Graph().as_default(), tf1.Session() as sess:
        v0 = tf1.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], name="v0")
        v1 = tf1.Variable(11.0, name="v1")
        saver0 = tf1.train.Saver({"v0": v0}, name="saver0")
        saver1 = tf1.train.Saver({"v1": v1}, name="saver1")
        tf1.add_to_collection("savers", saver0)
        tf1.add_to_collection("savers", saver1)
        sess.run(tf1.global_variables_initializer())
        saver0.save(sess, str(tmp_path / "saver0.ckpt"), write_meta_graph=False)
        saver1.save(sess, str(tmp_path / "saver1.ckpt"), write_meta_graph=False)
        meta = tf1.train.export_meta_graph(str(tmp_path / "metafile"))
    assert not meta.HasField("saver_def")
    assert meta.collection_def["savers"].WhichOneof("kind") == "bytes_list"

    src, metafile = str(tmp_path / "saver0.ckpt"), str(tmp_path / "metafile")
    _run(["export", src, "--meta", metafile, "--out", str(tmp_path / "exported" / "model.ckpt")])
    _run(["rename", src, "--meta", metafile, "--map", "=top/", "--graph-only",
          "--out", str(tmp_path / "renamed" / "model.ckpt")])  # fmt: skip
    for written, scope in (("exported", ""), ("renamed", "top/")):
        with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
            tf1.train.import_meta_graph(str(tmp_path / written / "model.ckpt.meta"))
            savers = tf1.get_collection("savers")
            assert len(savers) == 2
            assert savers[0].saver_def.restore_op_name == f"{scope}saver0/restore_all"
            by_name = {v.op.name: v for v in tf1.global_variables()}
            savers[0].restore(sess, str(tmp_path / "saver0.ckpt"))
            assert np.array_equal(sess.run(by_name[f"{scope}v0"]), [[1, 2], [3, 4], [5, 6]])
            with pytest.raises(tf.errors.FailedPreconditionError):
                sess.run(by_name[f"{scope}v1"])
            savers[1].restore(sess, str(tmp_path / "saver1.ckpt"))
            assert sess.run(by_name[f"{scope}v1"]) == 11.0


def test_slice_variable(tmp_path: Path) -> None:
    """saver_test.py testSliceVariable: ``v2`` saved as a slice of ``v1`` (SaveSliceInfo)
    under the name ``second``; graphtui's text re-export round-trips through TF's
    ``import_meta_graph`` (the meta graphs equal, as upstream compares them) and restores both
    values from graphtui's checkpoint."""
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow.python.framework import test_util

    with tf.Graph().as_default(), tf1.Session() as sess:
        v1 = tf1.Variable([20.0], name="v1")
        v2 = tf1.Variable([20.0], name="v2")
        v2._set_save_slice_info(tf1.Variable.SaveSliceInfo("v1", [1], [0], [1]))  # noqa: SLF001
        slice_saver = tf1.train.Saver({"first": v1, "second": v2})
        sess.run(tf1.global_variables_initializer())
        slice_saver.save(sess, str(tmp_path / "model.ckpt"))
    original = meta_graph_pb2.MetaGraphDef.FromString((tmp_path / "model.ckpt.meta").read_bytes())
    out = tmp_path / "out" / "model.ckpt"
    _run(["export", str(tmp_path / "model.ckpt"), "--out", str(out), "--as-text"])

    class _Case(tf.test.TestCase):
        def runTest(self) -> None:  # noqa: N802 - unittest's name
            """Only its assertion helpers are used."""

    with tf.Graph().as_default(), tf1.Session() as sess:
        new_saver = tf1.train.import_meta_graph(f"{out}.meta")
        assert new_saver is not None
        reexported = new_saver.export_meta_graph()
        test_util.assert_meta_graph_protos_equal(_Case(), original, reexported)
        new_saver.restore(sess, str(out))
        values = {v.op.name: sess.run(v).tolist() for v in tf1.global_variables()}
    assert values == {"v1": [20.0], "v2": [20.0]}
    assert [n for n, _ in tf.train.list_variables(str(out))] == ["first", "second"]


def test_binary_and_text_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saver_test.py testBinaryAndTextFormat: a binary meta graph re-exported as text imports
    in TF; a file holding a SaverDef instead of a MetaGraphDef ("Cannot parse file" in TF) and
    a missing file ("does not exist") are one error line each in graphtui, exit 1."""
    filename = tmp_path / "metafile"
    with tf.Graph().as_default():
        tf1.Variable(10.0, name="v0")
        tf1.train.export_meta_graph(str(filename), as_text=False)
    text = tmp_path / "text" / "model.ckpt"
    _run(["export", str(filename), "--out", str(text), "--as-text"])
    with tf.Graph().as_default():
        assert tf1.train.import_meta_graph(f"{text}.meta") is not None
        saver = tf1.train.Saver()
        tf.io.write_graph(saver.as_saver_def(), str(tmp_path), "wrong.meta")
    with tf.Graph().as_default(), pytest.raises(IOError, match="Cannot parse file"):
        tf1.train.import_meta_graph(str(tmp_path / "wrong.meta"))
    for bad in (tmp_path / "wrong.meta", tmp_path / "missing.meta"):
        capsys.readouterr()
        assert cli_main(["export", str(bad), "--out", str(tmp_path / "never" / "m.ckpt")]) == 1
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and str(bad.name) in lines[0], captured.err
        assert "Traceback" not in captured.err
        assert not (tmp_path / "never").exists()
