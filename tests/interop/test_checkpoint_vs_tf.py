"""graphtui and live TensorFlow read the same checkpoints the same way, in both directions:
TF-written fixtures read by graphtui, and graphtui-written bundles read by TF."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from graphtui.core.checkpoint import list_variables, load_checkpoint  # noqa: E402
from graphtui.demo import demo_path  # noqa: E402
from graphtui.errors import FormatError, GraphtuiError  # noqa: E402
from graphtui.formats import bundle_writer, dtypes  # noqa: E402
from graphtui.formats.bundle_writer import BundleWriter  # noqa: E402
from graphtui.formats.transaction import FileTransaction  # noqa: E402
from tests.fixtures.shared import DATA, FACTS  # noqa: E402

CHECKPOINTS = [pytest.param(DATA / prefix, id=prefix) for prefix in FACTS["checkpoints"]] + [
    pytest.param(demo_path() / prefix, id=f"demo:{prefix}")
    for prefix in FACTS["demo"]["checkpoints"]
]


def _same_bytes(ours: np.ndarray, theirs: Any) -> None:
    if isinstance(theirs, bytes):  # a scalar string (np.asarray would drop trailing NULs)
        theirs = np.array(theirs, dtype=object)
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape
    if ours.dtype == object or theirs.dtype == object:
        assert [bytes(x) for x in ours.ravel()] == [bytes(x) for x in theirs.ravel()]
    else:
        assert ours.dtype.itemsize == theirs.dtype.itemsize
        assert np.ascontiguousarray(ours).tobytes() == np.ascontiguousarray(theirs).tobytes()


def _restore_v2(prefix: str, name: str, dtype_name: str, spec: str = "") -> np.ndarray:
    """TF's RestoreV2 op (which also reads V1 checkpoints) for a tensor or a slice of it."""
    (value,) = tf.raw_ops.RestoreV2(
        prefix=prefix,
        tensor_names=[name],
        shape_and_slices=[spec],
        dtypes=[tf.as_dtype(dtype_name)],
    )
    return np.asarray(value.numpy())


@pytest.mark.parametrize("prefix", CHECKPOINTS)
def test_fixture_reads_like_tensorflow(prefix: Path) -> None:
    theirs = tf.train.load_checkpoint(str(prefix))
    tf_dtypes = {k: v.name for k, v in theirs.get_variable_to_dtype_map().items()}
    tf_shapes = {k: list(v) for k, v in theirs.get_variable_to_shape_map().items()}
    assert [(n, list(s)) for n, s in list_variables(prefix)] == [
        (n, list(s)) for n, s in tf.train.list_variables(str(prefix))
    ]
    with load_checkpoint(prefix) as ours:
        assert {k: v.name for k, v in ours.get_variable_to_dtype_map().items()} == tf_dtypes
        assert ours.get_variable_to_shape_map() == tf_shapes
        for name, dtype_name in tf_dtypes.items():
            if dtype_name == "variant":  # no numpy value on either side
                with pytest.raises(GraphtuiError):
                    ours.get_tensor(name)
                continue
            try:
                expected = theirs.get_tensor(name)
            except Exception:  # noqa: BLE001 - V1 slices / float16: TF's CheckpointReader refuses
                assert ours.format == "V1"
                expected = _restore_v2(str(prefix), name, dtype_name)
            else:  # the same type too: a numpy scalar, or bytes, for a scalar
                assert type(ours.get_tensor(name)) is type(expected)
            value = ours.read(name)
            _same_bytes(value, expected)
            if dtype_name != "string":
                assert value.dtype == np.asarray(expected).dtype
        assert ours.verify() == []


def test_v1_through_restore_v2_every_tensor() -> None:
    """Every V1 tensor read with TF's RestoreV2 op, which supports what load_checkpoint does not."""
    prefix = DATA / "v1" / "model.ckpt-2"
    with load_checkpoint(prefix) as ours:
        for name, dt in ours.get_variable_to_dtype_map().items():
            _same_bytes(ours.read(name), _restore_v2(str(prefix), name, dt.name))


# -- graphtui writes, TensorFlow reads ------------------------------------------------------------


def _every_dtype_arrays() -> dict[str, tuple[dtypes.DType, np.ndarray]]:
    rng = np.random.default_rng(5)
    out: dict[str, tuple[dtypes.DType, np.ndarray]] = {}
    for dt in dtypes.BY_ENUM.values():
        if dt.name in ("resource", "variant", "string"):
            continue
        assert dt.numpy is not None
        if dt.numpy.kind == "b":
            base = rng.integers(0, 2, size=(3, 5)).astype(bool)
        elif dt.numpy.kind == "c":
            base = (rng.normal(size=(3, 5)) + 1j * rng.normal(size=(3, 5))).astype(dt.numpy)
        elif dt.numpy.kind in "iu":
            info = np.iinfo(dt.numpy)
            base = rng.integers(info.min, info.max, size=(3, 5), dtype=dt.numpy, endpoint=True)
        elif dt.name in ("int4", "uint4", "int2", "uint2"):
            small = ml_dtypes.iinfo(dt.numpy)
            base = rng.integers(int(small.min), int(small.max), size=(3, 5), endpoint=True)
            base = base.astype(dt.numpy)
        else:  # floats, including bfloat16, float8 and float4 (values rounded to the type)
            base = (rng.normal(size=(3, 5)) * 2).astype(dt.numpy)
        out[f"every/{dt.name}"] = (dt, base)
        out[f"scalar/{dt.name}"] = (dt, base.reshape(-1)[:1].reshape(()))
        out[f"empty/{dt.name}"] = (dt, base.reshape(-1)[:0].reshape(0, 3))
    string = dtypes.from_name("string")
    out["every/string"] = (
        string,
        np.array(
            [[b"", b"a", b"\x00nul\x00"], [b"\xff" * 3, b"x" * 200, "ünï".encode()]], dtype=object
        ),
    )
    out["scalar/string"] = (string, np.array(b"only", dtype=object))
    out["empty/string"] = (string, np.empty((0,), dtype=object))
    return out


def test_bundle_writer_every_dtype_loads_in_tensorflow(tmp_path: Path) -> None:
    arrays = _every_dtype_arrays()
    prefix = tmp_path / "ours" / "model.ckpt"
    prefix.parent.mkdir()
    part_full = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    part_str = np.array([b"p%d" % i for i in range(5)], dtype=object)
    src = DATA / "train" / "model.ckpt-50"
    with load_checkpoint(src) as source:
        bundle = source.bundle
        assert bundle is not None
        kernel = bundle.entry("model/layer_1/dense/kernel")
        kernel_raw = bytes(bundle.raw_bytes(kernel))
        step = bundle.entry("global_step")
        step_value = source.get_tensor("global_step")
        kernel_value = source.get_tensor("model/layer_1/dense/kernel")
        with FileTransaction() as txn:
            writer = BundleWriter(prefix, txn)
            for name, (dt, arr) in arrays.items():
                writer.add(name, arr, dtype=dt)
            writer.add_sliced(
                "sliced/float32",
                dtypes.from_name("float32"),
                [10, 3],
                [(((0, 4), (0, -1)), part_full[:4]), (((4, 6), (0, -1)), part_full[4:])],
            )
            writer.add_sliced(
                "sliced/string",
                dtypes.from_name("string"),
                [5],
                [(((0, 2),), part_str[:2]), (((2, 3),), part_str[2:])],
            )
            writer.add_raw("raw/kernel", kernel.dtype, kernel.shape, kernel_raw, kernel.crc32c)
            with open(bundle.data_files()[step.shard_id], "rb") as fh:
                writer.add_copy(
                    "copy/global_step",
                    step.dtype,
                    step.shape,
                    fh.fileno(),
                    step.offset,
                    step.size,
                    step.crc32c,
                )
            writer.finish()
    expected = {name: arr for name, (_, arr) in arrays.items()}
    expected["sliced/float32"] = part_full
    expected["sliced/string"] = part_str
    expected["raw/kernel"] = kernel_value
    expected["copy/global_step"] = step_value
    names = {name: dt.name for name, (dt, _) in arrays.items()}
    names |= {"sliced/float32": "float32", "sliced/string": "string", "raw/kernel": "float32"}
    names["copy/global_step"] = "int64"

    theirs = tf.train.load_checkpoint(str(prefix))
    assert {k: v.name for k, v in theirs.get_variable_to_dtype_map().items()} == names
    assert {k: list(v) for k, v in theirs.get_variable_to_shape_map().items()} == {
        k: list(np.shape(v)) for k, v in expected.items()
    }
    for name, value in expected.items():
        if name == "sliced/string":  # TF reassembles no string slices; each slice reads alone
            continue
        _same_bytes(np.asarray(value), theirs.get_tensor(name))
    # RestoreV2 checks every checksum on the way too (and reads slices through another path).
    for name in ("every/string", "sliced/float32", "every/bfloat16", "raw/kernel"):
        _same_bytes(np.asarray(expected[name]), _restore_v2(str(prefix), name, names[name]))
    for spec, want in (("5 0,2", part_str[:2]), ("5 2,3", part_str[2:])):
        _same_bytes(want, _restore_v2(str(prefix), "sliced/string", "string", spec))
    across = _restore_v2(str(prefix), "sliced/float32", "float32", "10 3 2,5:0,3")
    _same_bytes(part_full[2:7], across)
    # And graphtui reads back what it wrote, as TF reads it: the string slices each alone,
    # the whole partitioned string tensor refused as TF refuses it
    with load_checkpoint(prefix) as ours:
        assert ours.verify() == []
        for name, value in expected.items():
            if name == "sliced/string":
                with pytest.raises(ValueError, match="Dtype string not supported"):
                    theirs.get_tensor(name)
                with pytest.raises(FormatError, match="from slices"):
                    ours.read(name)
                continue
            _same_bytes(ours.read(name), value)
        assert ours.bundle is not None
        for extents, want in ((((0, 2),), part_str[:2]), (((2, 3),), part_str[2:])):
            _same_bytes(ours.bundle.read_slice("sliced/string", extents), want)


def test_bundle_writer_many_entries_multi_block_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enough entries for several index data blocks (16 KiB blocks here; TF's are 256 KiB),
    with long shared key prefixes."""
    monkeypatch.setattr(bundle_writer, "INDEX_BLOCK_SIZE", 16 * 1024)
    prefix = tmp_path / "many" / "model.ckpt"
    prefix.parent.mkdir()
    values = {
        f"model/very/long/shared/scope/name/layer_{i:04d}/kernel": np.full((2,), i, np.int32)
        for i in range(1200)
    }
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, arr in values.items():
            writer.add(name, arr)
        writer.finish()
    with load_checkpoint(prefix) as ours:
        bundle = ours.bundle
        assert bundle is not None and bundle.table.num_data_blocks >= 3
    theirs = tf.train.load_checkpoint(str(prefix))
    assert sorted(theirs.get_variable_to_shape_map()) == sorted(values)
    for name in list(values)[::97]:
        _same_bytes(values[name], theirs.get_tensor(name))
