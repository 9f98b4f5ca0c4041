"""The help screen, generated from the live key bindings of the app and each pane."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


@dataclass(frozen=True)
class KeyRow:
    key: str
    description: str
    action: str


def help_table(sections: list[tuple[str, list[KeyRow]]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    for title, rows in sections:
        if not rows:
            continue
        table.add_row("", "")
        table.add_row(Text(title, style="bold underline"), "")
        for row in rows:
            table.add_row(row.key, row.description)
    return table


class HelpScreen(ModalScreen[None]):
    """Every key, grouped by where it works; Escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="help-close"),
        Binding("q", "close", "Close", show=False, id="help-close-q"),
        Binding("question_mark", "close", "Close", show=False, id="help-close-help"),
    ]

    def __init__(self, sections: list[tuple[str, list[KeyRow]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Label(
                "graphtui keys  (Escape closes; ctrl+p lists every action)", id="help-title"
            )
            yield Label(
                "Arrows, PgUp/PgDn, Home/End move in every pane; Tab moves between panes.",
                classes="hint",
            )
            yield Static(help_table(self.sections), id="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
