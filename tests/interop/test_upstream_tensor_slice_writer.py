"""TensorFlow's tests of its V1 checkpoint writer (``TensorSliceWriter``), translated where
graphtui meets what it writes.

Upstream: ``tensorflow/core/util/tensor_slice_writer_test.cc``. graphtui writes no V1 file (its
writes are V2 bundles), so the writer's cases are judged from the reading side: TF's writer
(``tf.raw_ops.SaveSlices``, one ``TensorSliceWriter`` per call) writes each case, graphtui reads
what it wrote and TF's reader (``RestoreSlice``, ``NewCheckpointReader``) says what it holds.
``SizeErrors`` (a 300 MB slice refused by the writer) and ``InvalidInput`` (``SaveData`` of
uint32) test the writer's own refusals, which have no reading side.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import graphtui
from graphtui.formats import dtypes
from graphtui.formats.ordered_code import FULL_EXTENT, encode_slice_key
from graphtui.formats.sstable import Table

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from tensorflow.core.util import saved_tensor_slice_pb2  # noqa: E402
from tensorflow.python.training import py_checkpoint_reader  # noqa: E402

FULL = (0, FULL_EXTENT)
# SimpleWrite's slices: (name, shape, slice spec, extents, dtype, data), in the order added
SIMPLE_WRITE: list[tuple[str, list[int], str, tuple[tuple[int, int], ...], str, list[float]]] = [
    ("test", [5, 10], "-:0,1", (FULL, (0, 1)), "int32", [0, 1, 2, 3, 4]),
    ("test", [5, 10], "-:3,1", (FULL, (3, 1)), "int32", [10, 11, 12, 13, 14]),
    ("AA", [3, 2], "-:-", (FULL, FULL), "float32", [1.2, 1.3, 1.4, 2.1, 2.2, 2.3]),
    ("int64", [5, 10], "-:3,1", (FULL, (3, 1)), "int64", [10, 11, 12, 13, 14]),
    ("int16", [5, 10], "-:3,1", (FULL, (3, 1)), "int16", [10, 11, 12, 13, 14]),
]


def test_simple_write(tmp_path: Path) -> None:
    """TensorSliceWriteTest.SimpleWrite / CheckEntries: the metadata lists the four tensors in
    the order they were first added to the writer (SaveSlices adds them sorted by name: "AA"
    whole, "int16", "int64", "test" with its two slices ``-:0,1`` and ``-:3,1``), graphtui in
    the same order, with TF's shapes and dtypes; each slice's record (GetData) sits
    under its ordered-code key with its name and slice and no metadata; graphtui reads each
    slice (and only the slices: the rest of "test" is a hole) as TF's RestoreSlice does."""
    path = str(tmp_path / "checkpoint")
    tf.raw_ops.SaveSlices(
        filename=path,
        tensor_names=[name for name, *_ in SIMPLE_WRITE],
        shapes_and_slices=[
            f"{' '.join(map(str, shape))} {spec}" for _, shape, spec, *_ in SIMPLE_WRITE
        ],
        data=[
            tf.constant(np.array(data).reshape(-1, 1 if spec.endswith(",1") else 2), dtype=dt)
            for _, _, spec, _, dt, data in SIMPLE_WRITE
        ],
    )
    ours = graphtui.load_checkpoint(path)
    assert ours.format == "V1"
    v1 = ours._v1
    assert v1 is not None
    with Table(path) as table:
        head = saved_tensor_slice_pb2.SavedTensorSlices.FromString(bytes(table.get(b"") or b""))
    assert [t.name for t in head.meta.tensor] == ["AA", "int16", "int64", "test"]
    assert list(v1.tensors) == [t.name for t in head.meta.tensor]
    assert [ext for ext, _ in v1.tensors["test"].slices] == [(FULL, (0, 1)), (FULL, (3, 1))]
    theirs = py_checkpoint_reader.NewCheckpointReader(path)
    assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map()
    assert {k: v.name for k, v in ours.get_variable_to_dtype_map().items()} == {
        k: v.name for k, v in theirs.get_variable_to_dtype_map().items()
    }
    assert sorted(ours.debug_string().splitlines()) == sorted(theirs.debug_string().splitlines())
    assert head.HasField("meta") and not head.HasField("data")
    with Table(path) as table:
        for name, shape, spec, extents, dt, data in SIMPLE_WRITE:
            record = table.get(encode_slice_key(name, extents))
            assert record is not None, (name, spec)
            sts = saved_tensor_slice_pb2.SavedTensorSlices.FromString(bytes(record))
            assert not sts.HasField("meta") and sts.data.name == name
            assert len(sts.data.slice.extent) == len(shape)
            restored = np.asarray(
                tf.raw_ops.RestoreSlice(
                    file_pattern=path,
                    tensor_name=name,
                    shape_and_slice=f"{' '.join(map(str, shape))} {spec}",
                    dt=tf.as_dtype(dt),
                ).numpy()
            )
            assert np.allclose(restored.ravel(), data, atol=1e-6)
            mine = ours.read_slice(name, extents)
            assert mine.dtype == restored.dtype and mine.tobytes() == restored.tobytes()
    # the whole of "AA" reads; "test" is columns 0 and 3 of 10: only those read
    assert ours.get_tensor("AA").tobytes() == theirs.get_tensor("AA").tobytes()
    assert np.asarray(ours.get_slice("test")[:, 3:4]).ravel().tolist() == [10, 11, 12, 13, 14]


# CheckpointSize: the value of each type that takes the most bytes per element in its field
CHECKPOINT_SIZE = [
    ("bool", False),
    ("bool", True),
    ("float32", -1.0),
    ("float64", -1.0),
    ("complex64", -1.0),
    ("complex128", -1.0),
    ("int32", -1),
    ("int64", -1),
    ("uint16", np.iinfo(np.uint16).max),
    ("uint8", np.iinfo(np.uint8).max),
    ("int8", -1),
    ("int16", -1),
    ("qint8", -1),
    ("quint8", np.iinfo(np.uint8).max),
    ("qint32", -1),
    ("float16", -1.0),
]


@pytest.mark.parametrize(("name", "value"), CHECKPOINT_SIZE, ids=lambda v: str(v))
def test_checkpoint_size_values(tmp_path: Path, name: str, value: object) -> None:
    """TensorSliceWriteTest.CheckpointSize: 1 and 1,001 elements of each type's widest value
    (-1 as a 10-byte varint in int_val for the small signed types, a type's maximum for the
    unsigned ones, half's bits in half_val): TF's writer stores them, graphtui reads every
    element bit for bit as TF's RestoreSlice does (upstream's byte counts are the writer's own
    MaxBytesPerElement, with no reading side)."""
    dt = tf.as_dtype(name)
    numpy_type = dtypes.from_name(name).numpy
    for count in (1, 1001):
        path = str(tmp_path / f"{name}_{count}")
        full = np.full([count], value, dtype=numpy_type)
        data = tf.constant(full) if not dt.is_quantized else tf.cast(tf.constant(full), dt)
        tf.raw_ops.SaveSlices(
            filename=path, tensor_names=["x"], shapes_and_slices=[""], data=[data]
        )
        theirs = np.asarray(
            tf.raw_ops.RestoreSlice(
                file_pattern=path, tensor_name="x", shape_and_slice="", dt=dt
            ).numpy()
        )
        mine = graphtui.load_checkpoint(path).get_tensor("x")
        assert mine.tobytes() == theirs.tobytes() == full.tobytes()
