"""Guards around Textual 8.2.8 (pinned exactly) for a fast typist and for hostile names.

The command palette searches in a worker that looks up its result list; when the palette is
dismissed while that worker starts (ctrl+p, a few letters and another key typed ahead; found by
the start-up key-storm fuzz target), the list is gone and ``NoMatches`` ends the app. A search
for a palette that no longer has its list now just stops.

``OptionList`` page up / page down index its line cache before the list has been laid out (a
list with no size yet: the command palette's results while they arrive, a details pane on a tab
not drawn yet) and raise ``KeyError``, which ends the app. Until the list has lines, the key
does nothing. A tab switch moves the tabs' underline in its own frame, and scrollbars are drawn
again only when they change (see below). Check again
(and drop this module) when Textual is upgraded.
"""

from __future__ import annotations

import rich.text
import textual.content
from textual import work
from textual.command import CommandList, CommandPalette
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from textual.widgets import Input, OptionList, Tabs
from textual.widgets._tabs import Underline

from graphtui.formats.visible import visible

_move_page = OptionList._move_page


def _safe_move_page(self: OptionList, direction: int) -> None:
    if self.highlighted is not None and self.highlighted not in self._index_to_line:
        return  # not laid out yet
    _move_page(self, direction)  # type: ignore[arg-type]


OptionList._move_page = _safe_move_page  # type: ignore[method-assign]

_gather_commands = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]


@work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
async def _safe_gather_commands(self: CommandPalette, search_value: str) -> None:
    try:
        await _gather_commands(self, search_value)
    except NoMatches:
        if self.query(CommandList):
            raise
        # the palette was dismissed while it searched: nothing to show the results in


CommandPalette._gather_commands = _safe_gather_commands  # type: ignore[method-assign]


# -- names with terminal escapes -------------------------------------------------------------------
# Rich's Text and Textual's Content strip only BEL, BS, VT, FF and CR from the text they are
# given; ESC, CSI and OSC sequences in a tensor, node or file name would reach the terminal
# (retitle it, clear the screen). Every text either builds is escaped instead, visibly, before
# its width is measured; newlines and tabs keep their layout meaning.


def _escape_controls(text: str, _translate_table: object = None) -> str:
    if text.isprintable():
        return text
    return "\n".join(
        "\t".join(visible(part) for part in line.split("\t")) for line in text.split("\n")
    )


rich.text.strip_control_codes = _escape_controls
textual.content._strip_control_codes = _escape_controls


# -- control characters in an input's value --------------------------------------------------------
# An Input holds the real text (a path to write to may hold a newline), which a one-line field
# cannot draw: a newline broke the dialog's layout. The value is drawn with each unprintable
# character as one cell (a control picture, ``␊``, else ``�``) so the cursor stays in step; the
# value itself is unchanged.
CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}

_input_value = Input._value


def _shown_input_value(self: Input) -> rich.text.Text:
    value = self.value
    if self.password or value.isprintable():
        return _input_value.fget(self)  # type: ignore[attr-defined]
    shown = "".join(c if c.isprintable() else CONTROL_PICTURES.get(ord(c), "\ufffd") for c in value)
    text = rich.text.Text(shown, no_wrap=True, overflow="ignore", end="")
    return text if self.highlighter is None else self.highlighter(text)


Input._value = property(_shown_input_value)  # type: ignore[method-assign,assignment]


# -- the tab underline, moved in the switch's own frame ----------------------------------------------
# Tabs moves its underline under the new tab after the next refresh (the tab's place is known
# once laid out): a tab switch drew one more frame for it, ~25 ms after the pane (the idle
# check saw the app busy that long). The tabs do not move when the pane switches, so without
# an animation the underline is set at once from where the tab was laid out; the call after the
# refresh still sets it (the same values: nothing drawn again) should the tab have moved.
_highlight_active = Tabs._highlight_active


def _highlight_active_at_once(self: Tabs, animate: bool = True) -> None:
    if not animate or self.app.animation_level == "none":
        try:
            tab = self.query_one("#tabs-list > Tab.-active")
            underline = self.query_one(Underline)
        except NoMatches:
            pass
        else:
            region = tab.virtual_region
            if region:
                start, end = region.shrink(tab.styles.gutter).column_span
                underline.show_highlight = True
                underline.highlight_start = start
                underline.highlight_end = end
    _highlight_active(self, animate)


Tabs._highlight_active = _highlight_active_at_once  # type: ignore[method-assign]


# -- scrollbars drawn again after every layout ---------------------------------------------------------
# Each screen layout gives every shown scroll view its size again, and ScrollView compares what
# it is given with what it keeps in other terms (its container size without the scrollbar, its
# content's virtual size), so a table or tree with a scrollbar updates its scrollbars after
# every layout, even unchanged, and asks for them to be drawn again. That request reaches the
# screen after the layout's frame: each tab switch drew one more frame for the scrollbars of the
# pane shown, ~20-25 ms later (the idle check saw the app busy until then). A scrollbar is now
# drawn again when its size or place changed (its reactives do that) or its style did.
def _scroll_update_when_changed(self: Widget, virtual_size: Size) -> None:
    self._refresh_scrollbars()
    width, height = self.container_size
    if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
        vertical = self.vertical_scrollbar
        vertical.window_virtual_size = virtual_size.height
        vertical.window_size = height - self.scrollbar_size_horizontal
    if self.show_horizontal_scrollbar and self.styles.scrollbar_size_horizontal:
        horizontal = self.horizontal_scrollbar
        horizontal.window_virtual_size = virtual_size.width
        horizontal.window_size = width - self.scrollbar_size_vertical
    self.scroll_x = self.validate_scroll_x(self.scroll_x)
    self.scroll_y = self.validate_scroll_y(self.scroll_y)


Widget._scroll_update = _scroll_update_when_changed  # type: ignore[method-assign]


# A scrollbar placed or resized by a layout sets its virtual size, a Reactive(layout=True): the
# whole screen was laid out again once more (a link that first gives the tree a scrollbar). A
# scrollbar has no children and nothing reads its virtual size; it is drawn at its new size.
def _scrollbar_size_updated(
    self: ScrollBar, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
) -> bool:
    return Widget._size_updated(self, size, virtual_size, container_size, layout=False)


ScrollBar._size_updated = _scrollbar_size_updated  # type: ignore[method-assign,assignment]
