"""TensorFlow's tests of its V1 checkpoint reader (saved tensor slices), translated.

Upstream: ``tensorflow/core/util/tensor_slice_reader_test.cc`` (``TensorSliceReaderTest``,
``CachedTensorSliceReaderTest``, ``CheckpointVersionTest``) and
``tensorflow/core/util/saved_tensor_slice_util_test.cc`` (``TensorNameSliceToOrderedCode``).
TF writes each case from Python as the C++ test does with its ``TensorSliceWriter``:
``tf.raw_ops.SaveSlices`` writes one V1 file per call, several slices of a tensor in one file
when the name repeats. TF's V1 reader answers (``RestoreSlice`` is ``CopySliceData``;
``NewCheckpointReader`` is ``TensorSliceReader``); graphtui's reader answers without TF.
The ``MutateSavedTensorSlices`` cases rewrite TF's file here the same way (its table rewritten
with each SavedTensorSlices message changed) and TF's reader judges the result.

Where upstream copies a region of a tensor with a hole (``CopySliceData`` of ``1,1:-``),
graphtui's ``read_slice`` reads the region too, and refuses one over the hole as TF does; the
whole tensor it refuses, naming the gap, as TF's own ``get_tensor`` refuses a sliced V1 tensor;
with the hole filled both read every value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.errors import FormatError
from graphtui.formats import dtypes
from graphtui.formats.ordered_code import decode_slice_key, encode_slice_key
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from tensorflow.core.util import saved_tensor_slice_pb2  # noqa: E402
from tensorflow.python.training import py_checkpoint_reader  # noqa: E402

SHAPE = "4 5"


def _save_slices(path: Path, slices: list[tuple[str, np.ndarray]], dtype: str) -> None:
    """One TensorSliceWriter file: tensor "test" of shape [4, 5], the given slices of it."""
    tf.raw_ops.SaveSlices(
        filename=str(path),
        tensor_names=["test"] * len(slices),
        shapes_and_slices=[f"{SHAPE} {spec}" for spec, _ in slices],
        data=[tf.constant(value, dtype=tf.as_dtype(dtype)) for _, value in slices],
    )


def _write_simple(root: Path, dtype: str, fill_hole: bool = False) -> str:
    """SimpleFloatHelper / SimpleIntXHelper: file _0 holds rows 0-1 (``0,2:-``); file _1 the
    bottom-left corner (``2,2:0,3``) and the last two of row 3 (``3,1:3,2``), leaving 13 and 14
    out. ``fill_hole``: a file _2 holds them (``2,1:3,2``)."""
    full = np.arange(20).reshape(4, 5).astype(dtypes.from_name(dtype).numpy)
    _save_slices(root / "ckpt_0", [("0,2:-", full[0:2])], dtype)
    _save_slices(root / "ckpt_1", [("2,2:0,3", full[2:4, 0:3]), ("3,1:3,2", full[3:4, 3:5])], dtype)
    if fill_hole:
        _save_slices(root / "ckpt_2", [("2,1:3,2", full[2:3, 3:5])], dtype)
    return str(root / "ckpt_*")


def _restore_slice(pattern: str, spec: str, dtype: str) -> np.ndarray:
    """TF's ``TensorSliceReader::CopySliceData`` (RestoreSlice)."""
    out = tf.raw_ops.RestoreSlice(
        file_pattern=pattern,
        tensor_name="test",
        shape_and_slice=f"{SHAPE} {spec}" if spec else "",
        dt=tf.as_dtype(dtype),
    )
    return np.asarray(out.numpy())


SIMPLE = ["float32", "int32", "int64", "int16", "int8", "uint8"]


@pytest.mark.parametrize("dtype", SIMPLE)
def test_simple(tmp_path: Path, dtype: str) -> None:
    """TensorSliceReaderTest.SimpleFloat, SimpleInt32, SimpleInt64, SimpleInt16, SimpleInt8,
    SimpleUint8: two files, HasTensor with TF's shape and dtype, an unknown tensor absent; the
    exact slice ``0,2:-`` and the subset ``1,1:-`` are TF's values, in TF and in graphtui
    (which refused them: it read V1 tensors whole only); a region over the hole (``1,2:2,3``)
    cannot be read in either, nor can the whole tensor."""
    pattern = _write_simple(tmp_path, dtype)
    theirs = py_checkpoint_reader.NewCheckpointReader(pattern)
    ours = graphtui.load_checkpoint(pattern)
    assert (
        ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map() == {"test": [4, 5]}
    )
    assert ours.get_variable_to_dtype_map()["test"].name == dtype
    assert theirs.get_variable_to_dtype_map()["test"].name == dtype
    assert ours.has_tensor("don't exist") is theirs.has_tensor("don't exist") is False
    full = np.arange(20).reshape(4, 5)
    for spec, extents, index in (
        ("0,2:-", ((0, 2), (0, -1)), np.s_[0:2]),
        ("1,1:-", ((1, 1), (0, -1)), np.s_[1:2]),
        ("2,2:0,3", ((2, 2), (0, 3)), np.s_[2:4, 0:3]),
    ):
        theirs = _restore_slice(pattern, spec, dtype)
        assert theirs.tolist() == full[index].tolist()
        mine = ours.read_slice("test", extents)
        assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes()
    with pytest.raises(tf.errors.InvalidArgumentError):
        _restore_slice(pattern, "1,2:2,3", dtype)
    with pytest.raises(FormatError, match="do not cover"):
        ours.read_slice("test", ((1, 2), (2, 3)))
    with pytest.raises(FormatError, match="gap"):
        ours.get_tensor("test")


@pytest.mark.parametrize("dtype", SIMPLE)
def test_simple_hole_filled(tmp_path: Path, dtype: str) -> None:
    """SimpleFloatHelper with the hole filled by a third file: every slice and the whole
    tensor, graphtui's bytes equal to TF's (three files of slices reassembled)."""
    pattern = _write_simple(tmp_path, dtype, fill_hole=True)
    whole = _restore_slice(pattern, "", dtype)
    got = graphtui.load_checkpoint(pattern).get_tensor("test")
    assert got.dtype == whole.dtype and got.tobytes() == whole.tobytes()
    for spec, index in (("1,2:2,3", np.s_[1:3, 2:5]), ("0,2:-", np.s_[0:2])):
        assert (
            _restore_slice(pattern, spec, dtype).tobytes()
            == np.ascontiguousarray(got[index]).tobytes()
        )


def test_cached_reader_missing_file(tmp_path: Path) -> None:
    """CachedTensorSliceReaderTest.SimpleFloat, its last case: a file that does not exist has
    no reader in TF; graphtui raises FileNotFoundError."""
    missing = str(tmp_path / "file_does_not_exist")
    with pytest.raises(tf.errors.NotFoundError):
        py_checkpoint_reader.NewCheckpointReader(missing)
    with pytest.raises(FileNotFoundError):
        graphtui.load_checkpoint(missing)


# -- MutateSavedTensorSlices cases -------------------------------------------------------------


def _mutated(tmp_path: Path, name: str, mutate: Callable[[Any], None]) -> str:
    """Upstream's small checkpoint (int32 "test", shape [2, 5] saved whole here so that the
    whole tensor is readable before the change), every SavedTensorSlices rewritten."""
    path = tmp_path / name
    tf.raw_ops.SaveSlices(
        filename=str(path),
        tensor_names=["test"],
        shapes_and_slices=[""],
        data=[tf.constant(np.arange(10, dtype=np.int32).reshape(2, 5))],
    )
    with Table(str(path)) as table:
        items = [(bytes(k), bytes(v)) for k, v in table.items()]
    with open(path, "wb") as out:
        writer = TableWriter(out)
        for key, value in items:
            sts = saved_tensor_slice_pb2.SavedTensorSlices.FromString(value)
            mutate(sts)
            writer.add(key, sts.SerializeToString())
        writer.finish()
    return str(path)


def _meta(change: Callable[[Any], None]) -> Callable[[Any], None]:
    def mutate(sts: Any) -> None:
        if sts.HasField("meta"):
            change(sts.meta)

    return mutate


def _data(change: Callable[[Any], None]) -> Callable[[Any], None]:
    def mutate(sts: Any) -> None:
        if sts.HasField("data"):
            change(sts.data.data)

    return mutate


def _every_tensor(change: Callable[[Any], None]) -> Callable[[Any], None]:
    def on_meta(meta: Any) -> None:
        for tensor in meta.tensor:
            change(tensor)

    return _meta(on_meta)


def _negate_dims(tensor: Any) -> None:
    for dim in tensor.shape.dim:
        dim.size = -dim.size


def _bad_extent(tensor: Any) -> None:
    tensor.slice[0].extent.add()
    del tensor.slice[0].extent[1:]
    tensor.slice[0].extent[0].start = 0
    tensor.slice[0].extent[0].length = -10


def _as_tensor_content(values: Any) -> None:
    ints = list(values.int_val)
    del values.int_val[:]
    values.tensor_content = np.array(ints, np.int32).tobytes()


READ_REFUSED = [
    # UnsupportedTensorType: DT_INT32_REF
    pytest.param(_every_tensor(lambda t: setattr(t, "type", 103)), "reference dtype",
                 id="UnsupportedTensorType"),
    # MissingTensorData: 4 values for 10 elements
    pytest.param(_data(lambda v: v.int_val.__delitem__(slice(4, None))), "4 values",
                 id="MissingTensorData"),
    # MissingTensorType: DT_INVALID
    pytest.param(_every_tensor(lambda t: t.ClearField("type")), "no dtype",
                 id="MissingTensorType"),
    # beyond upstream: too many values; the values as tensor_content (TF reads the typed field)
    pytest.param(_data(lambda v: v.int_val.extend([99, 98])), "12 values", id="extra_data"),
    pytest.param(_data(_as_tensor_content), "tensor_content", id="tensor_content"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "message"), READ_REFUSED)
def test_tensor_listed_but_refused(tmp_path: Path, mutate: Any, message: str) -> None:
    """TensorSliceReaderTest.MissingTensorType / UnsupportedTensorType / MissingTensorData: the
    checkpoint opens,
    HasTensor("test") is true, reading it fails, in TF and in graphtui alike (graphtui gave
    the 4 values with the last repeated, a Const's rule, and read a _REF dtype as its base)."""
    path = _mutated(tmp_path, "ckpt", mutate)
    theirs = py_checkpoint_reader.NewCheckpointReader(path)
    assert theirs.has_tensor("test")
    with pytest.raises((tf.errors.OpError, ValueError)):
        theirs.get_tensor("test")
    with pytest.raises(tf.errors.InvalidArgumentError):
        _restore_slice(path, "", "int32")
    ours = graphtui.load_checkpoint(path)
    assert ours.has_tensor("test")
    assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map()
    # listed as TF lists it: a _REF dtype as DT_INT32_REF / int32_ref (graphtui listed int32)
    lines = sorted(theirs.debug_string().splitlines())
    assert sorted(ours.debug_string().splitlines()) == lines
    if "reference" in message:
        assert {k: v.name for k, v in ours.get_variable_to_dtype_map().items()} == {
            k: v.name for k, v in theirs.get_variable_to_dtype_map().items()
        }
    with pytest.raises(FormatError, match=message):
        ours.get_tensor("test")
    assert ours.verify()


OPEN_REFUSED = [
    pytest.param(_every_tensor(_negate_dims), "shape", id="NegativeTensorShapeDimension"),
    pytest.param(_every_tensor(_bad_extent), "negative start", id="InvalidTensorSlice"),
]


@pytest.mark.parametrize(("mutate", "message"), OPEN_REFUSED)
def test_checkpoint_refused(tmp_path: Path, mutate: Any, message: str) -> None:
    """TensorSliceReaderTest.NegativeTensorShapeDimension, InvalidTensorSlice: TF's reader refuses the file; graphtui refuses it when it is opened,
    one FormatError naming the file."""
    path = _mutated(tmp_path, "ckpt", mutate)
    with pytest.raises((tf.errors.OpError, ValueError, TypeError)):
        py_checkpoint_reader.NewCheckpointReader(path)
    with pytest.raises(FormatError, match=message) as caught:
        graphtui.load_checkpoint(path)
    assert caught.value.path == path


def _versions(**fields: Any) -> Callable[[Any], None]:
    def change(meta: Any) -> None:
        for key, value in fields.items():
            if key == "bad_consumers":
                meta.versions.bad_consumers.extend(value)
            else:
                setattr(meta.versions, key, value)

    return _meta(change)


VERSIONS = [
    pytest.param(_versions(producer=2, min_consumer=2),
                 "Checkpoint min consumer version 2 above current version 1 for TensorFlow",
                 id="MinConsumer"),
    pytest.param(_versions(producer=-1),
                 "Checkpoint producer version -1 below min producer 0 supported by TensorFlow",
                 id="MinProducer"),
    pytest.param(_versions(producer=2, bad_consumers=[1]),
                 "Checkpoint disallows consumer version 1.  Please upgrade TensorFlow",
                 id="BadConsumer"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "message"), VERSIONS)
def test_checkpoint_version(tmp_path: Path, mutate: Any, message: str) -> None:
    """CheckpointVersionTest.MinConsumer / MinProducer / BadConsumer: a V1 file whose
    VersionDef excludes today's reader (TF_CHECKPOINT_VERSION 1, min producer 0) is refused
    by TF with upstream's message, and by graphtui (it read the values before)."""
    path = _mutated(tmp_path, "ckpt", mutate)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        py_checkpoint_reader.NewCheckpointReader(path)
    with pytest.raises(FormatError, match="version"):
        graphtui.load_checkpoint(path)


def test_newer_compatible_version_reads(tmp_path: Path) -> None:
    """CheckVersions lets a newer producer through when nothing excludes consumer 1."""
    path = _mutated(tmp_path, "ckpt", _versions(producer=5, bad_consumers=[0, 2]))
    theirs = py_checkpoint_reader.NewCheckpointReader(path).get_tensor("test")
    assert graphtui.load_checkpoint(path).get_tensor("test").tobytes() == theirs.tobytes()


# -- every type TensorSliceWriter saves --------------------------------------------------------

V1_TYPES = ["float32", "float64", "int32", "uint8", "int16", "int8", "complex64", "complex128",
            "int64", "bool", "qint8", "quint8", "qint32", "float16", "uint16", "string"]  # fmt: skip


def test_every_type(tmp_path: Path) -> None:
    """SaveTypeTraits: every type TF's V1 writer saves (each in its typed TensorProto field),
    a tensor cut in two slices, read back bit for bit as TF's RestoreSlice reads it."""
    for name in V1_TYPES:
        dt = tf.as_dtype(name)
        if name == "string":
            full = np.array([[b"a", b"bb", b""], [b"c", b"d" * 300, b"e"]], dtype=object)
        elif name == "bool":
            full = np.array([[True, False, True], [False, True, True]])
        else:
            full = np.arange(6).reshape(2, 3).astype(dtypes.from_name(name).numpy)
        path = str(tmp_path / name)
        tf.raw_ops.SaveSlices(
            filename=path,
            tensor_names=["x", "x"],
            shapes_and_slices=["2 3 -:0,1", "2 3 -:1,2"],
            data=[tf.constant(full[:, :1], dtype=dt), tf.constant(full[:, 1:], dtype=dt)],
        )
        (theirs,) = [
            np.asarray(
                tf.raw_ops.RestoreSlice(
                    file_pattern=path, tensor_name="x", shape_and_slice="2 3 -:-", dt=dt
                ).numpy()
            )
        ]
        got = graphtui.load_checkpoint(path).get_tensor("x")
        if name == "string":
            assert got.tolist() == theirs.tolist() == full.tolist()
        else:
            assert got.tobytes() == theirs.tobytes(), name


# -- saved_tensor_slice_util_test.cc -----------------------------------------------------------


def test_tensor_name_slice_to_ordered_code(tmp_path: Path) -> None:
    """TensorShapeUtilTest.TensorNameSliceToOrderedCode: the key of tensor "foo", slice
    ``-:-:1,3:4,5``, is what TF writes (its V2 index and its V1 file use the same
    EncodeTensorNameSlice), and decodes back to the name and the slice."""
    extents = ((0, -1), (0, -1), (1, 3), (4, 5))
    value = tf.zeros([2, 2, 3, 5])
    prefix = str(tmp_path / "v2")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["foo"],
                      shape_and_slices=["2 2 4 9 -:-:1,3:4,5"], tensors=[value])  # fmt: skip
    v1 = str(tmp_path / "v1")
    tf.raw_ops.SaveSlices(filename=v1, tensor_names=["foo"],
                          shapes_and_slices=["2 2 4 9 -:-:1,3:4,5"], data=[value])  # fmt: skip
    with Table(prefix + ".index") as table:
        v2_keys = [bytes(k) for k, _ in table.items() if bytes(k)[:1] == b"\0"]
    with Table(v1) as table:
        v1_keys = [bytes(k) for k, _ in table.items() if bytes(k)]
    assert v2_keys == v1_keys == [encode_slice_key("foo", extents)]
    name, decoded = decode_slice_key(v2_keys[0])
    assert (name, tuple(map(tuple, decoded))) == ("foo", extents)
