"""TensorProto <-> numpy (Const attrs, V1 checkpoint slices)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from graphtui.formats import dtypes

_FLOAT8 = {
    "float8_e5m2",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e5m2fnuz",
    "float4_e2m1fn",
}

DEFAULT_MAX_ELEMENTS = 1 << 28  # a Const or slice may not expand beyond this many elements


class TensorProtoError(ValueError):
    """The TensorProto is malformed (size mismatch, unsupported dtype, absurd shape)."""


def addressable(shape: tuple[int, ...], itemsize: int = 16) -> bool:
    """numpy refuses a shape whose non-zero dims span more than 2**63 bytes, even when
    another dim is 0 (so the array would be empty)."""
    return math.prod(d for d in shape if d) * max(itemsize, 1) < 1 << 63


def shape_of(shape_proto: Any) -> tuple[int, ...] | None:
    """Dims of a TensorShapeProto; ``None`` for unknown rank; -1 for unknown dims."""
    if shape_proto.unknown_rank:
        return None
    return tuple(int(d.size) for d in shape_proto.dim)


def to_numpy(
    proto: Any,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    *,
    shape: tuple[int, ...] | None = None,
    dtype: dtypes.DType | None = None,
    surplus: Literal["drop", "refuse"] = "drop",
) -> np.ndarray:
    """Decode a TensorProto to a numpy array (strings become an object array of ``bytes``).

    ``shape`` and ``dtype`` override the proto's own (V1 checkpoints store values without them).
    More values than elements: ``"drop"`` keeps the first ones, as C++ ``Tensor::FromProto``
    does (what a Const node outputs when its graph runs); ``"refuse"`` raises, as Python's
    ``MakeNdarray`` does (what TF's Python decodes: a TensorSpec's bounds, a structured value).
    """
    dt = dtype or dtypes.stored(proto.dtype)
    if not dt.known:  # TF's MakeNdarray: "Cannot convert ... to a TensorFlow DType"
        raise TensorProtoError(f"its dtype enum {proto.dtype} is no TensorFlow type ({dt.name})")
    if shape is None:
        shape = shape_of(proto.tensor_shape) or ()
    if any(d < 0 for d in shape):
        raise TensorProtoError(f"tensor shape {list(shape)} has unknown dimensions")
    if not addressable(shape):
        raise TensorProtoError(f"tensor shape {list(shape)} is too large for any array")
    count = math.prod(shape)
    if count > max_elements:
        raise TensorProtoError(f"tensor of shape {list(shape)} has {count} elements: too many")
    if dt.name == "string":
        if proto.tensor_content:  # C++'s AsProtoTensorContent (grappler's folded constants)
            return _string_list(proto.tensor_content, count).reshape(shape)
        values = list(proto.string_val)
        return _fill(
            np.array(values, dtype=object) if values else np.empty(0, object),
            count,
            shape,
            b"",
            surplus,
        )
    if dt.numpy is None:
        raise TensorProtoError(f"cannot decode a {dt.name} tensor to numpy")
    if proto.tensor_content:
        content = proto.tensor_content
        if len(content) != count * dt.itemsize:
            raise TensorProtoError(
                f"tensor_content is {len(content)} bytes, shape {list(shape)} of {dt.name} "
                f"needs {count * dt.itemsize}"
            )
        return np.frombuffer(content, dtype=dt.numpy).reshape(shape).copy()
    if dt.name in _FLOAT8:
        raw = bytes(proto.float8_val)
        arr = np.frombuffer(raw, dtype=np.uint8).view(dt.numpy)
        return _fill(arr, count, shape, 0, surplus)
    field = dt.proto_field
    if field is None:
        raise TensorProtoError(f"cannot decode a {dt.name} tensor to numpy")
    values = list(getattr(proto, field))
    if dt.name in ("float16", "bfloat16"):
        # int32 in the proto; TF keeps the low 16 bits (a static_cast to uint16).
        arr = (np.array(values, dtype=np.int64) & 0xFFFF).astype(np.uint16).view(dt.numpy)
    elif dt.name in ("complex64", "complex128"):
        # (re, im) pairs; an odd last value is no element (FromProto counts size / 2 elements,
        # MakeNdarray zips pairs)
        pairs = np.array(
            values[: len(values) // 2 * 2],
            dtype=np.float32 if dt.name == "complex64" else np.float64,
        )
        arr = pairs.view(np.complex64 if dt.name == "complex64" else np.complex128)
    else:
        arr = np.array(values).astype(dt.numpy) if values else np.empty(0, dt.numpy)
    return _fill(arr, count, shape, 0, surplus)


def _string_list(content: bytes, count: int) -> np.ndarray:
    """TF's ``DecodeStringList`` (what ``Tensor::FromProto`` reads from a string tensor's
    tensor_content): ``count`` varint32 lengths, then the bytes, all of them used."""
    from graphtui.formats.varint import VarintError, decode_varint

    if count > len(content):  # each length takes at least one byte
        raise TensorProtoError(f"tensor_content of {len(content)} bytes for {count} strings")
    lengths = []
    pos = 0
    try:
        for _ in range(count):
            length, pos = decode_varint(content, pos)
            if length >= 1 << 32:
                raise VarintError("not a varint32", cut=False)
            lengths.append(length)
    except VarintError:
        raise TensorProtoError("string tensor_content: corrupt length") from None
    if pos + sum(lengths) != len(content):
        raise TensorProtoError(
            f"string tensor_content: lengths add up to {pos + sum(lengths)} bytes, "
            f"it holds {len(content)}"
        )
    out = np.empty(count, dtype=object)
    for i, length in enumerate(lengths):
        out[i] = bytes(content[pos : pos + length])
        pos += length
    return out


def typed_count(proto: Any, dtype: dtypes.DType) -> int:
    """How many elements ``proto``'s typed value field holds for ``dtype`` (complex values are
    pairs; float8 one byte each), tensor_content aside."""
    if dtype.name in _FLOAT8:
        return len(proto.float8_val)
    field = dtype.proto_field
    if field is None:
        return 0
    n = len(getattr(proto, field))
    return n // 2 if dtype.name in ("complex64", "complex128") else n


def _fill(
    arr: np.ndarray,
    count: int,
    shape: tuple[int, ...],
    zero: object,
    surplus: Literal["drop", "refuse"],
) -> np.ndarray:
    """TF semantics: fewer values than elements repeat the last one; none means zeros; more
    are dropped or refused (``surplus``, see :func:`to_numpy`)."""
    if arr.size == count:
        return arr.reshape(shape)
    if arr.size > count:
        if surplus == "refuse":
            raise TensorProtoError(f"{arr.size} values for a tensor of {count} elements")
        return arr[:count].reshape(shape)
    out = np.empty(count, dtype=arr.dtype)
    if arr.size == 0:
        out[...] = np.zeros((), arr.dtype) if zero == 0 else zero
    else:
        out[: arr.size] = arr
        out[arr.size :] = arr[-1]
    return out.reshape(shape)


def from_numpy(array: np.ndarray, proto: Any) -> Any:
    """Fill ``proto`` (a TensorProto) from a numpy array, using tensor_content where possible."""
    arr = np.asarray(array)
    dt = dtypes.from_numpy(arr.dtype)
    proto.Clear()
    proto.dtype = dt.enum
    for d in arr.shape:
        proto.tensor_shape.dim.add().size = int(d)
    if dt.name == "string":
        proto.string_val.extend(x if isinstance(x, bytes) else str(x).encode() for x in arr.ravel())
    else:
        proto.tensor_content = (
            np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        )
    return proto


# Dtypes TensorFlow's make_tensor_proto stores as raw tensor_content when a tensor has more
# than one element (tensor_util._TENSOR_CONTENT_TYPES); the rest go to the typed fields.
_CONTENT_TYPES = frozenset(
    {
        "float16", "float32", "float64", "int32", "uint8", "int16", "int8", "int64", "qint8",
        "quint8", "qint16", "quint16", "qint32", "uint32", "uint64", "bfloat16", *_FLOAT8,
    }
)  # fmt: skip


def uses_tensor_content(dtype: dtypes.DType, count: int) -> bool:
    """True when ``make_tensor_proto`` stores ``count`` elements as raw ``tensor_content``."""
    return dtype.name in _CONTENT_TYPES and count > 1


def make_tensor_proto_raw(
    raw: bytes | memoryview, dtype: dtypes.DType, shape: tuple[int, ...], proto: Any
) -> Any:
    """``make_tensor_proto`` from stored little-endian bytes, for a tensor that
    :func:`uses_tensor_content` (a frozen variable copied from a bundle without decoding)."""
    proto.Clear()
    proto.dtype = dtype.enum
    proto.tensor_shape.SetInParent()
    for d in shape:
        proto.tensor_shape.dim.add().size = int(d)
    proto.tensor_content = bytes(raw)
    return proto


def make_tensor_proto(array: np.ndarray, dtype: dtypes.DType, proto: Any) -> Any:
    """Fill ``proto`` exactly as TensorFlow's ``make_tensor_proto(array, dtype, array.shape)``
    does, so a frozen Const matches TF's own bytes: ``tensor_content`` for more than one element
    of a content dtype, else the typed value field (half types as their 16 bits, float8 as bytes).
    """
    arr = np.asarray(array)
    proto.Clear()
    proto.dtype = dtype.enum
    proto.tensor_shape.SetInParent()
    for d in arr.shape:
        proto.tensor_shape.dim.add().size = int(d)
    if dtype.name == "string":
        proto.string_val.extend(x if isinstance(x, bytes) else str(x).encode() for x in arr.ravel())
        return proto
    if dtype.numpy is None:
        raise TensorProtoError(f"cannot encode a {dtype.name} tensor")
    flat = np.ascontiguousarray(arr.astype(dtype.numpy, copy=False)).ravel()
    if flat.dtype.byteorder == ">":
        flat = flat.astype(flat.dtype.newbyteorder("<"))
    if uses_tensor_content(dtype, flat.size):
        proto.tensor_content = flat.tobytes()
    elif dtype.name in _FLOAT8:
        proto.float8_val = flat.view(np.uint8).tobytes()
    elif dtype.name in ("float16", "bfloat16"):
        proto.half_val.extend(flat.view(np.uint16).tolist())
    elif dtype.name in ("complex64", "complex128"):
        getattr(proto, str(dtype.proto_field)).extend(flat.view(flat.real.dtype).tolist())
    else:
        value_field = dtype.proto_field
        if value_field is None:
            raise TensorProtoError(f"cannot encode a {dtype.name} tensor")
        getattr(proto, value_field).extend(flat.tolist())
    return proto
