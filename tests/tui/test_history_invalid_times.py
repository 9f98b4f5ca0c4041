"""The app on a directory whose state file holds times that are no time (issue 11.5: ``nan``
and ``1e18`` crashed the app): it opens, and the history pane shows them as invalid."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.tui.conftest import SIZE, TRAIN, make_app, screen_text


async def test_history_pane_shows_invalid_times(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(TRAIN, run)
    (run / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-50"\n'
        + "".join(f'all_model_checkpoint_paths: "model.ckpt-{s}"\n' for s in (30, 40, 50))
        + "all_model_checkpoint_timestamps: nan\n"
        + "all_model_checkpoint_timestamps: 1e18\n"
        + "all_model_checkpoint_timestamps: 1700000000.0\n"
        + "last_preserved_timestamp: nan\n"
    )
    app = make_app(run)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("5")
        await pilot.pause()
        text = screen_text(app)
        assert "invalid (nan)" in text and "invalid (1e+18)" in text
        assert app.ws.active_prefix == str(run / "model.ckpt-50")
