"""Textual's footer, rebuilt only when the keys it shows change.

Textual's ``Footer`` recomposes on every bindings signal (a tab switch sends three: the tab,
the focus, the app's ``refresh_bindings``), and each rebuild mounts one ``FooterKey`` per
binding whose ``compact`` reactive restyles it twice (default ``True``, then the data-bound
``False``). That was a third of a tab switch's time on the 50k-node graph (bench/tui_bench.py).
This footer draws the same keys with the same widgets, so screens look the same, but updates
once per real change, in the key widgets it has, and creates each key already in its final
style. Keys not needed now are hidden, not removed, and shown again by a later switch: a mount
or a removal completes after the switch's frame and lays the screen out again in one more
frame (~25 ms more of every switch between panes with different numbers of keys).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

_KeyRow = tuple[Binding, bool, str]


class _Key(FooterKey):
    """A footer key created with its final ``compact`` value (no restyle after mount)."""

    def __init__(self, *args: object, compact: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.set_reactive(FooterKey.compact, compact)
        self.set_class(compact, "-compact", update=False)

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # A key's width follows its text: a tab switch that changes a key's description makes
        # the screen's layout pass give it a new size, and Textual then sets the key's
        # ``virtual_size``, a Reactive(layout=True), which asks for the whole screen to be laid
        # out again: a second layout and frame ~25-45 ms after the switch's, laying out nothing
        # new (a key has no children, no scrollbars and nothing watching its virtual size)
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class LeanFooter(Footer):
    """The key bar; same look as Textual's ``Footer``, recomposed only when its keys change."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: object = None  # the key rows of the last compose
        self._pending = False

    def watch_compact(self, compact: bool) -> None:
        for key in self.query(_Key).exclude(".-command-palette"):
            key.compact = compact

    def _rows(self) -> tuple[list[list[_KeyRow]], _KeyRow | None]:
        """The bindings to show grouped by action, and the command palette's key."""
        active = self.screen.active_bindings
        by_action: defaultdict[str, list[_KeyRow]] = defaultdict(list)
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                palette = (found[1], found[2], found[3])
        return list(by_action.values()), palette

    def _signature(self) -> object:
        rows, palette = self._rows()
        first = [r[0] for r in rows]
        keys = [(b.key, b.description, b.action, b.group, on, tip) for b, on, tip in first]
        return keys, palette and (palette[0].key, palette[1]), self.compact

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True  # the signals of one switch coalesce into one check
            self.call_later(self._show_keys)

    async def _show_keys(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        signature = self._signature()
        if signature == self._shown:
            return
        if not await self._update_keys(signature):
            await self.recompose()

    async def _update_keys(self, signature: object) -> bool:
        """Show the new keys in the key widgets there are (a tab switch changes a few of
        them), hiding the ones not needed, mounting only keys never made; False when only a new compose can
        (binding groups, or the palette key changed)."""
        rows, palette = self._rows()
        keys = [k for k in self.children if isinstance(k, _Key)]
        palette_key = keys.pop() if keys and keys[-1].has_class("-command-palette") else None
        if (
            not isinstance(self._shown, tuple)
            or not isinstance(signature, tuple)
            or self._shown[1:] != signature[1:]  # the palette key or the style
            or (palette is None) != (palette_key is None)
            or len(keys) + (palette_key is not None) != len(self.children)
            or any(multi[0][0].group is not None for multi in rows)
        ):
            return False
        self.styles.grid_size_columns = len(rows)
        new = [self._key(*multi[0], compact=self.compact) for multi in rows[len(keys) :]]
        for key, multi in zip(keys, rows, strict=False):
            binding, enabled, tooltip = multi[0]
            key.display = True
            key.key = binding.key
            key.key_display = self.app.get_key_display(binding)
            key.description = binding.description
            key.action = binding.action
            key._disabled = not enabled
            key.set_class(not enabled, "-disabled")
            key.tooltip = tooltip or None
            key.refresh(layout=True)
        self._shown = signature
        for spare in keys[len(rows) :]:
            spare.display = False  # kept for a later switch: hidden in this layout pass
        for child in self.children:
            child._check_refresh()
        if new:
            await self.mount_all(new, before=palette_key)
        return True

    def _key(self, binding: Binding, enabled: bool, tooltip: str, *, compact: bool) -> _Key:
        """The footer key of one binding (as Textual's footer makes it)."""
        return _Key(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip,
            compact=compact,
        )

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._shown = self._signature()
        rows, palette = self._rows()
        compact = self.compact
        self.styles.grid_size_columns = len(rows)
        for group, grouped in groupby(rows, lambda multi: multi[0][0].group):
            multi_rows = list(grouped)
            if group is not None and len(multi_rows) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for multi in multi_rows:
                        binding, enabled, tooltip = multi[0]
                        yield _Key(
                            binding.key,
                            self.app.get_key_display(binding),
                            "",
                            binding.action,
                            disabled=not enabled,
                            tooltip=tooltip or binding.description,
                            classes="-grouped",
                            compact=compact,
                        )
                yield FooterLabel(group.description)
            else:
                for multi in multi_rows:
                    yield self._key(*multi[0], compact=compact)
        if palette is not None:
            binding, enabled, tooltip = palette
            yield _Key(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
                compact=True,  # Textual's footer does not bind this key's style either
            )
