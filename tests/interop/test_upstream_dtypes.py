"""TensorFlow's tests of its dtypes, translated: ``tensorflow/python/framework/dtypes_test.py``
(``TypesTest``), judged against graphtui's one dtype table (``graphtui/formats/dtypes.py``)
where it surfaces: the values of ``get_variable_to_dtype_map()`` (``name``,
``as_datatype_enum``, ``as_numpy_dtype``, ``repr``/``str``), ``debug_string()``, ``ls --json``,
a name as ``tf.as_dtype`` reads it (``from_name``: a graph's variable dtypes, ``convert
--dtype``), a numpy dtype as ``tf.as_dtype`` reads it (``from_numpy``: ``convert`` of an
``.npz`` / ``.safetensors`` to a checkpoint), and the bytes per element.

Every DataType enum is asked of live TF through one bundle holding an entry of each (TF's
``CheckpointReader`` answers for TF, graphtui's reader without TF).

Upstream cases with no graphtui surface (its DType has no such attribute): testRealDtype,
testIsInteger, testIsFloating, testIsComplex, testIsUnsigned, testMinMax,
testLimitsUndefinedError, testDTypeSubtypes, testDTypeSupertypes, testDTypeSerialization,
testAsDtypeInvalidArgument, testAllPybind11DTypeConvertibleToDType; testRepr is skipped
upstream (its repr and str are compared here for every enum all the same).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.cli import main as cli_main
from graphtui.errors import FormatError, UnknownDtypeError
from graphtui.formats import dtypes
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
ml_dtypes = pytest.importorskip("ml_dtypes")

from tensorflow.core.framework import types_pb2  # noqa: E402
from tensorflow.core.protobuf import tensor_bundle_pb2  # noqa: E402
from tensorflow.core.util import saved_tensor_slice_pb2  # noqa: E402
from tensorflow.python.framework import dtypes as tf_dtypes  # noqa: E402
from tensorflow.python.training import py_checkpoint_reader  # noqa: E402

ENUMS = sorted(e for e in types_pb2.DataType.values() if e != types_pb2.DT_INVALID)
NON_NUMERIC = {  # upstream's _is_numeric_dtype_enum
    types_pb2.DT_VARIANT, types_pb2.DT_VARIANT_REF, types_pb2.DT_RESOURCE,
    types_pb2.DT_RESOURCE_REF,
}  # fmt: skip


def _items(path: str) -> list[tuple[bytes, bytes]]:
    """Every entry of table ``path`` (a V2 index or a V1 file)."""
    with Table(path) as table:
        return [(bytes(k), bytes(v)) for k, v in table.items()]


def _write_table(path: str, items: list[tuple[bytes, bytes]]) -> None:
    with open(path, "wb") as out:
        writer = TableWriter(out)
        for key, value in items:
            writer.add(key, value)
        writer.finish()


def _bundle(directory: Path, entries: dict[bytes, int]) -> str:
    """A V2 bundle TF wrote (``x``: float32 [2], ``y``: float32 [2]), its index given one
    more empty entry per ``entries`` item (key -> stored DataType enum), or ``x``'s dtype
    changed where the key is ``b"x"``."""
    directory.mkdir(parents=True, exist_ok=True)
    src = str(directory / "src")
    tf.raw_ops.SaveV2(
        prefix=src,
        tensor_names=["x", "y"],
        shape_and_slices=["", ""],
        tensors=[tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])],
    )
    prefix = str(directory / "ckpt")
    shutil.copy(src + ".data-00000-of-00001", prefix + ".data-00000-of-00001")
    items = dict(_items(src + ".index"))
    for key, enum in entries.items():
        if key in items:
            entry = tensor_bundle_pb2.BundleEntryProto.FromString(items[key])
        else:
            entry = tensor_bundle_pb2.BundleEntryProto()
            entry.shape.dim.add(size=0)
        entry.dtype = enum  # type: ignore[assignment]
        items[key] = entry.SerializeToString()
    _write_table(prefix + ".index", sorted(items.items()))
    return prefix


@pytest.fixture(scope="module")
def every_enum(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One bundle with an entry of every DataType enum but DT_INVALID (``t101`` is stored as
    DT_FLOAT_REF, and so on)."""
    return _bundle(tmp_path_factory.mktemp("dtypes"), {f"t{e:03d}".encode(): e for e in ENUMS})


def _ours_theirs(prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ours = graphtui.load_checkpoint(prefix).get_variable_to_dtype_map()
    theirs = py_checkpoint_reader.NewCheckpointReader(prefix).get_variable_to_dtype_map()
    return ours, theirs


def test_all_types_convertible_to_dtype(
    every_enum: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """testAllTypesConstructible, testAllTypesConvertibleToDType, testDTypesHaveUniqueNames
    (and testRepr, skipped upstream): every enum's dtype as TF's reader
    gives it: the same ``as_datatype_enum``, name, repr and str; names unique; ``ls --json``
    and ``debug_string`` as TF names them."""
    ours, theirs = _ours_theirs(every_enum)
    assert set(ours) == set(theirs) == {"x", "y"} | {f"t{e:03d}" for e in ENUMS}
    for enum in ENUMS:
        key = f"t{enum:03d}"
        mine, want = ours[key], theirs[key]
        assert mine.as_datatype_enum == want.as_datatype_enum == enum, key
        assert (mine.name, repr(mine), str(mine)) == (want.name, repr(want), str(want)), key
    names = [ours[f"t{e:03d}"].name for e in ENUMS]
    assert len(set(names)) == len(ENUMS)
    reader = py_checkpoint_reader.NewCheckpointReader(every_enum)
    assert graphtui.load_checkpoint(every_enum).debug_string() == reader.debug_string()
    assert cli_main(["ls", every_enum, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["tensors"]
    assert {t["name"]: t["dtype"] for t in listed} == {k: v.name for k, v in theirs.items()}


def test_all_types_convertible_to_numpy_dtype(every_enum: str) -> None:
    """testAllTypesConvertibleToNumpyDtype: every numeric enum's ``as_numpy_dtype`` is TF's (a
    one-field structured dtype for the quantized types, ``object`` for string; graphtui gave
    the plain integer type) and makes an array; for resource and variant, which have none,
    both raise KeyError (graphtui gave None). A quantized tensor's values read as TF's
    ``get_tensor`` gives them: the plain integer type."""
    ours, theirs = _ours_theirs(every_enum)
    for enum in ENUMS:
        key = f"t{enum:03d}"
        if enum in NON_NUMERIC:
            with pytest.raises(KeyError):
                _ = theirs[key].as_numpy_dtype
            with pytest.raises(KeyError):
                _ = ours[key].as_numpy_dtype
            continue
        want = theirs[key].as_numpy_dtype
        assert ours[key].as_numpy_dtype == want, key
        np.empty((1, 1, 1, 1), dtype=ours[key].as_numpy_dtype)
    prefix = str(every_enum) + "_q"
    q = tf.quantization.quantize(tf.constant([1.0, 2.0, 3.0]), 0.0, 4.0, tf.qint8).output
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["q"], shape_and_slices=[""], tensors=[q])
    got = graphtui.load_checkpoint(prefix).get_tensor("q")
    want_q = tf.train.load_checkpoint(prefix).get_tensor("q")
    assert got.dtype == want_q.dtype == np.int8 and got.tolist() == want_q.tolist()


def _candidates() -> list[Any]:
    """What code written for TF compares a dtype with: TF's dtypes and names, enum values
    (ints, and floats and bools equal to them), Python and numpy types, arrays, strings TF
    does not read, and values it refuses."""
    names = sorted(tf_dtypes._STRING_TO_TF)  # noqa: SLF001
    return [
        *names, *(n.upper() for n in names[:5]), "DT_FLOAT", "not_a_type", b"float32",
        *(tf.as_dtype(e) for e in ENUMS), *range(-1, 140), 1.0, 2.1, 101.0, float("nan"),
        True, False, None, int, float, bool, object, str, complex, bytes,
        *NUMPY_TYPES, np.object_, np.str_, np.array([1.0]), np.array([1], np.int8),
        np.dtype([("f1", np.uint), ("f2", np.int32)]), object(), (1,), [1],
    ]  # fmt: skip


def test_eq_with_non_tf_types(every_enum: str) -> None:
    """testEqWithNonTFTypes, for every dtype and every value TF code compares one with: the
    dtypes of ``get_variable_to_dtype_map()`` equal exactly what TF's do (``dtype ==
    tf.float32``, ``== "float32"``, ``== np.float32``: graphtui's were equal to nothing but
    another graphtui dtype of the same fields), never ``int`` nor ``2.1``."""
    ours, theirs = _ours_theirs(every_enum)
    candidates = _candidates()
    for enum in ENUMS:
        key = f"t{enum:03d}"
        mine, want = ours[key], theirs[key]
        for value in candidates:
            assert (mine == value) is (want == value), (key, value)
            assert (mine != value) is (want != value), (key, value)
        assert mine != int and mine != 2.1  # noqa: E721, PLR1714 - upstream's two asserts
        assert mine == want and hash(mine) == hash(ours[key])


def test_reduce(every_enum: str) -> None:
    """testReduce: TF rebuilds a dtype from its name (``__reduce__`` is ``as_dtype(name)``);
    graphtui's ``from_name`` of every listed dtype's name gives it back (graphtui refused every
    ``_ref`` name: ``unknown dtype name 'float32_ref'``)."""
    ours, _ = _ours_theirs(every_enum)
    for enum in ENUMS:
        dt = ours[f"t{enum:03d}"]
        assert dtypes.from_name(dt.name).as_datatype_enum == enum
        assert tf.as_dtype(dt.name).as_datatype_enum == enum


def test_string_conversion() -> None:
    """testStringConversion: every name ``tf.as_dtype`` reads (``float``, ``half``,
    ``double``, every ``_ref`` name) is read by graphtui as the same enum; ``not_a_type`` is
    refused by both."""
    names = sorted(tf_dtypes._STRING_TO_TF)  # noqa: SLF001 - the names as_dtype reads
    assert "float32_ref" in names and "float8_e4m3fn" in names and "uint2_ref" in names
    for name in names:
        assert dtypes.from_name(name).as_datatype_enum == tf.as_dtype(name).as_datatype_enum, name
        assert dtypes.from_name(name).name == tf.as_dtype(name).name, name
    with pytest.raises(TypeError):
        tf.as_dtype("not_a_type")
    with pytest.raises(ValueError, match="not_a_type"):
        dtypes.from_name("not_a_type")


NUMPY_TYPES = [
    np.float32, np.float64, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.int16, np.int8, np.complex64, np.complex128, np.object_, np.bool_, np.float16,
    np.array(["foo", "bar"]).dtype, np.array([b"foo"]).dtype, np.array(2**32).dtype,
    ml_dtypes.bfloat16, ml_dtypes.float8_e5m2, ml_dtypes.float8_e4m3fn,
    ml_dtypes.float8_e4m3fnuz, ml_dtypes.float8_e4m3b11fnuz, ml_dtypes.float8_e5m2fnuz,
    ml_dtypes.float4_e2m1fn, ml_dtypes.int4, ml_dtypes.uint4, ml_dtypes.int2, ml_dtypes.uint2,
    # byte-swapped: TF reads the type, whatever the byte order (graphtui refused them)
    np.dtype(">f4"), np.dtype(">i8"), np.dtype(">c8"), np.dtype(">u2"), np.dtype(">f2"),
]  # fmt: skip


def test_numpy_conversion() -> None:
    """testNumpyConversion and testPythonLongConversion: the dtype of an array (what
    ``convert`` gives a tensor read from ``.npz`` / ``.safetensors``) is the one
    ``tf.as_dtype`` gives it, byte-swapped ones too; a structured dtype is refused by both."""
    for numpy_type in NUMPY_TYPES:
        want = tf.as_dtype(np.dtype(numpy_type))
        assert dtypes.from_numpy(np.dtype(numpy_type)).name == want.name, numpy_type
    structured = np.dtype([("f1", np.uint), ("f2", np.int32)])
    with pytest.raises(TypeError):
        tf.as_dtype(structured)
    with pytest.raises(ValueError, match="no TensorFlow dtype"):
        dtypes.from_numpy(structured)


def test_sizes_are_tf_sizes(every_enum: str) -> None:
    """The bytes per element graphtui checks a bundle entry's size against (and ``ls`` counts
    for a V1 tensor) are TF's ``DType.size`` for every fixed-size type, ``_ref`` types
    included; TF saves each such type at that size (checked on a saved tensor of each)."""
    ours, theirs = _ours_theirs(every_enum)
    for enum in ENUMS:
        key = f"t{enum:03d}"
        if ours[key].is_fixed_size:
            assert ours[key].itemsize == theirs[key].size, key


# -- testInvalid, and enums TF has no DType for --------------------------------------------


def _v1_file(directory: Path, enum: int) -> str:
    """A V1 file TF wrote (``test``: int32 [2, 5], ``ok``: float32 [2]), ``test``'s stored
    type changed to ``enum``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = str(directory / "v1")
    tf.raw_ops.SaveSlices(
        filename=path,
        tensor_names=["test", "ok"],
        shapes_and_slices=["", ""],
        data=[tf.constant(np.arange(10, dtype=np.int32).reshape(2, 5)), tf.constant([1.0, 2.0])],
    )
    items = []
    for key, value in _items(path):
        sts = saved_tensor_slice_pb2.SavedTensorSlices.FromString(value)
        for tensor in sts.meta.tensor if sts.HasField("meta") else []:
            if tensor.name == "test":
                tensor.type = enum  # type: ignore[assignment]
        items.append((key, sts.SerializeToString()))
    _write_table(path, items)
    return path


UNKNOWN = [0, 34, 134, 1000]  # DT_INVALID; an enum TF lacks; its "_REF"; one past every range


@pytest.mark.parametrize("enum", UNKNOWN)
def test_invalid_and_unknown_enums(
    tmp_path: Path, enum: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """testInvalid (``as_dtype(DT_INVALID)`` raises TypeError), through a checkpoint: an entry
    stored with DT_INVALID or an enum TF has no DType for. TF's reader opens the checkpoint,
    lists the entry (names, shapes, ``debug_string`` with an empty type or ``DT_INVALID``),
    raises TypeError for the dtype map and refuses the value (RestoreV2 / RestoreSlice:
    "unknown dtype enum"); the other tensor reads. graphtui refused the whole V2 checkpoint
    and the whole V1 file ("has unknown dtype 34"); now it answers as TF: ``ls`` lists it,
    ``cat`` and ``verify`` refuse it with one line naming the file and the tensor."""
    for kind, prefix, name, other in (
        ("V2", _bundle(tmp_path / "v2", {b"x": enum}), "x", "y"),
        ("V1", _v1_file(tmp_path / "v1", enum), "test", "ok"),
    ):
        theirs = py_checkpoint_reader.NewCheckpointReader(prefix)
        ours = graphtui.load_checkpoint(prefix)
        assert graphtui.list_variables(prefix) == tf.train.list_variables(prefix), kind
        assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map()
        assert sorted(ours.debug_string().splitlines()) == sorted(
            theirs.debug_string().splitlines()
        ), kind
        with pytest.raises(TypeError):
            theirs.get_variable_to_dtype_map()
        with pytest.raises(UnknownDtypeError, match=f"tensor '{name}'") as caught:
            ours.get_variable_to_dtype_map()
        assert isinstance(caught.value, TypeError) and caught.value.path in ours.files()
        if kind == "V2":
            with pytest.raises(tf.errors.InvalidArgumentError):
                tf.raw_ops.RestoreV2(
                    prefix=prefix, tensor_names=[name], shape_and_slices=[""], dtypes=[tf.float32]
                )
        else:
            with pytest.raises(tf.errors.InvalidArgumentError):
                tf.raw_ops.RestoreSlice(
                    file_pattern=prefix, tensor_name=name, shape_and_slice="", dt=tf.int32
                )
        want = theirs.get_tensor(other)
        assert ours.get_tensor(other).tobytes() == want.tobytes()
        with pytest.raises(FormatError, match=f"'{name}'") as refused:
            ours.get_tensor(name)
        assert refused.value.path in ours.files() and "\n" not in str(refused.value)
        assert [p.path for p in ours.verify()] == [refused.value.path]
        capsys.readouterr()
        assert cli_main(["ls", prefix, "--json"]) == 0
        listed = {t["name"]: t["dtype"] for t in json.loads(capsys.readouterr().out)["tensors"]}
        shown = "invalid" if enum == 0 else f"unknown dtype enum ({enum})"
        assert listed == {name: shown, other: "float32"}, kind
        assert cli_main(["cat", prefix, name]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and name in err and prefix in err
