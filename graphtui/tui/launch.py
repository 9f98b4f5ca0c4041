"""``graphtui [PATH]``: the workspace opens in a thread while the app's modules are imported.

Importing Textual and the panes takes ~0.3 s, and reading and scanning a big graph about as long;
the first screen needs both. Started together, they overlap where the opening lets go of the GIL
(file reads, numpy's bulk loops, a C scanner); pure Python on either side still runs one at a
time, so on a small graph this changes nothing. This module imports neither Textual nor the app:
it is what runs before them.
"""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphtui.core.workspace import Workspace


class Opening:
    """``open_workspace(path)`` running in a thread; :meth:`result` waits for it."""

    def __init__(self, path: str | None) -> None:
        # imported here, before the thread starts: two threads importing the same modules at
        # once can see one another's half-initialised modules
        from graphtui.core.workspace import open_workspace

        self._open = open_workspace
        self._path = path
        self._workspace: Workspace | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="graphtui-open", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._workspace = self._open(self._path)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._error = exc

    def result(self) -> Workspace:
        """The workspace, or the error opening it raised (in the caller's thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._workspace is not None
        return self._workspace


def launch(path: str | None) -> int:
    """Open ``path`` (None: the bundled demo) in the app while the app is imported; the exit
    code. An unreadable path is one line on stderr (exit code 1), before any screen opens.

    The cyclic collector waits until the workspace is open: start-up makes ~100,000 objects
    that live as long as the app (modules, classes, Textual, the graph's index with its lists of
    a million names) and little garbage, and the collector's full passes over them during the
    imports and the first frame cost ~45-65 ms of CPU on a 1,000,000-node graph. They are frozen
    then (out of the way of later passes, as the warm-up freezes its indexes;
    ``switch_workspace`` unfreezes what a closed workspace leaves) and collecting resumes."""
    gc.disable()
    try:
        opening = Opening(path)
        from graphtui.tui.app import run_app

        def opened() -> Workspace:
            try:
                return opening.result()
            finally:
                gc.freeze()
                gc.enable()

        return run_app(path, opened=opened)
    finally:
        gc.enable()
