"""Pilot tests of the writing actions, driven by keys, on copies of fixtures written by real
TensorFlow: restore, rename (with undo), re-export, strip, roll back and repair the state file,
errors that leave the app usable, and quitting with unwritten edits."""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import Checkbox, DataTable, Input, OptionList, SelectionList, TextArea

import graphtui
from graphtui.core.metagraph import read_meta_graph
from graphtui.tui.screens.action_base import ActionScreen, ConfirmDialog
from graphtui.tui.screens.action_host import UndoDialog
from graphtui.tui.screens.actions import ExportScreen, RenameScreen, RestoreScreen, StripScreen
from graphtui.tui.screens.dialogs import ErrorDialog
from graphtui.tui.screens.state_actions import StateFileScreen
from graphtui.tui.widgets.history_pane import HistoryPane
from graphtui.tui.widgets.node_tree import NodeTree

from .conftest import DATA, SIZE, TRAIN, make_app, screen_text, settle


@pytest.fixture(autouse=True)
def quick_preview(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(ActionScreen, "PREVIEW_DELAY", 0.02)
    yield


def copy_of(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(DATA / name, dst)
    return dst


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` and the hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def wait_preview(pilot: Any) -> ActionScreen:
    """Let the debounced preview of the open dialog be computed and shown."""
    screen = pilot.app.screen
    assert isinstance(screen, ActionScreen)
    for _ in range(200):
        await pilot.pause(0.03)
        await pilot.app.workers.wait_for_complete()
        if not screen.pending:
            break
    await pilot.pause()
    assert not screen.pending
    return screen


async def confirm_write(pilot: Any) -> ActionScreen:
    """ctrl+s, answer yes, and wait for the write."""
    screen = pilot.app.screen
    assert isinstance(screen, ActionScreen)
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press("y")
    for _ in range(200):
        await settle(pilot)
        if not screen.busy:
            break
    assert not screen.busy
    return screen


def summary(screen: ActionScreen) -> str:
    return str(screen.query_one("#action-summary").render())


def table_rows(screen: ActionScreen) -> list[tuple[str, str, str]]:
    table = screen.query_one("#action-table", DataTable)
    out = []
    for i in range(table.row_count):
        cells = table.get_row_at(i)
        out.append(tuple(getattr(c, "plain", str(c)) for c in cells))
    return out  # type: ignore[return-value]


async def type_into(pilot: Any, widget: Input | TextArea, text: str) -> None:
    """Replace the widget's text: all but the last character set at once (typing long paths
    key by key is slow), the last one typed."""
    widget.focus()
    await pilot.pause()
    if isinstance(widget, Input):
        widget.value = text[:-1]
        widget.cursor_position = len(widget.value)
    else:
        widget.text = text[:-1]
        widget.move_cursor(widget.document.end)
    await pilot.press("enter" if text[-1] == "\n" else text[-1])


# -- restore --------------------------------------------------------------------------------------


async def test_restore_previews_refuses_missing_then_writes(tmp_path: Path) -> None:
    restore_dir = copy_of(tmp_path, "restore")
    app = make_app(restore_dir / "target_a_scope.meta")
    source = restore_dir / "src" / "model.ckpt"
    before = tree_digest(restore_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        screen = await wait_preview(pilot)
        assert isinstance(screen, RestoreScreen)
        assert "Enter the checkpoint" in summary(screen)
        assert app.focused is screen.query_one("#restore-source", Input)
        await type_into(pilot, screen.query_one("#restore-source", Input), str(source))
        await pilot.press("tab")  # to the assignment map
        assert isinstance(app.focused, TextArea)
        await pilot.press(*"old_scope/=new_scope/")
        await wait_preview(pilot)
        text = summary(screen)
        assert "8 matched" in text and "1 missing" in text and "1 unused" in text
        assert "0 mismatched" in text
        rows = table_rows(screen)
        assert ("matched", "new_scope/var1", "← old_scope/var1") in rows
        assert ("unused", "other/keep", "checkpoint tensor nothing takes") in rows
        assert any(r[0] == "missing" and r[1] == "extra/bias" for r in rows)
        assert any(r[0] == "matched" and r[1] == "new_scope/part/part_0" for r in rows)
        # missing variables without allow-missing: refused, nothing written
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert screen.dirty
        target = Path(screen.query_one("#restore-target", Input).value)
        assert not target.parent.exists()
        # tick allow missing (Tab from the map reaches it)
        await pilot.press("tab")
        assert app.focused is screen.query_one("#restore-allow-missing", Checkbox)
        await pilot.press("space")
        await wait_preview(pilot)
        assert screen.preview is not None and screen.preview.ok
        await confirm_write(pilot)
        assert not screen.dirty
        assert "verified" in str(screen.query_one("#action-status").render())
        after = tree_digest(restore_dir)
        assert {k: after[k] for k in before} == before  # sources intact
        with (
            graphtui.load_checkpoint(str(target)) as got,
            graphtui.load_checkpoint(str(source)) as src,
        ):
            assert "extra/bias" not in got.names()
            np.testing.assert_array_equal(
                got.get_tensor("new_scope/var1"), src.get_tensor("old_scope/var1")
            )
            np.testing.assert_array_equal(
                got.get_tensor("new_scope/inner/var3"), src.get_tensor("old_scope/inner/var3")
            )
        with (
            graphtui.load_checkpoint(
                str(restore_dir / "expected_a_scope" / "model.ckpt")
            ) as tf_got,
            graphtui.load_checkpoint(str(target)) as got,
        ):
            np.testing.assert_array_equal(
                got.get_tensor("new_scope/var2"), tf_got.get_tensor("new_scope/var2")
            )
        assert Path(str(target) + ".meta").is_file()
        # open the result: the workspace is now the restored checkpoint
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert app.ws.active_prefix == str(target)
        assert app.ws.graph is not None and "new_scope/var1" in app.ws.graph
        assert not isinstance(app.screen, ActionScreen)


# -- rename, with undo ----------------------------------------------------------------------------


async def test_rename_scope_counts_writes_opens_and_undoes(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    before = tree_digest(train)
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.query_one(NodeTree).reveal("model")
        await pilot.press("M")
        screen = await wait_preview(pilot)
        assert isinstance(screen, RenameScreen)
        assert screen.query_one("#rename-old", Input).value == "model"
        assert "Type the new name" in summary(screen)
        await type_into(pilot, screen.query_one("#rename-new", Input), "net")
        await wait_preview(pilot)
        text = summary(screen)
        assert "166 nodes" in text and "310 inputs" in text and "58 collection items" in text
        assert "24 checkpoint keys" in text
        rows = table_rows(screen)
        assert ("key", "model/layer_1/dense/kernel", "→ net/layer_1/dense/kernel") in rows
        # mode: checkpoint only (RadioSet: arrows move, Enter presses)
        radio = screen.query_one("#rename-mode")
        radio.focus()
        await pilot.press("down", "down", "enter")
        await wait_preview(pilot)
        assert "0 nodes" in summary(screen) and "24 checkpoint keys" in summary(screen)
        await pilot.press("up", "up", "enter")
        await wait_preview(pilot)
        assert "166 nodes" in summary(screen)
        target = Path(screen.query_one("#rename-target", Input).value)
        assert target.parent == train / "renamed"
        await confirm_write(pilot)
        assert tree_digest(train) == {
            **before,
            **{k: v for k, v in tree_digest(train).items() if k.startswith("renamed")},
        }
        with (
            graphtui.load_checkpoint(str(target)) as got,
            graphtui.load_checkpoint(str(train)) as src,
        ):
            assert "net/layer_1/dense/kernel" in got.names()
            assert not [n for n in got.names() if n.startswith("model/")]
            np.testing.assert_array_equal(
                got.get_tensor("net/layer_2/dense/bias"), src.get_tensor("model/layer_2/dense/bias")
            )
        assert "net/layer_1/dense/kernel" in graphtui.GraphIndex(
            read_meta_graph(str(target) + ".meta")
        )
        # open the result, then undo: the previous workspace comes back, the output goes
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert app.ws.active_prefix == str(target)
        assert app.ws.graph is not None and "net/layer_1/dense/kernel" in app.ws.graph
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, UndoDialog)
        assert "reopens" in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        assert app.ws.path == str(train)
        assert app.ws.active_prefix == str(train / "model.ckpt-50")
        assert not (train / "renamed").exists()
        assert tree_digest(train) == before
        assert app.undo_stack == []
        await pilot.press("U")  # nothing left to undo
        await pilot.pause()
        assert not isinstance(app.screen, UndoDialog)


async def test_conflicting_rename_shows_conflicts_and_writes_nothing(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    before = tree_digest(train)
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.workspace.query_one(NodeTree).reveal("model/layer_1")
        await pilot.press("M")
        screen = await wait_preview(pilot)
        await type_into(pilot, screen.query_one("#rename-new", Input), "model/layer_2")
        await wait_preview(pilot)
        assert screen.preview is not None and not screen.preview.ok
        assert "refused: the rename has conflicts" in summary(screen)
        conflicts = [r for r in table_rows(screen) if r[0] == "conflict"]
        assert len(conflicts) == 52
        assert "would both become 'model/layer_2/" in conflicts[0][1]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen  # no confirmation: nothing to write
        assert tree_digest(train) == before


# -- re-export ------------------------------------------------------------------------------------


async def test_export_text_cleared_devices_collection_subset(tmp_path: Path) -> None:
    part = copy_of(tmp_path, "partitioned")
    app = make_app(part)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("E")
        screen = await wait_preview(pilot)
        assert isinstance(screen, ExportScreen)
        assert "5 tensors (404 B) copied" in summary(screen)
        assert "2 of 2 collections" in summary(screen)
        await pilot.press("tab")
        assert app.focused is screen.query_one("#export-text", Checkbox)
        await pilot.press("space", "tab", "space", "tab")
        assert isinstance(app.focused, SelectionList)
        await pilot.press("space")  # untick the first collection (trainable_variables)
        await wait_preview(pilot)
        text = summary(screen)
        assert "as text" in text and "devices cleared" in text and "1 of 2 collections" in text
        assert ("drop", "trainable_variables", "collection") in table_rows(screen)
        target = screen.query_one("#export-target", Input).value
        await confirm_write(pilot)
        assert "read back and verified" in str(screen.query_one("#action-status").render())
        meta_text = Path(target + ".meta").read_text()
        assert meta_text.lstrip().startswith(("meta_info_def", "graph_def"))
        mg = read_meta_graph(target + ".meta")
        assert list(mg.collection_def) == ["variables"]
        assert all(not n.device for n in mg.graph_def.node)
        with graphtui.load_checkpoint(target) as got, graphtui.load_checkpoint(str(part)) as src:
            assert got.names() == src.names()
            for name in src.names():
                np.testing.assert_array_equal(got.get_tensor(name), src.get_tensor(name))


# -- strip ----------------------------------------------------------------------------------------


async def test_strip_counts_matching_keys_and_writes(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    app = make_app(train)
    with graphtui.load_checkpoint(str(train)) as src:
        infos = src.tensors()
    patterns = ("*/Adam*", "*/ExponentialMovingAverage")
    dropped = [i for i in infos if any(fnmatch.fnmatchcase(i.name, p) for p in patterns)]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("S")
        screen = await wait_preview(pilot)
        assert isinstance(screen, StripScreen)
        assert screen.query_one("#strip-patterns", TextArea).text == "\n".join(patterns)
        text = summary(screen)
        from graphtui.tui.fmt import human_bytes

        saved = sum(i.nbytes for i in dropped)
        assert f"{len(dropped)} keys match ({human_bytes(saved)} saved)" in text
        assert f"{len(infos) - len(dropped)} kept" in text
        assert sorted(r[1] for r in table_rows(screen)) == sorted(i.name for i in dropped)
        # only the moving averages
        await type_into(
            pilot, screen.query_one("#strip-patterns", TextArea), "*/ExponentialMovingAverage"
        )
        await wait_preview(pilot)
        assert "6 keys match" in summary(screen)
        target = screen.query_one("#strip-target", Input).value
        await confirm_write(pilot)
        with graphtui.load_checkpoint(target) as got:
            assert len(got.names()) == len(infos) - 6
            assert not [n for n in got.names() if n.endswith("ExponentialMovingAverage")]
            assert "model/layer_1/dense/kernel/Adam" in got.names()


# -- state file -----------------------------------------------------------------------------------


async def test_rollback_from_history_then_undo(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    state = train / "checkpoint"
    original = state.read_bytes()
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        pane = app.workspace.query_one(HistoryPane)
        names = [r.name for r in pane.records]
        pane.table.move_cursor(row=names.index("model.ckpt-40"))
        await pilot.press("B")
        screen = await wait_preview(pilot)
        assert isinstance(screen, StateFileScreen)
        assert isinstance(app.focused, OptionList)
        assert "model.ckpt-40 becomes the latest" in summary(screen)
        rows = table_rows(screen)  # the exact diff of the state file, before anything is written
        assert ("-", 'model_checkpoint_path: "model.ckpt-50"', "removed") in rows
        assert ("+", 'model_checkpoint_path: "model.ckpt-40"', "added") in rows
        assert state.read_bytes() == original  # the preview wrote nothing
        await confirm_write(pilot)
        assert 'model_checkpoint_path: "model.ckpt-40"' in state.read_text()
        rows = table_rows(screen)
        assert ("-", 'model_checkpoint_path: "model.ckpt-50"', "") in rows
        assert ("+", 'model_checkpoint_path: "model.ckpt-40"', "") in rows
        assert app.ws.history is not None and app.ws.history.latest is not None
        assert app.ws.history.latest.name == "model.ckpt-40"
        await pilot.press("escape")
        await pilot.pause()
        assert "latest" in screen_text(app).split("model.ckpt-40")[1].splitlines()[0]
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, UndoDialog)
        await pilot.press("d")
        await settle(pilot)
        assert state.read_bytes() == original
        assert app.ws.history.latest.name == "model.ckpt-50"


async def test_fix_paths_after_a_move(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    state = train / "checkpoint"
    old = "/data/old/place"
    state.write_text(
        f'model_checkpoint_path: "{old}/model.ckpt-50"\n'
        f'all_model_checkpoint_paths: "{old}/model.ckpt-40"\n'
        f'all_model_checkpoint_paths: "{old}/model.ckpt-50"\n'
    )
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("F")
        screen = await wait_preview(pilot)
        assert isinstance(screen, StateFileScreen)
        assert screen.preview is not None and screen.preview.ok
        assert "Paths will be rewritten" in summary(screen)
        assert old in state.read_text()  # not yet
        await confirm_write(pilot)
        text = state.read_text()
        assert old not in text and 'model_checkpoint_path: "model.ckpt-50"' in text
        assert ("+", 'all_model_checkpoint_paths: "model.ckpt-40"', "") in table_rows(screen)
        await pilot.press("escape", "F")
        screen = await wait_preview(pilot)
        assert screen.preview is not None and not screen.preview.ok
        assert "Nothing to fix" in summary(screen)


# -- errors, palette, quitting --------------------------------------------------------------------


async def test_write_over_the_source_is_refused_and_the_app_keeps_working(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    before = tree_digest(train)
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("S")
        screen = await wait_preview(pilot)
        await type_into(
            pilot, screen.query_one("#strip-target", Input), str(train / "model.ckpt-50")
        )
        await wait_preview(pilot)
        await confirm_write(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "overwrite the source" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert "Nothing written" in str(screen.query_one("#action-status").render())
        assert tree_digest(train) == before
        # a new target works
        await type_into(
            pilot, screen.query_one("#strip-target", Input), str(tmp_path / "out" / "s")
        )
        await wait_preview(pilot)
        await confirm_write(pilot)
        assert (tmp_path / "out" / "s.index").is_file()
        await pilot.press("escape")
        await pilot.press("3")
        await settle(pilot)
        assert app.workspace.active_tab == "variables"


async def test_palette_lists_and_runs_the_actions(tmp_path: Path) -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [title for title, _help, _run in app.palette_commands()]
        for title in (
            "Restore from checkpoint…",
            "Rename scope…",
            "Re-export…",
            "Strip variables…",
            "Roll back checkpoint…",
            "Repair state-file paths…",
            "Undo last write…",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Strip variables")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, StripScreen)


async def test_quit_with_unwritten_edits_asks_first(tmp_path: Path) -> None:
    train = copy_of(tmp_path, "train")
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("S")
        screen = await wait_preview(pilot)
        assert not screen.dirty
        await pilot.press("end", *"\r*/beta*")
        await wait_preview(pilot)
        assert screen.dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "edits that were not written" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and app.is_running
        # a running write (the flag a write worker sets) asks too
        screen.busy = True
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "A write is running" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_without_edits_does_not_ask() -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await wait_preview(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
    assert app.return_code == 0
