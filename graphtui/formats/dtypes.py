"""TensorFlow's DataType enum as data: one row per type with its TF name and numpy dtype.

numpy (and ml_dtypes) are imported only when a row's numpy dtype is first asked for, so reading
a checkpoint's index (``graphtui ls``) does not pay for importing them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

REF_OFFSET = 100  # DT_FLOAT_REF == DT_FLOAT + 100, and so on.


@dataclass(frozen=True)
class DType:
    """A TensorFlow dtype: ``name`` is TensorFlow's (``float32``, ``bfloat16``, ``string``)."""

    enum: int
    name: str
    numpy_name: str | None  # numpy type name ("ml_dtypes.x" for ml_dtypes); None: no fixed size
    itemsize: int  # bytes per element in a bundle; 0 where variable
    safetensors: str | None = None  # the dtype code in a safetensors header; None: none exists
    proto_field: str | None = None  # TensorProto's typed field for its values (no tensor_content)
    npy_name: str | None = None  # the plain numpy type a .npy holds it in (ml_dtypes widened)
    known: bool = True  # False: a stored enum TF has no DType for (:func:`stored`); no value

    @cached_property
    def numpy(self) -> np.dtype | None:
        """The numpy dtype (None for string, resource and variant: no fixed-size element)."""
        if self.numpy_name is None:
            return None
        import numpy as np

        if self.numpy_name.startswith("ml_dtypes."):
            import ml_dtypes

            return np.dtype(getattr(ml_dtypes, self.numpy_name.removeprefix("ml_dtypes.")))
        return np.dtype(self.numpy_name)

    @property
    def as_datatype_enum(self) -> int:
        return self.enum

    @property
    def as_numpy_dtype(self) -> type | np.dtype:
        """TF's ``DType.as_numpy_dtype``: ``object`` for string, a one-field structured dtype
        for a quantized type (``[("qint8", "i1")]``; their values read as the plain integer
        type, as TF's ``get_tensor`` gives them); ``KeyError`` where TF has none (resource,
        variant)."""
        if self.name == "string":
            return object
        if self.numpy is None:
            if self.name == "string_ref":  # TF's table: np.object_ there, object for string
                import numpy as np

                return np.object_
            raise KeyError(self.enum)
        if self.name.startswith(("qint", "quint")):
            import numpy as np

            return np.dtype([(self.name.removesuffix("_ref"), self.numpy)])
        return self.numpy.type

    @property
    def is_fixed_size(self) -> bool:
        return self.numpy_name is not None

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __eq__(self, other: object) -> bool:
        """As TF's ``DType.__eq__``: equal to whatever ``tf.as_dtype`` reads as this type (a
        TF DType, ``"float32"``, ``np.float32``, ``float``, the enum 1), never to what it
        refuses (``int``, ``2.1``, ``None``)."""
        if isinstance(other, DType):
            return self.enum == other.enum
        return _enum_of(other) == self.enum

    def __hash__(self) -> int:
        return hash(self.enum)

    def __str__(self) -> str:
        return f"<dtype: {self.name!r}>"

    @property
    def byte_swappable(self) -> bool:
        """True when TF reads it from a bundle of the other byte order (``ByteSwapBuffer``:
        strings and 1-byte ints as they are, 16- to 64-bit and complex types swapped); TF
        refuses the rest there, the 2-, 4- and 8-bit ml_dtypes types included."""
        if self.name in ("string", "bfloat16"):
            return True
        return self.numpy_name is not None and not self.numpy_name.startswith("ml_dtypes.")

    @property
    def slice_copyable(self) -> bool:
        """True when TF's ``BundleReader::GetSliceValue`` copies it between slices (its
        ``HANDLE_COPY`` list, TF 2.21): a partitioned tensor of another dtype is readable only
        slice by slice, each stored slice whole ("Dtype half not supported")."""
        return self.name in _SLICE_COPYABLE

    @property
    def in_npz(self) -> bool:
        """True when numpy itself (no ml_dtypes, no pickle) can store it in a ``.npy``."""
        return (
            self.numpy_name is not None
            and not self.numpy_name.startswith("ml_dtypes.")
            and not self.name.startswith(("qint", "quint"))
        )


_SLICE_COPYABLE = frozenset(
    {
        "float32", "float64", "int32", "uint8", "int16", "int8", "complex64", "complex128",
        "int64", "bool", "qint32", "quint8", "qint8", "bfloat16", "int4", "uint4",
    }
)  # fmt: skip


def _row(
    enum: int,
    name: str,
    numpy_name: str | None,
    itemsize: int = 0,
    st: str | None = None,
    field: str | None = None,
) -> DType:
    npy = numpy_name
    if numpy_name is not None and numpy_name.startswith("ml_dtypes."):
        # every value of an ml_dtypes type fits losslessly in float32 / int8 / uint8
        npy = "float32" if "float" in name else "uint8" if name.startswith("u") else "int8"
    return DType(enum, name, numpy_name, itemsize, st, field, npy)


_ROWS = [
    _row(1, "float32", "float32", 4, "F32", "float_val"),
    _row(2, "float64", "float64", 8, "F64", "double_val"),
    _row(3, "int32", "int32", 4, "I32", "int_val"),
    _row(4, "uint8", "uint8", 1, "U8", "int_val"),
    _row(5, "int16", "int16", 2, "I16", "int_val"),
    _row(6, "int8", "int8", 1, "I8", "int_val"),
    _row(7, "string", None, 0, None, "string_val"),
    _row(8, "complex64", "complex64", 8, "C64", "scomplex_val"),
    _row(9, "int64", "int64", 8, "I64", "int64_val"),
    _row(10, "bool", "bool", 1, "BOOL", "bool_val"),
    _row(11, "qint8", "int8", 1, None, "int_val"),
    _row(12, "quint8", "uint8", 1, None, "int_val"),
    _row(13, "qint32", "int32", 4, None, "int_val"),
    _row(14, "bfloat16", "ml_dtypes.bfloat16", 2, "BF16", "half_val"),
    _row(15, "qint16", "int16", 2, None, "int_val"),
    _row(16, "quint16", "uint16", 2, None, "int_val"),
    _row(17, "uint16", "uint16", 2, "U16", "int_val"),
    _row(18, "complex128", "complex128", 16, None, "dcomplex_val"),
    _row(19, "float16", "float16", 2, "F16", "half_val"),
    _row(20, "resource", None),
    _row(21, "variant", None),
    _row(22, "uint32", "uint32", 4, "U32", "uint32_val"),
    _row(23, "uint64", "uint64", 8, "U64", "uint64_val"),
    _row(24, "float8_e5m2", "ml_dtypes.float8_e5m2", 1, "F8_E5M2"),
    _row(25, "float8_e4m3fn", "ml_dtypes.float8_e4m3fn", 1, "F8_E4M3"),
    _row(26, "float8_e4m3fnuz", "ml_dtypes.float8_e4m3fnuz", 1, "F8_E4M3FNUZ"),
    _row(27, "float8_e4m3b11fnuz", "ml_dtypes.float8_e4m3b11fnuz", 1),
    _row(28, "float8_e5m2fnuz", "ml_dtypes.float8_e5m2fnuz", 1, "F8_E5M2FNUZ"),
    _row(29, "int4", "ml_dtypes.int4", 1, None, "int_val"),
    _row(30, "uint4", "ml_dtypes.uint4", 1, None, "int_val"),
    _row(31, "int2", "ml_dtypes.int2", 1, None, "int_val"),
    _row(32, "uint2", "ml_dtypes.uint2", 1, None, "int_val"),
    _row(33, "float4_e2m1fn", "ml_dtypes.float4_e2m1fn", 1),
]

BY_ENUM: dict[int, DType] = {row.enum: row for row in _ROWS}
BY_NAME: dict[str, DType] = {row.name: row for row in _ROWS}
BY_NAME.update({"half": BY_ENUM[19], "float": BY_ENUM[1], "double": BY_ENUM[2]})

BY_SAFETENSORS: dict[str, DType] = {row.safetensors: row for row in _ROWS if row.safetensors}

INVALID = DType(0, "invalid", None, 0, known=False)


_REFS: dict[int, DType] = {}


def ref_of(base: DType) -> DType:
    """The ``_REF`` dtype of ``base`` (``float32_ref``, enum + 100), as ``tf.as_dtype`` names
    it: what TF lists for a checkpoint entry stored with one (it never reads its value). Its
    numpy dtype is the base's, as TF's ``as_numpy_dtype`` is."""
    ref = _REFS.get(base.enum)
    if ref is None:
        ref = _REFS[base.enum] = replace(
            base, enum=base.enum + REF_OFFSET, name=f"{base.name}_ref", safetensors=None
        )
    return ref


def from_enum(value: int) -> DType:
    """The DType for a DataType enum value; ``_REF`` values map to their base type."""
    base = value - REF_OFFSET if value > REF_OFFSET else value
    try:
        return BY_ENUM[base]
    except KeyError:
        raise ValueError(f"unknown DataType {value}") from None


def stored(value: int) -> DType:
    """The DType of a DataType enum stored in a file (a checkpoint entry): its row, its base's
    row for a ``_REF`` value (the caller keeps the ref flag), :data:`INVALID` for 0, and for a
    value TF has no type for (34, 1000) a DType named in TF's words ("unknown dtype enum (34)",
    its ``DataTypeString``) that holds no value. TF's CheckpointReader lists such an entry
    (name and shape; ``debug_string`` with an empty type), raises ``TypeError`` for its dtype
    and refuses its value ("expected dtype float does not equal original dtype unknown dtype
    enum (34)")."""
    try:
        return from_enum(value)
    except ValueError:
        if value == 0:
            return INVALID
        return DType(value, f"unknown dtype enum ({value})", None, 0, known=False)


_PYTHON_TYPES = {float: 1, bool: 10, object: 7}  # tf.as_dtype's: float32, bool, string


def _enum_of(value: object) -> int | None:
    """The DataType enum ``tf.as_dtype(value)`` gives, or None where it raises TypeError."""
    enum = getattr(value, "as_datatype_enum", None)  # a TF DType
    if isinstance(enum, int):
        return enum
    if isinstance(value, str):  # TF's names, exactly as it spells them
        base = BY_NAME.get(value.removesuffix("_ref"))
        if base is None:
            return None
        return base.enum + (REF_OFFSET if value.endswith("_ref") else 0)
    if isinstance(value, type) and value in _PYTHON_TYPES:
        return _PYTHON_TYPES[value]
    if isinstance(value, int | float):  # an enum value, as TF's table of them reads it
        whole = int(value) if value == value and abs(value) != float("inf") else None
        if whole is None or whole != value:
            return None
        plain = whole - REF_OFFSET if whole > REF_OFFSET else whole
        return whole if plain in BY_ENUM else None
    if "numpy" not in sys.modules:  # nothing else is a type tf.as_dtype reads
        return None
    import numpy as np

    if isinstance(value, type) and issubclass(value, np.generic):
        found = np.dtype(value)
    elif isinstance(value, np.dtype):
        found = value
    elif hasattr(value, "dtype"):  # an array, or an object with a numpy dtype
        try:
            found = np.dtype(value.dtype)
        except TypeError:
            return None
    else:
        return None
    try:
        return from_numpy(found).enum
    except ValueError:
        return None


def from_name(name: str) -> DType:
    """The DType for a TF name (``float32``, ``half``, ``float32_ref``: ``tf.as_dtype``'s) or an
    enum name (``DT_FLOAT``, ``DT_FLOAT_REF``)."""
    key = name.lower()
    if key.startswith("dt_"):
        key = key[3:]
    base, ref = (key[: -len("_ref")], True) if key.endswith("_ref") else (key, False)
    try:
        found = BY_NAME[base]
    except KeyError:
        raise ValueError(f"unknown dtype name {name!r}") from None
    return ref_of(found) if ref else found


def from_numpy(dtype: np.dtype) -> DType:
    """The DType for a numpy dtype as ``tf.as_dtype`` gives it (object arrays are strings; a
    byte-swapped ``>f4`` is float32: the values are what count, the writers store them
    little-endian)."""
    import numpy as np

    if dtype == np.dtype(object) or dtype.kind in "SU":
        return BY_NAME["string"]
    if not dtype.isnative:
        dtype = dtype.newbyteorder("=")
    for row in _ROWS:
        if row.numpy is not None and row.numpy == dtype and not row.name.startswith("q"):
            return row
    raise ValueError(f"no TensorFlow dtype for numpy {dtype}")
