"""Pilot tests: the app never shows damaged or missing data as fine (issue 13, "Truth").

Each test builds the damage in ``tmp_path`` from fixtures written by real TensorFlow.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from graphtui.core.checkpoint import load_checkpoint
from graphtui.formats.bundle import BundleReader
from graphtui.tui.screens.dialogs import ErrorDialog
from graphtui.tui.widgets.history_pane import DiffPane, HistoryPane
from graphtui.tui.widgets.node_tree import NodeTree
from graphtui.tui.widgets.value_pane import ValuePane
from graphtui.tui.widgets.variables_pane import VariablesPane

from .conftest import DATA, SIZE, TRAIN, make_app, screen_text, settle


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(src):
        if (src / name).is_file():
            shutil.copy(src / name, dst / name)
    return dst


def _flip(prefix: Path, name: str, at: int = 3) -> None:
    """Flip one byte inside tensor ``name``'s stored bytes (its checksum then fails)."""
    with BundleReader(prefix) as bundle:
        entry = bundle.entry(name)
        path = Path(bundle.data_files()[entry.shard_id])
    raw = bytearray(path.read_bytes())
    raw[entry.offset + min(at, entry.size - 1)] ^= 0xFF
    path.write_bytes(bytes(raw))


def _status(app: object, name: str) -> str:
    pane = app.workspace.query_one(VariablesPane)  # type: ignore[attr-defined]
    row = next(r for r in pane.rows if r.name == name)
    return pane.status_of(row)


# -- 1. a tensor that fails its checksum ----------------------------------------------------------


async def test_corrupt_tensor_is_not_drawn_and_its_row_says_corrupt(tmp_path: Path) -> None:
    """TF's reader refuses such a tensor (tensor_bundle.cc: "Checksum does not match"): the app
    draws none of its values until asked, then only under a permanent banner."""
    directory = _copy(TRAIN, tmp_path / "train")
    prefix = directory / "model.ckpt-50"
    _flip(prefix, "model/layer_2/dense/kernel")
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert _status(app, "model/layer_2/dense/kernel") == "ok"  # not read yet
        assert app.workspace.open_value("model/layer_2/dense/kernel")
        await settle(pilot)
        assert not isinstance(app.screen, ErrorDialog)  # said in place, not in a modal
        text = screen_text(app)
        real = load_checkpoint(TRAIN / "model.ckpt-50").get_tensor("model/layer_2/dense/kernel")
        assert f"{real[0, 0]:.5g}" not in text  # no value drawn
        assert "checksum mismatch: values unverified" in text and "Press ! to show" in text
        assert text.count("Values not shown") == 1  # said once, not down the grid
        grid = app.workspace.value_pane.grid
        assert grid.reads == 0  # not even read for drawing
        await pilot.press("exclamation_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "checksum mismatch: values unverified" in text  # the banner stays
        assert grid.reads > 0
        await pilot.press("3")
        await settle(pilot)
        assert _status(app, "model/layer_2/dense/kernel") == "corrupt"
        pane = app.workspace.query_one(VariablesPane)
        pane.table.move_cursor(row=[r.name for r in pane.rows].index("model/layer_2/dense/kernel"))
        await settle(pilot)
        text = screen_text(app)
        row = next(x for x in text.splitlines() if "model/layer_2/dense/kernel " in x)
        assert "corrupt" in row and "checksum mismatch" in text  # the row and its detail
        assert _status(app, "model/layer_2/dense/bias") == "ok"


async def test_corrupt_string_tensor_says_so_once(tmp_path: Path) -> None:
    directory = _copy(DATA / "dtypes", tmp_path / "dtypes")
    _flip(directory / "model.ckpt", "t_string_2d", at=20)
    app = make_app(directory / "model.ckpt")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.workspace.open_value("t_string_2d")
        await settle(pilot)
        text = screen_text(app)
        assert text.count("Values not shown") == 1, text
        assert "checksum mismatch: values unverified" in text
        assert not isinstance(app.screen, ErrorDialog)


# -- 3. statistics of every row: one failure fails that row alone ----------------------------------


async def test_stats_of_every_row_fail_one_row_alone(tmp_path: Path) -> None:
    directory = _copy(TRAIN, tmp_path / "train")
    _flip(directory / "model.ckpt-50", "model/layer_1/dense/kernel")
    app = make_app(directory)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("T")
        await settle(pilot)
        assert not isinstance(app.screen, ErrorDialog)
        pane = app.workspace.query_one(VariablesPane)
        prefix = app.ws.active_prefix or ""
        keyed = {r.key: r for r in pane.rows if r.key}
        assert (prefix, "model/layer_1/dense/kernel") not in pane.stats
        assert _status(app, "model/layer_1/dense/kernel") == "corrupt"
        done = {k for (p, k) in pane.stats if p == prefix}
        assert done == set(keyed) - {"model/layer_1/dense/kernel"}
        assert pane.stats[(prefix, "global_step")].mean == 50


# -- 2. a damaged index or a missing shard: said at open -------------------------------------------


@pytest.mark.parametrize("damage", ["bad magic", "garbage", "empty", "truncated", "no data"])
async def test_damaged_latest_checkpoint_is_said_at_open(tmp_path: Path, damage: str) -> None:
    """TF: "not an sstable (bad magic number)" (table.cc) for an index that is no table."""
    directory = _copy(TRAIN, tmp_path / "train")
    index = directory / "model.ckpt-50.index"
    raw = index.read_bytes()
    if damage == "bad magic":
        index.write_bytes(raw[:-8] + b"\0" * 8)
    elif damage == "garbage":
        index.write_bytes(bytes(range(256)) * (len(raw) // 256 + 1))
    elif damage == "empty":
        index.write_bytes(b"")
    elif damage == "truncated":
        index.write_bytes(raw[: len(raw) // 2])
    else:
        (directory / "model.ckpt-50.data-00000-of-00001").unlink()
    app = make_app(directory)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        assert app.ws.active is None  # no silent fallback to model.ckpt-40
        assert "checkpoint unreadable" in app.sub_title and "model.ckpt-50" in app.sub_title
        await pilot.press("3")
        await settle(pilot)
        text = " ".join(screen_text(app).split())  # the summary wraps
        assert "checkpoint unreadable: model.ckpt-50" in text
        assert "not an sstable" in text or "missing shard" in text
        assert "readable: model.ckpt-40, model.ckpt-30" in text  # the others are offered
        statuses = {r.name: _status(app, r.name) for r in app.workspace.query_one(VariablesPane).rows}
        assert "graph-only" not in statuses.values()
        assert statuses["model/layer_1/dense/kernel"] == "unreadable"
        assert statuses["eval/examples_seen"] == "local"
        await pilot.press("5")
        await settle(pilot)
        text = screen_text(app)
        assert "still being written" not in text
        row = next(
            line for line in text.splitlines() if line.split()[:2] == ["50", "model.ckpt-50"]
        )
        assert ("unreadable: " if damage != "no data" else "incomplete: ") in row
        # the user picks another one: it becomes active and the problem is gone
        history = app.workspace.query_one(HistoryPane)
        history.table.move_cursor(row=[r.name for r in history.records].index("model.ckpt-40"))
        await pilot.press("enter")
        await settle(pilot)
        assert app.ws.active_prefix == str(directory / "model.ckpt-40")
        assert app.ws.checkpoint_problem is None
        assert "unreadable" not in app.sub_title


async def test_missing_shard_of_the_opened_checkpoint_is_said(tmp_path: Path) -> None:
    directory = _copy(DATA / "sharded", tmp_path / "sharded")
    (directory / "model.ckpt.data-00001-of-00002").unlink()
    app = make_app(directory / "model.ckpt")
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        assert "missing shard" in app.sub_title
        assert "model.ckpt.data-00001-of-00002" in app.sub_title
        await pilot.press("3")
        await settle(pilot)
        assert "missing shard" in screen_text(app)


async def test_state_file_latest_missing_is_said_and_others_offered(tmp_path: Path) -> None:
    directory = _copy(TRAIN, tmp_path / "train")
    state = (directory / "checkpoint").read_text()
    (directory / "checkpoint").write_text(
        state.replace(
            'model_checkpoint_path: "model.ckpt-50"', 'model_checkpoint_path: "model.ckpt-60"'
        )
    )
    app = make_app(directory)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        assert app.ws.active is None
        problem = app.ws.checkpoint_problem or ""
        assert "model.ckpt-60" in problem and "missing" in problem
        assert "readable: model.ckpt-50, model.ckpt-40, model.ckpt-30" in problem
        assert "model.ckpt-60" in app.sub_title


# -- 4. scope parameters: the model's, slots apart -------------------------------------------------


async def test_scope_params_count_the_model_and_slots_apart() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(NodeTree)
        model = next(n for n in tree.root.children if n.data and n.data.path == "model")
        label = model.label.plain
        # layer_1 4x8+8, layer_2 8x8+8, layer_10 8x3+3: 139 model parameters; Adam (2 slots)
        # and the moving average add 3 x 139
        assert "139 params (+417 slots)" in label, label
        assert app.workspace.query_one(VariablesPane) is not None
        await pilot.press("3")
        await settle(pilot)
        assert "139 model params (+" in screen_text(app)


# -- 6. history: ticking ages, by step, plurals, columns that stay -------------------------------


async def test_history_by_step_with_ticking_ages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphtui.tui.widgets import history_pane

    directory = _copy(TRAIN, tmp_path / "train")
    # a rollback leaves the state file out of step order: 30, 50, 40
    (directory / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-40"\n'
        'all_model_checkpoint_paths: "model.ckpt-30"\n'
        'all_model_checkpoint_paths: "model.ckpt-50"\n'
        'all_model_checkpoint_paths: "model.ckpt-40"\n'
    )
    clock = [2_000_000_000.0]
    monkeypatch.setattr(history_pane, "now", lambda: clock[0])
    app = make_app(directory)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(HistoryPane)
        for rec in app.ws.history.records:  # type: ignore[union-attr]
            rec.timestamp = clock[0] - 30
        await pilot.press("5")
        pane.refresh_rows()
        await settle(pilot)
        assert [r.step for r in pane.records] == [30, 40, 50]
        text = screen_text(app)
        assert "30s ago" in text and "3 checkpoints" in text
        header = next(line for line in text.splitlines() if " step " in line)
        assert header.split()[:6] == ["step", "name", "size", "age", "time", "fmt"]
        clock[0] += 120
        pane.refresh_ages()
        await pilot.pause()
        assert "2m ago" in screen_text(app)


async def test_history_says_one_checkpoint(tmp_path: Path) -> None:
    directory = tmp_path / "one"
    directory.mkdir()
    for name in os.listdir(TRAIN):
        if name.startswith("model.ckpt-50"):
            shutil.copy(TRAIN / name, directory / name)
    app = make_app(directory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        text = screen_text(app)
        assert "1 checkpoint " in text and "1 checkpoints" not in text


async def test_diff_reads_a_to_b_as_chosen_with_a_b_and_delta_side_by_side() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        history = app.workspace.query_one(HistoryPane)
        names = [r.name for r in history.records]
        # no mark: the active one (50) and the highlighted one (30), older to newer
        history.table.move_cursor(row=names.index("model.ckpt-30"))
        await pilot.press("d")
        await settle(pilot)
        diff = app.workspace.query_one(DiffPane)
        assert diff.prefixes == (str(TRAIN / "model.ckpt-30"), str(TRAIN / "model.ckpt-50"))
        # the user marks 50 as A and diffs to 30: 50 -> 30, as chosen
        await pilot.press("5")
        history.table.move_cursor(row=names.index("model.ckpt-50"))
        await pilot.press("a")
        assert "A " in screen_text(app)
        history.table.move_cursor(row=names.index("model.ckpt-30"))
        await pilot.press("d")
        await settle(pilot)
        assert diff.prefixes == (str(TRAIN / "model.ckpt-50"), str(TRAIN / "model.ckpt-30"))
        assert "model.ckpt-50 → model.ckpt-30" in screen_text(app)
        step = next(r for r in diff.rows if r.name == "global_step")
        assert step.max_abs == 20
        table = diff.query_one("#diff-table")
        table.move_cursor(row=[r.name for r in diff.rows].index("global_step"))  # type: ignore[attr-defined]
        await settle(pilot)
        text = screen_text(app)
        line = next(x for x in text.splitlines() if x.strip().startswith("[]"))
        assert line.split() == ["[]", "50", "30", "-20"]
        assert "A = model.ckpt-50" in text and "B = model.ckpt-30" in text
        await pilot.press("a")
        await settle(pilot)
        assert app.workspace.value_pane.prefix == str(TRAIN / "model.ckpt-50")
        assert app.workspace.query_one(ValuePane).grid.element(0, 0) == 50
