"""The app on dtypes TensorFlow has no type for (no TF needed; what TF does with the same files
is judged in tests/interop/test_upstream_dtypes.py and test_dtypes_vs_tf.py): a checkpoint
entry stored with DataType enum 34 is listed by name in the Variables tab and its value
refused, in one line naming the file, while the others still open; a graph Const of such a
dtype is refused in the value view and the app keeps running (it raised out of the app)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graphtui._proto import pb
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter
from tests.unit.test_workspace import write_checkpoint

from .conftest import make_app, screen_text, settle


def _unknown_dtype_checkpoint(tmp_path: Path) -> str:
    prefix = write_checkpoint(
        tmp_path / "ckpt", {"x": np.array([1.0, 2.0], np.float32), "y": np.ones(2, np.float32)}
    )
    with Table(prefix + ".index") as table:
        items = [(bytes(k), bytes(v)) for k, v in table.items()]
    with open(prefix + ".index", "wb") as out:
        writer = TableWriter(out)
        for key, value in items:
            if key == b"x":
                entry = pb.BundleEntryProto.FromString(value)
                entry.dtype = 34  # type: ignore[assignment]
                value = entry.SerializeToString()
            writer.add(key, value)
        writer.finish()
    return prefix


def _value_message(app: object) -> str:
    """What the value grid says instead of values (its error, or why they are hidden)."""
    grid = app.screen.query_one("ValuePane").grid  # type: ignore[attr-defined]
    return str(grid.error or grid.hidden_reason or "")


async def test_unknown_dtype_entry_listed_and_its_value_refused(tmp_path: Path) -> None:
    prefix = _unknown_dtype_checkpoint(tmp_path)
    app = make_app(prefix)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert "unknown dtype enum (34)" in screen_text(app)
        await pilot.press("enter")  # the first row: x
        await settle(pilot)
        said = _value_message(app)  # wrapped on screen beside the statistics column
        assert "tensor 'x' is stored with dtype enum 34" in said and "ckpt.index" in said
        await pilot.press("3", "down", "enter")  # y still opens
        await settle(pilot)
        text = screen_text(app)
        assert " y  float32 [2]  8 B" in text and "checksum mismatch" not in text
    assert app.return_code in (None, 0)


async def test_const_of_unknown_dtype_is_refused_in_the_app(tmp_path: Path) -> None:
    meta = pb.MetaGraphDef()
    node = meta.graph_def.node.add(name="k", op="Const")
    node.attr["dtype"].type = 34  # type: ignore[assignment]
    node.attr["value"].tensor.dtype = 34  # type: ignore[assignment]
    node.attr["value"].tensor.tensor_content = b"\0" * 8
    path = tmp_path / "consts.meta"
    path.write_bytes(meta.SerializeToString())
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.workspace.jump_to_node("k")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert "unknown dtype enum (34)" in " ".join(screen_text(app).split())
    assert app.return_code in (None, 0)


async def test_a_value_refused_for_its_dtype_is_not_called_a_checksum_mismatch(
    tmp_path: Path,
) -> None:
    """The refusal is what TF says (no type for the enum), not a damaged file: no checksum
    banner, no offer to show values that do not exist, the row reads failed (not corrupt)."""
    prefix = _unknown_dtype_checkpoint(tmp_path)
    app = make_app(prefix)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter")  # the first row: x
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "tensor 'x' is stored with dtype enum 34" in _value_message(app)
        assert "value not readable" in text
        assert "checksum mismatch" not in text and "show them anyway" not in text
        await pilot.press("exclamation_mark")
        await settle(pilot)
        assert "show them anyway" not in " ".join(screen_text(app).split())
        pane = app.screen.query_one("VariablesPane")
        row = next(r for r in pane.ws.variables() if r.key == "x")
        assert pane.status_of(row) == "failed"
    assert app.return_code in (None, 0)
