"""The writing commands without TensorFlow: scope-map semantics, all-or-nothing transactions
under injected faults at every step, and refusals that leave every file as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main as cli_main
from graphtui.core import output
from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.ckpt_write import plan_keys
from graphtui.core.export import export
from graphtui.core.metagraph import read_meta_graph
from graphtui.core.names import ScopeMap, node_of
from graphtui.core.output import existing_files, write_checkpoint
from graphtui.core.rename import plan_rename, rename
from graphtui.core.restore import restore
from graphtui.core.state_ops import fix_paths, rollback
from graphtui.core.strip import strip
from graphtui.errors import ConflictError, CoreError, FormatError
from graphtui.formats.state_file import read_state
from graphtui.formats.transaction import FileTransaction
from tests.fixtures.shared import DATA

SHARDED = DATA / "sharded" / "model.ckpt"
TRAIN = DATA / "train" / "model.ckpt-50"
V1 = DATA / "v1" / "model.ckpt-2"
RESTORE = DATA / "restore"


class Boom(Exception):
    """The injected fault."""


def fault_at(label: str) -> Callable[[str], None]:
    def fault(step: str) -> None:
        if step == label:
            raise Boom(step)

    return fault


def digest(path: Path) -> dict[str, str]:
    """sha256 of every file under ``path`` (or of the file itself)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def temp_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.name.endswith(".tmp")]


def tensors(prefix: Path | str) -> dict[str, Any]:
    with CheckpointReader(prefix) as reader:
        assert reader.verify() == []
        return {name: reader.get_tensor(name) for name in reader.names()}


def same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and list(a.ravel()) == list(b.ravel())
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# -- ScopeMap -------------------------------------------------------------------------------------


def test_scope_matches_whole_components_only() -> None:
    m = ScopeMap([("a/b", "x")])
    assert m("a/b") == "x"
    assert m("a/b/c") == "x/c"
    assert m("a/bc") == "a/bc"
    assert m("a/bc/d") == "a/bc/d"
    assert m("z/a/b") == "z/a/b"  # only a leading run matches
    assert m("a") == "a"
    assert m.matches("a/b/c") and not m.matches("a/bc")


def test_scope_maps_apply_in_order_to_the_previous_result() -> None:
    chained = ScopeMap([("a", "b"), ("b", "c")])
    assert chained("a/x") == "c/x"
    assert chained("b/y") == "c/y"
    swapped = ScopeMap([("b", "c"), ("a", "b")])
    assert swapped("a/x") == "b/x"
    assert swapped("b/y") == "c/y"
    assert ScopeMap([("model", "net"), ("net/layer_1", "net/first")])("model/layer_10/w") == (
        "net/layer_10/w"
    )


def test_scope_map_trailing_slashes_and_refs() -> None:
    m = ScopeMap([("a/", "b/")])
    assert m.pairs == [("a", "b")]
    assert m.tensor("a/x:0") == "b/x:0"
    assert m.tensor("a/x:12") == "b/x:12"
    assert m.tensor("^a/x") == "^b/x"
    assert m.tensor("loc:@a/x") == "loc:@b/x"
    assert m.tensor("ab/x:0") == "ab/x:0"
    assert node_of("^a/x") == "a/x"
    assert node_of("a/x:3") == "a/x"
    assert node_of("loc:@a/x") == "a/x"


@pytest.mark.parametrize("spec", ["novalue", "=", "/=/", " = "])
def test_scope_map_rejects_a_rename_of_nothing(spec: str) -> None:
    with pytest.raises(CoreError):
        ScopeMap.parse([spec])


def test_scope_map_root_prefix_and_strip() -> None:
    """Issue 18.13: ``=scope/`` prefixes every name (import_scope); ``scope/=`` moves the
    scope's contents to the root."""
    for spec in ("=top/", "/=top", "=top"):
        m = ScopeMap.parse([spec])
        assert m("a/b") == "top/a/b"
        assert m.tensor("^a:0") == "^top/a:0"
        assert m.tensor("loc:@a") == "loc:@top/a"
    strip = ScopeMap.parse(["top/="])
    assert strip("top/a/b") == "a/b"
    assert strip.tensor("top/a:1") == "a:1"
    assert strip("topx/a") == "topx/a"
    assert strip("top") == ""  # a node named like the scope: refused as an invalid name


def test_plan_keys_lists_every_collision() -> None:
    with pytest.raises(ConflictError) as info:
        plan_keys(["a/x", "b/x", "a/y", "b/y", "c"], ScopeMap([("a", "b")]))
    assert len(info.value.conflicts) == 2
    assert "'b/x'" in info.value.conflicts[0]


def test_rename_plan_refuses_invalid_names_and_collisions() -> None:
    mg = read_meta_graph(f"{SHARDED}.meta")
    with pytest.raises(ConflictError) as info:
        plan_rename(ScopeMap([("tower_0", "-bad")]), mg, None)
    assert any("not a valid node name" in c for c in info.value.conflicts)
    with pytest.raises(ConflictError) as info:
        plan_rename(ScopeMap([("tower_0", "tower_1")]), mg, None)
    assert any("would both become 'tower_1/bias'" in c for c in info.value.conflicts)
    with pytest.raises(CoreError, match="nothing to rename"):
        plan_rename(ScopeMap([("absent", "x")]), mg, None)


# -- FileTransaction ------------------------------------------------------------------------------


def _stage(txn: FileTransaction, root: Path) -> None:
    txn.write_bytes(root / "a.bin", b"new a")
    with_handle = txn.open(root / "b.bin")
    with_handle.write(b"new b")
    txn.write_bytes(root / "c.bin", b"new c")  # replaces an existing file: staged last


def _labels(run: Callable[[Callable[[str], None]], None]) -> list[str]:
    seen: list[str] = []
    run(seen.append)
    return seen


def test_transaction_commit_and_abort(tmp_path: Path) -> None:
    with FileTransaction() as txn:
        txn.write_bytes(tmp_path / "x", b"1")
        txn.write_bytes(tmp_path / "y", b"2")
    assert (tmp_path / "x").read_bytes() == b"1" and (tmp_path / "y").read_bytes() == b"2"
    assert txn.committed == [str(tmp_path / "x"), str(tmp_path / "y")]

    txn = FileTransaction()
    txn.write_bytes(tmp_path / "z", b"3")
    txn.abort()
    assert not (tmp_path / "z").exists()
    with pytest.raises(Boom), FileTransaction() as txn:
        txn.write_bytes(tmp_path / "w", b"4")
        raise Boom
    assert not (tmp_path / "w").exists()
    assert temp_files(tmp_path) == []


def test_transaction_is_all_or_nothing_at_every_step(tmp_path: Path) -> None:
    def run(root: Path, fault: Callable[[str], None]) -> None:
        root.mkdir()
        (root / "c.bin").write_bytes(b"old c")
        txn = FileTransaction(fault)
        try:
            _stage(txn, root)
        except BaseException:
            txn.abort()
            raise
        txn.commit()

    labels = _labels(lambda fault: run(tmp_path / "record", fault))
    for kind in ("open", "fsync", "rename"):
        assert {f"{kind} {n}" for n in ("a.bin", "b.bin", "c.bin")} <= set(labels)
    for i, label in enumerate(labels):
        root = tmp_path / f"case{i}"
        with pytest.raises(Boom):
            run(root, fault_at(label))
        names = sorted(p.name for p in root.iterdir())
        assert names == ["c.bin"], label  # new files gone, no temporaries
        assert (root / "c.bin").read_bytes() == b"old c", label


# -- write_checkpoint under faults ----------------------------------------------------------------


def _prepare_target_dir(root: Path) -> Path:
    """An output directory that already holds another checkpoint and its state file."""
    root.mkdir(parents=True)
    shutil.copy(DATA / "moved" / "model.ckpt-1.index", root / "other.index")
    shutil.copy(
        DATA / "moved" / "model.ckpt-1.data-00000-of-00001", root / "other.data-00000-of-00001"
    )
    (root / "checkpoint").write_text(
        'model_checkpoint_path: "other"\nall_model_checkpoint_paths: "other"\n'
    )
    return root


WRITERS: dict[str, tuple[Path, Callable[..., Any]]] = {
    "rename": (
        SHARDED,
        lambda out, fault: rename(str(SHARDED), out, ScopeMap([("tower_0", "t0")]), on_step=fault),
    ),
    "strip": (TRAIN, lambda out, fault: strip(str(TRAIN), out, ["*/Adam*"], on_step=fault)),
    "export": (V1, lambda out, fault: export(str(V1), out, as_text=True, on_step=fault)),
    "restore": (
        RESTORE / "src" / "model.ckpt",
        lambda out, fault: restore(
            str(RESTORE / "target_c_root.meta"),
            str(RESTORE / "src" / "model.ckpt"),
            {"/": "new_scope/"},
            out,
            on_step=fault,
        ),
    ),
}


@pytest.mark.parametrize("existing_dir", [False, True], ids=["new-dir", "existing-dir"])
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_write_is_atomic_at_every_fault(tmp_path: Path, command: str, existing_dir: bool) -> None:
    source, run = WRITERS[command]
    source_dir = source.parent
    before = digest(source_dir)
    reference = tmp_path / "reference" / "model.ckpt"
    labels = _labels(lambda fault: run(str(reference), fault))
    expected = tensors(reference)
    expected_meta = (reference.parent / "model.ckpt.meta").read_bytes()
    files = ["model.ckpt.meta", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "checkpoint"]
    for name in files:
        for kind in ("open", "fsync", "rename"):
            assert f"{kind} {name}" in labels, (kind, name)

    for i, label in enumerate(labels):
        root = tmp_path / f"case{i}" / "out"
        if existing_dir:
            _prepare_target_dir(root)
        state_before = digest(root / "checkpoint") if existing_dir else None
        out = root / "model.ckpt"
        with pytest.raises(Boom):
            run(str(out), fault_at(label))
        assert temp_files(tmp_path / f"case{i}", source_dir) == [], label
        assert digest(source_dir) == before, label
        written = existing_files(str(out))
        if written:  # complete and valid, never partial
            assert label.endswith("checkpoint"), label  # only the state file step follows
            assert [os.path.basename(p) for p in written] == sorted(files[:3])
            got = tensors(out)
            assert set(got) == set(expected)
            assert all(same(got[k], v) for k, v in expected.items())
            assert Path(f"{out}.meta").read_bytes() == expected_meta
        elif not existing_dir:
            assert not (tmp_path / f"case{i}").exists() or not list(
                (tmp_path / f"case{i}").rglob("*")
            ), label
        if existing_dir:
            assert digest(root / "checkpoint") == state_before, label
            assert (root / "other.index").is_file()
        elif (root / "checkpoint").exists():
            pytest.fail(f"{label}: state file written although the write failed")


def test_successful_write_updates_the_state_file_keeping_history(tmp_path: Path) -> None:
    root = _prepare_target_dir(tmp_path / "out")
    rename(str(SHARDED), str(root / "renamed"), ScopeMap([("tower_0", "t0")]))
    state = read_state(str(root / "checkpoint"))
    assert state.model_checkpoint_path == "renamed"
    assert list(state.all_model_checkpoint_paths) == ["other", "renamed"]


def test_failed_verification_removes_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad(result: Any, *_: Any) -> None:
        raise FormatError(result.prefix, "simulated corruption")

    monkeypatch.setattr(output, "_verify", bad)
    with pytest.raises(FormatError, match="failed verification and was removed"):
        rename(str(SHARDED), str(tmp_path / "a" / "b" / "m"), ScopeMap([("tower_0", "t0")]))
    assert list(tmp_path.iterdir()) == []


# -- refusals -------------------------------------------------------------------------------------


def test_refuses_to_write_over_the_source(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(DATA / "sharded", copy)
    before = digest(copy)
    with pytest.raises(ConflictError, match="overwrite the source"):
        write_checkpoint(str(copy / "model.ckpt"), sources=[str(copy / "model.ckpt")])
    with pytest.raises(ConflictError):
        rename(str(copy / "model.ckpt"), str(copy / "model.ckpt"), ScopeMap([("tower_0", "t")]))
    with pytest.raises(ConflictError):
        export(str(copy / "model.ckpt"), str(copy / "." / "model.ckpt"))
    assert digest(copy) == before
    assert temp_files(copy) == []


@pytest.mark.parametrize("suffix", [".index", ".meta", ".data-00000-of-00003"])
def test_refuses_an_existing_target(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"taken{suffix}"
    target.write_bytes(b"precious")
    with pytest.raises(ConflictError, match="already has files"):
        strip(str(TRAIN), str(tmp_path / "taken"), ["*/Adam*"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert target.read_bytes() == b"precious"


def test_cli_refusal_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(
        ["rename", str(TRAIN), "--map", "model/layer_1=model/layer_2", "--out", str(tmp_path / "o")]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("graphtui: error: refused")
    assert list(tmp_path.iterdir()) == []


def test_restore_error_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(CoreError, match="not found"):
        restore(
            str(RESTORE / "target_b_single.meta"),
            str(RESTORE / "src" / "model.ckpt"),
            {"old_scope/nothere": "new_scope/var1"},
            str(tmp_path / "deep" / "m"),
        )
    assert list(tmp_path.iterdir()) == []


# -- state file edits ---------------------------------------------------------------------------


def test_rollback_and_fix_paths_under_faults(tmp_path: Path) -> None:
    train = tmp_path / "train"
    shutil.copytree(DATA / "train", train)
    before = digest(train)
    with pytest.raises(Boom):
        rollback(str(train), "40", on_step=fault_at("write checkpoint"))
    assert digest(train) == before and temp_files(train) == []
    change = rollback(str(train), "40")
    state = read_state(str(train / "checkpoint"))
    assert state.model_checkpoint_path == "model.ckpt-40"
    assert list(state.all_model_checkpoint_paths)[-1] == "model.ckpt-40"
    assert change.after == (train / "checkpoint").read_text()
    with pytest.raises(CoreError):
        rollback(str(train), "41")

    moved = tmp_path / "moved"
    shutil.copytree(DATA / "moved", moved)
    before = digest(moved)
    with pytest.raises(Boom):
        fix_paths(str(moved), on_step=fault_at("write checkpoint"))
    assert digest(moved) == before and temp_files(moved) == []
    fix_paths(str(moved))
    state = read_state(str(moved / "checkpoint"))
    assert state.model_checkpoint_path == "model.ckpt-2"
    assert list(state.all_model_checkpoint_paths) == ["model.ckpt-1", "model.ckpt-2"]
    again = fix_paths(str(moved))
    assert again.after == again.before
