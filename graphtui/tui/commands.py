"""The command palette (ctrl+p): every action of the app, plus checkpoints, collections and
variables to open, following the workspace's current state."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible

if TYPE_CHECKING:
    from graphtui.tui.app import GraphtuiApp
    from graphtui.tui.screens.workspace import WorkspaceScreen

PALETTE_VARIABLES = 2000  # variables offered by name in the command palette
Command = tuple[str, str, Callable[[], Any]]  # (title, help, callback)


class GraphtuiCommands(Provider):
    """Commands built from the live bindings (see :func:`palette_commands`)."""

    def _commands(self) -> list[Command]:
        app: Any = self.app
        if not hasattr(app, "workspace"):
            return []
        # checkpoint, collection and variable names in titles: control characters escaped
        return [(visible(title), how, run) for title, how, run in palette_commands(app)]

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


def palette_commands(app: GraphtuiApp) -> list[Command]:
    """(title, help, callback) for the command palette: every app action bound to a key,
    then checkpoints, collections and variables to open."""
    from graphtui.tui.screens.help import key_owners, rows_of

    screen = app.workspace
    ws = screen.ws
    out: list[Command] = []
    seen: set[str] = set()
    for section, node in key_owners(app):
        # a pane's widget lists the actions that work without it focused
        allowed: frozenset[str] = getattr(node, "PALETTE_ACTIONS", frozenset())
        for row in rows_of(app, node):
            action = row.action
            if (node is not app and action not in allowed) or action in seen:
                continue
            seen.add(action)
            out.append((row.description, f"{section}: key {row.key}", _runner(app, node, action)))
    if ws.history is not None:
        for rec in ws.history.records:
            if rec.complete:
                out.append(
                    (
                        f"Activate checkpoint {rec.name}",
                        "make it the active checkpoint",
                        partial(screen.activate_checkpoint, rec.prefix),
                    )
                )
    for tags in ws.tag_sets:
        if tags != ws.tag_set:
            out.append(
                (f"Tag-set {tags}", "show this meta graph", partial(screen.select_tag_set, tags))
            )
    for sig in ws.signatures:
        out.append((f"Signature {sig.key}", "show it (7)", partial(screen.show_signature, sig.key)))
    if ws.meta_graph is not None:
        for fname in ws.meta_graph.function_names()[:PALETTE_VARIABLES]:
            out.append((f"Function {fname}", "show it (7)", partial(screen.show_function, fname)))
    out.extend(dataflow_commands(screen))
    if ws.graph is not None:
        from graphtui.core.collections import CollectionTable

        for key in CollectionTable.of(ws.graph).keys():  # noqa: SIM118
            out.append((f"Collection {key}", "show it", partial(screen.show_collection, key)))
    try:
        variables = ws.variables()[:PALETTE_VARIABLES]
    except GraphtuiError:
        variables = []
    for var in variables:
        if var.key:
            out.append(
                (f"Value of {var.name}", "open its value", partial(screen.open_value, var.key))
            )
    return out


def dataflow_commands(screen: WorkspaceScreen) -> list[Command]:
    """Palette entries of the dataflow view: the overview, DOT export, each function's body."""
    from graphtui.tui.widgets.dataflow_pane import DataflowPane

    graph = screen.ws.graph
    if graph is None:
        return []

    def export() -> None:
        if screen.show_dataflow():
            screen.query_one(DataflowPane).export_dot()

    out: list[Command] = [
        (
            "Dataflow overview",
            "the model's top scopes drawn (9)",
            partial(screen.show_dataflow, ""),
        ),
        ("Export dataflow as DOT", "write the view of tab 9 as Graphviz DOT (key x)", export),
    ]
    for info in graph.functions()[:PALETTE_VARIABLES]:
        out.append(
            (
                f"Dataflow of function {info.name}",
                "draw its body (9)",
                partial(screen.show_dataflow, None, info.name),
            )
        )
    return out


def _runner(app: GraphtuiApp, node: DOMNode, action: str) -> Callable[[], Any]:
    async def run() -> None:
        await app.run_action(action, node)

    return run
