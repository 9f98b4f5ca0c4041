"""TensorFlow's tests of TensorProto <-> numpy (``tensor_util``), translated.

Upstream: ``tensorflow/python/framework/tensor_util_test.py``, class ``TensorUtilTest``: each
case builds a TensorProto with TF's ``make_tensor_proto`` and reads it back with
``MakeNdarray``. Here TF builds the same proto and its ``MakeNdarray`` answers; graphtui decodes
the proto's bytes without TF (``tensor_proto.to_numpy``: the app's Const values, freeze,
convert, V1 checkpoint values) and must give the same dtype, shape and bytes. Where graphtui
writes a TensorProto (``tensor_proto.make_tensor_proto``: frozen variables), it must write
TF's bytes for the same array. The graph-level classes of that file (``ConstantValueTest``,
``IsTensorTest``, ...) test TF's Python graph API, not the format, and are not translated.

Known differences, kept on purpose: quantized types decode to their storage numpy type
(``int8`` for ``qint8``; TF returns a structured numpy type; the bytes are the same); a string
tensor with no ``string_val`` at all fills with ``b""`` where TF's ``MakeNdarray`` fills with
the ``str`` ``""``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.formats import dtypes
from graphtui.formats.tensor_proto import TensorProtoError, make_tensor_proto, to_numpy

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
ml_dtypes = pytest.importorskip("ml_dtypes")

from tensorflow.python.framework import dtypes as tf_dtypes  # noqa: E402
from tensorflow.python.framework import tensor_util  # noqa: E402


def _f8(name: str) -> Any:
    return getattr(tf_dtypes, name).as_numpy_dtype


# (upstream test name, value, make_tensor_proto keyword arguments)
CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("testFloat", 10.0, {}),
    ("testFloatN", [10.0, 20.0, 30.0], {}),
    ("testFloatTyped", [10.0, 20.0, 30.0], {"dtype": tf.float32}),
    ("testFloatTypeCoerce", [10, 20, 30], {"dtype": tf.float32}),
    ("testFloatTypeCoerceNdarray", np.asarray([10, 20, 30], dtype="int"), {"dtype": tf.float32}),
    ("testFloatSizes", [10.0, 20.0, 30.0], {"shape": [1, 3]}),
    ("testFloatSizes2", [10.0, 20.0, 30.0], {"shape": [3, 1]}),
    ("testFloatSizesLessValues", 10.0, {"shape": [1, 3]}),
    ("testFloatNpArrayFloat64", np.array([[10.0, 20.0, 30.0]], dtype=np.float64), {}),
    ("testFloatTypesWithImplicitRepeat/float32", [10.0], {"shape": [3, 4], "dtype": tf.float32}),
    ("testFloatTypesWithImplicitRepeat/float64", [10.0], {"shape": [3, 4], "dtype": tf.float64}),
    ("testHalf", np.array([10.0, 20.0], dtype=np.float16), {}),
    ("testHalf/scalar", np.array(10.0, dtype=np.float16), {}),
    ("testHalf/repeat", [1.5, 2.5], {"shape": [2, 3], "dtype": tf.float16}),
    ("testBfloat16", np.array([10.0, 20.0], dtype=ml_dtypes.bfloat16), {}),
    ("testBfloat16/scalar", np.array(10.0, dtype=ml_dtypes.bfloat16), {}),
    ("testBfloat16/repeat", [1.5, 2.5], {"shape": [2, 3], "dtype": tf.bfloat16}),
    ("testFloat8e5m2", np.array([10.0, 20.0], dtype=_f8("float8_e5m2")), {}),
    ("testFloat8e4m3fn", np.array([10.0, 20.0], dtype=_f8("float8_e4m3fn")), {}),
    ("testFloat8e4m3fnuz", np.array([10.0, 20.0], dtype=_f8("float8_e4m3fnuz")), {}),
    ("testFloat8e4m3b11fnuz", np.array([10.0, 20.0], dtype=_f8("float8_e4m3b11fnuz")), {}),
    ("testFloat8e5m2fnuz", np.array([10.0, 20.0], dtype=_f8("float8_e5m2fnuz")), {}),
    ("testFloat8e5m2/scalar", np.array(10.0, dtype=_f8("float8_e5m2")), {}),
    ("testFloat4e2m1fn", np.array([6, 0.5], dtype=_f8("float4_e2m1fn")), {}),
    ("testInt", 10, {}),
    ("testInt4", np.array([-8, -1, 0, 1, 7], dtype=_f8("int4")), {}),
    ("testUInt4", np.array([0, 1, 7, 8, 15], dtype=_f8("uint4")), {}),
    ("testInt2", np.array([-2, -1, 0, 1], dtype=_f8("int2")), {}),
    ("testUInt2", np.array([0, 1, 2, 3], dtype=_f8("uint2")), {}),
    ("testLargeInt", np.iinfo(np.int64).max, {}),
    ("testLargeNegativeInt", np.iinfo(np.int64).min + 1, {}),
    ("testIntNDefaultType", [10, 20, 30, 40], {"shape": [2, 2]}),
    *[
        (f"testIntTypes/{name}", [10, 20, 30], {"dtype": getattr(tf, name)})
        for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    ],
    *[
        (f"testIntTypes/{name}/ndarray", np.array([10, 20, 30], dtype=name), {})
        for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    ],
    *[
        (
            f"testIntTypesWithImplicitRepeat/{name}",
            [10, 11, 12],
            {"shape": [3, 4], "dtype": getattr(tf, name)},
        )
        for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    ],  # fmt: skip
    ("testLong/int64", 10, {"dtype": tf.int64}),
    ("testLong/uint64", 10, {"dtype": tf.uint64}),
    ("testLongN/int64", [10, 20, 30], {"shape": [1, 3], "dtype": tf.int64}),
    ("testLongN/uint64", [10, 20, 30], {"shape": [1, 3], "dtype": tf.uint64}),
    ("testLongNpArray/int64", np.array([10, 20, 30], dtype=np.int64), {}),
    ("testLongNpArray/uint64", np.array([10, 20, 30], dtype=np.uint64), {}),
    *[
        (f"testQuantizedTypes/{name}", [(21,), (22,), (23,)], {"dtype": getattr(tf, name)})
        for name in ("qint32", "quint8", "qint8", "quint16", "qint16")
    ],
    ("testString", "foo", {}),
    ("testStringWithImplicitRepeat", ["f", "g"], {"shape": [3, 4]}),
    ("testStringN", [b"foo", b"bar", b"baz"], {"shape": [1, 3]}),
    ("testStringNpArray", np.array([[b"a", b"ab"], [b"abc", b"abcd"]]), {}),
    ("testStringTuple", (b"a", b"ab", b"abc", b"abcd"), {}),
    ("testStringNestedTuple", ((b"a", b"ab"), (b"abc", b"abcd")), {}),
    ("testComplex64", 1 + 2j, {"dtype": tf.complex64}),
    ("testComplex128", 1 + 2j, {"dtype": tf.complex128}),
    ("testComplexWithImplicitRepeat/complex64", 1 + 1j, {"shape": [3, 4], "dtype": tf.complex64}),
    (
        "testComplexWithImplicitRepeat/complex128",
        1 + 1j,
        {"shape": [3, 4], "dtype": tf.complex128},
    ),  # fmt: skip
    ("testComplex64N", [1 + 2j, 3 + 4j, 5 + 6j], {"shape": [1, 3], "dtype": tf.complex64}),
    ("testComplex128N", [1 + 2j, 3 + 4j, 5 + 6j], {"shape": [1, 3], "dtype": tf.complex128}),
    (
        "testComplex64NpArray",
        np.array([[1 + 2j, 3 + 4j], [5 + 6j, 7 + 8j]]),
        {"dtype": tf.complex64},
    ),  # fmt: skip
    (
        "testComplex128NpArray",
        np.array([[1 + 2j, 3 + 4j], [5 + 6j, 7 + 8j]]),
        {"dtype": tf.complex128},
    ),  # fmt: skip
    ("testNestedNumpyArrayWithoutDType", [10.0, 20.0, np.array(30.0)], {}),
    ("testNestedNumpyArrayWithDType", [10.0, 20.0, np.array(30.0)], {"dtype": tf.float32}),
    ("testLowRankSupported", np.array(7), {}),
    # beyond upstream: bool, empty tensors, the first element repeated
    ("bool", [True, False, True], {}),
    ("bool/repeat", [True, False], {"shape": [2, 2]}),
    ("empty/float32", np.zeros((0, 3), np.float32), {}),
    ("empty/string", np.zeros((2, 0), object), {"dtype": tf.string}),
    ("empty/bfloat16", np.zeros((0,), ml_dtypes.bfloat16), {}),
    ("scalar/bool", True, {}),
    ("scalar/uint32", np.uint32(4_000_000_000), {}),
]


def _ours(theirs: Any) -> Any:
    """TF's proto as graphtui's own message: parsed from TF's bytes."""
    return pb.TensorProto.FromString(theirs.SerializeToString())


@pytest.mark.parametrize(("value", "kwargs"), [pytest.param(v, k, id=n) for n, v, k in CASES])
def test_make_ndarray_as_tf(value: Any, kwargs: dict[str, Any]) -> None:
    """TensorUtilTest (the case named in the id): ``MakeNdarray`` of TF's proto, and
    graphtui's decoding of the same bytes: dtype, shape and bytes equal."""
    proto = tensor_util.make_tensor_proto(value, **kwargs)
    want = tensor_util.MakeNdarray(proto)
    got = to_numpy(_ours(proto))
    assert got.shape == want.shape
    assert dtypes.from_enum(proto.dtype).name == tf.as_dtype(proto.dtype).name
    if want.dtype == object:
        assert got.dtype == object
        assert got.tolist() == want.tolist()
        assert all(type(x) is bytes for x in got.ravel())
        return
    if want.dtype.names:  # a quantized type: TF's structured dtype over the storage type
        assert got.dtype == want.dtype[0]
    else:
        assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize(("value", "kwargs"), [pytest.param(v, k, id=n) for n, v, k in CASES])
def test_make_tensor_proto_as_tf(value: Any, kwargs: dict[str, Any]) -> None:
    """TensorUtilTest's protos from graphtui's writer: ``make_tensor_proto`` of the full array
    (what freeze writes for a variable's value) is TF's ``make_tensor_proto`` of that array,
    byte for byte (tensor_content for more than one element of a content type, the typed
    field otherwise: half types as 16-bit ints, float8 as bytes, complex as pairs)."""
    proto = tensor_util.make_tensor_proto(value, **kwargs)
    full = tensor_util.MakeNdarray(proto)
    dt = dtypes.from_enum(proto.dtype)
    if full.dtype.names:
        full = full.view(full.dtype[0])
    theirs = tensor_util.make_tensor_proto(
        full if dt.name != "string" else full.astype(object),
        dtype=tf.as_dtype(proto.dtype),
        shape=full.shape,
    )
    ours = make_tensor_proto(full, dt, pb.TensorProto())
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True
    )


# -- testFloatSizesLessValues, testShapeTooLarge, testUnsupportedDTypes: the refusals ----------


def _proto(**fields: Any) -> Any:
    shape = fields.pop("shape")
    proto = pb.TensorProto(**fields)
    proto.tensor_shape.SetInParent()
    for d in shape:
        proto.tensor_shape.dim.add().size = d
    return proto


BAD = [
    # more values than elements: TF's np.pad refuses a negative pad
    pytest.param({"dtype": 1, "float_val": [1.0, 2.0, 3.0], "shape": [2]}, id="too_many_values"),
    # tensor_content not the size of the shape: TF's reshape refuses it
    pytest.param({"dtype": 1, "tensor_content": b"\0" * 12, "shape": [2]}, id="content_too_long"),
    pytest.param({"dtype": 1, "tensor_content": b"\0" * 4, "shape": [2]}, id="content_too_short"),
    pytest.param({"dtype": 20, "shape": []}, id="resource"),
    pytest.param({"dtype": 21, "shape": []}, id="variant"),
]


@pytest.mark.parametrize("fields", BAD)
def test_malformed_proto_refused_as_tf(fields: dict[str, Any]) -> None:
    """What ``MakeNdarray`` refuses (ValueError, TypeError, KeyError), graphtui refuses with its
    TensorProtoError (a ValueError) instead of a value: more values than the shape holds, a
    tensor_content of the wrong size, a resource or variant tensor."""
    ours = _proto(**fields)
    theirs = tf.make_tensor_proto(0)
    theirs.ParseFromString(ours.SerializeToString())
    with pytest.raises((ValueError, TypeError, KeyError)):  # KeyError: no numpy type
        tensor_util.MakeNdarray(theirs)
    with pytest.raises(TensorProtoError):
        to_numpy(ours, surplus="refuse")  # as MakeNdarray (a TensorSpec's bounds)


def test_no_values_is_zeros_as_tf() -> None:
    """``MakeNdarray`` of a proto with a shape and no values at all is zeros of that shape
    (``values.size == 0``), for every numeric type; graphtui's too."""
    for name in ("float32", "float64", "int32", "int64", "bool", "complex64", "float16",
                 "bfloat16", "uint64", "float8_e5m2"):  # fmt: skip
        dt = dtypes.from_name(name)
        ours = _proto(dtype=dt.enum, shape=[2, 3])
        theirs = tf.make_tensor_proto(0)
        theirs.ParseFromString(ours.SerializeToString())
        want = tensor_util.MakeNdarray(theirs)
        got = to_numpy(ours)
        assert got.dtype == want.dtype and got.shape == want.shape == (2, 3), name
        assert got.tobytes() == want.tobytes(), name


def test_half_val_high_bits_as_tf() -> None:
    """``half_val`` is an int32 field; TF keeps the low 16 bits (``np.fromiter(..., uint16)``
    on a value that fits; a static_cast in C++). A value written by a writer that
    sign-extended a negative half keeps its 16 bits in graphtui too."""
    ours = _proto(dtype=19, half_val=[0xBC00, 0x3C00], shape=[2])
    theirs = tf.make_tensor_proto(0)
    theirs.ParseFromString(ours.SerializeToString())
    want = tensor_util.MakeNdarray(theirs)
    got = to_numpy(ours)
    assert got.tobytes() == want.tobytes()
    assert got.tolist() == [-1.0, 1.0]


# -- beyond upstream: what a Const node outputs (C++ Tensor::FromProto) -------------------------


def _run_const(proto: Any) -> np.ndarray:
    """The value TF's runtime gives a Const node holding ``proto`` (C++ ``Tensor::FromProto``:
    what a graph computes with it, not Python's ``MakeNdarray``)."""
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    node = graph_def.node.add(name="c", op="Const")
    node.attr["dtype"].type = proto.dtype
    node.attr["value"].tensor.ParseFromString(proto.SerializeToString())
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as sess:
            return np.asarray(sess.run("c:0"))


def _string_list(strings: list[bytes]) -> bytes:
    from graphtui.formats.varint import encode_varint

    return b"".join(encode_varint(len(s)) for s in strings) + b"".join(strings)


STRINGS = [b"hello", b"", b"x" * 200, b"\xff\x00z"]
RUNTIME = [
    # AsProtoTensorContent of a string tensor (grappler's folded constants): DecodeStringList
    pytest.param({"dtype": 7, "tensor_content": _string_list(STRINGS), "shape": [2, 2]},
                 id="string_tensor_content"),
    pytest.param({"dtype": 7, "string_val": [b"a", b"b"], "shape": [3]}, id="string_repeat"),
    pytest.param({"dtype": 7, "shape": [2]}, id="string_no_values"),
    pytest.param({"dtype": 1, "float_val": [1.5], "shape": [2, 2]}, id="float_repeat"),
    pytest.param({"dtype": 3, "shape": [3]}, id="int_no_values"),
    pytest.param({"dtype": 19, "half_val": [0x3C00, 0xBC00], "shape": [3]}, id="half_repeat"),
    pytest.param({"dtype": 14, "half_val": [0x3F80], "shape": [2]}, id="bfloat16_repeat"),
    pytest.param({"dtype": 8, "scomplex_val": [1, 2], "shape": [2]}, id="complex_repeat"),
    pytest.param({"dtype": 10, "bool_val": [True], "shape": [3]}, id="bool_repeat"),
    # more values than elements: FromProto keeps the first ones (MakeNdarray refuses them)
    pytest.param({"dtype": 1, "float_val": [1, 2, 3, 4, 5, 6], "shape": [2, 2]},
                 id="float_more_values"),
    pytest.param({"dtype": 1, "float_val": [7, 8], "shape": []}, id="scalar_more_values"),
    pytest.param({"dtype": 7, "string_val": [b"a", b"b", b"c", b"d", b"e", b"f"],
                  "shape": [2, 2]}, id="string_more_values"),
    pytest.param({"dtype": 10, "bool_val": [True, False, True], "shape": [2]},
                 id="bool_more_values"),
    pytest.param({"dtype": 19, "half_val": [0x3C00, 0x4000, 0x4200], "shape": [2]},
                 id="half_more_values"),
    pytest.param({"dtype": 6, "int_val": [1, 2, 300], "shape": [2]}, id="int8_more_values"),
    pytest.param({"dtype": 9, "int64_val": [1, 2, 3], "shape": [2]}, id="int64_more_values"),
    pytest.param({"dtype": 8, "scomplex_val": [1, 2, 3, 4], "shape": [1]},
                 id="complex_more_values"),
    # an odd last value is no element: FromProto counts scomplex_val_size() / 2 of them
    pytest.param({"dtype": 8, "scomplex_val": [1, 2, 3], "shape": [2]}, id="complex_odd"),
    pytest.param({"dtype": 18, "dcomplex_val": [1, 2, 3], "shape": [1]}, id="complex128_odd"),
    pytest.param({"dtype": 24, "float8_val": bytes([60, 64, 68]), "shape": [2]},
                 id="float8_more_values"),
]  # fmt: skip
RUNTIME_REFUSED = [
    pytest.param({"dtype": 7, "tensor_content": _string_list(STRINGS) + b"!", "shape": [4]},
                 id="string_tensor_content_too_long"),
    pytest.param({"dtype": 7, "tensor_content": _string_list(STRINGS)[:-1], "shape": [4]},
                 id="string_tensor_content_too_short"),
    pytest.param({"dtype": 7, "tensor_content": b"\x05ab", "shape": [40]},
                 id="string_tensor_content_few_lengths"),
    pytest.param({"dtype": 1, "tensor_content": b"\0" * 12, "shape": [2]}, id="content_size"),
]  # fmt: skip


@pytest.mark.parametrize("fields", RUNTIME)
def test_const_value_as_tf_runs_it(fields: dict[str, Any]) -> None:
    """A Const's TensorProto decoded by graphtui (the app's Const values, freeze, convert) is
    the value TF's runtime gives the node: strings stored as tensor_content (which Python's
    MakeNdarray cannot read; graphtui showed empty strings for them), the last value
    repeated, zeros or empty strings for no values."""
    ours = _proto(**fields)
    want = _run_const(ours)
    got = to_numpy(ours)
    assert got.shape == want.shape
    if want.dtype == object:
        assert got.tolist() == want.tolist()
    else:
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("fields", RUNTIME_REFUSED)
def test_const_value_refused_as_tf_refuses_it(fields: dict[str, Any]) -> None:
    """A TensorProto TF's runtime cannot turn into a tensor (string tensor_content whose
    lengths do not add up, tensor_content of the wrong size) is refused by graphtui too, never
    shown as a value."""
    ours = _proto(**fields)
    with pytest.raises(tf.errors.OpError):
        _run_const(ours)
    with pytest.raises(TensorProtoError):
        to_numpy(ours)


def test_too_many_values_as_tf_runtime_and_make_ndarray() -> None:
    """More values than elements (float_val holding 6 values for shape [2, 2]): TF's runtime
    (``Tensor::FromProto``: a Const node's output, what graphtui shows for a Const and freezes)
    keeps the first ones, and graphtui's Const value is that; ``MakeNdarray`` refuses the
    proto, and so does graphtui where TF decodes with it (``surplus="refuse"``). graphtui
    refused the Const's value before."""
    ours = _proto(dtype=1, float_val=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], shape=[2, 2])
    want = _run_const(ours)
    assert want.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    got = to_numpy(ours)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    from graphtui.core.graph import decode_attr

    attr = pb.AttrValue()
    attr.tensor.CopyFrom(ours)
    shown = decode_attr(attr)  # a node's attrs in the app and the CLI
    assert isinstance(shown, np.ndarray) and shown.tobytes() == want.tobytes()
    theirs = tf.make_tensor_proto(0)
    theirs.ParseFromString(ours.SerializeToString())
    with pytest.raises(ValueError):
        tensor_util.MakeNdarray(theirs)
    with pytest.raises(TensorProtoError, match="6 values"):
        to_numpy(ours, surplus="refuse")
