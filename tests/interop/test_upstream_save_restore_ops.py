"""TensorFlow's tests of its save and restore kernels, translated: the files they write.

Upstream: ``tensorflow/core/kernels/restore_v2_op_test.cc`` (``RestoreV2OpTest``:
``RestoreAfterSaveV2``, ``RestoreAfterSaveSlicesV1``, ``RestoreAfterSaveV1``) and
``tensorflow/core/kernels/save_op_test.cc`` (``SaveSlicesOpTest.Slices``,
``SaveOpSlices2Test.TwoSlices``). TF runs the same ops from Python (``tf.raw_ops.SaveV2``,
``SaveSlices``, ``Save``) on upstream's inputs and restores them; graphtui reads each file
without TF and must give TF's dtypes, shapes and value bytes, and the values upstream expects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.errors import FormatError

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from tensorflow.python.training import py_checkpoint_reader  # noqa: E402


def _qint8_of(i: int) -> int:
    """``*reinterpret_cast<qint8*>(&x)``: the low byte of ``x`` as a signed byte."""
    return int(np.array([i], np.int32).view(np.int8)[0])


# RunTest's tensors: name -> (dtype, shape, value of element i)
TENSORS: dict[str, tuple[str, tuple[int, ...], Any]] = {
    "tensor_bool": ("bool", (2,), lambda i: i != 0),
    "tensor_int": ("int32", (10,), lambda i: i + 1),
    "tensor_float": ("float32", (2, 4), lambda i: np.float32(i) / np.float32(10)),
    "tensor_double": ("float64", (2, 4), lambda i: i / 20),
    "tensor_qint8": ("qint8", (3, 2), _qint8_of),
    "tensor_qint32": ("qint32", (2, 3), lambda i: i * 2),
    "tensor_uint8": ("uint8", (11,), lambda i: i + 1),
    "tensor_int8": ("int8", (7,), lambda i: i - 7),
    "tensor_int16": ("int16", (7,), lambda i: i - 8),
    "tensor_int64": ("int64", (9,), lambda i: i - 9),
    "tensor_complex64": ("complex64", (2, 3), lambda i: complex(100 + i, 200 + i)),
    "tensor_half": ("float16", (2, 4), lambda i: np.float16(i) / np.float16(5)),
}


def _storage(dtype: str) -> Any:
    return {"qint8": np.int8, "qint32": np.int32}.get(dtype, dtype)


def _expected(name: str) -> np.ndarray:
    dtype, shape, value = TENSORS[name]
    flat = [value(i) for i in range(int(np.prod(shape)))]
    return np.array(flat, dtype=_storage(dtype)).reshape(shape)


def _tensor(name: str) -> Any:
    return tf.constant(_expected(name), dtype=tf.as_dtype(TENSORS[name][0]))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """RunTest's twelve tensors saved by each of SaveV2, SaveSlices and Save."""
    root = tmp_path_factory.mktemp("ops")
    names = list(TENSORS)
    tensors = [_tensor(n) for n in names]
    out = {op: str(root / f"tensor_simple-{op}") for op in ("SaveV2", "SaveSlices", "Save")}
    tf.raw_ops.SaveV2(
        prefix=out["SaveV2"], tensor_names=names, shape_and_slices=[""] * len(names),
        tensors=tensors)  # fmt: skip
    tf.raw_ops.SaveSlices(
        filename=out["SaveSlices"], tensor_names=names, shapes_and_slices=[""] * len(names),
        data=tensors)  # fmt: skip
    tf.raw_ops.Save(filename=out["Save"], tensor_names=names, data=tensors)
    return out


@pytest.mark.parametrize("op", ["SaveV2", "SaveSlices", "Save"])
def test_restore_after_save(saved: dict[str, str], op: str) -> None:
    """RestoreV2OpTest.RestoreAfterSaveV2 / RestoreAfterSaveSlicesV1 / RestoreAfterSaveV1: each
    tensor restored by RestoreV2 (V2, and V1 for backward compatibility) has upstream's
    values; graphtui reads TF's dtype, shape and the same bytes from each file."""
    path = saved[op]
    ours = graphtui.load_checkpoint(path)
    theirs_reader = py_checkpoint_reader.NewCheckpointReader(path)
    assert ours.get_variable_to_shape_map() == theirs_reader.get_variable_to_shape_map()
    assert {k: v.name for k, v in ours.get_variable_to_dtype_map().items()} == {
        k: v.name for k, v in theirs_reader.get_variable_to_dtype_map().items()
    }
    for name, (dtype, shape, _) in TENSORS.items():
        (theirs,) = tf.raw_ops.RestoreV2(
            prefix=path, tensor_names=[name], shape_and_slices=[""], dtypes=[tf.as_dtype(dtype)]
        )
        want = np.asarray(theirs.numpy())
        assert want.shape == shape
        assert want.tobytes() == _expected(name).tobytes(), name  # upstream's values
        got = ours.get_tensor(name)
        assert got.shape == shape and got.tobytes() == want.tobytes(), (op, name)


def test_save_slices(tmp_path: Path) -> None:
    """SaveSlicesOpTest.Slices: five tensors, some saved whole, some as one slice of a larger
    tensor. Shapes and dtypes as TF lists them; the saved slices read in TF; a tensor saved
    whole reads in graphtui; the full read of one saved only in part is refused by both."""
    path = str(tmp_path / "tensor_slices")
    names = ["tensor_int", "tensor_float", "tensor_double", "tensor_qint8", "tensor_qint32"]
    specs = ["10 -", "2 4 -:0,2", "2 4 0,1:2,2", "3 2 -:-", "2 3 1,1:2,1"]
    data = [
        tf.constant(np.arange(1, 11, dtype=np.int32)),
        tf.constant((np.arange(4, dtype=np.float32) / 10).reshape(2, 2)),
        tf.constant((np.arange(2) / 20).reshape(1, 2)),
        tf.constant(np.array([_qint8_of(i) for i in range(6)], np.int8).reshape(3, 2),
                    dtype=tf.qint8),
        tf.constant(np.zeros((1, 1), np.int32), dtype=tf.qint32),
    ]  # fmt: skip
    tf.raw_ops.SaveSlices(filename=path, tensor_names=names, shapes_and_slices=specs, data=data)
    ours = graphtui.load_checkpoint(path)
    theirs = py_checkpoint_reader.NewCheckpointReader(path)
    assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map() == {
        "tensor_int": [10], "tensor_float": [2, 4], "tensor_double": [2, 4],
        "tensor_qint8": [3, 2], "tensor_qint32": [2, 3],
    }  # fmt: skip
    assert {k: v.name for k, v in ours.get_variable_to_dtype_map().items()} == {
        "tensor_int": "int32", "tensor_float": "float32", "tensor_double": "float64",
        "tensor_qint8": "qint8", "tensor_qint32": "qint32",
    }  # fmt: skip
    for name, dtype, whole in (("tensor_int", "int32", True), ("tensor_qint8", "qint8", True),
                               ("tensor_float", "float32", False),
                               ("tensor_double", "float64", False),
                               ("tensor_qint32", "qint32", False)):  # fmt: skip
        spec = specs[names.index(name)]
        dims = spec.split(" ")[:-1]
        full_spec = " ".join(dims) + " " + ":".join("-" for _ in dims)
        if whole:
            (want,) = tf.raw_ops.RestoreV2(prefix=path, tensor_names=[name],
                                           shape_and_slices=[""], dtypes=[tf.as_dtype(dtype)])  # fmt: skip
            assert ours.get_tensor(name).tobytes() == np.asarray(want.numpy()).tobytes()
            continue
        tf.raw_ops.RestoreSlice(file_pattern=path, tensor_name=name, shape_and_slice=spec,
                                dt=tf.as_dtype(dtype))  # fmt: skip
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.raw_ops.RestoreSlice(file_pattern=path, tensor_name=name,
                                    shape_and_slice=full_spec, dt=tf.as_dtype(dtype))  # fmt: skip
        with pytest.raises(FormatError, match="gap|hold"):
            ours.get_tensor(name)


def test_two_slices(tmp_path: Path) -> None:
    """SaveOpSlices2Test.TwoSlices: "four_by_sixteen" saved as rows 0-1 and rows 2-3 in one
    V1 file and "small" whole; both reload whole with upstream's values, in TF and graphtui."""
    path = str(tmp_path / "three_slices")
    top = np.arange(1, 33, dtype=np.int32).reshape(2, 16)
    bottom = (10 * np.arange(1, 33, dtype=np.int32)).reshape(2, 16)
    small = (np.arange(8, dtype=np.float32) / 10).reshape(2, 4)
    tf.raw_ops.SaveSlices(
        filename=path,
        tensor_names=["four_by_sixteen", "four_by_sixteen", "small"],
        shapes_and_slices=["4 16 0,2:-", "4 16 2,2:-", ""],
        data=[tf.constant(top), tf.constant(bottom), tf.constant(small)],
    )
    ours = graphtui.load_checkpoint(path)
    for name, dtype, want in (("four_by_sixteen", tf.int32, np.concatenate([top, bottom])),
                              ("small", tf.float32, small)):  # fmt: skip
        theirs = tf.raw_ops.RestoreSlice(file_pattern=path, tensor_name=name,
                                         shape_and_slice="", dt=dtype).numpy()  # fmt: skip
        assert theirs.tobytes() == want.tobytes()
        got = ours.get_tensor(name)
        assert got.dtype == theirs.dtype and got.tobytes() == theirs.tobytes()
