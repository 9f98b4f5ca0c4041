"""The graphtui Textual app: panes for the graph, collections, variables, values, history, diff.

Everything the panes show comes from a :class:`~graphtui.core.workspace.Workspace`; long work
(statistics, diffs, exports, index warm-up) runs in thread workers that report back with
``call_from_thread`` and stop when cancelled. Every action is an ``action_*`` method here, bound
to keys by the panes and listed by the help screen and the command palette.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.lazy import Lazy
from textual.widget import Widget
from textual.widgets import Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from graphtui.core.units import human_bytes
from graphtui.core.workspace import (
    OperationCancelled,
    TensorStats,
    TensorValue,
    Workspace,
    compute_stats,
    open_workspace,
)
from graphtui.errors import ChecksumError, GraphtuiError, NotFoundError, TransferCancelled
from graphtui.formats.byte_source import is_url
from graphtui.formats.visible import visible
from graphtui.tui import textual_fixes  # noqa: F401  (before any OptionList is used)
from graphtui.tui.commands import GraphtuiCommands
from graphtui.tui.keymap import Keymap, load_keymap
from graphtui.tui.screens.action_base import ActionScreen
from graphtui.tui.screens.action_host import ACTION_BINDINGS, ActionsHost
from graphtui.tui.screens.dialogs import ErrorDialog, ExportDialog
from graphtui.tui.screens.help import HelpScreen, KeyRow
from graphtui.tui.widgets.collections_pane import CollectionsPane, CollectionsTree
from graphtui.tui.widgets.dataflow_pane import DataflowPane, FlowCanvas
from graphtui.tui.widgets.footer import LeanFooter
from graphtui.tui.widgets.graph_pane import GraphPane, SearchInput
from graphtui.tui.widgets.history_pane import DiffPane, DiffTable, HistoryPane, HistoryTable
from graphtui.tui.widgets.node_details import NodeDetails
from graphtui.tui.widgets.node_tree import NodeTree
from graphtui.tui.widgets.objects_pane import ObjectsPane, ObjectsTree
from graphtui.tui.widgets.signatures_pane import SignaturesPane, SignaturesTree
from graphtui.tui.widgets.value_pane import ValuePane
from graphtui.tui.widgets.value_view import TensorGrid
from graphtui.tui.widgets.variables_pane import VariablesPane, VariablesTable

TABS = (
    ("graph", "Graph"),
    ("collections", "Collections"),
    ("variables", "Variables"),
    ("value", "Value"),
    ("history", "History"),
    ("diff", "Diff"),
)
# tabs 7 and 8 exist only when the workspace has what they show (a SavedModel; an object graph),
# 9 when it has a graph
EXTRA_TABS = (("signatures", "Signatures"), ("objects", "Objects"), ("dataflow", "Dataflow"))
# tab titles when the full ones do not fit (80 columns with tabs 7-9)
SHORT_TITLES = {
    "collections": "Colls",
    "variables": "Vars",
    "history": "Hist",
    "signatures": "Sigs",
    "objects": "Objs",
    "dataflow": "Flow",
}
# moving around: the same in every pane, said once in the help title instead of per pane
_NAVIGATION = frozenset(
    {
        "cursor_up", "cursor_down", "cursor_left", "cursor_right", "scroll_up", "scroll_down",
        "scroll_left", "scroll_right", "scroll_home", "scroll_end", "page_up", "page_down",
        "page_left", "page_right", "scroll_top", "scroll_bottom", "first", "last",
    }
)  # fmt: skip
# the panes whose keys the help screen lists, in its order
PANES: tuple[tuple[str, type[Widget]], ...] = (
    ("Graph tree (1)", NodeTree),
    ("Node details (1)", NodeDetails),
    ("Search box (/)", SearchInput),
    ("Collections (2)", CollectionsTree),
    ("Variables (3)", VariablesTable),
    ("Value (4)", TensorGrid),
    ("History (5)", HistoryTable),
    ("Diff (6)", DiffTable),
    ("Signatures (7)", SignaturesTree),
    ("Objects (8)", ObjectsTree),
    ("Dataflow (9)", FlowCanvas),
)
PROGRESS_INTERVAL = 0.1  # seconds between progress reports from a worker
PALETTE_VARIABLES = 2000  # variables offered by name in the command palette


class GraphtuiApp(ActionsHost, App[int]):
    """Explore one workspace: a graph, its checkpoints and their values."""

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
        self.ws = workspace
        self._notes = list(notes)  # said once the app runs (a keymap that did not read)
        self.keymap: Keymap = dict(keymap or {})  # binding id -> keys, from the user's config
        if self.keymap:
            self.set_keymap(self.keymap)
        self.back_stack: list[str] = []
        self.value_key: str | None = None
        self.value_prefix: str | None = None
        self.value_stats: TensorStats | None = None
        self.indexes_built = False  # the warm-up worker has built the graph's indexes
        self._shown_tabs: list[str] = []  # set when the panes are built
        # keys typed ahead (over SSH people do) wait until every pane is mounted
        self._panes_ready = False
        self._typed_ahead: list[events.Key] = []
        self._replaying: events.Key | None = None
        self._subtitle = ""
        self._spin = 0  # the header's spinner frame while remote bytes are on their way
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"

    # -- layout ---------------------------------------------------------------------------------

    @property
    def tab_ids(self) -> list[str]:
        """The tabs shown: 1-6 always, 7 for a SavedModel, 8 when the active checkpoint had an
        object graph when the panes were built (the tab then stays, saying when a checkpoint
        activated later has none)."""
        return self._shown_tabs or self._wanted_tabs()

    def _wanted_tabs(self) -> list[str]:
        tabs = [tab for tab, _ in TABS]
        graph = self.ws.graph
        if self.ws.saved_model is not None or (
            graph is not None and len(graph.library.function) > 0
        ):
            tabs.append("signatures")  # a .meta graph's function library too
        if self.ws.has_objects:
            tabs.append("objects")
        if self.ws.graph is not None:
            tabs.append("dataflow")
        return tabs

    def _initial_tab(self) -> str:
        if self.ws.saved_model is not None:
            return "signatures"
        if self.ws.graph is not None:
            return "graph"
        return "objects" if self.ws.has_objects else "variables"

    def compose(self) -> ComposeResult:
        initial = self._initial_tab()
        panes: dict[str, Callable[[], Widget]] = {
            "graph": lambda: GraphPane(self.ws, id="graph-pane"),
            "collections": lambda: CollectionsPane(self.ws, id="collections-pane"),
            "variables": lambda: VariablesPane(self.ws, id="variables-pane"),
            "value": lambda: ValuePane(id="value-pane"),
            "history": lambda: HistoryPane(self.ws, id="history-pane"),
            "diff": lambda: DiffPane(self.ws, id="diff-pane"),
            "signatures": lambda: SignaturesPane(self.ws, id="signatures-pane"),
            "objects": lambda: ObjectsPane(self.ws, id="objects-pane"),
            "dataflow": lambda: DataflowPane(self.ws.graph, id="dataflow-pane"),
        }
        shown = self._shown_tabs = self._wanted_tabs()
        yield Header(show_clock=False, icon="◆")
        with TabbedContent(id="tabs", initial=initial):
            for i, (tab, title) in enumerate(TABS + EXTRA_TABS, start=1):
                if tab not in shown:
                    continue
                if tab == "signatures" and self.ws.saved_model is None:
                    title = "Functions"  # a .meta graph's library: no signatures
                with TabPane(f"{i} {title}", id=tab):
                    # hidden panes mount after the first frame
                    pane = panes[tab]()
                    yield pane if tab == initial else Lazy(pane)
        yield LeanFooter()

    def on_mount(self) -> None:
        self._start(notify=True)
        if is_url(self.ws.path):
            self.set_interval(0.2, self._show_transfer)
        for note in self._notes:
            self.notify(note, severity="warning", timeout=10)
        self._fit_tabs()

    def on_resize(self) -> None:
        self._fit_tabs()

    def _fit_tabs(self) -> None:
        """Short tab titles when the full ones would not fit the width (80 columns)."""
        with contextlib.suppress(NoMatches):
            tabs = self.query_one(TabbedContent)
            titles = {
                tab: ("Functions" if tab == "signatures" and self.ws.saved_model is None else t)
                for tab, t in TABS + EXTRA_TABS
            }
            number = {tab: i for i, (tab, _) in enumerate(TABS + EXTRA_TABS, start=1)}
            full = sum(len(f"{number[t]} {titles[t]}") + 2 for t in self.tab_ids)
            short = full > self.size.width
            for tab in self.tab_ids:
                title = SHORT_TITLES.get(tab, titles[tab]) if short else titles[tab]
                if tab == "signatures" and short and self.ws.saved_model is None:
                    title = "Fns"
                with contextlib.suppress(Exception):  # a tab not built yet
                    tabs.get_tab(tab).label = f"{number[tab]} {title}"

    @classmethod
    def binding_ids(cls) -> set[str]:
        """Every binding id a ``[keymap]`` may rebind: the app's, the dialogs' and the panes'."""
        nodes: list[type[DOMNode]] = [cls, ActionScreen, *(pane for _, pane in PANES)]
        return {b.id for node in nodes for b in node.BINDINGS if isinstance(b, Binding) and b.id}

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            if not self.screen_stack:
                return  # typed while the app closes (also a key bubbling back up)
            early = not self._panes_ready or (self._typed_ahead and event is not self._replaying)
            if early and not event.is_forwarded:
                self._typed_ahead.append(event)  # the bindings need the panes: replayed later
                return
        await super().on_event(event)

    def _await_panes(self) -> None:
        """Once the lazily mounted panes exist, replay the keys typed during start-up."""
        if not self.screen_stack:
            return
        if self.screen_stack[0].query(Lazy):
            self.set_timer(0.02, self._await_panes)
            return
        self._panes_ready = True
        self._replay_typed_ahead()

    def _replay_typed_ahead(self) -> None:
        # one key per refresh, as typed: a tab switch settles before the next key acts; a timer
        # as well, so a refresh that does not come (a modal screen) never stalls the rest
        if not self._typed_ahead:
            return
        key = self._typed_ahead.pop(0)
        self._replaying = events.Key(key.key, key.character)
        self.post_message(self._replaying)
        sent = self._replaying

        def next_key() -> None:
            if self._replaying is sent:
                self._replay_typed_ahead()

        self.call_after_refresh(next_key)
        self.set_timer(0.25, next_key)

    def _start(self, notify: bool) -> None:
        self._panes_ready = False
        self.call_after_refresh(self._await_panes)
        self._update_subtitle()
        if notify:
            for warning in self.ws.warnings:
                self.notify(visible(warning), title="Warning", severity="warning", timeout=8)
            if self.ws.checkpoint_problem:
                self.notify(
                    visible(self.ws.checkpoint_problem),
                    title="Checkpoint unreadable",
                    severity="error",
                    timeout=20,
                )
        self.indexes_built = False
        self.query_one(_FOCUS[self._initial_tab()]).focus()
        if self.ws.graph is not None:
            # after the first frame: the worker holds the GIL often enough to slow mounting
            self.call_after_refresh(
                self.run_worker, self._warm_up, thread=True, group="warm-up", exit_on_error=False
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_fetch":
            return _transfers_in_flight()[0] > 0  # else Esc and Ctrl+C do what they always do
        if action == "show_tab" and parameters and parameters[0] not in self.tab_ids:
            return False  # tabs 7 and 8 when the workspace has no such data
        # a SavedModel with one tag-set has nothing to switch to
        return not (action == "next_tag_set" and len(self.ws.tag_sets) < 2)

    def action_cancel_fetch(self) -> None:
        """Stop the remote range requests in flight (a big tensor on a slow link)."""
        from graphtui.formats.remote import STATS

        STATS.cancel()
        self.workers.cancel_group(self, "value-fetch")

    def _show_transfer(self) -> None:
        """The header says when remote bytes are on their way (polled while the app runs)."""
        pending, nbytes = _transfers_in_flight()
        self._spin = (self._spin + 1) % len(_SPINNER) if pending else 0
        spinner = _SPINNER[self._spin]
        note = f"  ·  {spinner} fetching {human_bytes(nbytes)} (esc cancels)" if pending else ""
        title = self._subtitle + note
        if self.sub_title != title:
            self.sub_title = title

    def _update_subtitle(self) -> None:
        # a URL is shown whole: where the checkpoint lives is the point
        parts = [self.ws.path if is_url(self.ws.path) else os.path.basename(self.ws.path)]
        parts[0] = parts[0] or self.ws.path
        if self.ws.tag_set is not None:
            parts.append(f"SavedModel [{self.ws.tag_set}]")
        if self.ws.graph is not None:
            parts.append(f"{len(self.ws.graph):,} nodes")
        if self.ws.active_prefix:
            parts.append("ckpt " + os.path.basename(self.ws.active_prefix))
        if self.ws.checkpoint_problem:
            parts.append("⚠ checkpoint unreadable: " + self.ws.checkpoint_problem)
        self._subtitle = visible("  ·  ".join(parts))
        self.sub_title = self._subtitle

    def _warm_up(self) -> None:
        """Build the graph's indexes off the UI thread, then let the panes use them: natural
        order and lowered names (search), consumers, collections by node, the variable table
        and the top scopes' parameter counts."""
        graph = self.ws.graph
        if graph is None:
            return
        from graphtui.core.collections import CollectionTable
        from graphtui.core.scopes import ScopeTree
        from graphtui.core.variables import VariableTable

        graph.natural_names()
        graph.search("\x00")
        if len(graph):
            graph.consumers(graph.names[0])
        CollectionTable.of(graph).collections_of("")
        VariableTable.of(graph)
        scopes = ScopeTree.of(graph)
        for entry in scopes.children(""):
            if entry.is_scope:
                scopes.param_count(entry.path, kind="model")
                scopes.param_count(entry.path, kind="slots")
        self.call_from_thread(self._indexes_ready)

    def _indexes_ready(self) -> None:
        self.indexes_built = True
        # the graph and its indexes live as long as the workspace: frozen, they are out of the
        # way of the cyclic collector's full passes (~90 ms of every other tab switch on a
        # 50k-node graph); unfrozen and collected first, so a closed workspace is not kept
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        try:
            tree = self.query_one(NodeTree)
            details = self.query_one(NodeDetails)
        except NoMatches:
            return  # the graph pane is not mounted yet: it reads indexes_built when it mounts
        tree.show_params()
        details.indexed = True
        if details.path is not None:
            details.show(self.ws, details.path)

    # -- helpers --------------------------------------------------------------------------------

    @property
    def graph_pane(self) -> GraphPane:
        return self.query_one(GraphPane)

    @property
    def value_pane(self) -> ValuePane:
        return self.query_one(ValuePane)

    @property
    def variables_pane(self) -> VariablesPane:
        return self.query_one(VariablesPane)

    @property
    def active_tab(self) -> str:
        return str(self.query_one(TabbedContent).active)

    def show_error(self, exc: BaseException | str, title: str = "Error") -> None:
        """Show an error in a dialog; the app stays usable behind it."""
        self.push_screen(ErrorDialog(str(exc) or type(exc).__name__, title))

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except GraphtuiError as exc:
            self.show_error(exc)
        return None

    def _progress(self, report: Callable[[float], None]) -> Callable[[float], None]:
        """A worker-side progress callback that reports to ``report`` at most every 0.1 s."""
        last = [0.0]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                self.call_from_thread(report, fraction)

        return progress

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            if not isinstance(error, OperationCancelled):
                self.show_error(error)
            self.value_pane.show_progress(None)
            self.variables_pane.show_progress(None)
            self.query_one(DiffPane).show_progress(None)

    # -- tabs and navigation --------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        """Switch to a pane and focus its main widget."""
        if tab not in self.tab_ids:
            self.notify(f"No {tab} in this workspace", severity="warning")
            return
        self.query_one(TabbedContent).active = tab
        self.query_one(_FOCUS[tab]).focus()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def action_search(self) -> None:
        """Search node names (substring, glob with * ? [, or op:Conv2D); in the Variables,
        History and Diff panes, filter their rows in place."""
        tab = self.active_tab
        pane_of = {
            "variables": VariablesPane,
            "history": HistoryPane,
            "diff": DiffPane,
            "collections": CollectionsPane,
        }
        if tab in pane_of:
            with contextlib.suppress(NoMatches):
                self.query_one(pane_of[tab]).open_filter()
                return
        if self.ws.graph is None:
            self.notify("No graph loaded: nothing to search", severity="warning")
            return
        self.action_show_tab("graph")
        self.graph_pane.open_search()

    def action_model_overview(self) -> None:
        """Show the model overview (versions, saver, optimizer, parameters, global steps)."""
        if self.ws.graph is None:
            self.notify("No graph loaded: nothing to describe", severity="warning")
            return
        self.action_show_tab("graph")
        self.graph_pane.details.show_overview(self.ws)
        self.graph_pane.details.focus()

    def action_op_histogram(self) -> None:
        """Show the op types by count; Enter lists the nodes of one (op:NAME search)."""
        if self.ws.graph is None:
            self.notify("No graph loaded", severity="warning")
            return
        self.action_show_tab("graph")
        self.graph_pane.details.show_op_histogram(self.ws)
        self.graph_pane.details.focus()

    def action_close_search(self) -> None:
        self.graph_pane.close_search()

    def action_next_match(self) -> None:
        """Jump to the next search match."""
        self._step_match(1)

    def action_previous_match(self) -> None:
        """Jump to the previous search match."""
        self._step_match(-1)

    def _step_match(self, step: int) -> None:
        pane = self.graph_pane
        before = pane.node_tree.cursor_path
        if pane.step_match(step) is not None and before is not None:
            self.back_stack.append(before)

    def jump_to_node(self, name: str) -> bool:
        """Show node ``name`` in the graph pane (Backspace returns)."""
        pane = self.graph_pane
        before = pane.node_tree.cursor_path
        self.action_show_tab("graph")
        if not pane.reveal(name):
            self.show_error(f"{name}: no such node in the graph")
            return False
        if before is not None and before != name:
            self.back_stack.append(before)
        pane.node_tree.focus()
        return True

    def action_go_back(self) -> None:
        """Return to the node shown before the last jump."""
        if not self.back_stack:
            self.notify("Nothing to go back to", severity="information")
            return
        target = self.back_stack.pop()
        self.action_show_tab("graph")
        self.graph_pane.reveal(target)

    def show_collection(self, key: str) -> None:
        self.action_show_tab("collections")
        self.query_one(CollectionsTree).reveal(key)

    @on(CollectionsTree.NodeSelected, "#collections-tree")
    def _collection_item(self, event: CollectionsTree.NodeSelected[Any]) -> None:
        data = event.node.data
        if data and data[0] == "item" and data[1]:
            self.jump_to_node(data[1])

    def action_goto_node(self) -> None:
        """Show the graph node of the selected variable, value or collection item."""
        focused = self.focused
        target: str | None = None
        if isinstance(focused, VariablesTable):
            row = self.variables_pane.current()
            if row is not None:
                target = row.node or (row.name if row.in_graph else None)
        elif isinstance(focused, TensorGrid) and self.value_key is not None:
            target = self._node_of_key(self.value_key)
        elif isinstance(focused, CollectionsTree):
            target = focused.current_target()
        if target is None:
            self.notify("No graph node for this", severity="warning")
            return
        self.jump_to_node(target)

    # -- dataflow (9) ----------------------------------------------------------------------------

    def action_dataflow_here(self) -> None:
        """Draw the dataflow around the node of the tree, details, variable, value, or of a
        function or its node in tab 7 (tab 9)."""
        focused = self.focused
        target: str | None = None
        if isinstance(focused, (NodeTree, NodeDetails)):
            target = self.graph_pane.node_tree.cursor_path
        elif isinstance(focused, VariablesTable):
            row = self.variables_pane.current()
            target = row.node if row is not None else None
        elif isinstance(focused, TensorGrid) and self.value_key is not None:
            target = self._node_of_key(self.value_key)
        elif isinstance(focused, SignaturesTree):
            item = focused.current
            if item is not None and item.kind == "function":
                self.show_dataflow(None, item.name)
                return
            if item is not None and item.kind == "fnode":
                self.show_dataflow(item.name, item.function)
                return
        self.show_dataflow(target)

    def show_dataflow(self, node: str | None = None, function: str | None = None) -> bool:
        """Open tab 9 around ``node`` (a scope: its overview; None: as it was), of the graph
        or of library ``function``'s body (the whole body when ``node`` is None)."""
        if "dataflow" not in self.tab_ids or self.ws.graph is None:
            self.notify("No graph: nothing to draw", severity="warning")
            return False
        self.action_show_tab("dataflow")
        pane = self.query_one(DataflowPane)
        if function is not None and node:
            pane.center_on(node, function)
        elif function is not None:
            pane.open_function_body(function)
        elif node is not None and node in self.ws.graph:
            pane.center_on(node)
        elif node is not None:
            pane.go(mode="scope", scope=node, cursor=None)
        return True

    @on(DataflowPane.OpenNode)
    def _dataflow_details(self, event: DataflowPane.OpenNode) -> None:
        if event.function is not None:
            self.show_function(event.function, event.name)
        elif self.ws.graph is not None and event.name in self.ws.graph:
            if self.jump_to_node(event.name):
                self.graph_pane.details.focus()
        else:
            self.jump_to_node(event.name)

    @on(DataflowPane.OpenValue)
    def _dataflow_value(self, event: DataflowPane.OpenValue) -> None:
        key = self._key_of_node(event.name)
        if key is None:
            self.notify("Not a variable saved in the checkpoint", severity="warning")
            return
        self.open_value(key)

    # -- SavedModels and object graphs ----------------------------------------------------------

    @property
    def signatures_pane(self) -> SignaturesPane:
        return self.query_one(SignaturesPane)

    @property
    def objects_pane(self) -> ObjectsPane:
        return self.query_one(ObjectsPane)

    def show_function(self, name: str, node: str | None = None) -> bool:
        """Show library function ``name`` (or its node ``node``) in the signatures tab (7)."""
        if "signatures" not in self.tab_ids:
            self.notify("This graph has no function library", severity="warning")
            return False
        before = None
        if self.ws.graph is not None:
            with contextlib.suppress(NoMatches):  # the graph pane mounts after the first frame
                before = self.graph_pane.node_tree.cursor_path
        self.action_show_tab("signatures")
        if not self.signatures_pane.reveal_function(name, node):
            self.show_error(f"{name}: no such function in the library")
            return False
        if before is not None:
            self.back_stack.append(before)
        return True

    def show_signature(self, key: str) -> bool:
        self.action_show_tab("signatures")
        return self.signatures_pane.reveal_signature(key)

    def show_object(self, path: str) -> bool:
        """Show the object at ``path`` (TensorFlow's path, or local names) in the objects tab."""
        if "objects" not in self.tab_ids:
            self.notify("No object graph in this workspace", severity="warning")
            return False
        self.action_show_tab("objects")
        if not self.objects_pane.reveal_path(path):
            self.show_error(f"{path}: no such object in the object graph")
            return False
        return True

    async def action_next_tag_set(self) -> None:
        """Show the SavedModel's next tag-set (meta graph)."""
        sets = self.ws.tag_sets
        if len(sets) < 2:
            self.notify("This SavedModel has a single tag-set", severity="information")
            return
        current = self.ws.tag_set or sets[0]
        await self.select_tag_set(sets[(sets.index(current) + 1) % len(sets)])

    async def select_tag_set(self, tags: str) -> bool:
        """Make meta graph ``tags`` the one shown: every pane is built again from it."""
        try:
            self.ws.select_tag_set(tags)
        except GraphtuiError as exc:
            self.show_error(exc)
            return False
        running = [w for w in self.workers if w.node is self]
        self.workers.cancel_node(self)
        for worker in running:
            await worker.wait()
        self.back_stack.clear()
        self.value_key = self.value_prefix = self.value_stats = None
        await self.recompose()
        self._start(notify=False)
        self.notify(visible(f"Tag-set {tags}"))
        return True

    def _node_of_key(self, key: str) -> str | None:
        for row in self.ws.variables():
            if row.key == key and row.node:
                return row.node
        graph = self.ws.graph
        return key if graph is not None and key in graph else None

    # -- values ---------------------------------------------------------------------------------

    def action_view_value(self) -> None:
        """Open the value of the selected variable (tree, variables table or diff)."""
        focused = self.focused
        if isinstance(focused, (NodeTree, NodeDetails)):
            path = self.graph_pane.node_tree.cursor_path
            key = self._key_of_node(path) if path else None
            graph = self.ws.graph
            if key is None and path and graph is not None and path in graph:  # noqa: SIM102
                if graph.op(path) == "Const":
                    self.open_const(path)
                    return
            if key is None:
                self.notify("Not a variable saved in the checkpoint", severity="warning")
                return
            self.open_value(key)
        elif isinstance(focused, ObjectsTree):
            item = focused.current
            key = item.value_key if item is not None else None
            if key is None:
                self.notify("Not a variable: no saved value", severity="warning")
                return
            self.open_value(key)
        elif isinstance(focused, VariablesTable):
            row = self.variables_pane.current()
            if row is not None:
                self.open_value(row.key or row.name)
        elif isinstance(focused, DiffTable):
            diff = self.query_one(DiffPane)
            changed = diff.current()
            if changed is not None and diff.prefixes is not None:
                self.open_value(changed.name, prefix=diff.prefixes[1])
        else:
            self.action_show_tab("value")

    def _key_of_node(self, path: str) -> str | None:
        if self.ws.graph is None:
            return None
        key = self.ws.checkpoint_key_of(path)
        if key is not None:
            return key
        reader = self.ws.active
        return path if reader is not None and reader.has_tensor(path) else None

    def open_value(self, key: str, prefix: str | None = None) -> bool:
        """Show checkpoint tensor ``key`` (of ``prefix``, default the active checkpoint)."""
        reader = self.ws.reader(prefix) if prefix else self.ws.active
        if reader is not None and not reader.has_tensor(key):
            try:
                row = self.ws.variable(key)
                key = row.key or key
            except GraphtuiError:
                pass
        if reader is not None and is_url(reader.prefix):  # the range is fetched off the UI
            self.run_worker(
                partial(self._fetch_value, key, prefix),
                thread=True,
                group="value-fetch",
                exclusive=True,
                exit_on_error=False,
            )
            return True
        try:
            value = self.ws.tensor(key, prefix)
        except NotFoundError as exc:
            self.notify(str(exc), title="No value", severity="warning")
            return False
        except GraphtuiError as exc:
            self.show_error(exc)
            return False
        return self._show_opened(value, key, prefix)

    def _fetch_value(self, key: str, prefix: str | None) -> None:
        """Worker: read a remote tensor's range (the header shows it in flight; Esc cancels)."""
        try:
            value = self.ws.tensor(key, prefix)
        except TransferCancelled:
            self.call_from_thread(self.notify, f"Fetch of {key} cancelled", severity="warning")
            return
        except NotFoundError as exc:
            self.call_from_thread(self.notify, str(exc), title="No value", severity="warning")
            return
        except GraphtuiError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._show_opened, value, key, prefix)

    def _show_opened(self, value: TensorValue, key: str, prefix: str | None) -> bool:
        self.value_key = key
        self.value_prefix = prefix
        self.value_stats = None
        pane = self.value_pane
        pane.show_value(value, os.path.basename(value.prefix))
        self.action_show_tab("value")
        self._check_value(value)
        return True

    def open_const(self, node: str) -> bool:
        """Show the tensor of ``Const`` node ``node`` in the value view."""
        from graphtui.core.values import const_value

        if self.ws.graph is None:
            return False
        try:
            value = const_value(self.ws.graph, node)
        except GraphtuiError as exc:
            self.show_error(exc)
            return False
        self.value_key = self.value_prefix = None  # not a checkpoint tensor
        self.value_stats = None
        self.value_pane.show_value(value, "Const in the graph")
        self.action_show_tab("value")
        self._check_value(value)
        return True

    def _check_value(self, value: TensorValue) -> None:
        """Verify the value's checksum (in a worker) before any of it is drawn; then its
        statistics. A known-corrupt tensor is not read again."""
        known = self.ws.corrupt_reason(value.name, value.prefix)
        if known is not None:
            self._value_checked(value, known)
            return
        if value.verified:
            self._value_checked(value, True)
            return
        self.workers.cancel_group(self, "value-stats")
        self.run_worker(
            lambda: self._verify_job(value),
            thread=True,
            group="value-stats",
            exclusive=True,
            exit_on_error=False,
        )

    def _verify_job(self, value: TensorValue) -> None:
        worker = get_current_worker()
        result: bool | str = True
        try:
            value.verify()
        except ChecksumError as exc:
            result = str(exc)
        except GraphtuiError as exc:  # a missing shard, a short file: nothing to draw either
            result = str(exc)
        if not worker.is_cancelled:
            self.call_from_thread(self._value_checked, value, result)

    def _value_checked(self, value: TensorValue, result: bool | str) -> None:
        pane = self.value_pane
        if pane.grid.value is not value:
            return
        pane.grid.set_checksum(result)
        pane.update_title()
        if result is True:
            self._start_value_stats(value)
            return
        self.ws.mark_corrupt(value.prefix, value.name, str(result))
        self.variables_pane.mark_corrupt(value.name, value.prefix)
        pane.show_stats(None, "no statistics: the checksum does not match")

    def action_show_unverified(self) -> None:
        """Show the values of a tensor whose checksum failed (under a permanent banner)."""
        grid = self.value_pane.grid
        if grid.value is None or grid.checksum in (None, True):
            self.notify("Nothing hidden: the values on screen are verified", severity="information")
            return
        grid.show_unverified = True
        grid.refresh()
        self.value_pane.update_title()

    def _start_value_stats(self, value: TensorValue) -> None:
        if not value.numeric:
            self.value_pane.show_stats(None, f"no statistics for {value.dtype.name}")
            self.workers.cancel_group(self, "value-stats")
            return
        pane = self.value_pane
        pane.show_progress(0.0)
        self.run_worker(
            lambda: self._stats_job(value),
            thread=True,
            group="value-stats",
            exclusive=True,
            exit_on_error=False,
        )

    def _stats_job(self, value: TensorValue) -> None:
        worker = get_current_worker()
        try:
            stats = compute_stats(
                value,
                progress=self._progress(self.value_pane.show_progress),
                cancelled=lambda: worker.is_cancelled,
            )
        except OperationCancelled:
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._value_stats_done, value, stats)

    def _value_stats_done(self, value: TensorValue, stats: TensorStats) -> None:
        pane = self.value_pane
        pane.show_progress(None)
        if pane.grid.value is not value:
            return
        self.value_stats = stats
        pane.show_stats(stats)
        self.variables_pane.set_stats(value.name, value.prefix, stats)

    def action_next_slice(self) -> None:
        """Next slice of the leading dimensions."""
        self._page(1, False)

    def action_previous_slice(self) -> None:
        """Previous slice of the leading dimensions."""
        self._page(-1, False)

    def action_next_outer(self) -> None:
        """Next index of the outermost dimension."""
        self._page(1, True)

    def action_previous_outer(self) -> None:
        """Previous index of the outermost dimension."""
        self._page(-1, True)

    def _page(self, step: int, outer: bool) -> None:
        pane = self.value_pane
        if pane.grid.page(step, outer):
            pane.update_title()
        elif pane.grid.value is not None and pane.grid.slice_count <= 1:
            self.notify("This value has a single slice", severity="information")

    def action_jump_index(self) -> None:
        """Jump to an index of the open value (``3,0,:,:``)."""
        if self.value_pane.grid.value is None:
            self.notify("Open a value first", severity="warning")
            return
        self.value_pane.open_jump()

    def action_full_strings(self) -> None:
        """Show the string cells on screen in full (the grid cuts them to its column width)."""
        from graphtui.tui.fmt import cell_text
        from graphtui.tui.screens.dialogs import TextDialog

        grid = self.value_pane.grid
        cells = grid.visible_cells()
        if not cells:
            self.notify("No values on screen", severity="information")
            return
        lines = [f"[{where}] {cell_text(item, grid.kind, 1 << 20)}" for where, item in cells]
        name = grid.value.name if grid.value is not None else ""
        self.push_screen(
            TextDialog(f"{visible(name)} {grid.slice_text()}: cells on screen", "\n".join(lines))
        )

    def action_transpose_value(self) -> None:
        """Swap the two dimensions shown (rows and columns)."""
        grid = self.value_pane.grid
        if grid.value is None or len(grid.value.shape) < 2:
            self.notify("Transpose needs a value of rank 2 or more", severity="information")
            return
        grid.set_axes((grid.axes[1], grid.axes[0]))
        self.value_pane.update_title()

    def action_next_axes(self) -> None:
        """Show the next pair of dimensions (rank 3 and more)."""
        grid = self.value_pane.grid
        if grid.value is None or len(grid.value.shape) < 3:
            self.notify("A value of rank 3 or more has other axes to show", severity="information")
            return
        import itertools

        pairs = list(itertools.combinations(range(len(grid.value.shape)), 2))
        current = tuple(sorted(grid.axes))
        grid.set_axes(pairs[(pairs.index(current) + 1) % len(pairs)])  # type: ignore[arg-type]
        self.value_pane.update_title()

    def action_export_value(self) -> None:
        """Write the value on screen to a .npy file."""
        if self.value_key is None:
            self.notify("Open a value first (Enter on a variable)", severity="warning")
            return
        key, prefix = self.value_key, self.value_prefix
        default = key.replace("/", "_").replace(":", "_") + ".npy"

        def done(path: str | None) -> None:
            if path:
                self.run_worker(
                    lambda: self._export_job(key, path, prefix),
                    thread=True,
                    group="export",
                    exit_on_error=False,
                )

        self.push_screen(ExportDialog(key, default), done)

    def _export_job(self, key: str, path: str, prefix: str | None) -> None:
        written = self.ws.export_npy(key, path, prefix)
        self.call_from_thread(self.notify, visible(f"Wrote {written}"), title="Exported")

    # -- statistics -----------------------------------------------------------------------------

    def action_stats(self) -> None:
        """Compute statistics of the selected variable or the open value."""
        focused = self.focused
        if isinstance(focused, VariablesTable):
            row = self.variables_pane.current()
            if row is None or row.key is None:
                self.notify("Not in the checkpoint: no value", severity="warning")
                return
            self._start_table_stats([row.key])
        elif self.value_pane.grid.value is not None:
            grid = self.value_pane.grid
            if grid.checksum is not True:
                self.notify("No statistics of unverified values", severity="warning")
                return
            self._start_value_stats(grid.value)  # type: ignore[arg-type]

    def action_stats_all(self) -> None:
        """Compute statistics of every variable shown (in a worker, with progress); a tensor
        that fails is marked on its row, the others carry on."""
        self.variables_pane.ensure_rows()
        keys = [row.key for row in self.variables_pane.rows if row.key is not None]
        self._start_table_stats(keys)

    def _start_table_stats(self, keys: list[str]) -> None:
        if self.ws.active is None:
            self.notify("No readable checkpoint: no values", severity="warning")
            return
        self.variables_pane.show_progress(0.0)
        self.run_worker(
            lambda: self._table_stats_job(keys),
            thread=True,
            group="table-stats",
            exclusive=True,
            exit_on_error=False,
        )

    def _table_stats_job(self, keys: list[str]) -> None:
        worker = get_current_worker()
        pane = self.variables_pane
        prefix = self.ws.active_prefix or ""
        values: list[TensorValue] = []
        failed: list[tuple[str, str]] = []  # (key, why)
        for key in keys:
            try:
                value = self.ws.tensor(key, prefix)
            except GraphtuiError as exc:
                failed.append((key, str(exc)))
                continue
            if value.numeric:
                values.append(value)
        total = sum(max(1, v.size) for v in values) or 1
        done = 0
        report = self._progress(pane.show_progress)
        for value in values:
            base = done

            def step(fraction: float, base: int = base, size: int = max(1, value.size)) -> None:
                report((base + fraction * size) / total)

            try:
                stats = compute_stats(
                    value, bins=0, progress=step, cancelled=lambda: worker.is_cancelled
                )
            except OperationCancelled:
                return
            except ChecksumError as exc:
                failed.append((value.name, str(exc)))
                self.ws.mark_corrupt(value.prefix, value.name, str(exc))
                continue
            except GraphtuiError as exc:  # a missing shard, a short file
                failed.append((value.name, str(exc)))
                continue
            finally:
                done += max(1, value.size)
            self.call_from_thread(pane.set_stats, value.name, value.prefix, stats)
        self.call_from_thread(self._table_stats_done, prefix, failed)

    def _table_stats_done(self, prefix: str, failed: list[tuple[str, str]]) -> None:
        pane = self.variables_pane
        pane.show_progress(None)
        for key, why in failed:
            pane.mark_failed(key, prefix, why)
        pane.show_detail()
        if failed:
            names = visible(", ".join(k for k, _ in failed[:3])) + (
                ", …" if len(failed) > 3 else ""
            )
            self.notify(
                f"{len(failed)} of the tensors did not read (marked on their rows): {names}",
                title="Statistics",
                severity="warning",
                timeout=8,
            )

    # -- variables ------------------------------------------------------------------------------

    def action_toggle_slots(self) -> None:
        """Hide or show optimizer slots, moving averages and beta powers."""
        pane = self.variables_pane
        pane.hide_slots = not pane.hide_slots
        pane.refresh_rows()
        self.notify("Optimizer slots hidden" if pane.hide_slots else "Optimizer slots shown")

    def action_sort_variables(self) -> None:
        """Sort the variables by the next column (name, params, bytes, status, dtype)."""
        self.variables_pane.cycle_sort()

    def action_reverse_sort(self) -> None:
        """Reverse the variables' order."""
        pane = self.variables_pane
        pane.reverse = not pane.reverse
        pane.refresh_rows()

    # -- checkpoints ----------------------------------------------------------------------------

    def activate_checkpoint(self, prefix: str) -> bool:
        """Make ``prefix`` the checkpoint values, statistics and variables come from."""
        try:
            self.ws.set_active(prefix)
        except GraphtuiError as exc:
            self.show_error(exc)
            return False
        self._update_subtitle()
        self.query_one(HistoryPane).refresh_rows()
        if self.variables_pane.built:
            self.variables_pane.refresh_rows()
        if "objects" in self.tab_ids:
            with contextlib.suppress(NoMatches):  # not mounted: it reads the checkpoint then
                self.objects_pane.refresh_graph()
        pane = self.graph_pane
        path = pane.node_tree.cursor_path
        if path:
            pane.details.show(self.ws, path)
        if self.value_key is not None and self.value_prefix is None:
            reader = self.ws.active
            if reader is not None and reader.has_tensor(self.value_key):
                key = self.value_key
                value = self.ws.tensor(key)
                lead = self.value_pane.grid.lead
                self.value_pane.show_value(value, os.path.basename(value.prefix))
                self.value_pane.grid.set_value(value, lead)
                self.value_pane.update_title()
                self._check_value(value)
        self.notify(visible(f"Active checkpoint: {os.path.basename(prefix)}"))
        return True

    def action_diff_checkpoint(self) -> None:
        """Compare two checkpoints: the one marked A (``a``) to the highlighted one; with no
        mark, the active one and the highlighted one, older to newer."""
        history = self.query_one(HistoryPane)
        rec = history.current()
        if rec is None:
            self.notify("Highlight a checkpoint to compare", severity="warning")
            return
        marked = history.marked_a
        if marked is not None:
            first, second = marked, rec.prefix
        else:
            active = self.ws.active_prefix
            if active is None:
                self.notify(
                    "No active checkpoint: mark one as A with a, then d on another",
                    severity="warning",
                )
                return
            order = {r.prefix: i for i, r in enumerate(history.records)}
            first, second = sorted(
                (active, rec.prefix), key=lambda p: order.get(os.path.normpath(p), -1)
            )
        if os.path.normpath(first) == os.path.normpath(second):
            self.notify("Pick another checkpoint than A to compare", severity="warning")
            return
        self.start_diff(first, second)

    def start_diff(self, prefix_a: str, prefix_b: str) -> None:
        pane = self.query_one(DiffPane)
        pane.start(prefix_a, prefix_b)
        self.action_show_tab("diff")
        self.run_worker(
            lambda: self._diff_job(prefix_a, prefix_b),
            thread=True,
            group="diff",
            exclusive=True,
            exit_on_error=False,
        )

    def side_by_side(self, name: str) -> None:
        """Read the first elements of ``name`` in the diff's A and B (in a worker)."""
        pane = self.query_one(DiffPane)
        if pane.prefixes is None:
            return
        prefix_a, prefix_b = pane.prefixes

        def job() -> None:
            from graphtui.core.workspace import side_by_side

            try:
                got: Any = side_by_side(
                    self.ws.tensor(name, prefix_a), self.ws.tensor(name, prefix_b)
                )
            except GraphtuiError as exc:
                got = f"{name}: {exc}"
            if not get_current_worker().is_cancelled:
                self.call_from_thread(pane.show_side_by_side, name, got)

        self.run_worker(job, thread=True, group="diff-detail", exclusive=True, exit_on_error=False)

    def action_view_value_a(self) -> None:
        """Open the highlighted diff row's value in checkpoint A."""
        diff = self.query_one(DiffPane)
        row = diff.current()
        if row is not None and diff.prefixes is not None and row.status != "only-b":
            self.open_value(row.name, prefix=diff.prefixes[0])

    def _diff_job(self, prefix_a: str, prefix_b: str) -> None:
        worker = get_current_worker()
        pane = self.query_one(DiffPane)
        try:
            rows = self.ws.diff(
                prefix_a,
                prefix_b,
                progress=self._progress(pane.show_progress),
                cancelled=lambda: worker.is_cancelled,
            )
        except OperationCancelled:
            return
        self.call_from_thread(pane.show_rows, rows)

    # -- help and palette -----------------------------------------------------------------------

    def help_sections(self) -> list[tuple[str, list[KeyRow]]]:
        """Key rows per pane, read from the live bindings of the app and each pane's widget."""
        sections: list[tuple[str, list[KeyRow]]] = [("Everywhere", self._rows_of(self))]
        for title, cls in PANES:
            try:
                widget = self.query_one(cls)
            except Exception:  # noqa: BLE001 - a pane may be absent
                continue
            sections.append((title, self._rows_of(widget)))
        return sections

    def _rows_of(self, node: Any) -> list[KeyRow]:
        rows: list[KeyRow] = []
        seen: set[tuple[str, str]] = set()
        bindings = node._merged_bindings  # the live, merged bindings (keymaps applied)
        for items in bindings.key_to_bindings.values():
            for binding in items:
                if not binding.description or binding.action.split("(")[0] in _NAVIGATION:
                    continue
                if (binding.id or "").startswith("tab-") and binding.id[4:] not in self.tab_ids:
                    continue  # a tab this workspace does not show
                shown = self._key_shown(binding)
                if (shown, binding.action) not in seen:
                    seen.add((shown, binding.action))
                    rows.append(KeyRow(shown, binding.description, binding.action))
        return rows

    def _key_shown(self, binding: Binding) -> str:
        """The key(s) a binding answers to now: the user's keymap, else its own."""
        keys = self.keymap.get(binding.id or "")
        if keys is None:
            return self.get_key_display(binding)
        return "/".join(
            self.get_key_display(dataclasses.replace(binding, key=k)) for k in keys.split(",")
        )

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen(self.help_sections()))

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """(title, help, callback) for the command palette: every app action bound to a key,
        then checkpoints, collections and variables to open."""
        out: list[tuple[str, str, Callable[[], Any]]] = []
        seen: set[str] = set()
        for section, rows in self.help_sections():
            for row in rows:
                action = row.action
                if action.startswith("app."):
                    action = action[4:]
                elif section != "Everywhere":
                    continue  # a widget's own action needs that widget focused
                if action in seen:
                    continue
                seen.add(action)
                out.append((row.description, f"{section}: key {row.key}", _runner(self, action)))
        if self.ws.history is not None:
            for rec in self.ws.history.records:
                if rec.complete:
                    out.append(
                        (
                            f"Activate checkpoint {rec.name}",
                            "make it the active checkpoint",
                            partial(self.activate_checkpoint, rec.prefix),
                        )
                    )
        for tags in self.ws.tag_sets:
            if tags != self.ws.tag_set:
                out.append(
                    (f"Tag-set {tags}", "show this meta graph", partial(self.select_tag_set, tags))
                )
        for sig in self.ws.signatures:
            out.append(
                (f"Signature {sig.key}", "show it (7)", partial(self.show_signature, sig.key))
            )
        if self.ws.meta_graph is not None:
            for fname in self.ws.meta_graph.function_names()[:PALETTE_VARIABLES]:
                out.append((f"Function {fname}", "show it (7)", partial(self.show_function, fname)))
        out.extend(dataflow_commands(self))
        if self.ws.graph is not None:
            from graphtui.core.collections import CollectionTable

            for key in CollectionTable.of(self.ws.graph).keys():  # noqa: SIM118
                out.append((f"Collection {key}", "show it", partial(self.show_collection, key)))
        try:
            variables = self.ws.variables()[:PALETTE_VARIABLES]
        except GraphtuiError:
            variables = []
        for var in variables:
            if var.key:
                out.append(
                    (f"Value of {var.name}", "open its value", partial(self.open_value, var.key))
                )
        return out


# the widget each tab focuses
_FOCUS: dict[str, type[Widget]] = {
    "graph": NodeTree,
    "collections": CollectionsTree,
    "variables": VariablesTable,
    "value": TensorGrid,
    "history": HistoryTable,
    "diff": DiffTable,
    "signatures": SignaturesTree,
    "objects": ObjectsTree,
    "dataflow": FlowCanvas,
}


def dataflow_commands(app: GraphtuiApp) -> list[tuple[str, str, Callable[[], Any]]]:
    """Palette entries of the dataflow view: the overview, DOT export, each function's body."""
    graph = app.ws.graph
    if graph is None:
        return []

    def export() -> None:
        if app.show_dataflow():
            app.query_one(DataflowPane).export_dot()

    out: list[tuple[str, str, Callable[[], Any]]] = [
        ("Dataflow overview", "the model's top scopes drawn (9)", partial(app.show_dataflow, "")),
        ("Export dataflow as DOT", "write the view of tab 9 as Graphviz DOT (key x)", export),
    ]
    for info in graph.functions()[:PALETTE_VARIABLES]:
        out.append(
            (
                f"Dataflow of function {info.name}",
                "draw its body (9)",
                partial(app.show_dataflow, None, info.name),
            )
        )
    return out


_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _transfers_in_flight() -> tuple[int, int]:
    """Remote range requests in flight and their bytes (none when no URL was ever read)."""
    remote = sys.modules.get("graphtui.formats.remote")
    return remote.STATS.in_flight() if remote is not None else (0, 0)


def _runner(app: App[Any], action: str) -> Callable[[], Any]:
    async def run() -> None:
        await app.run_action(action)

    return run


def run_app(path: str | None) -> int:
    """Open ``path`` (None: the bundled demo) in the app; returns the exit code.

    An unreadable path is reported as one line on stderr (exit code 1) before any screen opens.
    """
    try:
        ws = open_workspace(path)
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
