"""The node tree by name scope, built lazily: a scope's children are added when it expands.

The first ``FIRST_CHUNK`` children appear at once; the rest follow in chunks of ``CHUNK`` on
later event-loop turns, behind a placeholder line, so expanding a scope of 50,000 nodes never
blocks the screen. Revealing a node (search, jumps) loads only the children up to it along its
path.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from graphtui.core.scopes import ScopeEntry, ScopeTree
from graphtui.formats.visible import visible
from graphtui.tui.fmt import human_count

FIRST_CHUNK = 200
CHUNK = 1000


@dataclass
class _Loading:
    """Children of one scope and how many of them are in the tree."""

    entries: list[ScopeEntry]
    done: int = 0
    placeholder: TreeNode[ScopeEntry | None] | None = None
    scheduled: bool = False


class NodeTree(Tree[ScopeEntry | None]):
    """Scopes and nodes; each scope shows its node and parameter counts, each node its op."""

    BINDINGS = [
        Binding("n", "app.next_match", "Next match", id="next-match"),
        Binding("N", "app.previous_match", "Prev match", id="previous-match"),
        Binding("v", "app.view_value", "Value", id="view-value"),
        Binding("i", "app.model_overview", "Model overview", show=False, id="model-overview"),
        Binding("H", "app.op_histogram", "Op types", show=False, id="op-histogram"),
    ]

    def __init__(self, scopes: ScopeTree | None, *, id: str | None = None) -> None:
        super().__init__("graph", None, id=id)
        self.scopes = scopes
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self._loading: dict[int, _Loading] = {}
        self._positions: dict[str, dict[str, int]] = {}
        self.params_ready = False  # parameter counts need the variable table (a worker builds it)

    def on_mount(self) -> None:
        if self.scopes is not None:
            self._start(self.root, "")
            self.root.expand()
            self._load_more(self.root, upto=None, chunk=FIRST_CHUNK)
            if self.root.children:
                self.cursor_line = 0

    # -- labels ---------------------------------------------------------------------------------

    def _label(self, entry: ScopeEntry) -> Text:
        assert self.scopes is not None
        text = Text()
        if entry.is_scope:
            text.append(visible(entry.name) + "/", style="bold")
            params = slots = 0
            if self.params_ready:
                params = self.scopes.param_count(entry.path, kind="model")
                slots = self.scopes.param_count(entry.path, kind="slots")
            detail = f"  {human_count(entry.node_count)} nodes"
            if params:
                detail += f", {human_count(params)} params"
            if slots:
                detail += f" (+{human_count(slots)} slots)"
            if entry.op:
                text.append(f"  {visible(entry.op)}", style="italic")
            text.append(detail, style="dim")
        else:
            text.append(visible(entry.name))
            text.append(f"  {visible(str(entry.op))}", style="dim italic")
        return text

    def get_label_width(self, node: TreeNode[ScopeEntry | None]) -> int:
        return len(node.label) + 2  # cheap: the default renders every label

    # -- lazy children --------------------------------------------------------------------------

    def _start(self, node: TreeNode[ScopeEntry | None], path: str) -> _Loading:
        state = self._loading.get(node.id)
        if state is None:
            assert self.scopes is not None
            state = _Loading(self.scopes.children(path))
            self._loading[node.id] = state
        return state

    def _load_more(
        self, node: TreeNode[ScopeEntry | None], *, upto: int | None, chunk: int = CHUNK
    ) -> None:
        """Add children up to index ``upto`` (inclusive), or the next ``chunk`` of them."""
        state = self._loading[node.id]
        target = state.done + chunk if upto is None else max(upto + 1, state.done + chunk)
        stop = min(len(state.entries), target)
        if state.placeholder is not None:
            state.placeholder.remove()
            state.placeholder = None
        for entry in state.entries[state.done : stop]:
            label = self._label(entry)
            if entry.is_scope:
                node.add(label, entry)
            else:
                node.add_leaf(label, entry)
        state.done = max(state.done, stop)
        left = len(state.entries) - state.done
        if left > 0:
            state.placeholder = node.add_leaf(Text(f"… {left:,} more (loading)", style="dim"), None)
            if not state.scheduled:
                state.scheduled = True
                self.set_timer(0.01, lambda: self._continue(node))

    def _continue(self, node: TreeNode[ScopeEntry | None]) -> None:
        state = self._loading.get(node.id)
        if state is None:
            return
        state.scheduled = False
        if state.done < len(state.entries):
            self._load_more(node, upto=None)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[ScopeEntry | None]) -> None:
        node = event.node
        entry = node.data
        if entry is None or node.id in self._loading:
            return
        self._start(node, entry.path)
        self._load_more(node, upto=None, chunk=FIRST_CHUNK)

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

    def loaded_all(self) -> bool:
        """True when no expanded scope still has children to add."""
        return all(s.done >= len(s.entries) for s in self._loading.values())

    # -- revealing ------------------------------------------------------------------------------

    def _position(self, scope: str, path: str) -> int:
        positions = self._positions.get(scope)
        if positions is None:
            assert self.scopes is not None
            positions = {e.path: i for i, e in enumerate(self.scopes.children(scope))}
            self._positions[scope] = positions
        return positions[path]

    def find(self, path: str) -> TreeNode[ScopeEntry | None] | None:
        """The tree node of scope or node ``path``, expanding and loading its ancestors."""
        if self.scopes is None or not path:
            return None
        node = self.root
        scope = ""
        for part_path in ScopeTree.ancestors(path):
            if node is not self.root and not node.is_expanded:
                self._start(node, scope)
                node.expand()
            state = self._start(node, scope)
            try:
                index = self._position(scope, part_path)
            except KeyError:
                return None
            if index >= state.done:
                self._load_more(node, upto=index, chunk=FIRST_CHUNK)
            node = node.children[index]
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
