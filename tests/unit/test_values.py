"""The lazy array: ``reader.get_slice(name)[...]`` answers as numpy indexing the whole tensor
would, for whole, partitioned, V1, string and empty tensors, and reads only what it needs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.values import TensorArray
from tests.fixtures.shared import DATA

INDEXES: list[Any] = [
    (),
    ...,
    0,
    -1,
    slice(None),
    slice(1, None),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(-2, 0, -1),
    slice(5, 1),  # empty
    (0, ...),
    (..., 1),
    (slice(None), slice(None, None, 3)),
    (slice(1, 3), -1),
    (-1, slice(None, None, -2)),
    (1, 0),
]

CASES = [
    ("partitioned/model.ckpt", "embeddings/table"),  # saved in 3 slices
    ("partitioned/model.ckpt", "embeddings/wide"),  # 5 slices
    ("partitioned/model.ckpt", "embeddings/ids"),  # 1-D, 3 slices
    ("dtypes/model.ckpt", "t_float32_3d"),  # mapped whole
    ("dtypes/model.ckpt", "t_bfloat16"),
    ("dtypes/model.ckpt", "t_int4"),
    ("dtypes/model.ckpt", "t_complex128"),
    ("dtypes/model.ckpt", "scalar_float32"),
    ("dtypes/model.ckpt", "empty_int32_3x0"),
    ("v1", "v1/emb"),  # V1, partitioned
    ("v1", "v1/names"),  # strings
    ("v1", "v1/scalar"),
]


def _same(got: np.ndarray, expected: np.ndarray, what: object) -> None:
    """Bit for bit (NaN payloads and -0 included); strings by value."""
    assert got.shape == expected.shape and got.dtype == expected.dtype, what
    if expected.dtype == object:
        assert got.tolist() == expected.tolist(), what
    else:
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(expected).tobytes(), what


def _expected(whole: np.ndarray, index: Any) -> np.ndarray | type[Exception]:
    try:
        return np.asarray(whole[index], dtype=whole.dtype)
    except IndexError:
        return IndexError


@pytest.mark.parametrize(("path", "name"), CASES, ids=[n for _, n in CASES])
def test_basic_indexing_matches_numpy_on_the_whole_tensor(path: str, name: str) -> None:
    with load_checkpoint(DATA / path) as reader:
        whole = np.asarray(reader.get_tensor(name))
        arr = reader.get_slice(name)
        assert isinstance(arr, TensorArray)
        assert arr.shape == whole.shape and arr.ndim == whole.ndim and arr.size == whole.size
        assert arr.dtype == whole.dtype
        _same(np.asarray(arr), whole, "whole")
        for index in INDEXES:
            expected = _expected(whole, index)
            if expected is IndexError:
                with pytest.raises(IndexError):
                    arr[index]
                continue
            assert isinstance(expected, np.ndarray)
            _same(arr[index], expected, index)


def test_chunks_cover_the_tensor_once() -> None:
    with load_checkpoint(DATA / "partitioned" / "model.ckpt") as reader:
        arr = reader.get_slice("embeddings/table")
        seen = np.zeros(arr.shape, dtype=int)
        for chunk in arr.iter_chunks(max_elements=6):
            assert arr[chunk].size <= 6
            seen[chunk] += 1
        assert (seen == 1).all()
        assert len(arr) == 10


def test_a_mapped_tensor_is_indexed_where_it_lies() -> None:
    """A stepped index of a tensor stored whole copies only the selected elements."""
    with load_checkpoint(DATA / "dtypes" / "model.ckpt") as reader:
        arr = reader.get_slice("t_float32_3d")
        assert arr.value.mapped
        got = arr[:, ::2, 1]
        assert got.shape == (2, 2) and got.flags.owndata and got.nbytes == 4 * 4


def test_not_basic_indexes_say_what_to_do() -> None:
    with load_checkpoint(DATA / "dtypes" / "model.ckpt") as reader:
        arr = reader.get_slice("t_float32")
        with pytest.raises(TypeError, match=r"np\.asarray\(\) it first"):
            arr[[0, 1]]
        with pytest.raises(IndexError, match="too many indices"):
            arr[0, 0, 0]
        with pytest.raises(IndexError, match="single ellipsis"):
            arr[..., ...]
        with pytest.raises(TypeError, match="scalar"):
            len(reader.get_slice("scalar_float32"))


def test_exported_from_the_package() -> None:
    assert graphtui.TensorArray is TensorArray
