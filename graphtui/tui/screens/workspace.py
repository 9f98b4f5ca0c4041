"""The screen of one opened model: its tabs, the panes in them, and what moves between them.

:class:`WorkspaceScreen` owns the layout for one :class:`~graphtui.core.workspace.Workspace`
(opening another one is ``App.switch_screen`` to a new screen). It routes between panes: a
link followed in one pane shows a node, a value or a function in another; the back stack of
jumps lives here. Long work runs in thread workers that report with ``call_from_thread`` and
stop when cancelled.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

from textual import messages, on
from textual._time import get_time  # the clock of Message.time
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.lazy import Lazy
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, TabbedContent, TabPane
from textual.worker import (
    Worker,
    WorkerCancelled,
    WorkerFailed,
    WorkerState,
    get_current_worker,
)

from graphtui.core.units import human_bytes
from graphtui.core.workspace import (
    Workspace,
)
from graphtui.errors import GraphtuiError
from graphtui.formats.byte_source import is_url
from graphtui.formats.visible import visible
from graphtui.tui.messages import (
    FollowLink,
    GoBack,
    NextTagSet,
    ShowCollection,
    ShowConst,
    ShowFunction,
    ShowGraphSummary,
    ShowNodeValue,
    ShowValue,
    StepMatch,
)
from graphtui.tui.screens.dialogs import ErrorDialog, show_worker_error
from graphtui.tui.warm_up import freeze_alive
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
# the panes whose keys the help screen lists, in its order
PANES: tuple[tuple[str, type[Widget]], ...] = (
    ("Graph tree (1)", NodeTree),
    ("Node details (1)", NodeDetails),
    ("Search box (/)", SearchInput),
    ("Collections (2)", CollectionsTree),
    ("Variables (3)", VariablesTable),
    ("Value (4)", ValuePane),
    ("History (5)", HistoryTable),
    ("Diff (6)", DiffTable),
    ("Signatures (7)", SignaturesTree),
    ("Objects (8)", ObjectsTree),
    ("Dataflow (9)", FlowCanvas),
)
# the widget each tab focuses
FOCUS: dict[str, type[Widget]] = {
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


class WorkspaceScreen(Screen[None]):
    """One workspace: a graph, its checkpoints and their values, a tab per pane."""

    # Textual's Screen repaints itself whole on every focus change (a tab switch, Tab): the
    # widgets that gain and lose the focus restyle and repaint themselves already
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
    # when the last layout began and the widgets it showed (see _on_update)
    _drawn_whole: tuple[float, AbstractSet[Widget]] = (0.0, frozenset())

    def _compositor_refresh(self) -> None:
        # A repaint asked for before a frame reaches the screen when the widget's own message
        # loop next runs, often after the frame (a link scrolls the tree; laying it out, the
        # compositor moves its scrollbar): Textual drew one more frame ~20-25 ms later. The
        # widgets on screen with a repaint pending are drawn in this frame instead.
        compositor = self._compositor
        pending = {widget for widget in compositor.visible_widgets if widget._repaint_required}
        if pending:
            for widget in pending:
                widget._repaint_required = False
            compositor.update_widgets(pending)
        super()._compositor_refresh()

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        started = get_time()
        before = set(self._compositor.visible_widgets)
        super()._refresh_layout(size, scroll)
        shown = self._compositor.visible_widgets.keys() - before
        self._drawn_whole = (started, frozenset() if scroll else shown)

    async def _on_update(self, message: messages.Update) -> None:
        # A repaint asked for before a layout reaches the screen when the widget's own message
        # loop next runs, often after the layout's frame (a tab switch restyles the widgets
        # gaining and losing the focus, and their scrollbars, while the pane's layout takes
        # ~15-30 ms): Textual drew one more frame ~20-25 ms later, the same as the first or
        # with nothing in it. A widget shown by that layout was drawn whole after the repaint
        # was asked for; one neither laid out nor on screen has nothing to draw (it is drawn
        # whole when shown).
        compositor, widget = self._compositor, message.widget
        started, shown = self._drawn_whole
        if (message.time <= started and widget in shown) or (
            widget not in compositor.widgets and widget not in compositor.visible_widgets
        ):
            message.stop()
            message.prevent_default()
            return
        await super()._on_update(message)

    def __init__(self, workspace: Workspace, *, notify: bool = True) -> None:
        super().__init__()
        self.ws = workspace
        self._notify_problems = notify  # said once per workspace, not again per tag-set
        self.back_stack: list[str] = []
        self.indexes_built = False  # the warm-up worker has built the graph's indexes
        self._shown_tabs: list[str] = []  # set when the panes are built
        self._subtitle = ""
        self._spin = 0  # the header's spinner frame while remote bytes are on their way
        self._panes_ready = False
        self._visited: set[str] = set()  # tabs shown once (see action_show_tab)

    @property
    def panes_ready(self) -> bool:
        """Every lazily mounted pane exists (keys typed ahead wait for this)."""
        if not self._panes_ready and self.is_mounted and not self.query(Lazy):
            self._panes_ready = True
        return self._panes_ready

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
            "value": lambda: ValuePane(self.ws, id="value-pane"),
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
        self._start(notify=self._notify_problems)
        if is_url(self.ws.path):
            self.set_interval(0.2, self._show_transfer)
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

    def _start(self, notify: bool) -> None:
        self._panes_ready = False
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
        self.query_one(FOCUS[self._initial_tab()]).focus()
        if self.ws.graph is not None:
            # after the first frame: the worker holds the GIL often enough to slow mounting
            self.call_after_refresh(
                self.run_worker, self._warm_up, thread=True, group="warm-up", exit_on_error=False
            )

    def _show_transfer(self) -> None:
        """The header says when remote bytes are on their way (polled while the app runs)."""
        pending, nbytes = transfers_in_flight()
        self._spin = (self._spin + 1) % len(_SPINNER) if pending else 0
        spinner = _SPINNER[self._spin]
        note = f"  ·  {spinner} fetching {human_bytes(nbytes)} (esc cancels)" if pending else ""
        title = self._subtitle + note
        if self.app.sub_title != title:
            self.app.sub_title = title

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
        self.app.sub_title = self._subtitle

    def _warm_up(self) -> None:
        """Build the graph's indexes off the UI thread (:mod:`graphtui.tui.warm_up`), then let
        the panes use them."""
        from graphtui.tui.warm_up import warm_up

        graph = self.ws.graph
        worker = get_current_worker()
        if graph is not None and warm_up(graph, lambda: worker.is_cancelled):
            self.app.call_from_thread(self._indexes_ready)

    def _indexes_ready(self) -> None:
        self.indexes_built = True
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

    async def stop_workers(self) -> None:
        """Cancel the workers of this screen and its panes, and wait until they end."""
        running = [w for w in self.workers if self in w.node.ancestors_with_self]
        for worker in running:
            worker.cancel()
        for worker in running:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()

    def show_error(self, exc: BaseException | str, title: str = "Error") -> None:
        """Show an error in a dialog; the app stays usable behind it."""
        self.app.push_screen(ErrorDialog(exc, title))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            show_worker_error(self.app, event.worker.error)

    # -- tabs and navigation --------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        """Switch to a pane and focus its main widget."""
        if tab not in self.tab_ids:
            self.notify(f"No {tab} in this workspace", severity="warning")
            return
        self.query_one(TabbedContent).active = tab
        self.query_one(FOCUS[tab]).focus()
        if tab not in self._visited:
            # a pane's first showing builds what it keeps (~28,000 objects for the six panes
            # of a 50k-node graph): frozen once drawn, so the collector's full passes, which
            # land in later tab switches, do not scan it again each time (~30 ms each)
            self._visited.add(tab)
            self.call_after_refresh(freeze_alive)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.app.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a SavedModel with one tag-set has nothing to switch to
        return not (action == "next_tag_set" and len(self.ws.tag_sets) < 2)

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

    def on_show_graph_summary(self, event: ShowGraphSummary) -> None:
        """The model overview (versions, saver, optimizer, parameters, global steps) or the op
        types by count (Enter lists the nodes of one: op:NAME search)."""
        event.stop()
        if self.ws.graph is None:
            what = ": nothing to describe" if event.kind == "overview" else ""
            self.notify(f"No graph loaded{what}", severity="warning")
            return
        self.action_show_tab("graph")
        details = self.graph_pane.details
        if event.kind == "overview":
            details.show_overview(self.ws)
        else:
            details.show_op_histogram(self.ws)
        details.focus()

    def on_step_match(self, event: StepMatch) -> None:
        event.stop()
        self._step_match(event.step)

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

    def on_go_back(self, event: GoBack) -> None:
        event.stop()
        self.action_go_back()

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

    def on_show_collection(self, event: ShowCollection) -> None:
        event.stop()
        self.show_collection(event.key)

    @on(CollectionsTree.NodeSelected, "#collections-tree")
    def _collection_item(self, event: CollectionsTree.NodeSelected[Any]) -> None:
        data = event.node.data
        if data and data[0] == "item" and data[1]:
            self.jump_to_node(data[1])

    # -- dataflow (9) ----------------------------------------------------------------------------

    def action_dataflow_here(self) -> None:
        """Draw the dataflow around the node of the tree, details, variable, value, or of a
        function or its node in tab 7 (tab 9)."""
        # the focused widget or the pane around it says which node: ``dataflow_target()``
        owners = self.focused.ancestors_with_self if self.focused is not None else []
        for node in owners:
            target = getattr(node, "dataflow_target", None)
            if target is not None:
                self.show_dataflow(*target())
                return
        self.show_dataflow(None)  # tab 9 as it was

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

    async def on_next_tag_set(self, event: NextTagSet) -> None:
        event.stop()
        await self.action_next_tag_set()

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
        await self.stop_workers()
        self.back_stack.clear()
        self._panes_ready = False
        await self.recompose()
        self._start(notify=False)
        self.notify(visible(f"Tag-set {tags}"))
        return True

    # -- values ---------------------------------------------------------------------------------

    def on_show_node_value(self, event: ShowNodeValue) -> None:
        """The value of a graph node: its variable's checkpoint tensor, or a Const's."""
        event.stop()
        path = event.node
        key = self._key_of_node(path)
        graph = self.ws.graph
        if key is None and graph is not None and path in graph and graph.op(path) == "Const":
            self.open_const(path)
        elif key is None:
            self.notify("Not a variable saved in the checkpoint", severity="warning")
        else:
            self.open_value(key)

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
        opened = self.value_pane.open(key, prefix)
        if opened == "shown":
            self.action_show_tab("value")  # a fetched one when it arrives
        return opened != "failed"

    def open_const(self, node: str) -> bool:
        """Show the tensor of ``Const`` node ``node`` in the value view."""
        if not self.value_pane.open_const(node):
            return False
        self.action_show_tab("value")
        return True

    def on_value_pane_fetched(self, event: ValuePane.Fetched) -> None:
        self.action_show_tab("value")

    def on_value_pane_checked(self, event: ValuePane.Checked) -> None:
        if event.problem is not None and event.unreadable:
            self.variables_pane.mark_failed(event.name, event.prefix, event.problem)
        elif event.problem is not None:
            self.variables_pane.mark_corrupt(event.name, event.prefix)

    def on_value_pane_stats_done(self, event: ValuePane.StatsDone) -> None:
        self.variables_pane.set_stats(event.name, event.prefix, event.stats)

    def on_show_const(self, event: ShowConst) -> None:
        event.stop()
        self.open_const(event.node)

    def on_show_function(self, event: ShowFunction) -> None:
        event.stop()
        self.show_function(event.name)

    def on_show_value(self, event: ShowValue) -> None:
        event.stop()
        self.open_value(event.key, event.prefix)

    def on_follow_link(self, event: FollowLink) -> None:
        event.stop()
        if event.node is None:
            self.notify("No graph node for this", severity="warning")
            return
        self.jump_to_node(event.node)

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
        with contextlib.suppress(NoMatches):  # not mounted: it reads the checkpoint then
            self.value_pane.checkpoint_activated()
        self.notify(visible(f"Active checkpoint: {os.path.basename(prefix)}"))
        return True

    def on_history_pane_activate(self, event: HistoryPane.Activate) -> None:
        self.activate_checkpoint(event.prefix)

    def on_history_pane_diff_asked(self, event: HistoryPane.DiffAsked) -> None:
        self.start_diff(event.prefix_a, event.prefix_b)

    def start_diff(self, prefix_a: str, prefix_b: str) -> None:
        """Compare two checkpoints in tab 6."""
        self.query_one(DiffPane).start(prefix_a, prefix_b)
        self.action_show_tab("diff")


_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def transfers_in_flight() -> tuple[int, int]:
    """Remote range requests in flight and their bytes (none when no URL was ever read)."""
    remote = sys.modules.get("graphtui.formats.remote")
    return remote.STATS.in_flight() if remote is not None else (0, 0)
