"""The collections pane: each collection with its kind and size; items listed on expand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets.tree import TreeNode

from graphtui.core.collections import CollectionTable, describe_item
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

    def on_mount(self) -> None:
        self.build()

    def build(self) -> None:
        """(Re)build the top level: every collection, or those the filter matches by key or by
        an item (then expanded, listing the matching items only)."""
        self.root.remove_children()
        self.reset_loading()
        if self.table is None:
            self.root.add_leaf(Text("No graph loaded: no collections.", style="dim"))
            return
        if not len(self.table):
            self.root.add_leaf(Text("This graph has no collections.", style="dim"))
        table = self.table
        kinds = table.kinds()
        match = self.match
        for key in table.keys():  # noqa: SIM118 - iterating yields Collections
            # without a filter nothing is decoded: a collection's items decode as they are shown
            hits = match is not None and not match(key)
            if hits and not any(match(describe_item(i)) for i in table[key].items):  # type: ignore[misc]
                continue
            size, proto_type = table.size(key), table.proto_type(key)
            label = Text(visible(key), style="bold")
            label.append(f"  {kinds[key]}", style="italic")
            label.append(f"  {size} items", style="dim")
            if proto_type:
                label.append(f"  {visible(proto_type.rsplit('.', 1)[-1])}", style="dim")
            node = self.root.add(label, ("collection", key), allow_expand=bool(size))
            if hits:
                node.expand()  # matched by its items: show them
        self.root.expand()

    def get_label_width(self, node: TreeNode[Any]) -> int:
        return len(node.label) + 2

    def lazy_items(self, node: TreeNode[Any]) -> Sequence[Any] | None:
        """A collection's items (those the filter matches, unless it matches the key)."""
        data = node.data
        if not data or data[0] != "collection" or self.table is None:
            return None
        key = data[1]
        match = self.match if self.match is not None and not self.match(key) else None
        if match is None:
            return self.table.items(key)  # decoded a chunk at a time as the tree adds them
        return [item for item in self.table[key].items if match(describe_item(item))]

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
        self.collections_tree.match = self.query_one(FilterInput).matcher()
        self.collections_tree.build()
