"""Pilot tests: a tab switch blurs the graph tree and focuses it again, and showing its pane
resizes it to the size it had; neither draws a tree line again (Textual's Tree dropped every
drawn line and rebuilt its line index each time), and what it shows is what a fresh drawing
gives, focused or not."""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Tree

from graphtui.tui.widgets.node_tree import NodeTree

from .conftest import SIZE, TRAIN, make_app, settle


async def test_the_graph_tree_shown_again_draws_no_line_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(TRAIN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.workspace.query_one(NodeTree)
        node = tree.root.children[0]
        tree.select_node(node)
        node.expand()  # a few lines more than the top scopes
        await settle(pilot)

        def drawn() -> list[list[Any]]:
            strips = tree.render_lines(Region(0, 0, tree.size.width, tree.size.height))
            return [list(strip) for strip in strips]

        def fresh() -> list[list[Any]]:
            tree._line_cache.clear()
            return drawn()

        assert app.focused is tree
        focused = drawn()
        assert focused == fresh()
        made: list[int] = []
        render_line = Tree._render_line

        def spy(self: Tree[Any], y: int, *args: Any) -> Any:
            before = len(self._line_cache)
            strip = render_line(self, y, *args)
            if len(self._line_cache) != before:
                made.append(y)
            return strip

        monkeypatch.setattr(Tree, "_render_line", spy)
        for key in "313":  # variables, graph (each look drawn once), variables
            await pilot.press(key)
            await settle(pilot)
        made.clear()
        await pilot.press("1")
        await settle(pilot)
        assert app.focused is tree and made == []
        assert drawn() == focused == fresh()
        app.set_focus(None)  # the unfocused look: no cursor colour
        await settle(pilot)
        blurred = drawn()
        assert blurred != focused and blurred == fresh()
