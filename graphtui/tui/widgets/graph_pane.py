"""The graph pane: search bar, node tree and node details side by side."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Tree

from graphtui.core.scopes import ScopeEntry, ScopeTree
from graphtui.core.workspace import Workspace
from graphtui.tui.messages import (
    FollowLink,
    ShowCollection,
    ShowConst,
    ShowFunction,
    ShowValue,
)
from graphtui.tui.widgets.node_details import NodeDetails
from graphtui.tui.widgets.node_tree import NodeTree

MAX_MATCHES = 100_000


class SearchInput(Input):
    """The ``/`` search box: substring, or a glob when it has ``*``, ``?`` or ``[``."""

    BINDINGS = [
        Binding("escape", "close_search", "Close search", id="close-search"),
    ]
    PALETTE_ACTIONS = frozenset({"close_search"})  # the palette may run it unfocused

    def action_close_search(self) -> None:
        self.query_ancestor(GraphPane).close_search()


class GraphPane(Vertical):
    """Scope tree with search, and the details of the node under the cursor."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws
        self.scopes = ScopeTree.of(ws.graph) if ws.graph is not None else None
        self.matches: list[str] = []
        self.match_index = -1
        self.pattern = ""
        self._wanted = ""  # the newest pattern typed (searches for older ones are dropped)

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-bar"):
            yield SearchInput(
                placeholder="search nodes: substring, glob (*, ?) or op:Conv2D", id="search"
            )
            yield Label("", id="search-status")
        with Horizontal(id="graph-split"):
            yield NodeTree(self.scopes, id="node-tree")
            yield NodeDetails(id="node-details")

    def on_mount(self) -> None:
        self.query_one("#search-bar").display = False
        details = self.query_one(NodeDetails)
        if self.ws.graph is None:
            details.show(self.ws, None)
            details.clear_options()
            details.add_option(
                "No graph: open a .meta file, or a checkpoint with PREFIX.meta beside it."
            )
        else:
            if getattr(self.screen, "indexes_built", False):  # warm-up ended before this mounted
                details.indexed = True
                self.node_tree.show_params()
            details.show(self.ws, None)

    def dataflow_target(self) -> tuple[str | None, str | None]:
        """(node, function) for ``D``: the node under the tree cursor."""
        return self.node_tree.cursor_path, None

    @property
    def node_tree(self) -> NodeTree:
        return self.query_one(NodeTree)

    @property
    def details(self) -> NodeDetails:
        return self.query_one(NodeDetails)

    # -- tree and details -----------------------------------------------------------------------

    @on(Tree.NodeHighlighted, "#node-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[ScopeEntry | None]) -> None:
        if event.node is not self.node_tree.cursor_node:
            return  # the cursor moved on since (lines loaded above it on a jump)
        entry = event.node.data
        if entry is not None:
            self.details.show(self.ws, entry.path)

    @on(Tree.NodeSelected, "#node-tree")
    def _selected(self, event: Tree.NodeSelected[ScopeEntry | None]) -> None:
        entry = event.node.data
        if entry is None:
            return
        if entry.is_scope:
            event.node.toggle()  # Enter expands or collapses a scope, as Space does
        else:
            self.details.focus()

    @on(OptionList.OptionSelected, "#node-details")
    def _follow(self, event: OptionList.OptionSelected) -> None:
        link = self.details.link_of(event.option.id)
        if link is None:
            return
        kind, _, target = link.partition(":")
        if kind == "node":
            self.post_message(FollowLink(target))
        elif kind == "coll":
            self.post_message(ShowCollection(target))
        elif kind == "value":
            self.post_message(ShowValue(target))
        elif kind == "fn":
            self.post_message(ShowFunction(target))
        elif kind == "const":
            self.post_message(ShowConst(target))
        elif kind == "op":
            self.search_for(f"op:{target}")

    def reveal(self, path: str) -> bool:
        found = self.node_tree.reveal(path)
        if found:
            self.details.show(self.ws, path)
        return found

    # -- search ---------------------------------------------------------------------------------

    def open_search(self) -> None:
        bar = self.query_one("#search-bar")
        bar.display = True
        box = self.query_one(SearchInput)
        box.focus()
        if self.app.focused is not box:  # not focusable until the bar is laid out
            self.call_after_refresh(box.focus)

    def search_for(self, pattern: str) -> None:
        """Open the search with ``pattern`` (``op:Conv2D`` from the op-type list)."""
        self.open_search()
        self.query_one(SearchInput).value = pattern  # its Changed event runs the search

    def close_search(self) -> None:
        self.query_one("#search-bar").display = False
        self.node_tree.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        """Each keystroke: search in a thread worker, so typing never waits for a scan of a
        big graph; a search a later keystroke superseded skips its scan, and its result is
        dropped (workers are not cancelled: each ends on its own)."""
        pattern = event.value
        graph = self.ws.graph
        self._wanted = pattern
        if graph is None or not pattern:
            self.search(pattern)
            return

        def job() -> None:
            if self._wanted != pattern:
                return  # typed on since
            hits = graph.search(pattern, limit=MAX_MATCHES)
            if self._wanted == pattern and self.is_attached:
                self.app.call_from_thread(self._show_matches, pattern, hits)

        self.run_worker(job, thread=True, group="search", exit_on_error=False)

    def _show_matches(self, pattern: str, hits: list[str]) -> None:
        if self.query_one(SearchInput).value != pattern:
            return  # a later keystroke's search is on its way
        self.pattern = pattern
        self.matches = hits
        self.match_index = 0 if hits else -1
        if hits:
            self.node_tree.reveal(hits[0])
        self._show_status()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.node_tree.focus()

    def search(self, pattern: str) -> list[str]:
        """Find nodes matching ``pattern`` in the index and move the cursor to the first."""
        self.pattern = pattern
        graph = self.ws.graph
        if graph is None or not pattern:
            self.matches = []
            self.match_index = -1
        else:
            self.matches = graph.search(pattern, limit=MAX_MATCHES)
            self.match_index = 0 if self.matches else -1
            if self.matches:
                self.node_tree.reveal(self.matches[0])
        self._show_status()
        return self.matches

    def step_match(self, step: int) -> str | None:
        if not self.matches:
            self.app.notify("No search matches: press / to search", severity="warning")
            return None
        self.match_index = (self.match_index + step) % len(self.matches)
        target = self.matches[self.match_index]
        self.reveal(target)
        self._show_status()
        return target

    def _show_status(self) -> None:
        label = self.query_one("#search-status", Label)
        if not self.pattern:
            label.update("")
        elif not self.matches:
            label.update("no match")
        else:
            more = "+" if len(self.matches) >= MAX_MATCHES else ""
            label.update(f"{self.match_index + 1}/{len(self.matches)}{more}  n/N")
