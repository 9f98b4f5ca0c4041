"""Names with terminal escapes in the app (issue 11, item 4): every pane shows them escaped.

The files (tests/fixtures/hostile.py) put ESC/CSI/OSC sequences, a newline and a bidi override
in the directory, prefix, tensor, node, scope, collection, object and signature names. Each tab
is drawn and the screen text must hold no control character, and show ``\\x1b`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphtui.formats.visible import visible
from graphtui.tui.textual_fixes import CONTROL_PICTURES
from tests.fixtures import hostile

from .conftest import SIZE, make_app, screen_text, settle

RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _clean(text: str) -> None:
    assert not any(c in text for c in RAW), repr(text[:400])


@pytest.mark.parametrize("kind", ["run", "tf2", "sm"])
async def test_every_tab_shows_names_escaped(tmp_path: Path, kind: str) -> None:
    path = {
        "run": hostile.tf1_run,
        "tf2": hostile.tf2_checkpoint,
        "sm": hostile.saved_model,
    }[kind](tmp_path)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for tab in app.workspace.tab_ids:
            await app.run_action(f"show_tab('{tab}')")
            await settle(pilot)
            seen.append(screen_text(app))  # the tab as it opens, then with entries opened
            if tab in ("graph", "objects", "signatures", "collections"):
                for _ in range(6):  # open the first entries
                    await pilot.press("down", "enter")
                await settle(pilot)
                seen.append(screen_text(app))
            for text in seen[-2:]:
                _clean(text)
                _layout_check(text, f"{kind} {tab}")  # object and signature names hold \n, \t
        _clean(app.sub_title)
        assert any("\\x1b" in text for text in seen)
        marker = {"tf2": "\\nNLTAIL", "sm": "\\tTABTAIL"}.get(kind)
        assert marker is None or any(marker in text for text in seen), kind


# -- newline, tab, CR and ESC inside names (issue 11, item 4, round two) ---------------------------
# Textual keeps newline and tab as layout, so a name holding one was drawn as a line break or a
# run of blanks. Every tail token on the screen must follow its escape (or a "…" cut).


def _layout_check(text: str, where: str) -> int:
    """Fails when a tail token is drawn after a raw control character; returns how many tails
    the screen shows."""
    seen = 0
    for tail, control in hostile.LAYOUT_CONTROLS.items():
        escaped = visible(control)
        picture = control.translate(CONTROL_PICTURES)  # an input field's one-cell form
        start = 0
        while (i := text.find(tail, start)) >= 0:
            before = text[:i]
            cut = any(before.endswith("…" + escaped[k:]) for k in range(len(escaped) + 1))
            assert before.endswith((escaped, picture)) or cut, (
                f"{where}: {tail} drawn raw: {before[-80:]!r}"
            )
            seen += 1
            start = i + len(tail)
    assert not any(c in text for c in "\x1b\r\t\x07"), where
    return seen


async def _look(pilot: object, app: object, where: str, counts: dict[str, int]) -> None:
    await settle(pilot)
    text = screen_text(app)
    counts[where] = counts.get(where, 0) + _layout_check(text, where)
    for attr in ("title", "sub_title"):
        _layout_check(getattr(app.screen, attr) or "", f"{where} {attr}")  # type: ignore[attr-defined]


async def test_layout_characters_in_names_are_escaped(tmp_path: Path) -> None:
    app = make_app(hostile.layout_run(tmp_path))
    counts: dict[str, int] = {}
    async with app.run_test(size=SIZE) as pilot:
        await _look(pilot, app, "start", counts)
        await app.run_action("show_tab('graph')")
        for _ in range(12):  # open every scope, select every node: tree and details
            await pilot.press("down", "enter")
            await _look(pilot, app, "graph", counts)
        for key in ("i", "H"):  # model overview, op histogram
            await pilot.press(key)
            await _look(pilot, app, f"graph {key}", counts)
            await pilot.press("escape")
        await pilot.press("D")
        await _look(pilot, app, "dataflow", counts)
        await app.run_action("show_tab('collections')")
        for _ in range(3):
            await pilot.press("down", "enter")
            await _look(pilot, app, "collections", counts)
        await app.run_action("show_tab('variables')")
        await _look(pilot, app, "variables", counts)
        for _ in range(4):  # each variable's value view (title, header)
            await app.run_action("show_tab('variables')")
            await pilot.press("down", "enter")
            await _look(pilot, app, "value", counts)
        await app.run_action("show_tab('history')")
        await _look(pilot, app, "history", counts)
        await pilot.press("a", "d")  # diff the checkpoint with itself
        await _look(pilot, app, "diff", counts)
        await app.run_action("show_tab('graph')")
        await pilot.press("ctrl+p", *"TAIL")  # the command palette offers them by name
        await _look(pilot, app, "palette", counts)
        await pilot.press("escape")
        for key in ("R", "E", "S", "Z", "C"):  # the write dialogs name the source
            await pilot.press(key)
            await _look(pilot, app, f"dialog {key}", counts)
            await pilot.press("escape", "escape")
            await settle(pilot)
    shown = {where for where, n in counts.items() if n}
    assert {"start", "graph", "dataflow", "variables", "value", "history", "palette"} <= shown, (
        counts
    )
