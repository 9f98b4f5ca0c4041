"""TensorFlow's checkpoint inspection tool, ``tensorflow/python/tools/inspect_checkpoint.py``
(``print_tensors_in_checkpoint_file``), as the judge of ``graphtui ls`` and ``graphtui cat``.

TensorFlow has no unit test of this tool, so its output is the reference, run in this process
on the fixtures (every dtype, V1, sharded, partitioned, optimizer slots) and on every checkpoint
of ``../shared/realworld`` TF opens (skipped when the folder is absent):

- ``--all_tensor_names``: one ``tensor: NAME (DTYPE) SHAPE`` line per tensor; ``graphtui ls
  --json`` gives the same names, dtype names and shapes (partitioned variables whole);
- ``# Total number of params``: TF counts every element, string tensors' included; graphtui's
  total leaves strings out (they are no parameters), so TF's total is graphtui's plus the
  string elements graphtui lists;
- ``--tensor_name``: the value TF prints (``reader.get_tensor``) is what ``graphtui cat
  --npy`` writes, and plain numpy loads it: byte for byte, ml_dtypes types (bfloat16, float8,
  int4, ...) widened losslessly (``np.save`` writes them as raw bytes or, for float8_e5m2, as a
  ``<f1`` numpy cannot load), strings as fixed-width bytes; a name not in the checkpoint ("Tensor X not found in
  checkpoint") and a variant tensor ("<not convertible to a numpy dtype>") are one error line
  and exit 1 in graphtui;
- a V2 checkpoint named by one of its files: the tool lists no tensor for ``.index`` (its
  reader takes the index for a V1 table of no slices) and fails on ``.data-*``; graphtui
  reads the checkpoint of that prefix.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main as cli_main

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from tensorflow.python.tools import inspect_checkpoint  # noqa: E402

from tests.fixtures.shared import DATA  # noqa: E402
from tests.interop.test_realworld import REALWORLD  # noqa: E402

FIXTURES = [
    "dtypes/model.ckpt",
    "dtypes/variant.ckpt",
    "train/model.ckpt-50",
    "partitioned/model.ckpt",
    "sharded/model.ckpt",
    "v1/model.ckpt-2",
]
_LINE = re.compile(r"^tensor: (.*) \((\w+)\) (\[[-0-9, ]*\])$")


def tool(prefix: str, **kwargs: Any) -> str:
    """What ``print_tensors_in_checkpoint_file`` prints."""
    args = {"tensor_name": "", "all_tensors": False, **kwargs}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        inspect_checkpoint.print_tensors_in_checkpoint_file(prefix, **args)
    return buf.getvalue()


def ours_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    code = cli_main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def judge_listing(prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The tool's names, dtypes, shapes and total against ``graphtui ls --json``."""
    printed = tool(prefix, all_tensor_names=True)
    lines = printed.splitlines()
    assert lines[-1].startswith("# Total number of params: "), printed
    theirs = []
    for line in lines[:-1]:
        match = _LINE.match(line)
        assert match is not None, line
        name, dtype, shape = match.groups()
        theirs.append((name, dtype, json.loads(shape)))
    listed = ours_json(capsys, "ls", prefix)
    rows = listed["tensors"]
    assert sorted((t["name"], t["dtype"], t["shape"]) for t in rows) == theirs
    strings = sum(t["num_elements"] for t in rows if t["dtype"] == "string")
    total = int(lines[-1].rsplit(" ", 1)[1])
    assert total == listed["total_parameters"] + strings


@pytest.mark.parametrize("name", FIXTURES)
def test_all_tensor_names(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--all_tensor_names`` and the total, on the fixtures."""
    judge_listing(str(DATA / name), capsys)


def _realworld_checkpoints() -> list[str]:
    """Every realworld checkpoint TF's reader opens (V2 prefixes and V1 files)."""
    if not REALWORLD.is_dir():
        return []
    found = []
    for path in sorted(REALWORLD.rglob("*")):
        if not path.is_file() or path.suffix in (".meta", ".pb", ".pbtxt", ".txt", ".json"):
            continue
        if path.name.endswith(".index"):
            candidate = str(path)[: -len(".index")]
        elif re.search(r"\.data-\d{5}-of-\d{5}$", path.name) or path.name == "checkpoint":
            continue
        else:
            candidate = str(path)
        try:
            tf.compat.v1.train.NewCheckpointReader(candidate)
        except Exception:  # noqa: BLE001, S112 - TF opens no checkpoint there
            continue
        found.append(candidate)
    return found


@pytest.mark.parametrize(
    "prefix", _realworld_checkpoints(), ids=lambda p: Path(p).relative_to(REALWORLD).as_posix()
)
def test_all_tensor_names_realworld(prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--all_tensor_names`` and the total, on every realworld checkpoint TF opens."""
    judge_listing(prefix, capsys)


@pytest.mark.parametrize(
    "name", ["dtypes/model.ckpt", "train/model.ckpt-50", "partitioned/model.ckpt"]
)
def test_tensor_values(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--tensor_name``: every tensor TF can print, as ``graphtui cat --npy`` writes it
    (dtype, shape and bytes; strings element for element)."""
    prefix = str(DATA / name)
    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    for key in sorted(reader.get_variable_to_shape_map()):
        printed = tool(prefix, tensor_name=key).splitlines()
        dtype = reader.get_variable_to_dtype_map()[key]
        shape = reader.get_variable_to_shape_map()[key]
        assert printed[0] == f"tensor: {key} ({dtype.name}) {shape}"
        theirs = np.asarray(reader.get_tensor(key))
        out = tmp_path / (key.replace("/", "_") + ".npy")
        capsys.readouterr()
        assert cli_main(["cat", prefix, key, "--npy", str(out), "--quiet"]) == 0, key
        text = theirs.dtype.kind in "OS"  # strings (a scalar comes back as bytes)
        flat = [bytes(x) for x in theirs.reshape(-1)] if text else []
        # a pickle only for strings ending in NUL, which fixed-width bytes would drop
        ours = np.load(out, allow_pickle=any(x.endswith(b"\0") for x in flat))
        assert ours.shape == theirs.shape, key
        if text:
            assert [bytes(x) for x in ours.reshape(-1)] == flat, key
        elif theirs.dtype.type.__module__.startswith("ml_dtypes"):
            # numpy cannot name ml_dtypes types: widened losslessly to plain numpy
            assert ours.dtype.kind in "fiu" and ours.dtype.itemsize >= theirs.dtype.itemsize, key
            assert np.array_equal(ours, theirs.astype(ours.dtype), equal_nan=True), key
        else:
            assert ours.dtype == theirs.dtype, key
            assert ours.tobytes() == theirs.tobytes(), key


def test_tensor_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    """``--tensor_name`` of a name the checkpoint lacks: TF prints that it is not found;
    graphtui says so in one error line naming it, exit 1."""
    prefix = str(DATA / "train/model.ckpt-50")
    assert tool(prefix, tensor_name="no/such").startswith("Tensor no/such not found in checkpoint")
    capsys.readouterr()
    assert cli_main(["cat", prefix, "no/such"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'no/such' not found" in err[0]


def test_variant_not_convertible(capsys: pytest.CaptureFixture[str]) -> None:
    """``--all_tensors`` on a variant tensor: "<not convertible to a numpy dtype>"; graphtui's
    ``cat`` refuses it in one line (exit 1), ``ls`` lists it."""
    prefix = str(DATA / "dtypes/variant.ckpt")
    assert "<not convertible to a numpy dtype>" in tool(prefix, all_tensors=True)
    capsys.readouterr()
    assert cli_main(["cat", prefix, "t_variant"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "variant" in err[0]


@pytest.mark.parametrize("suffix", [".index", ".data-00000-of-00001", ".meta"])
def test_v2_file_named_with_its_suffix(suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A V2 checkpoint given by one of its files: the tool lists nothing for ``.index`` and
    fails on ``.data-*`` (its hint to give the prefix instead); graphtui lists the checkpoint
    of that prefix."""
    prefix = str(DATA / "train/model.ckpt-50")
    printed = tool(prefix + suffix, all_tensor_names=True)
    assert "tensor: global_step" not in printed
    assert (
        ours_json(capsys, "ls", prefix + suffix)["tensors"]
        == ours_json(capsys, "ls", prefix)["tensors"]
    )
