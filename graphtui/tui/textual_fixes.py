"""A guard around one Textual 8.2.8 bug that a fast typist hits (Textual is pinned exactly).

``OptionList`` page up / page down index its line cache before the list has been laid out (a
list with no size yet: the command palette's results while they arrive, a details pane on a tab
not drawn yet) and raise ``KeyError``, which ends the app. Until the list has lines, the key
does nothing. Check again (and drop this module) when Textual is upgraded.
"""

from __future__ import annotations

from textual.widgets import OptionList

_move_page = OptionList._move_page


def _safe_move_page(self: OptionList, direction: int) -> None:
    if self.highlighted is not None and self.highlighted not in self._index_to_line:
        return  # not laid out yet
    _move_page(self, direction)  # type: ignore[arg-type]


OptionList._move_page = _safe_move_page  # type: ignore[method-assign]
