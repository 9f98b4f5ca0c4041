"""Names with terminal escapes in the app (issue 11, item 4): every pane shows them escaped.

The files (tests/fixtures/hostile.py) put ESC/CSI/OSC sequences, a newline and a bidi override
in the directory, prefix, tensor, node, scope, collection, object and signature names. Each tab
is drawn and the screen text must hold no control character, and show ``\\x1b`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
        for tab in app.tab_ids:
            await app.run_action(f"show_tab('{tab}')")
            await settle(pilot)
            if tab in ("graph", "objects", "signatures", "collections"):
                for _ in range(6):  # open the first entries
                    await pilot.press("down", "enter")
                await settle(pilot)
            text = screen_text(app)
            _clean(text)
            seen.append(text)
        _clean(app.sub_title)
        assert any("\\x1b" in text for text in seen)
