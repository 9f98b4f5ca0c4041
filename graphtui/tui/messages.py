"""Messages the panes post instead of calling the app: the screen routes them between panes.

A pane says what the user asked for (``FollowLink(node)``: show that node); the
:class:`~graphtui.tui.screens.workspace.WorkspaceScreen` decides which pane shows it. Worker
progress is a :class:`Progress` message that replaces the one still queued (as toolong's
``ScanProgress``), posted at most every ``PROGRESS_INTERVAL`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

PROGRESS_INTERVAL = 0.1  # seconds between progress messages from a worker


@dataclass
class FollowLink(Message):
    """Show graph node ``node`` (Backspace returns); None: the thing selected has none."""

    node: str | None


@dataclass
class ShowValue(Message):
    """Open checkpoint tensor ``key`` (of ``prefix``; None: the active checkpoint) in tab 4."""

    key: str
    prefix: str | None = None


@dataclass
class ShowNodeValue(Message):
    """Open the value of graph node ``node``: its variable's tensor, or a Const's."""

    node: str


@dataclass
class ShowConst(Message):
    """Open the tensor of ``Const`` node ``node``."""

    node: str


@dataclass
class ShowFunction(Message):
    """Show library function ``name`` in tab 7."""

    name: str


@dataclass
class ShowCollection(Message):
    """Show collection ``key`` in tab 2."""

    key: str


@dataclass
class ShowGraphSummary(Message):
    """Show the model overview or the op types in the graph's details."""

    kind: Literal["overview", "op-types"]


@dataclass
class StepMatch(Message):
    """Move to the next (``step`` 1) or previous (-1) search match."""

    step: int


class GoBack(Message):
    """Return to the node shown before the last jump."""


class NextTagSet(Message):
    """Show the SavedModel's next tag-set."""


class BackKey:
    """Mixed into a pane's widget whose Backspace binding says ``go_back`` (a plain mixin: a
    Widget base here would shadow the widget's own class variables, COMPONENT_CLASSES...)."""

    PALETTE_ACTIONS = frozenset({"go_back"})  # the palette may run it unfocused

    def action_go_back(self) -> None:
        """Return to the node shown before the last jump."""
        if isinstance(self, MessagePump):
            self.post_message(GoBack())


@dataclass
class Progress(Message):
    """How far a pane's worker is (0..1); a newer one replaces one not handled yet."""

    fraction: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progress)


class ProgressPane:
    """Mixed into a pane whose thread workers post :class:`Progress` to it: its bar
    (``show_progress``) follows; a worker's error hides the bar and is shown in a dialog."""

    if TYPE_CHECKING:

        def show_progress(self, fraction: float | None) -> None: ...

    def on_progress(self, event: Progress) -> None:
        event.stop()
        self.show_progress(event.fraction)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and isinstance(self, MessagePump):
            from graphtui.tui.screens.dialogs import show_worker_error

            self.show_progress(None)
            show_worker_error(self.app, event.worker.error)


def progress_poster(pane: MessagePump) -> Callable[[float], None]:
    """A worker-side progress callback posting :class:`Progress` to ``pane`` at most every
    ``PROGRESS_INTERVAL`` seconds (``post_message`` is safe from a thread)."""
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            pane.post_message(Progress(fraction))

    return progress
