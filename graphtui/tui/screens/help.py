"""The help screen, generated from the live key bindings of the app and each pane."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Label, Static

if TYPE_CHECKING:
    from graphtui.tui.app import GraphtuiApp

# moving around: the same in every pane, said once in the help title instead of per pane
_NAVIGATION = frozenset(
    {
        "cursor_up", "cursor_down", "cursor_left", "cursor_right", "scroll_up", "scroll_down",
        "scroll_left", "scroll_right", "scroll_home", "scroll_end", "page_up", "page_down",
        "page_left", "page_right", "scroll_top", "scroll_bottom", "first", "last",
    }
)  # fmt: skip


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


def help_sections(app: GraphtuiApp) -> list[tuple[str, list[KeyRow]]]:
    """Key rows per pane, read from the live bindings of the app and each pane's widget."""
    return [(title, rows_of(app, node)) for title, node in key_owners(app)]


def key_owners(app: GraphtuiApp) -> list[tuple[str, DOMNode]]:
    """("Everywhere", the app), then each pane's widget that has keys, in the help's order."""
    from graphtui.tui.screens.workspace import PANES

    screen = app.workspace
    owners: list[tuple[str, DOMNode]] = [("Everywhere", app)]
    for title, cls in PANES:
        try:
            owners.append((title, screen.query_one(cls)))
        except Exception:  # noqa: BLE001 - a pane may be absent
            continue
    return owners


def rows_of(app: GraphtuiApp, node: Any) -> list[KeyRow]:
    rows: list[KeyRow] = []
    seen: set[tuple[str, str]] = set()
    tabs = app.workspace.tab_ids
    bindings = node._merged_bindings  # the live, merged bindings (keymaps applied)
    for items in bindings.key_to_bindings.values():
        for binding in items:
            if not binding.description or binding.action.split("(")[0] in _NAVIGATION:
                continue
            if (binding.id or "").startswith("tab-") and binding.id[4:] not in tabs:
                continue  # a tab this workspace does not show
            shown = _key_shown(app, binding)
            if (shown, binding.action) not in seen:
                seen.add((shown, binding.action))
                rows.append(KeyRow(shown, binding.description, binding.action))
    return rows


def _key_shown(app: GraphtuiApp, binding: Binding) -> str:
    """The key(s) a binding answers to now: the user's keymap, else its own."""
    keys = app.keymap.get(binding.id or "")
    if keys is None:
        return app.get_key_display(binding)
    return "/".join(
        app.get_key_display(dataclasses.replace(binding, key=k)) for k in keys.split(",")
    )
