"""A tensor's value as the array a ``.npy`` file holds, for plain numpy to load: the app's
``e`` and ``graphtui cat --npy`` write the same file.

numpy's own ``np.save`` of an ml_dtypes array writes a descriptor numpy reads back as raw bytes
(bfloat16 as ``|V2``) or cannot read at all (float8_e5m2 as ``<f1``), and of strings a pickle.
So ml_dtypes types are widened losslessly (bfloat16 and float8 to float32, int4 to int8, ...)
and strings become fixed-width bytes; only strings ending in NUL bytes, which that type would
drop, stay a pickled object array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from graphtui.formats.dtypes import DType


def npy_array(arr: np.ndarray, dtype: DType) -> tuple[np.ndarray, bool]:
    """``arr`` (a tensor of ``dtype`` as graphtui reads it) as the array to ``np.save``, and
    whether saving it needs ``allow_pickle``."""
    import numpy as np

    if arr.dtype == object:
        items = [x if isinstance(x, bytes) else str(x).encode() for x in arr.ravel()]
        # numpy's fixed-width bytes drop trailing NULs: keep such strings as objects
        if any(x.endswith(b"\0") for x in items):
            return arr, True
        return np.array(items or [b""], dtype=bytes)[: len(items)].reshape(arr.shape), False
    if arr.dtype.type.__module__.startswith("ml_dtypes") and dtype.npy_name is not None:
        return arr.astype(dtype.npy_name), False
    return arr, False
