"""graphtui reads every TensorFlow-written fixture checkpoint exactly as TensorFlow does.

The expected answers are TensorFlow's own, recorded in tests/fixtures/facts.json by
tests/fixtures/generate.py (names, dtypes, shapes, list_variables, a sha256 of every tensor's
value, the state files as get_checkpoint_state / latest_checkpoint resolve them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.checkpoint import (
    CheckpointReader,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
)
from graphtui.core.history import scan_history
from graphtui.demo import demo_path
from graphtui.errors import GraphtuiError, MissingFileError, NotFoundError
from graphtui.formats import dtypes
from tests.fixtures.shared import DATA, hashing

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FACTS_FILE = FIXTURES / "facts.json"
if not FACTS_FILE.exists():
    pytest.skip("tests/fixtures/facts.json is missing", allow_module_level=True)
FACTS: dict[str, Any] = json.loads(FACTS_FILE.read_text())


# (tree label, root directory, facts of that tree)
TREES = [("data", DATA, FACTS), ("demo", demo_path(), FACTS["demo"])]
CHECKPOINTS = [
    pytest.param(root, prefix, facts, id=f"{label}:{prefix}")
    for label, root, tree in TREES
    for prefix, facts in tree["checkpoints"].items()
]
TENSORS = [
    pytest.param(root, prefix, name, tensor, id=f"{label}:{prefix}:{name}")
    for label, root, tree in TREES
    for prefix, facts in tree["checkpoints"].items()
    for name, tensor in facts["tensors"].items()
]
STATES = [
    pytest.param(root, directory, state, id=f"{label}:{directory}")
    for label, root, tree in TREES
    for directory, state in tree["states"].items()
]

_READERS: dict[str, CheckpointReader] = {}


def _reader(path: Path) -> CheckpointReader:
    """One reader per checkpoint for the whole module (tensors are read lazily)."""
    key = str(path)
    if key not in _READERS:
        _READERS[key] = load_checkpoint(path)
    return _READERS[key]


@pytest.fixture(scope="module", autouse=True)
def _close_readers() -> Any:
    yield
    for reader in _READERS.values():
        reader.close()
    _READERS.clear()


def test_facts_cover_every_kind_of_fixture() -> None:
    """The parametrized cases below really include each layout this suite promises to prove."""
    prefixes = set(FACTS["checkpoints"])
    for expected in (
        "sharded/model.ckpt",
        "partitioned/model.ckpt",
        "dtypes/model.ckpt",
        "v1/model.ckpt-1",
        "restore/src/model.ckpt",
    ):
        assert expected in prefixes
    assert any(p.startswith("tf2/") for p in prefixes)
    assert {"train", "v1"} <= set(FACTS["states"])
    assert len(FACTS["demo"]["checkpoints"]) >= 3
    saved = set(FACTS["dtypes"]["saved"])
    assert {"bfloat16", "string", "complex128", "float8_e4m3fn", "int4", "qint8"} <= saved
    assert len(TENSORS) > 150


# -- names, dtypes, shapes, list_variables -------------------------------------------------------


@pytest.mark.parametrize(("root", "prefix", "facts"), CHECKPOINTS)
def test_names_dtypes_shapes(root: Path, prefix: str, facts: dict[str, Any]) -> None:
    reader = _reader(root / prefix)
    assert reader.format == facts["format"]
    dtype_map = reader.get_variable_to_dtype_map()
    assert all(isinstance(dt, dtypes.DType) for dt in dtype_map.values())
    assert {name: dt.name for name, dt in dtype_map.items()} == facts["dtypes"]
    assert reader.get_variable_to_shape_map() == {
        name: t["shape"] for name, t in facts["tensors"].items()
    }
    assert sorted(reader.names()) == sorted(facts["dtypes"])
    for name in facts["dtypes"]:
        assert reader.has_tensor(name)
    assert not reader.has_tensor("no/such/tensor")
    assert sorted(Path(f).name for f in reader.files()) == facts["files"]


@pytest.mark.parametrize(("root", "prefix", "facts"), CHECKPOINTS)
def test_list_variables(root: Path, prefix: str, facts: dict[str, Any]) -> None:
    got = [[name, shape] for name, shape in list_variables(root / prefix)]
    assert got == facts["list_variables"]


# -- every tensor's value ------------------------------------------------------------------------


def _numpy_dtype_ok(value: np.ndarray, dtype_name: str) -> bool:
    dt = dtypes.from_name(dtype_name)
    if dt.name == "string":
        return value.dtype == np.dtype(object)
    return value.dtype == dt.numpy


@pytest.mark.parametrize(("root", "prefix", "name", "tensor"), TENSORS)
def test_tensor_value(root: Path, prefix: str, name: str, tensor: dict[str, Any]) -> None:
    reader = _reader(root / prefix)
    info = reader.tensor_info(name)
    assert info.dtype.name == tensor["dtype"]
    assert list(info.shape) == tensor["shape"]
    if "sha256" not in tensor:
        _tensor_tf_cannot_read(reader, name, tensor)
        return
    value = reader.read(name)  # an array also for scalars (get_tensor: as TF)
    assert list(value.shape) == tensor["shape"]
    assert _numpy_dtype_ok(value, tensor["dtype"])
    assert hashing.tensor_sha256(value) == tensor["sha256"]
    if "values" in tensor:
        assert hashing.tensor_values(value) == tensor["values"]
    if tensor["dtype"] != "string" and reader.format == "V2" and not info.num_slices:
        assert info.nbytes == value.nbytes


def _tensor_tf_cannot_read(reader: CheckpointReader, name: str, tensor: dict[str, Any]) -> None:
    """TensorFlow raised for this tensor (facts keep its error): graphtui must not do worse."""
    error = tensor["error"]
    if tensor["dtype"] == "variant":
        # No numpy value exists; graphtui says so in one line, and the bytes check out.
        with pytest.raises(GraphtuiError) as exc_info:
            reader.get_tensor(name)
        assert "\n" not in str(exc_info.value) and name in str(exc_info.value)
        assert reader.verify() == []
        return
    # TF's load_checkpoint cannot read V1 partitioned or float16 tensors; graphtui can.
    # Their bytes are compared with TF's RestoreV2 op in tests/interop.
    assert reader.format == "V1", error
    value = reader.get_tensor(name)
    assert list(value.shape) == tensor["shape"]
    assert _numpy_dtype_ok(value, tensor["dtype"])
    assert np.all(np.isfinite(value.astype(np.float64)))


def test_v1_values_tensorflow_cannot_read() -> None:
    """v1/half was created from [0.5, -1.5] (generate.py); v1/emb is one [6, 2] float32 tensor in
    three [2, 2] slices and equal in both saves (no op changed it between them)."""
    for step in (1, 2):
        reader = _reader(DATA / f"v1/model.ckpt-{step}")
        half = reader.get_tensor("v1/half")
        assert half.dtype == np.float16 and half.tolist() == [0.5, -1.5]
        info = reader.tensor_info("v1/emb")
        assert info.num_slices == 3 and info.shape == (6, 2)
    emb1 = _reader(DATA / "v1/model.ckpt-1").get_tensor("v1/emb")
    emb2 = _reader(DATA / "v1/model.ckpt-2").get_tensor("v1/emb")
    assert emb1.tobytes() == emb2.tobytes()
    assert len(set(emb1.ravel().tolist())) == 12  # random init: no slice left empty or repeated


def test_v1_counts_changed_between_saves() -> None:
    one = _reader(DATA / "v1/model.ckpt-1").get_tensor("v1/counts")
    two = _reader(DATA / "v1/model.ckpt-2").get_tensor("v1/counts")
    assert (two - one).tolist() == [1, 1, 1, 1]


# -- partitioned and sharded layouts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "parts"),
    [
        (
            "partitioned/model.ckpt",
            {
                "embeddings/table": 3,
                "embeddings/wide": 5,
                "embeddings/columns": 2,
                "embeddings/ids": 3,
                "dense/bias": 0,
            },
        ),
        ("restore/src/model.ckpt", {"old_scope/part": 5, "old_scope/var1": 0}),
        ("v1/model.ckpt-2", {"v1/emb": 3, "v1/weights": 0}),
    ],
)
def test_partitioned_variables_listed_once(prefix: str, parts: dict[str, int]) -> None:
    reader = _reader(DATA / prefix)
    names = reader.names()
    assert len(names) == len(set(names)) == len(FACTS["checkpoints"][prefix]["dtypes"])
    assert all(n.isprintable() and "/part_" not in n for n in names)
    for name, count in parts.items():
        info = reader.tensor_info(name)
        assert info.num_slices == count
        assert info.nbytes == info.num_elements * info.dtype.itemsize
    assert [n for n, _ in list_variables(DATA / prefix)] == sorted(names)


def test_sharded_checkpoint_spans_both_shards() -> None:
    reader = _reader(DATA / "sharded/model.ckpt")
    bundle = reader.bundle
    assert bundle is not None and bundle.num_shards == 2
    shards = {bundle.entry(name).shard_id for name in reader.names()}
    assert shards == {0, 1}
    assert [Path(f).name for f in reader.files()] == [
        "model.ckpt.index",
        "model.ckpt.data-00000-of-00002",
        "model.ckpt.data-00001-of-00002",
    ]


def test_dtypes_fixture_has_every_saved_dtype() -> None:
    reader = _reader(DATA / FACTS["dtypes"]["prefix"])
    seen = {dt.name for dt in reader.get_variable_to_dtype_map().values()}
    expected = set(FACTS["dtypes"]["saved"]) - set(FACTS["dtypes"]["separate_prefixes"])
    assert expected <= seen


# -- state files and latest_checkpoint -----------------------------------------------------------


def _state_fields(state: Any) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "model_checkpoint_path": state.model_checkpoint_path,
        "all_model_checkpoint_paths": list(state.all_model_checkpoint_paths),
        "all_model_checkpoint_timestamps": list(state.all_model_checkpoint_timestamps),
        "last_preserved_timestamp": state.last_preserved_timestamp,
    }


@pytest.mark.parametrize(("root", "directory", "state"), STATES)
def test_state_file_like_tensorflow(
    root: Path, directory: str, state: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root)  # facts hold paths as TF resolved them from the tree's root
    assert _state_fields(get_checkpoint_state(directory)) == state["tf"]
    assert latest_checkpoint(directory) == state["latest_checkpoint"]


@pytest.mark.parametrize(("root", "directory", "state"), STATES)
def test_history_follows_the_state_file(root: Path, directory: str, state: dict[str, Any]) -> None:
    hist = scan_history(root / directory)
    listed = [r for r in hist.records if r.in_state]
    file_paths = state["file"]["all_model_checkpoint_paths"]
    assert [r.name for r in listed] == [
        p if Path(p).is_absolute() else str(Path(p)) for p in file_paths
    ]
    latest_raw = state["file"]["model_checkpoint_path"]
    assert hist.latest is not None
    assert hist.latest.prefix == str((root / directory / latest_raw).resolve(strict=False))
    assert [r.latest for r in hist.records].count(True) == 1
    if state["latest_checkpoint"] is not None:
        assert hist.latest.complete and not hist.latest.missing
        assert all(r.complete for r in listed)
        for rec in listed:
            assert rec.timestamp is not None
            assert rec.format == FACTS_BY_ROOT[str(root)][_fact_key(root, rec.prefix)]["format"]
    else:  # a stale state file (moved directory): listed checkpoints are missing
        assert all(r.missing and not r.complete for r in listed)
        on_disk = [r for r in hist.records if not r.in_state]
        assert on_disk and all(r.complete for r in on_disk)


FACTS_BY_ROOT = {str(root): tree["checkpoints"] for _, root, tree in TREES}


def _fact_key(root: Path, prefix: str) -> str:
    return str(Path(prefix).relative_to(root))


def test_history_of_the_demo_run() -> None:
    hist = scan_history(demo_path())
    assert [r.step for r in hist.records] == [150, 200, 250, 300]
    assert hist.latest is not None and hist.latest.step == 300
    assert all(r.complete and r.format == "V2" for r in hist.records)
    assert all(any(p.endswith(".meta") for p, _ in r.files) for r in hist.records)


def test_history_and_state_with_timestamps(tmp_path: Path) -> None:
    """A state file with timestamps (as CheckpointManager writes): kept in order, used as times."""
    import shutil

    for step in (30, 40, 50):
        for f in (DATA / "train").glob(f"model.ckpt-{step}.*"):
            shutil.copy(f, tmp_path / f.name)
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-40"\n'
        'all_model_checkpoint_paths: "model.ckpt-30"\n'
        'all_model_checkpoint_paths: "model.ckpt-40"\n'
        "all_model_checkpoint_timestamps: 1700000000.5\n"
        "all_model_checkpoint_timestamps: 1700000100.25\n"
        "last_preserved_timestamp: 1699999999.0\n"
    )
    state = get_checkpoint_state(tmp_path)
    assert list(state.all_model_checkpoint_paths) == [
        str(tmp_path / "model.ckpt-30"),
        str(tmp_path / "model.ckpt-40"),
    ]
    assert list(state.all_model_checkpoint_timestamps) == [1700000000.5, 1700000100.25]
    assert latest_checkpoint(tmp_path) == str(tmp_path / "model.ckpt-40")
    hist = scan_history(tmp_path)
    assert [(r.step, r.in_state, r.latest) for r in hist.records] == [
        (30, True, False),
        (40, True, True),
        (50, False, False),
    ]
    assert [r.timestamp for r in hist.records[:2]] == [1700000000.5, 1700000100.25]
    assert hist.last_preserved_timestamp == 1699999999.0
    assert hist.find("50") is hist.records[2]


# -- the forms of path TensorFlow accepts --------------------------------------------------------

V2_CASES = [
    pytest.param(root, prefix, facts, id=f"{label}:{prefix}")
    for label, root, tree in TREES
    for prefix, facts in tree["checkpoints"].items()
    if facts["format"] == "V2"
]


@pytest.mark.parametrize(("root", "prefix", "facts"), V2_CASES)
def test_path_forms_v2(root: Path, prefix: str, facts: dict[str, Any]) -> None:
    base = root / prefix
    forms: list[Any] = [base, str(base), str(base) + ".index"]
    forms += [str(root / prefix).rsplit("/", 1)[0] + "/" + f for f in facts["files"]]
    for form in forms:
        with load_checkpoint(form) as reader:
            assert reader.format == "V2"
            assert Path(reader.prefix) == base
            assert sorted(reader.names()) == sorted(facts["dtypes"])


@pytest.mark.parametrize(("root", "directory", "state"), STATES)
def test_path_form_directory(
    root: Path, directory: str, state: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root)
    latest = state["latest_checkpoint"]
    if latest is None:
        with pytest.raises(NotFoundError, match="'checkpoint' (file or checkpoints|state file's latest)"):
            load_checkpoint(directory)
        return
    with load_checkpoint(directory) as reader:
        assert Path(reader.prefix) == Path(latest)
        key = str(Path(latest))
        facts = (FACTS if root == DATA else FACTS["demo"])["checkpoints"][key]
        assert sorted(reader.names()) == sorted(facts["dtypes"])
        assert reader.format == facts["format"]


def test_path_form_v1_file() -> None:
    for step in (1, 2):
        path = DATA / f"v1/model.ckpt-{step}"
        assert path.is_file()
        with load_checkpoint(path) as reader:
            assert reader.format == "V1"
            assert reader.files() == [str(path)]
    with load_checkpoint(DATA / "v1") as reader:
        assert reader.format == "V1" and reader.prefix.endswith("model.ckpt-2")


def test_path_form_errors(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError) as missing:
        load_checkpoint(tmp_path / "nothing" / "model.ckpt")
    assert "nothing/model.ckpt" in str(missing.value) and "\n" not in str(missing.value)
    with pytest.raises(NotFoundError, match=str(tmp_path)):
        load_checkpoint(tmp_path)  # a directory without a state file
    with pytest.raises(MissingFileError):
        list_variables(DATA / "train" / "model.ckpt-10")
    assert latest_checkpoint(tmp_path) is None
    assert get_checkpoint_state(tmp_path) is None


def test_param_count_of_every_checkpoint() -> None:
    """tensor_info's element counts add up the way the shapes in facts do."""
    for _, root, tree in TREES:
        for prefix, facts in tree["checkpoints"].items():
            reader = _reader(root / prefix)
            want = sum(math.prod(t["shape"]) for t in facts["tensors"].values())
            assert sum(i.num_elements for i in reader.tensors()) == want
