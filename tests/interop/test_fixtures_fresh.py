"""The committed fixtures and facts.json still agree with what live TensorFlow reports.

When one of these fails after a TensorFlow upgrade or a generator change, rerun
``.venv/bin/python tests/fixtures/generate.py`` and review the diff of facts.json.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fixtures.shared import DATA, FACTS

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"graphtui_fixture_{name}", FIXTURES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load("generate.py")  # its fact extractors, so both sides read TF the same way
hashing = _load("hashing.py")


def _demo_root() -> Path:
    from graphtui.demo import demo_path

    return demo_path()


@pytest.fixture(params=["data", "demo"])
def tree(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The facts of one fixture tree, with the working directory at its root (paths are relative)."""
    root = DATA if request.param == "data" else _demo_root()
    monkeypatch.chdir(root)
    return FACTS if request.param == "data" else FACTS["demo"]


def test_every_file_is_described(tree: dict[str, Any]) -> None:
    files = {str(p) for p in Path(".").rglob("*") if p.is_file()}
    index_prefixes = {f[: -len(".index")] for f in files if f.endswith(".index")}
    assert index_prefixes <= set(tree["checkpoints"])
    metas = {f for f in files if f.endswith((".meta", ".meta.txt"))}
    assert metas == set(tree["metas"])
    states = {str(Path(f).parent) for f in files if Path(f).name == "checkpoint"}
    assert states == set(tree["states"])
    for prefix, facts in tree["checkpoints"].items():
        for name in facts["files"]:
            assert str(Path(prefix).parent / name) in files


def test_checkpoints_match_facts(tree: dict[str, Any]) -> None:
    for prefix, facts in tree["checkpoints"].items():
        assert generate.checkpoint_facts(tf, prefix) == facts, prefix


def test_list_variables_of_every_prefix(tree: dict[str, Any]) -> None:
    for prefix, facts in tree["checkpoints"].items():
        listed = [[name, list(shape)] for name, shape in tf.train.list_variables(prefix)]
        assert listed == facts["list_variables"], prefix


def test_state_files_match_facts(tree: dict[str, Any]) -> None:
    for directory, facts in tree["states"].items():
        assert generate.state_facts(tf, directory) == facts, directory


def test_meta_graphs_match_facts(tree: dict[str, Any]) -> None:
    for path, facts in tree["metas"].items():
        assert generate.meta_facts(tf, Path(path)) == facts, path


def test_saved_models_match_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    assert FACTS["saved_models"]
    for directory, facts in FACTS["saved_models"].items():
        assert generate.saved_model_facts(tf, Path(directory)) == facts


def test_moved_state_points_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    state = tf.train.get_checkpoint_state("moved")
    assert Path(state.model_checkpoint_path).is_absolute()
    assert tf.train.latest_checkpoint("moved") is None
    assert FACTS["states"]["moved"]["latest_checkpoint"] is None


def test_restored_values_come_from_the_source() -> None:
    source = FACTS["checkpoints"][FACTS["restore"]["source_prefix"]]["tensors"]
    for case, facts in FACTS["restore"]["cases"].items():
        expected = tf.train.load_checkpoint(str(DATA / facts["expected_prefix"]))
        restored = 0
        for var_name, init in facts["initializers"].items():
            if init is None:
                continue
            base = var_name.rsplit(":", 1)[0]
            if init["slice"]:  # one partition of a partitioned variable
                base = base.rsplit("/part_", 1)[0]
            value = expected.get_tensor(base)
            assert hashing.tensor_sha256(value) == facts["expected_sha256"][base], (case, base)
            assert facts["expected_sha256"][base] == source[init["tensor"]]["sha256"], (case, base)
            restored += 1
        assert restored, case


def test_dtypes_case_covers_what_tf_saves() -> None:
    info = FACTS["dtypes"]
    listed = FACTS["checkpoints"][info["prefix"]]["dtypes"]
    in_main = {dtype for dtype in info["saved"] if dtype not in info["separate_prefixes"]}
    assert in_main == {listed[name] for name in listed if name.startswith("t_")}
    for name in ("float16", "bfloat16", "complex128", "uint64", "string", "float8_e4m3fn"):
        assert name in in_main
    assert set(info["refused"]).isdisjoint(info["saved"])


def test_hashing_is_length_prefixed() -> None:
    a = hashing.tensor_sha256(np.array([b"ab", b"c"], dtype=object))
    b = hashing.tensor_sha256(np.array([b"a", b"bc"], dtype=object))
    assert a != b
    assert hashing.tensor_sha256(b"xyz") == hashing.tensor_sha256(np.array([b"xyz"], dtype=object))
