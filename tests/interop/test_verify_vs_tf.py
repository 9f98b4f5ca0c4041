"""``graphtui verify`` in bulk against TensorFlow's own reader (issue 17.3): a checkpoint TF
wrote (``SaveV2``) with thousands of small tensors of many dtypes, bytes flipped in some of
them; the tensors verify reports are exactly those whose ``get_tensor`` TF refuses (TF's
bundle reader checks each tensor's crc32c as it reads it: ``BundleReader::GetValue`` in
tensorflow/core/util/tensor_bundle/tensor_bundle.cc)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from graphtui.errors import ChecksumError  # noqa: E402
from graphtui.formats.bundle import BundleReader, data_path  # noqa: E402

COUNT = 3000


def _value(i: int) -> np.ndarray:
    kind = i % 10
    if kind == 0:
        return np.array(b"text %d" % i, dtype=object)
    dtype = [None, "float32", "float32", "int64", "float16", "bool", "complex64", "int8",
             "uint8", "float64"][kind]  # fmt: skip
    shape = [(), (), (3,), (), (2, 3), (), (2,), (100,), ()][kind - 1]
    rng = np.random.default_rng(i)
    return rng.integers(0, 100, size=shape).astype(dtype)


def test_verify_names_what_tensorflow_refuses(tmp_path: Path) -> None:
    prefix = str(tmp_path / "model.ckpt")
    names = [f"scope_{i // 100:02d}/v{i:04d}" for i in range(COUNT)]
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * COUNT,
        tensors=[tf.constant(_value(i)) for i in range(COUNT)],
    )
    with BundleReader(prefix) as reader:
        assert reader.verify() == []
        rng = np.random.default_rng(0)
        damaged = sorted({names[int(i)] for i in rng.choice(COUNT, 60, replace=False)})
        entries = [reader.entry(name) for name in damaged]
    raw = bytearray(Path(data_path(prefix, 0, 1)).read_bytes())
    for entry in entries:  # the last byte: a string's characters, never its lengths
        raw[entry.offset + entry.size - 1] ^= 0x01
    Path(data_path(prefix, 0, 1)).write_bytes(bytes(raw))

    refused = []
    theirs = tf.train.load_checkpoint(prefix)
    for name in names:
        try:
            theirs.get_tensor(name)
        except Exception as exc:  # noqa: BLE001 - TF's DataLossError, via its Python wrapper
            assert re.search("[Cc]hecksum", str(exc)), exc
            refused.append(name)
    assert refused == damaged
    with BundleReader(prefix) as reader:
        problems = reader.verify()
    assert all(isinstance(p, ChecksumError) for p in problems)
    reported = [re.search(r"tensor '([^']+)'", str(p)).group(1) for p in problems]  # type: ignore[union-attr]
    assert reported == refused
