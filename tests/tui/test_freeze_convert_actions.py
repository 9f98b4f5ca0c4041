"""Pilot tests of the freeze (Z) and convert (C) dialogs on copies of real-TF fixtures: the
preview says what would be written, a refusal writes nothing, the write is verified and undo
deletes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input

import graphtui
from graphtui._proto import pb
from graphtui.tui.screens.action_base import ActionScreen, ConfirmDialog
from graphtui.tui.screens.action_host import UndoDialog
from graphtui.tui.screens.serve_actions import ConvertScreen, FreezeScreen

from .conftest import DATA, SIZE, make_app, settle
from .test_actions import confirm_write, summary, table_rows, type_into, wait_preview

pytest.importorskip("safetensors")


@pytest.fixture(autouse=True)
def quick_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ActionScreen, "PREVIEW_DELAY", 0.02)


def copy_train(tmp_path: Path) -> Path:
    dst = tmp_path / "train"
    shutil.copytree(DATA / "train", dst)
    return dst


async def test_freeze_previews_refuses_writes_and_undoes(tmp_path: Path) -> None:
    train = copy_train(tmp_path)
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("Z")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, FreezeScreen)
        await type_into(pilot, screen.query_one("#freeze-outputs", Input), "no_such_node")
        await wait_preview(pilot)
        rows = table_rows(screen)
        assert rows[0][0] == "conflict" and "'no_such_node' is not a node" in rows[0][1]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ConfirmDialog)  # refused: nothing to confirm
        target = Path(screen.query_one("#freeze-target", Input).value)
        assert not target.exists()

        await type_into(pilot, screen.query_one("#freeze-outputs", Input), "predictions")
        await wait_preview(pilot)
        text = summary(screen)
        assert "6 variables frozen" in text and "1 inputs to feed" in text
        kinds = [r[0] for r in table_rows(screen)]
        assert kinds.count("freeze") == 6 and kinds.count("input") == 1
        await confirm_write(pilot)
        assert target.is_file()
        graph = pb.GraphDef()
        graph.ParseFromString(target.read_bytes())
        assert "predictions" in {n.name for n in graph.node}
        assert not [n for n in graph.node if n.op in ("VariableV2", "VarHandleOp")]
        assert "Wrote" in str(screen.query_one("#action-status").render())

        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(pilot.app.screen, UndoDialog)
        await pilot.press("d")
        await settle(pilot)
        assert not target.exists()


async def test_convert_to_safetensors_and_back_against_the_graph(tmp_path: Path) -> None:
    train = copy_train(tmp_path)
    app = make_app(train)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("C")
        screen = await wait_preview(pilot)
        assert isinstance(screen, ConvertScreen)
        target = Path(screen.query_one("#convert-target", Input).value)
        assert target.name == "model.safetensors"
        with graphtui.load_checkpoint(str(train)) as reader:
            n = len([k for k in reader.names() if k != "_CHECKPOINTABLE_OBJECT_GRAPH"])
            kernel = reader.get_tensor("model/layer_1/dense/kernel")
        assert f"{n} tensors" in summary(screen)
        assert [r[0] for r in table_rows(screen)].count("write") == n
        await confirm_write(pilot)
        from safetensors.numpy import load_file

        loaded = load_file(str(target))
        assert np.array_equal(loaded["model/layer_1/dense/kernel"], kernel)
        await pilot.press("escape")
        await pilot.pause()

        # back into a checkpoint, checked against the open graph
        await pilot.press("C")
        screen = await wait_preview(pilot)
        await type_into(pilot, screen.query_one("#convert-source", Input), str(target))
        back = tmp_path / "back" / "model.ckpt"
        await type_into(pilot, screen.query_one("#convert-target", Input), str(back))
        await wait_preview(pilot)
        text = summary(screen)
        assert f"graph: {n} matched, 0 missing" in text, text
        await confirm_write(pilot)
        with graphtui.load_checkpoint(str(back)) as got:
            assert np.array_equal(got.get_tensor("model/layer_1/dense/kernel"), kernel)
        assert Path(f"{back}.meta").is_file()


async def test_freeze_a_tf2_saved_model_from_its_signature(tmp_path: Path) -> None:
    saved = tmp_path / "saved_model"
    shutil.copytree(DATA / "tf2" / "saved_model", saved)
    app = make_app(saved)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("Z")
        screen = await wait_preview(pilot)
        assert isinstance(screen, FreezeScreen)
        assert screen.query_one("#freeze-outputs", Input).value == ""
        text = summary(screen)
        assert "2 variables frozen" in text, text
        rows = table_rows(screen)
        assert {r[1] for r in rows if r[0] == "freeze"} == {"scale", "offset"}
        assert any("scale/.ATTRIBUTES/VARIABLE_VALUE" in r[2] for r in rows)
        await confirm_write(pilot)
        target = Path(screen.query_one("#freeze-target", Input).value)
        graph = pb.GraphDef()
        graph.ParseFromString(target.read_bytes())
        assert any("_frozen_" in f.signature.name for f in graph.library.function)
