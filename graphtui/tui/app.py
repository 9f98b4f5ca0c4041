"""The graphtui Textual app: global keys, the command palette and switching workspaces.

The layout of one opened model is a :class:`~graphtui.tui.screens.workspace.WorkspaceScreen`;
opening another model (a write's result, undo) switches to a new screen. Keys typed before the
panes exist (over SSH people type ahead) are queued here and replayed once they do.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.widgets import Input

from graphtui.core.workspace import Workspace, open_workspace
from graphtui.errors import GraphtuiError
from graphtui.tui import textual_fixes  # noqa: F401  (before any OptionList is used)
from graphtui.tui.commands import GraphtuiCommands, palette_commands
from graphtui.tui.keymap import Keymap, load_keymap
from graphtui.tui.screens.action_base import ActionScreen
from graphtui.tui.screens.action_host import ACTION_BINDINGS, ActionsHost
from graphtui.tui.screens.help import HelpScreen, KeyRow, help_sections
from graphtui.tui.screens.workspace import (
    EXTRA_TABS,
    PANES,
    TABS,
    WorkspaceScreen,
    transfers_in_flight,
)
from graphtui.tui.warm_up import key_pressed, workspace_closed


class GraphtuiApp(ActionsHost, App[int]):
    """Explore one workspace at a time: a graph, its checkpoints and their values."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "graphtui"
    COMMANDS = App.COMMANDS | {GraphtuiCommands}
    BINDINGS = [
        *(
            Binding(str(i), f"show_tab('{tab}')", title, show=False, id=f"tab-{tab}")
            for i, (tab, title) in enumerate(TABS + EXTRA_TABS, start=1)
        ),
        Binding("slash", "search", "Search", id="search"),
        Binding("backspace", "go_back", "Back", show=False, id="back"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("D", "dataflow_here", "Dataflow of this node", show=False, id="dataflow-here"),
        Binding("q", "quit", "Quit", show=False, id="quit"),
        Binding(
            "escape,ctrl+c",
            "cancel_fetch",
            "Cancel fetch",
            show=False,
            priority=True,  # enabled only while a remote range is in flight
            id="cancel-fetch",
        ),
        *ACTION_BINDINGS,
    ]

    def __init__(
        self, workspace: Workspace, keymap: Keymap | None = None, notes: Sequence[str] = ()
    ) -> None:
        super().__init__()
        self._workspace = WorkspaceScreen(workspace)
        self._notes = list(notes)  # said once the app runs (a keymap that did not read)
        self.keymap: Keymap = dict(keymap or {})  # binding id -> keys, from the user's config
        if self.keymap:
            self.set_keymap(self.keymap)
        # keys typed ahead (over SSH people do) wait until every pane is mounted
        self._typed_ahead: list[events.Key] = []
        self._replaying: events.Key | None = None
        # replayed keys posted and not yet handled: a replay the 0.25 s timer sends before the
        # one before it is handled must not make that one look like a new key (queued behind)
        self._in_flight: list[events.Key] = []
        self._requeued = 0  # replayed keys put back at the front of _typed_ahead (held again)
        self._awaiting = False
        self._holding = False  # keys wait while the search box takes the focus
        self._replay_active = False  # a chain of replays is running
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"

    @property
    def workspace(self) -> WorkspaceScreen:
        """The screen of the workspace open now."""
        return self._workspace

    @property
    def ws(self) -> Workspace:
        return self._workspace.ws

    @property
    def typed_ahead(self) -> list[events.Key]:
        """Keys typed before the panes existed, still waiting to be replayed."""
        return list(self._typed_ahead)

    def on_mount(self) -> None:
        # pushed, not the default screen: switch_screen can only replace a pushed screen
        self.push_screen(self._workspace)
        for note in self._notes:
            self.notify(note, severity="warning", timeout=10)
        self._await_panes()

    @classmethod
    def binding_ids(cls) -> set[str]:
        """Every binding id a ``[keymap]`` may rebind: the app's, the dialogs' and the panes'."""
        nodes: list[type[DOMNode]] = [cls, ActionScreen, *(pane for _, pane in PANES)]
        return {b.id for node in nodes for b in node.BINDINGS if isinstance(b, Binding) and b.id}

    # -- keys typed ahead -----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            key_pressed()  # a graph's warm-up gives way for a moment
            if not self.screen_stack:
                return  # typed while the app closes (also a key bubbling back up)
            replayed = any(event is key for key in self._in_flight)
            if replayed:
                self._in_flight = [key for key in self._in_flight if key is not event]
            waiting = not self._workspace.panes_ready or self._holding
            if not event.is_forwarded and (waiting or (self._typed_ahead and not replayed)):
                if replayed:  # older than every key still queued: back to the front, in order
                    self._typed_ahead.insert(self._requeued, event)
                    self._requeued += 1
                else:
                    self._typed_ahead.append(event)  # the bindings need the panes: replayed later
                if not self._replay_active:
                    self._await_panes()
                return
            if not event.is_forwarded and self._search_now(event):
                return
        await super().on_event(event)

    def _search_now(self, event: events.Key) -> bool:
        """The search key opens the box at once, before the keys after it are forwarded: what
        is typed right after ``/`` (a burst, over SSH) lands in the box, not in the tree."""
        if event.key not in self.keymap.get("search", "slash").split(","):
            return False
        if isinstance(self.focused, Input):
            return False  # typed into the box or a filter
        active = self.active_bindings.get(event.key)
        if active is None or active.node is not self or active.binding.action != "search":
            return False
        if active.enabled:
            self.action_search()
            self._hold_keys()
        return True

    def _hold_keys(self, refreshes: int = 10) -> None:
        """Queue the keys typed next until a text box has the focus (the search box takes it
        after a refresh, once laid out), then replay them: a burst after ``/`` lands in it."""
        self._holding = True

        def release() -> None:
            nonlocal refreshes
            refreshes -= 1
            if not self._holding:
                return
            if not isinstance(self.focused, Input) and refreshes > 0:
                self.call_after_refresh(release)
                return
            self._holding = False
            self._await_panes()

        self.call_after_refresh(release)
        self.set_timer(0.5, lambda: release() if self._holding else None)  # no refresh comes

    def _await_panes(self) -> None:
        """Once the lazily mounted panes exist, replay the keys typed during start-up."""
        if self._awaiting or self._holding or self._replay_active or not self.screen_stack:
            return  # (holding: the hold's end calls this again)
        if not self._workspace.panes_ready:
            self._awaiting = True

            def again() -> None:
                self._awaiting = False
                self._await_panes()

            self.set_timer(0.02, again)
            return
        self._replay_typed_ahead()

    def _replay_typed_ahead(self) -> None:
        # one key per refresh, as typed: a tab switch settles before the next key acts; a timer
        # as well, so a refresh that does not come (a modal screen) never stalls the rest; one
        # chain of replays at a time, paused while keys are held for the search box
        if not self._typed_ahead or self._holding:
            self._replay_active = False
            return
        self._replay_active = True
        key = self._typed_ahead.pop(0)
        self._requeued = max(0, self._requeued - 1)
        self._replaying = events.Key(key.key, key.character)
        self._in_flight.append(self._replaying)
        self.post_message(self._replaying)
        sent = self._replaying

        def next_key() -> None:
            if self._replaying is sent:
                self._replaying = None
                self._replay_typed_ahead()

        self.call_after_refresh(next_key)
        self.set_timer(0.25, next_key)

    # -- global actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_fetch":
            return transfers_in_flight()[0] > 0  # else Esc and Ctrl+C do what they always do
        # tabs 7 and 8 when the workspace has no such data
        return not (
            action == "show_tab" and parameters and parameters[0] not in self.workspace.tab_ids
        )

    def action_cancel_fetch(self) -> None:
        """Stop the remote range requests in flight (a big tensor on a slow link)."""
        from graphtui.formats.remote import STATS

        STATS.cancel()
        with contextlib.suppress(NoMatches):
            self.workspace.value_pane.cancel_fetch()

    def action_show_tab(self, tab: str) -> None:
        """Switch to a pane and focus its main widget."""
        self._workspace.action_show_tab(tab)

    def action_search(self) -> None:
        """Search node names (substring, glob with * ? [, or op:Conv2D); in the Variables,
        History and Diff panes, filter their rows in place."""
        self._workspace.action_search()

    def action_go_back(self) -> None:
        """Return to the node shown before the last jump."""
        self._workspace.action_go_back()

    def action_dataflow_here(self) -> None:
        """Draw the dataflow around the node of the tree, details, variable, value, or of a
        function or its node in tab 7 (tab 9)."""
        self._workspace.action_dataflow_here()

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[KeyRow]]]:
        return help_sections(self)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return palette_commands(self)

    def show_error(self, exc: BaseException | str, title: str = "Error") -> None:
        """Show an error in a dialog; the app stays usable behind it."""
        self._workspace.show_error(exc, title)

    # -- switching workspaces -------------------------------------------------------------------

    async def switch_workspace(self, ws: Workspace) -> None:
        """Show ``ws`` in place of the current workspace (closed): a new screen, new panes."""
        old = self._workspace
        while self.screen is not old:
            await self.pop_screen()
        await old.stop_workers()
        self._workspace = WorkspaceScreen(ws)
        await self.switch_screen(self._workspace)
        self._await_panes()
        old.ws.close()
        # what start-up or its warm-up froze (the closed workspace may be in it) can go
        workspace_closed(old.ws)


def run_app(path: str | None, opened: Callable[[], Workspace] | None = None) -> int:
    """Open ``path`` (None: the bundled demo) in the app; returns the exit code. ``opened``
    gives the workspace of ``path`` when it is being opened already (``tui/launch.py``).

    An unreadable path is reported as one line on stderr (exit code 1) before any screen opens.
    """
    try:
        ws = open_workspace(path) if opened is None else opened()
    except GraphtuiError as exc:
        sys.stderr.write(f"graphtui: error: {exc}\n")
        return 1
    keymap, problems = load_keymap(known=GraphtuiApp.binding_ids())
    app = GraphtuiApp(ws, keymap=keymap, notes=problems)
    try:
        app.run()
    finally:
        ws.close()
    return app.return_code or 0


__all__ = ["GraphtuiApp", "run_app"]
