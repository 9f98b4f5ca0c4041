"""The collections pane: each collection with its kind and size; items listed on expand.

The ``/`` filter matches collection keys and item descriptions. Describing the items means
decoding them (a 1,000,000-node graph's collections hold 333,328 VariableDefs: seconds of CPU),
so it runs in a thread worker: the tree says it is filtering, the results replace it when the
worker is done, a later keystroke (or Escape) cancels it. The descriptions are kept (strings
only, not the decoded messages), so later keystrokes only match text; the matched items are
decoded again as the tree shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets.tree import TreeNode
from textual.worker import Worker, get_current_worker

from graphtui.core.collections import (
    CollectionTable,
    Hits,
    Picked,
    describe_item,
    filter_collections,
)
from graphtui.core.graph import tensor_node
from graphtui.core.workspace import Workspace
from graphtui.formats.visible import visible
from graphtui.tui.messages import FollowLink
from graphtui.tui.widgets.filter_bar import FilteredPane, FilterInput
from graphtui.tui.widgets.lazy_tree import LazyTree


def item_target(item: Any) -> str | None:
    """The graph node a collection item refers to, if any."""
    if isinstance(item, str):
        return tensor_node(item)
    desc = getattr(item, "DESCRIPTOR", None)
    if desc is None:
        return None
    for field in ("variable_name", "queue_name", "filename_tensor_name", "context_name"):
        if field in desc.fields_by_name:
            value = getattr(item, field)
            if value:
                return tensor_node(str(value))
    return None


class CollectionsTree(LazyTree[Any, Any]):
    """Collections as top-level entries; Enter on an item jumps to its node."""

    AUTO_LOAD = True
    BINDINGS = [Binding("g", "goto_node", "Go to node", id="collection-goto")]
    PALETTE_ACTIONS = frozenset({"goto_node"})  # the palette may run it unfocused

    def action_goto_node(self) -> None:
        """Show the graph node of the collection item under the cursor."""
        self.post_message(FollowLink(self.current_target()))

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__("collections", None, id=id)
        self.ws = ws
        self.show_root = False
        self.guide_depth = 2
        self.table = CollectionTable.of(ws.graph) if ws.graph is not None else None
        self.match: Callable[[str], bool] | None = None  # the ``/`` filter
        self.hits: Hits | None = None  # what it keeps (None: every collection)
        self.texts: dict[str, list[str]] = {}  # item descriptions, by collection (the filter's)
        self._filtering: Worker[None] | None = None

    def on_mount(self) -> None:
        self.build()

    def set_filter(self, match: Callable[[str], bool] | None) -> None:
        """Filter by ``match`` (None: show everything): at once without one, else in a thread
        worker (see the module docstring); a filter still running is cancelled."""
        if self._filtering is not None:
            self._filtering.cancel()
            self._filtering = None
        self.match = match
        if match is None or self.table is None:
            self.hits = None
            self.build()
            return
        self.root.remove_children()
        self.reset_loading()
        items = sum(self.table.size(key) for key in self.table.keys())  # noqa: SIM118
        self.root.add_leaf(
            Text(f"Filtering {len(self.table):,} collections, {items:,} items …", style="italic")
        )
        self.root.expand()
        table, texts = self.table, self.texts

        def job() -> None:
            worker = get_current_worker()
            hits = filter_collections(table, match, texts, lambda: worker.is_cancelled)
            if hits is not None and not worker.is_cancelled:
                self.app.call_from_thread(self._filtered, worker, hits)

        self._filtering = self.run_worker(
            job, thread=True, group="collections-filter", exit_on_error=False
        )

    def _filtered(self, worker: Worker[None], hits: Hits) -> None:
        if worker is not self._filtering or worker.is_cancelled:
            return  # overtaken by a later keystroke
        self._filtering = None
        self.hits = hits
        self.build()

    @property
    def filtering(self) -> bool:
        """A filter's worker is running (the tree says so instead of showing collections)."""
        return self._filtering is not None

    def build(self) -> None:
        """(Re)build the top level: every collection, or those the filter kept by key or by an
        item (then expanded, listing the matching items only)."""
        self.root.remove_children()
        self.reset_loading()
        if self.table is None:
            self.root.add_leaf(Text("No graph loaded: no collections.", style="dim"))
            return
        if not len(self.table):
            self.root.add_leaf(Text("This graph has no collections.", style="dim"))
        table = self.table
        kinds = table.kinds()
        hits = self.hits
        for key in table.keys():  # noqa: SIM118 - iterating yields Collections
            # nothing is decoded here: a collection's items decode as they are shown
            if hits is not None and key not in hits:
                continue
            size, proto_type = table.size(key), table.proto_type(key)
            label = Text(visible(key), style="bold")
            label.append(f"  {kinds[key]}", style="italic")
            label.append(f"  {size} items", style="dim")
            if proto_type:
                label.append(f"  {visible(proto_type.rsplit('.', 1)[-1])}", style="dim")
            node = self.root.add(label, ("collection", key), allow_expand=bool(size))
            if hits is not None and hits[key] is not None:
                node.expand()  # matched by its items: show them
        if hits is not None and not hits:
            self.root.add_leaf(Text("No collection or item matches the filter.", style="dim"))
        self.root.expand()

    def get_label_width(self, node: TreeNode[Any]) -> int:
        return len(node.label) + 2

    def lazy_items(self, node: TreeNode[Any]) -> Sequence[Any] | None:
        """A collection's items (those the filter matched, unless it matched the key), decoded
        a chunk at a time as the tree adds them."""
        data = node.data
        if not data or data[0] != "collection" or self.table is None:
            return None
        key = data[1]
        items = self.table.items(key)
        positions = self.hits.get(key) if self.hits is not None else None
        return items if positions is None else Picked(items, positions)

    def add_item(self, parent: TreeNode[Any], item: Any) -> TreeNode[Any]:
        target = item_target(item)
        text = Text(visible(describe_item(item)))
        if target is not None and self.ws.graph is not None and target not in self.ws.graph:
            text.append("  (not in graph)", style="dim")
        return parent.add_leaf(text, ("item", target))

    def reveal(self, key: str) -> bool:
        for node in self.root.children:
            if node.data == ("collection", key):
                node.expand()
                _ = self.last_line
                self.move_cursor(node)
                return True
        return False

    def current_target(self) -> str | None:
        node = self.cursor_node
        if node is None or not node.data or node.data[0] != "item":
            return None
        target = node.data[1]
        return target if isinstance(target, str) else None


class CollectionsPane(FilteredPane):
    """The collections tree with its ``/`` filter (collection keys and item descriptions)."""

    def __init__(self, ws: Workspace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws = ws

    def compose(self) -> ComposeResult:
        yield FilterInput(id="collections-filter")
        yield CollectionsTree(self.ws, id="collections-tree")

    @property
    def collections_tree(self) -> CollectionsTree:
        return self.query_one(CollectionsTree)

    def focus_table(self) -> None:
        self.collections_tree.focus()

    def filter_changed(self) -> None:
        self.collections_tree.set_filter(self.query_one(FilterInput).matcher())
