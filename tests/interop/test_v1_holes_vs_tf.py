"""V1 checkpoints with holes: a partitioned variable saved in V1 with a partition missing.

TF's V1 reader (``tensorflow/core/util/tensor_slice_reader.h``: ``CopySliceData`` over
``TensorSliceSet::QueryMeta``) reads a region of a tensor from the stored slices that meet it
when they cover it, and refuses a region they do not cover (RestoreV2 and RestoreSlice: "Error
copying slice data"); its Python reader's ``get_tensor`` refuses every V1 tensor of several
slices ("Sliced checkpoints are not supported"). graphtui follows the contract it has for V2
bundles with holes (``BundleReader.read_slice``): a covered region reads (``read_slice``,
``get_slice`` windows, freeze and restore of a partition), the whole tensor or an uncovered
region is refused, ``verify`` accepts the holes. The files are written by real TF's
``Saver(write_version=V1)`` given some of a PartitionedVariable's partitions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.cli import main as cli_main
from graphtui.core.freeze import FreezeRequest, apply_freeze, plan_freeze
from graphtui.errors import ConflictError, FormatError

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

from tensorflow.python.training import py_checkpoint_reader  # noqa: E402

SPEC = {i: f"30 4 {i * 10},10:0,4" for i in range(3)}
EXTENTS = {i: ((i * 10, 10), (0, 4)) for i in range(3)}


def _holed(tmp_path: Path, saved: tuple[int, ...] = (0, 2)) -> tuple[str, list[np.ndarray]]:
    """A V1 checkpoint (and meta graph) of ``emb`` [30, 4] in three partitions, of which a
    Saver given only ``saved`` writes those; outputs ``p0`` / ``p1`` read part 0 / part 1."""
    graph = tf.Graph()
    with graph.as_default():
        emb = tf1.get_variable(
            "emb", [30, 4], partitioner=tf1.fixed_size_partitioner(3), use_resource=False
        )
        parts = list(emb)
        tf.reduce_sum(parts[0] * 2.0, name="p0")
        tf.reduce_sum(parts[1], name="p1")
        saver = tf1.train.Saver([parts[i] for i in saved], write_version=tf1.train.SaverDef.V1)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "model.ckpt"))
            values = sess.run(parts)
    assert Path(prefix).is_file() and not Path(prefix + ".index").exists()  # V1
    return prefix, values


def _restore(prefix: str, spec: str) -> np.ndarray:
    (out,) = tf.raw_ops.RestoreV2(
        prefix=prefix, tensor_names=["emb"], shape_and_slices=[spec], dtypes=[tf.float32]
    )
    return np.asarray(out.numpy())


def test_covered_regions_read_as_tf_reads_them(tmp_path: Path) -> None:
    """Each stored partition, a region inside one and one across both stored ones where they
    are not adjacent: TF's RestoreV2 (CopySliceData) gives the values, graphtui's read_slice
    and get_slice windows the same bytes; part 1, a region over the hole and the whole tensor
    are refused by both (graphtui refused every region: it read V1 tensors whole only)."""
    prefix, values = _holed(tmp_path)
    ours = graphtui.load_checkpoint(prefix)
    assert ours.format == "V1"
    assert ours.get_variable_to_shape_map() == {"emb": [30, 4]}
    for i in (0, 2):
        theirs = _restore(prefix, SPEC[i])
        assert theirs.tobytes() == values[i].tobytes()
        assert ours.read_slice("emb", EXTENTS[i]).tobytes() == theirs.tobytes()
        window = ours.get_slice("emb")[i * 10 : i * 10 + 10]
        assert np.ascontiguousarray(window).tobytes() == theirs.tobytes()
    inner = _restore(prefix, "30 4 23,4:1,2")
    assert inner.tobytes() == values[2][3:7, 1:3].tobytes()
    assert ours.read_slice("emb", ((23, 4), (1, 2))).tobytes() == inner.tobytes()
    assert np.ascontiguousarray(ours.get_slice("emb")[23:27, 1:3]).tobytes() == inner.tobytes()
    for spec, extents in ((SPEC[1], EXTENTS[1]), ("30 4 5,10:-", ((5, 10), (0, -1)))):
        with pytest.raises(tf.errors.InvalidArgumentError, match="copying slice data"):
            _restore(prefix, spec)
        with pytest.raises(FormatError, match="do not cover"):
            ours.read_slice("emb", extents)
    with pytest.raises(FormatError, match="do not cover"):
        ours.get_slice("emb")[5:15]
    with pytest.raises(tf.errors.InvalidArgumentError, match="copying slice data"):
        _restore(prefix, "")
    with pytest.raises(tf.errors.UnimplementedError, match="Sliced checkpoints"):
        py_checkpoint_reader.NewCheckpointReader(prefix).get_tensor("emb")
    with pytest.raises(FormatError, match="gap"):
        ours.get_tensor("emb")


def test_verify_and_cat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """verify accepts the holes (every stored slice reads in TF; graphtui reported the gap as
    a problem of the checkpoint), cat refuses the whole tensor in one line, as for V2."""
    prefix, _ = _holed(tmp_path)
    assert graphtui.load_checkpoint(prefix).verify() == []
    assert cli_main(["verify", prefix]) == 0
    capsys.readouterr()
    assert cli_main(["cat", prefix, "emb"]) != 0
    err = capsys.readouterr().err
    assert prefix in err and "gap" in err and len(err.strip().splitlines()) == 1


def test_freeze_partitions(tmp_path: Path) -> None:
    """freeze of an output reading the stored part 0 writes TF's values (graphtui read the
    whole tensor and refused the hole); one reading part 1 is refused in the plan, as TF's
    restore of it fails."""
    prefix, values = _holed(tmp_path)
    plan = plan_freeze(FreezeRequest(prefix, ("p0",), out=str(tmp_path / "p0.pb")))
    assert plan.ok, plan.problems
    apply_freeze(plan)
    frozen = tf1.GraphDef.FromString((tmp_path / "p0.pb").read_bytes())
    (const,) = [n for n in frozen.node if n.name == "emb/part_0"]
    assert tf.make_ndarray(const.attr["value"].tensor).tobytes() == values[0].tobytes()
    refused = plan_freeze(FreezeRequest(prefix, ("p1",), out=str(tmp_path / "p1.pb")))
    assert len(refused.problems) == 1
    assert "emb/part_1" in refused.problems[0] and "do not cover" in refused.problems[0]


def _init_from_checkpoint_fails(prefix: str) -> bool:
    """Whether TF's init_from_checkpoint of the same model from ``prefix`` fails to run."""
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
        tf1.get_variable(
            "emb", [30, 4], partitioner=tf1.fixed_size_partitioner(3), use_resource=False
        )
        tf1.train.init_from_checkpoint(prefix, {"/": "/"})
        try:
            sess.run(tf1.global_variables_initializer())
        except tf.errors.InvalidArgumentError as exc:
            assert "copying slice data" in str(exc)
            return True
    return False


@pytest.mark.parametrize("saved", [(0, 2), (1,), (0, 1, 2)])
def test_restore_partitions(tmp_path: Path, saved: tuple[int, ...]) -> None:
    """restore of the graph from the V1 checkpoint: when a partition's slice is not stored,
    TF's init_from_checkpoint fails on it and graphtui's plan names it, writing nothing
    (graphtui failed on the whole tensor's gap instead); with every partition stored, each is
    read from the slices as TF reads it and graphtui's output restores TF's values."""
    from graphtui.core.restore import restore

    prefix, values = _holed(tmp_path, saved)
    out = tmp_path / "restored" / "model.ckpt"
    missing = [i for i in range(3) if i not in saved]
    assert _init_from_checkpoint_fails(prefix) is bool(missing)
    if missing:
        with pytest.raises(ConflictError) as err:
            restore(prefix + ".meta", prefix, {"/": "/"}, str(out))
        named = [p for p in err.value.conflicts if "do not cover" in p]
        assert [f"emb/part_{i}" in " ".join(named) for i in range(3)] == [
            i in missing for i in range(3)
        ]
        assert not out.parent.exists() or not any(out.parent.iterdir())
        return
    report, _ = restore(prefix + ".meta", prefix, {"/": "/"}, str(out))
    assert {f"emb/part_{i}" for i in range(3)} <= {a.variable for a in report.matched}
    for i in range(3):
        assert _restore(str(out), SPEC[i]).tobytes() == values[i].tobytes()


def test_overlapping_slices_refuse_the_file(tmp_path: Path) -> None:
    """TensorSliceSet::Register: two files of one V1 checkpoint whose slices of a tensor
    overlap fail TF's reader whole ("Overlapping slices"), another tensor unread too; graphtui
    refuses the checkpoint when it opens it (it read the other tensor)."""
    full = np.arange(20, dtype=np.float32).reshape(4, 5)
    tf.raw_ops.SaveSlices(
        filename=str(tmp_path / "c_0"),
        tensor_names=["t", "u"],
        shapes_and_slices=["4 5 0,2:-", ""],
        data=[full[0:2], tf.constant(1.0)],
    )
    tf.raw_ops.SaveSlices(
        filename=str(tmp_path / "c_1"),
        tensor_names=["t"],
        shapes_and_slices=["4 5 1,3:-"],
        data=[full[1:4]],
    )
    pattern = str(tmp_path / "c_*")
    with pytest.raises(tf.errors.OpError, match="Overlapping slices"):
        py_checkpoint_reader.NewCheckpointReader(pattern)
    with pytest.raises(FormatError, match="overlap") as caught:
        graphtui.load_checkpoint(pattern)
    assert pattern in str(caught.value)


def _rewritten_meta(tmp_path: Path, change: Any) -> str:
    """A V1 file of "t" [4, 5] in two row slices and "u" (a scalar), written by TF's
    SaveSlices, its metadata changed by ``change(meta)`` and the table rewritten."""
    from tensorflow.core.util import saved_tensor_slice_pb2

    from graphtui.formats.sstable import Table
    from graphtui.formats.sstable_writer import TableWriter

    full = np.arange(20, dtype=np.float32).reshape(4, 5)
    path = tmp_path / "ckpt"
    tf.raw_ops.SaveSlices(
        filename=str(path),
        tensor_names=["t", "t", "u"],
        shapes_and_slices=["4 5 0,2:-", "4 5 2,2:-", ""],
        data=[full[0:2], full[2:4], tf.constant(1.0)],
    )
    with Table(path) as table:
        items = [(bytes(k), bytes(v)) for k, v in table.items()]
    with open(path, "wb") as out:
        writer = TableWriter(out)
        for key, value in items:
            if key == b"":
                sts = saved_tensor_slice_pb2.SavedTensorSlices.FromString(value)
                change(sts.meta)
                value = sts.SerializeToString()
            writer.add(key, value)
        writer.finish()
    return str(path)


def _slice_past_the_shape(meta: Any) -> None:
    meta.tensor[0].slice[1].extent[0].start = 3  # rows 3:5 of 4


def _no_slices(meta: Any) -> None:
    del meta.tensor[0].slice[:]


def test_slice_past_the_shape_refuses_the_file(tmp_path: Path) -> None:
    """TensorSliceSet::Register: a listed slice that runs past the tensor's shape fails TF's
    reader whole, the other tensor unread too; graphtui refuses the file when it opens it (it
    listed both and read "u")."""
    path = _rewritten_meta(tmp_path, _slice_past_the_shape)
    with pytest.raises(tf.errors.OpError):
        py_checkpoint_reader.NewCheckpointReader(path)
    with pytest.raises(FormatError, match="'t'") as caught:
        graphtui.load_checkpoint(path)
    assert path in str(caught.value)


def test_tensor_without_slices_is_not_listed(tmp_path: Path) -> None:
    """A tensor the metadata lists with no slices is never registered by TF's reader: not in
    its listing, not found; graphtui lists what TF lists (it listed "t" and refused it)."""
    path = _rewritten_meta(tmp_path, _no_slices)
    theirs = py_checkpoint_reader.NewCheckpointReader(path)
    ours = graphtui.load_checkpoint(path)
    assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map() == {"u": []}
    assert ours.has_tensor("t") is theirs.has_tensor("t") is False
    assert ours.get_tensor("u") == theirs.get_tensor("u") == 1.0
