"""The write contract (plan -> apply) and the undo journal, without the app."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.journal import journaled, read_text, state_edit, undo
from graphtui.core.operations import (
    ExportRequest,
    FixPathsRequest,
    RenameRequest,
    RestoreRequest,
    RollbackRequest,
    StripRequest,
    apply,
    line_diff,
    plan,
)
from graphtui.core.output import WriteResult
from graphtui.errors import ConflictError
from tests.fixtures.shared import DATA


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def sharded(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "sharded", tmp_path / "src")
    return tmp_path / "src"


def test_plan_writes_nothing_and_apply_writes_what_it_planned(sharded: Path) -> None:
    before = digest(sharded.parent)
    planned = plan(
        StripRequest(str(sharded / "model.ckpt"), str(sharded.parent / "out" / "m"), ("*bias*",))
    )
    assert digest(sharded.parent) == before  # nothing written
    assert planned.kind == "strip" and planned.ok
    dropped = [r.name for r in planned.rows if r.kind == "drop"]
    assert dropped == planned.report.dropped and dropped and all("bias" in n for n in dropped)
    steps: list[str] = []
    result = apply(planned, steps.append)
    assert isinstance(result, WriteResult) and result.report.dropped == dropped
    assert any(s.startswith("write ") or s.startswith("open ") for s in steps)
    with load_checkpoint(result.prefix) as reader:
        assert not set(reader.names()) & set(dropped)


def test_conflicts_are_planned_and_apply_refuses(sharded: Path) -> None:
    src = str(sharded / "model.ckpt")
    planned = plan(
        RenameRequest(src, str(sharded.parent / "out" / "m"), (("tower_0/", "tower_1/"),))
    )
    assert not planned.ok and planned.conflicts and planned.report is None
    before = digest(sharded.parent)
    with pytest.raises(ConflictError) as exc_info:
        apply(planned)
    assert exc_info.value.summary == planned.refusal
    assert exc_info.value.conflicts == planned.conflicts
    assert digest(sharded.parent) == before


def test_restore_plans_missing_variables_as_conflicts(tmp_path: Path) -> None:
    request = RestoreRequest(
        str(DATA / "sharded" / "model.ckpt.meta"),
        str(DATA / "sharded" / "model.ckpt"),
        (("tower_0/", "tower_0/"),),
        str(tmp_path / "out" / "m"),
    )
    planned = plan(request)
    assert planned.counts["matched"] > 0 and planned.counts["missing"] > 0
    assert planned.conflicts == planned.report.missing and "allow-missing" in planned.refusal
    with pytest.raises(ConflictError):
        apply(planned)
    assert not (tmp_path / "out").exists()


def test_export_plan_lists_collections_and_tensors(sharded: Path) -> None:
    planned = plan(
        ExportRequest(str(sharded / "model.ckpt"), str(sharded.parent / "e" / "m"), collections=())
    )
    assert planned.counts["tensors"] > 0 and planned.counts["collections kept"] == 0
    assert {r.kind for r in planned.rows} == {"drop"}


def test_state_file_edits_plan_a_diff_then_apply_it(tmp_path: Path) -> None:
    shutil.copytree(DATA / "train", tmp_path / "train")
    directory = str(tmp_path / "train")
    before = read_text(str(tmp_path / "train" / "checkpoint"))
    planned = plan(RollbackRequest(directory, "40"))
    assert read_text(str(tmp_path / "train" / "checkpoint")) == before  # a dry run
    assert any(r.kind == "+" for r in planned.rows) and any(r.kind == "-" for r in planned.rows)
    result = apply(planned)
    assert result.state_file and read_text(result.state_file) == planned.report.after
    nothing = plan(FixPathsRequest(directory))
    assert nothing.counts["changes"] == 0


def test_line_diff() -> None:
    assert line_diff("a\nb\n", "a\nc\n") == [(" ", "a"), ("-", "b"), ("+", "c")]


# -- the journal -----------------------------------------------------------------------------------


def test_undo_removes_the_files_and_directories_a_write_made(sharded: Path) -> None:
    before = digest(sharded.parent)
    target = sharded.parent / "new" / "deeper" / "m"
    planned = plan(StripRequest(str(sharded / "model.ckpt"), str(target), ("*bias*",)))
    entry, result = journaled(str(target), lambda: apply(planned))
    assert entry.prefix == result.prefix and entry.files and entry.state_file
    assert entry.state_before is None and entry.state_after is not None
    assert [Path(d).name for d in entry.created_dirs] == ["new", "deeper"]
    assert undo(entry) == []
    assert digest(sharded.parent) == before and not (sharded.parent / "new").exists()


def test_undo_keeps_a_state_file_changed_since_and_says_so(sharded: Path) -> None:
    target = sharded.parent / "out" / "m"
    planned = plan(StripRequest(str(sharded / "model.ckpt"), str(target), ("*bias*",)))
    entry, _ = journaled(str(target), lambda: apply(planned))
    assert entry.state_file is not None
    Path(entry.state_file).write_text('model_checkpoint_path: "later"\n')
    (target.parent / "keep.txt").write_text("someone else's file")
    notes = undo(entry, short=lambda p: Path(p).name)
    assert notes == ["checkpoint changed since: left as it is", "out is not empty: kept"]
    assert Path(entry.state_file).read_text() == 'model_checkpoint_path: "later"\n'
    assert not any(Path(f).exists() for f in entry.files)


def test_undo_of_a_state_file_edit_writes_the_old_text_back(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint"
    path.write_text("old\n")
    path.write_text("new\n")
    assert undo(state_edit(str(path), "old\n", "new\n")) == []
    assert path.read_text() == "old\n"
    created = tmp_path / "fresh"
    created.write_text("made by the edit\n")
    assert undo(state_edit(str(created), None, "made by the edit\n")) == []
    assert not created.exists()
