"""The command palette (ctrl+p): every action of the app, plus checkpoints, collections and
variables to open, following the workspace's current state."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class GraphtuiCommands(Provider):
    """Commands built from the live bindings (see ``GraphtuiApp.palette_commands``)."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        if not hasattr(app, "palette_commands"):
            return []
        commands: list[tuple[str, str, Any]] = app.palette_commands()
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, partial(_call, callback), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(_call, callback), help=help_text)


async def _call(callback: Any) -> None:
    result = callback()
    if hasattr(result, "__await__"):
        await result
