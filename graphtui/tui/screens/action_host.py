"""The app's side of the actions: key bindings, opening each dialog with what is selected,
opening a written result, undo, and asking before quitting with unwritten edits.

``GraphtuiApp`` inherits :class:`ActionsHost` and lists :data:`ACTION_BINDINGS`; the help screen
and the command palette pick the bindings up from the live bindings.

Undo: the writes never change their source, so undoing one means reopening the workspace that
was open before (when the result was opened) and, if asked, deleting the files written and
putting back the target directory's state file. Undoing a state file edit writes its old text
back. Either only touches a state file that still holds what the write left there.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from graphtui.core.workspace import Workspace, open_workspace
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible
from graphtui.tui.screens.action_base import (
    ActionScreen,
    ConfirmDialog,
    WriteRecord,
    short_path,
    undo_write,
)

ACTION_BINDINGS = [
    Binding("R", "restore", "Restore from checkpoint…", show=False, id="action-restore"),
    Binding("M", "rename_scope", "Rename scope…", show=False, id="action-rename"),
    Binding("E", "re_export", "Re-export…", show=False, id="action-export"),
    Binding("S", "strip", "Strip variables…", show=False, id="action-strip"),
    Binding("B", "rollback", "Roll back checkpoint…", show=False, id="action-rollback"),
    Binding("F", "fix_paths", "Repair state-file paths…", show=False, id="action-fix-paths"),
    Binding("U", "undo_write", "Undo last write…", show=False, id="action-undo"),
    Binding("Z", "freeze", "Freeze for serving…", show=False, id="action-freeze"),
    Binding("C", "convert", "Convert weights (safetensors, npz)…", show=False, id="action-convert"),
]

if TYPE_CHECKING:
    from graphtui.tui.screens.workspace import WorkspaceScreen

    _Base = App[int]
else:
    _Base = object


class UndoDialog(ModalScreen[str | None]):
    """What undoing a write does, and the choice: ``"delete"``, ``"reopen"`` or None."""

    DEFAULT_CSS = "UndoDialog { align: center middle; } #undo-message { height: auto; }"
    BINDINGS = [
        Binding("d", "choose('delete')", "Undo", id="undo-delete"),
        Binding("r", "choose('reopen')", "Reopen only", id="undo-reopen"),
        Binding("escape", "choose(None)", "Cancel", id="undo-cancel"),
    ]

    def __init__(self, record: WriteRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        rec = self.record
        text = Text()
        if rec.prefix is not None:
            text.append(
                visible(f"{rec.title} wrote {short_path(rec.prefix)} ({len(rec.files)} files)")
            )
            if rec.state_file:
                text.append(visible(f" and listed it in {short_path(rec.state_file)}"))
            text.append(".\nThe source was not changed. Undo ")
            if rec.opened and rec.previous_path:
                text.append(visible(f"reopens {short_path(rec.previous_path)} and "))
            text.append("deletes the written files", style="bold")
            if rec.state_file:
                text.append(", putting the state file back as it was")
            text.append(".")
        elif rec.state_file is None:
            text.append(
                visible(f"{rec.title} wrote {', '.join(short_path(f) for f in rec.files)}.") + "\n"
            )
            text.append("The source was not changed. Undo ")
            text.append("deletes the written file", style="bold")
            text.append(".")
        else:
            text.append(visible(f"{rec.title} changed {short_path(rec.state_file or '')}.") + "\n")
            text.append("Undo writes its previous text back.", style="bold")
        with Vertical(id="dialog"):
            yield Label(f"Undo: {rec.title}", id="dialog-title")
            yield Static(text, id="undo-message")
            with Horizontal(id="dialog-buttons"):
                yield Button("Undo (d)", id="undo-delete", variant="warning")
                if rec.prefix is not None and rec.opened:
                    yield Button("Reopen, keep files (r)", id="undo-reopen")
                yield Button("Cancel (esc)", id="undo-cancel")

    def on_mount(self) -> None:
        self.query_one("#undo-cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = (event.button.id or "").removeprefix("undo-")
        self.dismiss(None if choice == "cancel" else choice)

    def action_choose(self, choice: str | None) -> None:
        if choice == "reopen" and not (self.record.prefix is not None and self.record.opened):
            return
        self.dismiss(choice)


class ActionsHost(_Base):
    """Mixed into the app: the writing actions, undo and the guarded quit."""

    if TYPE_CHECKING:  # provided by GraphtuiApp

        @property
        def ws(self) -> Workspace: ...

        @property
        def workspace(self) -> WorkspaceScreen: ...
        def show_error(self, exc: BaseException | str, title: str = "Error") -> None: ...
        async def switch_workspace(self, ws: Workspace) -> None: ...

    @property
    def undo_stack(self) -> list[WriteRecord]:
        """Writes that can be undone, most recent last."""
        stack: list[WriteRecord] | None = self.__dict__.get("_graphtui_undo")
        if stack is None:
            stack = self.__dict__["_graphtui_undo"] = []
        return stack

    # -- what is selected ---------------------------------------------------------------------

    def _selected_scope(self) -> str:
        from graphtui.tui.widgets.node_tree import NodeTree

        try:
            return self.workspace.query_one(NodeTree).cursor_path or ""
        except NoMatches:
            return ""

    def _selected_checkpoint(self) -> str | None:
        from graphtui.tui.widgets.history_pane import HistoryPane

        try:
            rec = self.workspace.query_one(HistoryPane).current()
        except NoMatches:
            return None
        return rec.prefix if rec is not None and rec.complete else None

    def _history_directory(self) -> str | None:
        hist = self.ws.history
        return hist.directory if hist is not None else None

    # -- opening the dialogs ------------------------------------------------------------------

    def _dialog_open(self) -> bool:
        """True (and says so) when an action dialog is already open."""
        if any(isinstance(s, ActionScreen) for s in self.screen_stack):
            self.notify("Close the open dialog first (Escape)", severity="warning")
            return True
        return False

    def action_restore(self) -> None:
        """Restore values from a checkpoint into this graph through an assignment map."""
        if self._dialog_open():
            return
        from graphtui.tui.screens.actions import RestoreScreen

        graph = self.ws.graph
        if graph is None or not graph.has_meta_graph or not self.ws.meta_path:
            self.notify("Restore needs a graph (.meta) to restore into", severity="warning")
            return
        in_history = self.workspace.active_tab == "history"
        source = (self._selected_checkpoint() if in_history else None) or self.ws.active_prefix
        self.push_screen(RestoreScreen(self.ws, source or ""))

    def action_rename_scope(self) -> None:
        """Rename a scope (the one selected in the graph tree) in graph and checkpoint."""
        if self._dialog_open():
            return
        from graphtui.tui.screens.actions import RenameScreen

        if self.ws.graph is None and self.ws.active is None:
            self.notify("Nothing to rename: no graph and no checkpoint", severity="warning")
            return
        self.push_screen(RenameScreen(self.ws, self._selected_scope()))

    def action_re_export(self) -> None:
        """Write graph and checkpoint again: text or binary, devices cleared, some collections."""
        if self._dialog_open():
            return
        from graphtui.tui.screens.actions import ExportScreen

        if self.ws.active is None and self.ws.meta_path is None:
            self.notify("Nothing to export", severity="warning")
            return
        self.push_screen(ExportScreen(self.ws))

    def action_strip(self) -> None:
        """Write the checkpoint without optimizer slots, moving averages or other keys."""
        if self._dialog_open():
            return
        from graphtui.tui.screens.actions import StripScreen

        if self.ws.active is None:
            self.notify("No checkpoint to strip", severity="warning")
            return
        self.push_screen(StripScreen(self.ws))

    def action_freeze(self) -> None:
        """Freeze the graph for serving; the outputs start as the node selected in the graph
        tree (from another tab: empty, so a SavedModel's signature outputs are used)."""
        if self._dialog_open():
            return
        from graphtui.tui.screens.serve_actions import FreezeScreen

        graph = self.ws.graph
        if graph is None or not graph.has_meta_graph:
            self.notify("Freezing needs a graph (.meta or SavedModel)", severity="warning")
            return
        in_tree = self.workspace.active_tab == "graph"
        selected = self._selected_scope() if in_tree else ""
        self.push_screen(FreezeScreen(self.ws, selected if selected in graph else ""))

    def action_convert(self) -> None:
        """Write the weights as .safetensors / .npz, or such a file back as a checkpoint."""
        if self._dialog_open():
            return
        from graphtui.tui.screens.serve_actions import ConvertScreen

        self.push_screen(ConvertScreen(self.ws))

    def action_rollback(self) -> None:
        """Make the checkpoint highlighted in History the latest (edits the state file)."""
        self._open_state_file_screen("rollback")

    def action_fix_paths(self) -> None:
        """Make the state file's absolute paths relative again (after a move)."""
        self._open_state_file_screen("fix")

    def _open_state_file_screen(self, mode: str) -> None:
        if self._dialog_open():
            return
        from graphtui.tui.screens.state_actions import StateFileScreen

        directory = self._history_directory()
        if directory is None:
            self.notify("No checkpoint history here", severity="warning")
            return
        selected = self._selected_checkpoint() if mode == "rollback" else None
        self.push_screen(StateFileScreen(self.ws, directory, mode, selected))

    # -- after a write ------------------------------------------------------------------------

    def after_write(self, record: WriteRecord) -> None:
        """Remember how to undo ``record``; show the directory's new history."""
        record.previous_path = self.ws.path
        record.previous_active = self.ws.active_prefix
        self.undo_stack.append(record)
        self.refresh_history()

    def refresh_history(self) -> None:
        """Scan the workspace's directory again and redraw the history pane."""
        from graphtui.core.history import scan_history
        from graphtui.tui.widgets.history_pane import HistoryPane

        hist = self.ws.history
        if hist is None:
            return
        try:
            self.ws.history = scan_history(hist.directory)
        except GraphtuiError as exc:
            self.notify(str(exc), severity="warning")
            return
        with contextlib.suppress(NoMatches):  # not mounted yet: it reads the new history then
            self.workspace.query_one(HistoryPane).refresh_rows()

    async def open_result(self, record: WriteRecord) -> None:
        """Switch the app to the checkpoint ``record`` wrote (U goes back)."""
        if record.prefix is None:
            return
        try:
            ws = open_workspace(record.prefix)
        except GraphtuiError as exc:
            self.show_error(exc)
            return
        await self.switch_workspace(ws)
        record.opened = True
        self.notify(
            visible(
                f"Opened {short_path(record.prefix)}. U (undo) reopens {short_path(record.previous_path or '')}."
            ),
            title=f"{record.title} result",
            timeout=6,
        )

    # -- undo ---------------------------------------------------------------------------------

    def action_undo_write(self) -> None:
        """Undo the last write: reopen the previous workspace, delete what was written."""
        if not self.undo_stack:
            self.notify("Nothing to undo: no write in this session", severity="information")
            return
        record = self.undo_stack[-1]

        async def chosen(choice: str | None) -> None:
            if choice is not None:
                await self._undo(record, delete=choice == "delete")

        self.push_screen(UndoDialog(record), chosen)

    async def _undo(self, record: WriteRecord, *, delete: bool) -> None:
        if record.opened and record.previous_path:
            try:
                ws = open_workspace(record.previous_path)
                if record.previous_active and ws.active_prefix != record.previous_active:
                    ws.set_active(record.previous_active)
            except GraphtuiError as exc:
                self.show_error(exc, "Cannot reopen the previous workspace")
                return
            await self.switch_workspace(ws)
            record.opened = False
        if not delete:
            self.notify(
                visible(
                    f"Reopened {short_path(record.previous_path or '')}; the written files are kept"
                )
            )
            return
        try:
            notes = undo_write(record)
        except OSError as exc:
            self.show_error(f"Undo failed: {exc}")
            return
        self.undo_stack.remove(record)
        self.refresh_history()
        what = visible(
            short_path(
                record.prefix or record.state_file or (record.files[0] if record.files else "")
            )
        )
        self.notify(
            "\n".join([f"Undid {record.title}: {what}", *notes]),
            title="Undone",
            severity="warning" if notes else "information",
        )

    # -- quitting -----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; asks first while a dialog has unwritten edits or a write is running."""
        unsaved = [
            s for s in self.screen_stack if isinstance(s, ActionScreen) and (s.busy or s.dirty)
        ]
        if not unsaved:
            self.exit()
            return
        top = self.screen
        if isinstance(top, ConfirmDialog) and top.purpose == "quit":
            return
        screen = unsaved[-1]
        what = (
            f"A write is running ({screen.WRITE_LABEL.lower()})."
            if screen.busy
            else f"The {screen.WRITE_LABEL.lower()} dialog has edits that were not written."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmDialog(
                "Quit graphtui?", f"{what}\nQuit anyway?", yes="Quit", no="Stay", purpose="quit"
            ),
            answered,
        )
