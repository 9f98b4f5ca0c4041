"""Pilot tests: the Variables pane on a virtual table (issue 17.3) with thousands of variables:
only the rows on screen are made, and sorting, the slot toggle and the ``/`` filter give the
rows a plain sort / filter of the joined variables gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.join import VariableRow
from graphtui.core.natural import natural_key
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction
from graphtui.tui.widgets.filter_bar import FilterInput
from graphtui.tui.widgets.variables_pane import VariablesPane, VariablesTable

from .conftest import make_app, screen_text, settle

COUNT = 3000
SIZE = (120, 30)


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 variables: kernels of a few shapes and dtypes with Adam slots beside them."""
    prefix = tmp_path_factory.mktemp("big") / "model.ckpt"
    with FileTransaction() as txn:
        writer = BundleWriter(str(prefix), txn)
        for i in range(COUNT):
            base = f"model/layer_{i // 30:03d}/dense_{(i // 3) % 10}/kernel"
            name = base if i % 3 == 0 else f"{base}/Adam{'_1' if i % 3 == 2 else ''}"
            dtype = np.float32 if i % 5 else np.float16
            writer.add(name, np.zeros((1 + i % 7, 1 + i % 4), dtype))
        writer.finish()
    return prefix


def _names(rows: list[VariableRow]) -> list[str]:
    return [r.name for r in rows]


async def test_only_the_rows_on_screen_are_made(
    big_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: set[int] = set()
    cells_at = VariablesPane._cells_at

    def spy(self: VariablesPane, index: int) -> Any:
        made.add(index)
        return cells_at(self, index)

    monkeypatch.setattr(VariablesPane, "_cells_at", spy)
    app = make_app(big_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(VariablesPane)
        table = pane.table
        assert app.focused is table and table.row_count == len(pane.rows) == COUNT
        assert f"{COUNT} variables" in screen_text(app)
        assert pane.rows[0].name in screen_text(app)
        assert 0 < len(made) <= SIZE[1]  # one screen of rows, not 3,000
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == COUNT - 1
        assert pane.rows[-1].name in screen_text(app)
        assert len(made) <= 2 * SIZE[1]


async def test_sort_slots_and_filter_give_a_plain_sorts_rows(big_checkpoint: Path) -> None:
    app = make_app(big_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(VariablesPane)
        joined = app.ws.variables()
        assert _names(pane.rows) == _names(sorted(joined, key=lambda r: natural_key(r.name)))
        keys = {
            "params": lambda r: r.params,
            "bytes": lambda r: r.nbytes,
            "status": lambda r: (r.status, natural_key(r.name)),
            "dtype": lambda r: (r.dtype, natural_key(r.name)),
            "name": lambda r: natural_key(r.name),
        }
        for _ in range(5):  # s: params, bytes, status, dtype, name; then r reverses
            await pilot.press("s")
            await settle(pilot)
            want = sorted(joined, key=keys[pane.sort], reverse=pane.reverse)
            assert _names(pane.rows) == _names(want), pane.sort
            await pilot.press("r")
            await settle(pilot)
            want = sorted(joined, key=keys[pane.sort], reverse=pane.reverse)
            assert _names(pane.rows) == _names(want), (pane.sort, "reversed")
            await pilot.press("r")
            await settle(pilot)
        assert pane.sort == "name" and not pane.reverse
        await pilot.press("o")  # slots hidden
        await settle(pilot)
        no_slots = [r for r in joined if not r.is_slot]
        assert _names(pane.rows) == _names(no_slots) and len(no_slots) == COUNT // 3
        await pilot.press("o")
        await pilot.press("slash")
        typed = ""
        for char in "LAYER_01":  # case-insensitive; typing on narrows, deleting widens again
            await pilot.press(char)
            typed += char
            await settle(pilot)
            assert pane.query_one(FilterInput).value == typed
            assert _names(pane.rows) == [r.name for r in joined if typed.lower() in r.name.lower()]
        assert len(pane.rows) == 30 * 10
        await pilot.press("backspace", "backspace")
        await settle(pilot)
        assert _names(pane.rows) == [r.name for r in joined if "layer_0" in r.name]
        pane.query_one(FilterInput).value = "*/dense_3/kernel/adam"  # a glob: the whole name
        await settle(pilot)
        assert _names(pane.rows) == [
            r.name for r in joined if r.name.endswith("dense_3/kernel/Adam")
        ]
        assert pane.table.row_count == len(pane.rows) == COUNT // 30


async def test_page_keys_enter_and_a_header_click(big_checkpoint: Path) -> None:
    app = make_app(big_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.workspace.query_one(VariablesPane)
        table = app.workspace.query_one(VariablesTable)
        page = table.scrollable_content_region.height - 1  # the header stays
        await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor_row == page
        assert pane.rows[page].name in screen_text(app)
        assert pane.rows[0].name not in screen_text(app)  # scrolled by a page
        await pilot.press("pagedown", "pageup")
        await settle(pilot)
        assert table.cursor_row == page
        await pilot.press("down", "down", "up")
        await settle(pilot)
        row = pane.rows[page + 1]
        assert pane.current() == row
        assert (row.key or "") in str(app.workspace.query_one("#variables-detail").render())
        await pilot.press("enter")  # opens the value of the row
        await settle(pilot)
        assert app.workspace.value_pane.key == row.key and app.workspace.active_tab == "value"
        await pilot.press("3")
        await settle(pilot)
        header = screen_text(app).splitlines()[table.region.y]
        await pilot.click(VariablesTable, offset=(header.index("params") + 1, 0))
        await settle(pilot)
        assert pane.sort == "params"
        assert pane.current() == row  # the cursor stays on its variable


async def test_a_table_shown_again_draws_no_row_again(
    big_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tab switch blurs the table and focuses it again: its rows of each look (focused or
    not) are kept, so it draws none again, and what it shows is what a fresh drawing gives."""
    from textual.geometry import Region

    from graphtui.tui.widgets.virtual_table import VirtualTable

    app = make_app(big_checkpoint)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.workspace.query_one(VariablesTable)

        def drawn() -> list[list[Any]]:
            strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
            return [list(strip) for strip in strips]

        def fresh() -> list[list[Any]]:
            table._drop_lines()
            return drawn()

        assert app.focused is table
        focused = drawn()
        assert focused == fresh()
        made: list[int] = []
        render_row = VirtualTable._render_row

        def spy(self: VirtualTable, row: int, *args: Any) -> Any:
            made.append(row)
            return render_row(self, row, *args)

        monkeypatch.setattr(VirtualTable, "_render_row", spy)
        for key in "535":  # history, variables (each look drawn once), history
            await pilot.press(key)
            await settle(pilot)
        made.clear()
        await pilot.press("3")  # variables again
        await settle(pilot)
        assert app.focused is table and made == []
        assert drawn() == focused == fresh()
        app.set_focus(None)  # the unfocused look: another cursor colour, no tint
        await settle(pilot)
        blurred = drawn()
        assert blurred != focused and blurred == fresh()
