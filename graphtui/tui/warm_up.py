"""Building a big graph's indexes in a thread while the user types: the order of the steps and
how the thread shares the interpreter with the UI.

On a 1,000,000-node graph the steps take ~15 s of CPU (the variable table most of it), in a
thread that holds the GIL whenever it runs Python. What keeps a key answered meanwhile
(bench/warmup_latency.py):

* the warm-up gives way to the UI for ``QUIET`` seconds after each key (:func:`give_way`:
  between its steps and before each node it reads back, which the variable table does ~every
  60 us of its work): it sleeps, so the UI has the GIL to itself; it goes on once keys stop;
* a shorter switch interval while a warm-up runs (:func:`ui_first`): the UI thread waits for
  the GIL each time it wakes up (a key read, a frame written, the event loop's select), up to
  the interval each time (5 ms by default, several times per key) where the warm-up does
  not give way (steps that read no nodes: the consumer index, the natural order);
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
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from graphtui.core.graph import GraphIndex
from graphtui.formats import node_bytes
from graphtui.formats.gc_paused import gc_paused

__all__ = [
    "QUIET",
    "SWITCH_INTERVAL",
    "freeze_alive",
    "give_way",
    "key_pressed",
    "ui_first",
    "warm_up",
    "workspace_closed",
]

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits for it
QUIET = 0.2  # seconds after a key during which a warm-up gives way to the UI
_NAP = 0.005  # one sleep of a warm-up giving way (the GIL is the UI's meanwhile)

_lock = threading.Lock()
_running = 0  # warm-ups in progress (each screen has its own)
_saved = 0.0  # the interval before the first of them
_warming: set[int] = set()  # the threads of the warm-ups in progress
_last_key = -QUIET  # time.monotonic() of the last key the app received
_closed: list[weakref.ref[object]] = []  # workspaces replaced, not yet collected


def key_pressed() -> None:
    """The app received a key: warm-ups give way for the next ``QUIET`` seconds."""
    global _last_key
    _last_key = time.monotonic()


def give_way() -> None:
    """In a warm-up's thread, sleep (the GIL free for the UI) until no key came for ``QUIET``
    seconds; anywhere else, return at once. Called between the warm-up's steps and, through
    :func:`node_bytes.set_pace`, before each node it reads back (~every 60 us of its work)."""
    if threading.get_ident() not in _warming:
        return
    while time.monotonic() - _last_key < QUIET:
        time.sleep(_NAP)


@contextmanager
def ui_first() -> Iterator[None]:
    """While the block runs in this thread: a short switch interval (the process's setting:
    restored when the last block that shortened it ends), and :func:`give_way` at every node
    read."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved, SWITCH_INTERVAL))
            node_bytes.set_pace(give_way)
        _running += 1
        _warming.add(threading.get_ident())
    try:
        yield
    finally:
        with _lock:
            _warming.discard(threading.get_ident())
            _running -= 1
            if _running == 0:
                sys.setswitchinterval(_saved)
                node_bytes.set_pace(None)


def steps(graph: GraphIndex) -> list[Callable[[], object]]:
    """The warm-up's steps in their order. None of them decodes every node (a 1,000,000-node
    graph's messages cost ~5x its file): names, ops and inputs come from the wire-format scan,
    single nodes from a bounded cache. The order keeps the peak low: first the indexes that
    read every node's bytes (ops, consumers), then the file's bytes are let go (nodes are read
    back from the file when shown), then the natural order (search), the variable table,
    lowered names (search), collections by node and the scopes' parameter counts (the
    natural order's sort keys and the variable table's VariableDefs are transient: made before
    the lasting indexes, they leave them their memory)."""
    from graphtui.core.collections import CollectionTable
    from graphtui.core.scopes import ScopeTree
    from graphtui.core.variables import VariableTable

    def param_counts() -> None:  # every scope's, both totals the details and the tree show
        scopes = ScopeTree.of(graph)
        scopes.param_count(kind="model")
        scopes.param_count(trainable_only=True, kind="model")

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
            give_way()
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


def freeze_alive() -> None:
    """Freeze what is alive now, as the warm-up does, after the UI made many lasting objects at
    once (a scope's 5,000 tree lines): the collector's next full passes would scan them again
    (~40 ms of the next link or tab switch). Not while a replaced workspace waits to be
    collected (frozen, it would stay)."""
    with _lock:
        _closed[:] = [ref for ref in _closed if ref() is not None]  # freed since
        if not _closed:
            gc.freeze()


def workspace_closed(ws: object) -> None:
    """``ws`` was replaced: unfreeze, so that its cycles (its graph index and the views cached
    on it) can be collected. Its screen may still be closing now: the next warm-up collects
    before it freezes, and does not freeze while ``ws`` is still alive (frozen, it would stay);
    without a warm-up to come, the collector's own passes free it."""
    with _lock:
        gc.unfreeze()
        _closed.append(weakref.ref(ws))
