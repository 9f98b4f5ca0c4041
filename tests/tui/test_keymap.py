"""A user keymap ([keymap] in config.toml) rebinds keys by binding id; help and the palette show
the keys in use; a keymap that does not read is a warning, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphtui.core.workspace import open_workspace
from graphtui.tui.app import GraphtuiApp
from graphtui.tui.keymap import config_path, load_keymap
from graphtui.tui.screens.help import HelpScreen
from tests.tui.conftest import SIZE, TRAIN, settle


def test_config_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GRAPHTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "graphtui" / "config.toml"
    monkeypatch.setenv("GRAPHTUI_CONFIG", str(tmp_path / "mine.toml"))
    assert config_path() == tmp_path / "mine.toml"


def test_load_keymap_keeps_known_ids_and_warns_about_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nhelp = "f1"\nsearch = "ctrl+f, slash"\nnope = "x"\nquit = 3\n')
    keymap, problems = load_keymap(path, known=GraphtuiApp.binding_ids())
    assert keymap == {"help": "f1", "search": "ctrl+f,slash"}
    assert len(problems) == 2
    assert "'nope': no binding has this id" in problems[0]
    assert "'quit': give the keys as a string" in problems[1]
    assert load_keymap(tmp_path / "absent.toml") == ({}, [])
    path.write_text("[keymap\n")
    keymap, problems = load_keymap(path)
    assert keymap == {} and len(problems) == 1 and "not read" in problems[0]


def test_every_binding_id_a_keymap_names_exists() -> None:
    ids = GraphtuiApp.binding_ids()
    assert {"help", "search", "quit", "tab-graph"} <= ids


async def test_a_rebound_key_works_and_help_shows_it() -> None:
    app = GraphtuiApp(open_workspace(TRAIN), keymap={"help": "f1"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)  # the old key is gone
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = dict((r.action, r.key) for r in app.help_sections()[0][1])
        assert rows["help"] == "f1"
        assert any(help_text.endswith("key f1") for _, help_text, _ in app.palette_commands())


async def test_a_keymap_problem_is_said_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    app = GraphtuiApp(open_workspace(TRAIN), notes=["config.toml: keymap 'nope': no binding"])
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(str(message)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert "config.toml: keymap 'nope': no binding" in said
