"""Small modal dialogs: an error message, long text in full, and the path to export a value to."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from graphtui.formats.visible import visible


def show_worker_error(app: App[Any], error: BaseException | None) -> None:
    """A worker's error in a dialog (not a cancellation: the user asked for that)."""
    from graphtui.core.workspace import OperationCancelled

    if error is not None and not isinstance(error, OperationCancelled):
        app.push_screen(ErrorDialog(error))


class ErrorDialog(ModalScreen[None]):
    """An error, in words; Enter or Escape closes it and the app carries on."""

    BINDINGS = [
        Binding("escape", "dismiss_dialog", "Close", id="error-close"),
        Binding("enter", "dismiss_dialog", "Close", show=False, id="error-close-enter"),
    ]

    def __init__(self, message: BaseException | str, title: str = "Error") -> None:
        super().__init__()
        self.message = str(message) or type(message).__name__
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="error"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(self.message, id="dialog-message")
            with Horizontal(id="dialog-buttons"):
                yield Button("OK", id="dialog-ok", variant="error")

    def on_mount(self) -> None:
        self.query_one("#dialog-ok", Button).focus()

    @on(Button.Pressed, "#dialog-ok")
    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[None]):
    """Long text to read in full (string cells of a tensor); Escape or Enter closes it."""

    DEFAULT_CSS = """
    TextDialog { align: center middle; }
    TextDialog #text-body { height: auto; max-height: 24; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="text-close"),
        Binding("enter", "close", "Close", show=False, id="text-close-enter"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll

        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            with VerticalScroll(id="text-body"):
                yield Static(self.text, id="text-content", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


class ExportDialog(ModalScreen[str | None]):
    """Ask where to write a tensor as ``.npy``; returns the path, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export-cancel")]

    def __init__(self, name: str, default_path: str) -> None:
        super().__init__()
        self.tensor_name = name
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Export {visible(self.tensor_name)} to .npy", id="dialog-title")
            yield Input(self.default_path, id="export-path", select_on_focus=False)
            yield Label("Enter: write (atomically)  Escape: cancel", classes="hint")

    def on_mount(self) -> None:
        box = self.query_one("#export-path", Input)
        box.cursor_blink = False
        box.focus()

    @on(Input.Submitted, "#export-path")
    def _submit(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        self.dismiss(path or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
