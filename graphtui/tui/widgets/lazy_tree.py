"""One lazy tree for every tree of the app: children are built when a branch expands, in chunks.

A branch's children are listed (``lazy_items``) when it first expands and added ``CHUNK`` at a
time behind a "… N more" row, so a scope of 50,000 nodes or a list of 10,000 objects never
blocks the screen. Two ways to go on, chosen per tree:

* ``AUTO_LOAD``: the first ``FIRST_CHUNK`` children appear at once and the rest follow on later
  event-loop turns ("… N more (loading)") up to ``AUTO_LIMIT``; beyond it, a chunk is added when
  the "… N more" row is drawn, i.e. scrolled into view (a scope of 166,670 nodes: every chunk
  makes Textual's ``Tree`` index all its lines again, so loading all of them would take the UI
  thread for minutes): the graph tree, collections;
* on demand: each Enter on the "… N more (Enter)" row adds the next chunk: objects, functions.

Revealing a child (search, links) loads only up to it (``child_at``). Adding a chunk repaints
the tree once, not once per child (Textual's ``Tree`` invalidates its line index on each add).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from graphtui.formats.gc_paused import gc_paused
from graphtui.tui.warm_up import freeze_alive

FREEZE_AFTER = 1000  # children added at once that are frozen out of the collector's way
FIRST_CHUNK = 200  # children shown at once when a branch of an auto-loading tree expands
CHUNK = 1000  # children added per step: a later event-loop turn, or Enter on the "more" row
AUTO_LIMIT = 10_000  # children an auto-loading branch adds on its own; then as they come in view

TREE_COMPONENTS = sorted(Tree.COMPONENT_CLASSES)  # what a line's drawing is styled with
DataT = TypeVar("DataT")
ItemT = TypeVar("ItemT")


@dataclass
class Pending(Generic[ItemT]):
    """The children of one expanded branch and how many of them are in the tree."""

    items: Sequence[ItemT]
    done: int = 0
    more: TreeNode[object] | None = field(default=None, repr=False)  # the "… N more" row
    scheduled: bool = False  # an auto-load step is waiting for its timer
    parked: bool = False  # past AUTO_LIMIT: the next chunk waits for the "more" row to be drawn


class LazyTree(Tree[DataT], Generic[DataT, ItemT]):
    """A ``Tree`` whose branches list their children lazily (see the module docstring).

    Subclasses say what a branch lists (``lazy_items``) and how one child is added
    (``add_item``); the base adds them in chunks and keeps the "more" row.
    """

    AUTO_LOAD: ClassVar[bool] = False
    # the tree's lines live as long as its workspace (never cleared): a chunk of FREEZE_AFTER
    # or more is added with the collector paused, then frozen (see warm_up.freeze_alive)
    FREEZE_BIG_CHUNKS: ClassVar[bool] = False

    def __init__(self, label: str, data: DataT | None = None, *, id: str | None = None) -> None:
        super().__init__(label, data, id=id)
        self._loading: dict[int, Pending[ItemT]] = {}
        self._adding = False  # inside a chunk: repaint once at its end
        self._stale = False
        self._looks: dict[object, tuple[Style, ...]] = {}  # pseudo-class state -> its styles
        self._sized: tuple[Size, Size] | None = None  # the last resize's size, virtual size
        self._parked: dict[int, TreeNode[DataT]] = {}  # "more" row id -> its branch (parked)

    # -- what subclasses define -----------------------------------------------------------------

    def lazy_items(self, node: TreeNode[DataT]) -> Sequence[ItemT] | None:
        """The children ``node`` lists when it expands; None: not a lazy branch."""
        return None

    def add_item(self, parent: TreeNode[DataT], item: ItemT) -> TreeNode[DataT]:
        """Add the line of ``item`` under ``parent`` (a branch or a leaf)."""
        raise NotImplementedError

    def more_data(self, parent: TreeNode[DataT]) -> DataT | None:
        """The data of ``parent``'s "… N more" row (None unless a pane needs to recognise it)."""
        return None

    # -- loading --------------------------------------------------------------------------------

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[DataT]) -> None:
        if event.node.id not in self._loading:
            self.fill(event.node)

    def fill(self, node: TreeNode[DataT], items: Sequence[ItemT] | None = None) -> bool:
        """Start listing ``node``'s children (``items``, else ``lazy_items(node)``) with the
        first chunk; False when ``node`` is not a lazy branch. Listing twice does nothing."""
        if node.id in self._loading:
            return True
        if items is None:
            items = self.lazy_items(node)
            if items is None:
                return False
        self._loading[node.id] = Pending(items)
        self._load_more(node, upto=None, chunk=FIRST_CHUNK if self.AUTO_LOAD else CHUNK)
        return True

    def forget(self, node: TreeNode[DataT]) -> None:
        """Forget ``node``'s listing (its children are being removed): it lists again when it
        next expands."""
        state = self._loading.pop(node.id, None)
        if state is not None and state.more is not None:
            self._parked.pop(state.more.id, None)

    def reset_loading(self) -> None:
        """Forget every listing (the tree was cleared)."""
        self._loading.clear()
        self._parked.clear()

    def _load_more(
        self, node: TreeNode[DataT], *, upto: int | None = None, chunk: int = CHUNK
    ) -> None:
        """Add ``node``'s children up to index ``upto`` (inclusive), or the next ``chunk``."""
        state = self._loading[node.id]
        target = state.done + chunk if upto is None else max(upto + 1, state.done + chunk)
        stop = min(len(state.items), target)
        self._adding = True
        try:
            if state.more is not None:
                self._parked.pop(state.more.id, None)
                state.more.remove()
                state.more = None
            items = state.items[state.done : stop]
            freeze = self.FREEZE_BIG_CHUNKS and len(items) >= FREEZE_AFTER
            with gc_paused() if freeze else nullcontext():
                for item in items:
                    self.add_item(node, item)
            if freeze:
                freeze_alive()
            state.done = max(state.done, stop)
            left = len(state.items) - state.done
            if left > 0:
                state.parked = self.AUTO_LOAD and state.done >= AUTO_LIMIT
                how = "Enter" if not self.AUTO_LOAD else "loading"
                if state.parked:
                    how = "loaded as you scroll"
                row = Text(f"… {left:,} more ({how})", style="dim")
                state.more = node.add_leaf(row, self.more_data(node))  # type: ignore[assignment]
                if state.parked:
                    self._parked[state.more.id] = node  # type: ignore[union-attr]
                elif self.AUTO_LOAD and not state.scheduled:
                    state.scheduled = True
                    self.set_timer(0.01, self._continuation(node))
        finally:
            self._adding = False
            if self._stale:
                self._stale = False
                self._invalidate()

    def _continuation(self, node: TreeNode[DataT]) -> Callable[[], None]:
        def go_on() -> None:
            state = self._loading.get(node.id)
            if state is None:
                return  # the tree was cleared since
            state.scheduled = False
            if state.done < len(state.items):
                self._load_more(node, upto=None)

        return go_on

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        parked = self._parked
        if parked:  # a parked branch's "more" row drawn: add its next chunk (after this frame)
            lines = self._tree_lines
            branch = parked.pop(lines[y].node.id, None) if y < len(lines) else None
            if branch is not None:
                state = self._loading.get(branch.id)
                if state is not None and not state.scheduled:
                    state.scheduled = True
                    self.call_after_refresh(self._continuation(branch))
        return super()._render_line(y, x1, x2, base_style)

    def load_next(self, more_row: TreeNode[DataT]) -> None:
        """Enter on a "… N more" row: add the next chunk of its branch."""
        parent = more_row.parent
        if parent is not None and parent.id in self._loading:
            self._load_more(parent, upto=None)

    def child_at(self, node: TreeNode[DataT], index: int) -> TreeNode[DataT] | None:
        """The ``index``-th child of lazy branch ``node``, loading children up to it."""
        state = self._loading.get(node.id)
        if state is None or not 0 <= index < len(state.items):
            return None
        if index >= state.done:
            self._load_more(node, upto=index, chunk=FIRST_CHUNK)
        return node.children[index]

    def items_of(self, node: TreeNode[DataT]) -> Sequence[ItemT]:
        """The children ``node`` lists (loaded or not; empty before it expanded)."""
        state = self._loading.get(node.id)
        return () if state is None else state.items

    def loaded_all(self) -> bool:
        """True when no expanded branch still has children to add."""
        return all(s.done >= len(s.items) for s in self._loading.values())

    def append_child(
        self, parent: TreeNode[DataT], label: Text, data: DataT, *, branch: bool
    ) -> TreeNode[DataT]:
        """``parent.add(label, data)`` (``add_leaf`` unless ``branch``) for a child appended
        last, without the per-add work ``TreeNode.add`` does for an insert position (revealing
        the 5,000th child of a scope adds 4,800 children at once)."""
        node = TreeNode(self, parent, self._new_id(), label, data, expanded=False)
        node._allow_expand = branch
        self._tree_nodes[node._id] = node
        self._updates += 1
        parent._updates += 1
        parent._children.append(node)
        self._invalidate()
        return node

    def process_label(self, label: str | Text) -> Text:
        # Textual copies each label twice when a node is added (add, then TreeNode); a
        # one-line Text built for this tree is used as it is (Tree copies it to draw it)
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def notify_style_update(self) -> None:
        # Textual's Tree rebuilds its whole line index (every expanded node) and lays out again
        # when its style changes: on every focus change, as a tab switch or Tab focuses it.
        # The lines do not depend on the style. Their drawings are cached by pseudo-class state
        # (focus among them), so they are dropped only when the look of a state changed (a
        # theme): a tab switch blurs the tree and focuses it again, drawing every line again.
        super(Tree, self).notify_style_update()
        state = self.get_pseudo_class_state()
        try:
            look = (self.rich_style, *map(self.get_component_rich_style, TREE_COMPONENTS))
        except KeyError:  # the first styling, before the component styles exist
            self._looks.clear()
            self._line_cache.clear()
        else:
            known = self._looks.get(state)
            if known != look:
                if known is not None:
                    self._looks.clear()
                    self._line_cache.clear()
                self._looks[state] = look
        self.refresh()

    def _on_resize(self, event: events.Resize) -> None:
        # a pane shown again is resized to the size it had: Textual's Tree would drop every
        # drawn line, rebuild its line index (every expanded node) and lay out again
        sized = (event.size, event.virtual_size)
        if sized == self._sized:
            event.prevent_default()  # (Tree's handler is the only other one)
        self._sized = sized

    def _build(self) -> None:
        super()._build()
        # the lines' count decides whether the tree has a scrollbar: decided now, the screen's
        # next layout places it; decided in that layout (Textual's way), it asked for one more
        # layout and frame (a link that first makes the tree longer than its pane)
        if self.is_mounted and self.size:
            self._refresh_scrollbars()

    def _invalidate(self) -> None:
        # Textual's Tree rebuilds its line index and repaints after every add or remove; inside
        # a chunk, once at its end
        if self._adding:
            self._stale = True
            return
        super()._invalidate()
