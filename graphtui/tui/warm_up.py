"""Building a big graph's indexes in a thread while the user types: the order of the steps and
how the thread shares the interpreter with the UI.

On a 1,000,000-node graph the steps take ~15 s of CPU (the variable table most of it), in a
thread that holds the GIL whenever it runs Python. Three things keep a key answered in well
under 100 ms meanwhile (bench/warmup_latency.py):

* a shorter switch interval while a warm-up runs (:func:`ui_first`): the UI thread waits for
  the GIL each time it wakes up (a key read, a frame written, the event loop's select), up to
  the interval each time; 5 ms by default, several times per key;
* the cyclic collector paused during the steps, and what they built frozen before it resumes:
  resumed as it was, its first full pass over the new objects held the GIL ~0.4 s (a frozen
  heap is left alone; a replaced workspace is collected by the next warm-up:
  :func:`workspace_closed`);
* every step checks for cancellation first (a workspace replaced meanwhile waits for the
  step in progress only).
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from graphtui.core.graph import GraphIndex
from graphtui.formats.gc_paused import gc_paused

__all__ = ["SWITCH_INTERVAL", "ui_first", "warm_up", "workspace_closed"]

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits for it

_lock = threading.Lock()
_running = 0  # warm-ups in progress (each screen has its own)
_saved = 0.0  # the interval before the first of them
_closed: list[weakref.ref[object]] = []  # workspaces replaced, not yet collected


@contextmanager
def ui_first() -> Iterator[None]:
    """A short switch interval while the block runs (the process's setting: restored when the
    last block that shortened it ends)."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved, SWITCH_INTERVAL))
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                sys.setswitchinterval(_saved)


def steps(graph: GraphIndex) -> list[Callable[[], object]]:
    """The warm-up's steps in their order. None of them decodes every node (a 1,000,000-node
    graph's messages cost ~5x its file): names, ops and inputs come from the wire-format scan,
    single nodes from a bounded cache. The order keeps the peak low: first the indexes that
    read every node's bytes (ops, consumers), then the file's bytes are let go (nodes are read
    back from the file when shown), then the natural order (search), the variable table,
    lowered names (search), collections by node and the top scopes' parameter counts (the
    natural order's sort keys and the variable table's VariableDefs are transient: made before
    the lasting indexes, they leave them their memory)."""
    from graphtui.core.collections import CollectionTable
    from graphtui.core.scopes import ScopeTree
    from graphtui.core.variables import VariableTable

    def param_counts() -> None:
        scopes = ScopeTree.of(graph)
        for entry in scopes.children(""):
            if entry.is_scope:
                scopes.param_count(entry.path, kind="model")
                scopes.param_count(entry.path, kind="slots")

    return [
        lambda: graph.consumers(graph.names[0]) if len(graph) else None,
        graph.release_node_bytes,  # the file's bytes (~290 MB of 1M nodes): read back
        graph.natural_names,
        lambda: VariableTable.of(graph),
        lambda: graph.search("\x00"),
        lambda: CollectionTable.of(graph).collections_of(""),
        param_counts,
    ]


def warm_up(graph: GraphIndex, cancelled: Callable[[], bool]) -> bool:
    """Build ``graph``'s indexes (in a worker thread); False when ``cancelled`` stopped it
    between two steps. Once built, everything alive is frozen out of the collector's way (a
    full pass over a 1M-node graph's indexes: ~0.5 s holding the GIL; ~90 ms of every other tab
    switch on a 50k-node graph)."""
    with ui_first(), gc_paused():  # millions of acyclic objects: the collector would rescan them
        for step in steps(graph):
            if cancelled():
                return False
            step()
        with _lock:
            if _closed:  # a replaced workspace, unreachable by now: freed, not frozen
                gc.collect()
                _closed[:] = [ref for ref in _closed if ref() is not None]
            if not _closed:
                gc.freeze()  # before the collector resumes: its first pass would scan all
    return True


def workspace_closed(ws: object) -> None:
    """``ws`` was replaced: unfreeze, so that its cycles (its graph index and the views cached
    on it) can be collected. Its screen may still be closing now: the next warm-up collects
    before it freezes, and does not freeze while ``ws`` is still alive (frozen, it would stay);
    without a warm-up to come, the collector's own passes free it."""
    with _lock:
        gc.unfreeze()
        _closed.append(weakref.ref(ws))
