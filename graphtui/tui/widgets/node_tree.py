"""The node tree by name scope, built lazily: a scope's children are added when it expands.

The first chunk of children appears at once; the rest follow in chunks on later event-loop
turns, behind a placeholder line (``LazyTree.AUTO_LOAD``), so expanding a scope of 50,000 nodes
never blocks the screen. Revealing a node (search, jumps) loads only the children up to it along
its path.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Span, Text
from textual.binding import Binding
from textual.widgets.tree import TreeNode

from graphtui.core.scopes import ScopeEntry, ScopeTree
from graphtui.formats.gc_paused import gc_paused
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_count
from graphtui.tui.messages import ShowGraphSummary, ShowNodeValue, StepMatch
from graphtui.tui.widgets.lazy_tree import LazyTree


class NodeTree(LazyTree[ScopeEntry | None, ScopeEntry]):
    """Scopes and nodes; each scope shows its node and parameter counts, each node its op."""

    AUTO_LOAD = True
    FREEZE_BIG_CHUNKS = True
    BINDINGS = [
        Binding("n", "next_match", "Next match", id="next-match"),
        Binding("N", "previous_match", "Prev match", id="previous-match"),
        Binding("v", "view_value", "Value", id="view-value"),
        Binding("i", "model_overview", "Model overview", show=False, id="model-overview"),
        Binding("H", "op_histogram", "Op types", show=False, id="op-histogram"),
    ]
    # what the command palette may run on this tree when it is not focused
    PALETTE_ACTIONS = frozenset(
        {"next_match", "previous_match", "view_value", "model_overview", "op_histogram"}
    )

    def action_next_match(self) -> None:
        """Jump to the next search match."""
        self.post_message(StepMatch(1))

    def action_previous_match(self) -> None:
        """Jump to the previous search match."""
        self.post_message(StepMatch(-1))

    def action_view_value(self) -> None:
        """Open the value of the node under the cursor (its variable's, or a Const's)."""
        path = self.cursor_path
        if path:
            self.post_message(ShowNodeValue(path))
        else:
            self.notify("Not a variable saved in the checkpoint", severity="warning")

    def action_model_overview(self) -> None:
        """Show the model overview (versions, saver, optimizer, parameters, global steps)."""
        self.post_message(ShowGraphSummary("overview"))

    def action_op_histogram(self) -> None:
        """Show the op types by count; Enter lists the nodes of one (op:NAME search)."""
        self.post_message(ShowGraphSummary("op-types"))

    def __init__(self, scopes: ScopeTree | None, *, id: str | None = None) -> None:
        super().__init__("graph", None, id=id)
        self.scopes = scopes
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self.params_ready = False  # parameter counts need the variable table (a worker builds it)

    def on_mount(self) -> None:
        if self.scopes is not None:
            self.root.expand()
            self.fill(self.root)
            if self.root.children:
                self.cursor_line = 0

    # -- labels ---------------------------------------------------------------------------------

    def _label(self, entry: ScopeEntry) -> Text:
        # one Text with its spans, not appended piece by piece: a link into a scope of 5,000
        # nodes makes 5,000 labels at once
        assert self.scopes is not None
        if not entry.is_scope:
            name = visible(entry.name)
            plain = f"{name}  {visible(str(entry.op))}"
            return Text(plain, spans=[Span(len(name), len(plain), "dim italic")])
        name = visible(entry.name) + "/"
        params = slots = 0
        if self.params_ready:
            params = self.scopes.param_count(entry.path, kind="model")
            slots = self.scopes.param_count(entry.path, kind="slots")
        detail = f"  {human_count(entry.node_count)} nodes"
        if params:
            detail += f", {human_count(params)} params"
        if slots:
            detail += f" (+{human_count(slots)} slots)"
        op = f"  {visible(entry.op)}" if entry.op else ""
        end = len(name) + len(op)
        spans = [Span(0, len(name), "bold"), Span(end, end + len(detail), "dim")]
        if op:
            spans.insert(1, Span(len(name), end, "italic"))
        return Text(name + op + detail, spans=spans)

    def get_label_width(self, node: TreeNode[ScopeEntry | None]) -> int:
        return len(node.label) + 2  # cheap: the default renders every label

    # -- lazy children --------------------------------------------------------------------------

    def lazy_items(self, node: TreeNode[ScopeEntry | None]) -> Sequence[ScopeEntry] | None:
        if self.scopes is None:
            return None
        if node is self.root:
            return self.scopes.listing("")
        entry = node.data
        return None if entry is None else self.scopes.listing(entry.path)

    def add_item(
        self, parent: TreeNode[ScopeEntry | None], item: ScopeEntry
    ) -> TreeNode[ScopeEntry | None]:
        return self.append_child(parent, self._label(item), item, branch=item.is_scope)

    def show_params(self) -> None:
        """Add parameter counts to the scopes already in the tree (the variables are indexed)."""
        self.params_ready = True
        stack = list(self.root.children)
        while stack:
            node = stack.pop()
            if node.data is not None and node.data.is_scope:
                node.set_label(self._label(node.data))
                stack.extend(node.children)

    def action_toggle_expand_all(self) -> None:
        """Expand or collapse one scope: expanding a whole big graph at once would not help."""
        self.action_toggle_node()

    # -- revealing ------------------------------------------------------------------------------

    def _position(self, scope: str, path: str) -> int:
        assert self.scopes is not None
        return self.scopes.listing(scope).position(path)

    def find(self, path: str) -> TreeNode[ScopeEntry | None] | None:
        """The tree node of scope or node ``path``, expanding and loading its ancestors."""
        if self.scopes is None or not path:
            return None
        # a path into a big scope lists and adds its children (5,000 entries, sort keys, tree
        # lines): no collector passes meanwhile (a full one ~30 ms), what lasts is frozen
        with gc_paused():
            return self._find(path)

    def _find(self, path: str) -> TreeNode[ScopeEntry | None] | None:
        assert self.scopes is not None
        node: TreeNode[ScopeEntry | None] | None = self.root
        scope = ""
        for part_path in ScopeTree.ancestors(path):
            assert node is not None
            if node is not self.root and not node.is_expanded:
                self.fill(node)
                node.expand()
            try:
                index = self._position(scope, part_path)
            except KeyError:
                return None
            node = self.child_at(node, index)
            scope = part_path
        return node

    def reveal(self, path: str) -> bool:
        """Move the cursor to ``path`` (a node or scope name); False when it is not in the graph."""
        node = self.find(path)
        if node is None:
            return False
        _ = self.last_line  # rebuild the line index so the node knows its line
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
        return True

    @property
    def cursor_path(self) -> str | None:
        node = self.cursor_node
        if node is None or node.data is None:
            return None
        return node.data.path
