"""A workspace: what one path gives, joined: a graph, a checkpoint history and an active checkpoint.

:func:`open_workspace` asks :func:`~graphtui.core.locate.locate` what the path names (a ``.meta``
file, a checkpoint prefix or one of its files, a directory or a SavedModel) and opens what belongs
with it. The workspace is the small facade the CLI and the app ask; the answers live beside it:
lazy values in :mod:`~graphtui.core.values`, statistics and diffs in :mod:`~graphtui.core.stats`,
the variable join in :mod:`~graphtui.core.join`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING

import numpy as np

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.history import History, scan_history
from graphtui.core.join import (
    NAME_BASED_STRIP,
    VariableRow,
    join_variables,
    looks_like_slot,
    strip_patterns,
)
from graphtui.core.locate import locate
from graphtui.core.stats import (
    HISTOGRAM_BINS,
    Cancelled,
    DiffRow,
    OperationCancelled,
    Progress,
    SideBySide,
    TensorStats,
    compute_stats,
    diff_checkpoints,
    diff_values,
    side_by_side,
)
from graphtui.core.values import CHUNK_ELEMENTS, TensorArray, TensorValue, iter_blocks
from graphtui.errors import CoreError, GraphtuiError, NotFoundError
from graphtui.formats import storage

if TYPE_CHECKING:
    from graphtui.core.graph import GraphIndex
    from graphtui.core.objects import ObjectGraph
    from graphtui.core.savedmodel import MetaGraphInfo, SavedModelInfo, Signature

__all__ = [  # the facade, and what callers imported from here before the split
    "CHUNK_ELEMENTS",
    "HISTOGRAM_BINS",
    "NAME_BASED_STRIP",
    "DiffRow",
    "OperationCancelled",
    "SideBySide",
    "TensorArray",
    "TensorStats",
    "TensorValue",
    "VariableRow",
    "Workspace",
    "compute_stats",
    "diff_values",
    "iter_blocks",
    "looks_like_slot",
    "open_workspace",
    "side_by_side",
    "strip_patterns",
]


# -- the workspace --------------------------------------------------------------------------------


class Workspace:
    """Graph, history and active checkpoint found from one path (see :func:`open_workspace`)."""

    def __init__(
        self,
        path: str,
        *,
        graph: GraphIndex | None = None,
        meta_path: str | None = None,
        history: History | None = None,
        active: str | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.path = path
        self.graph = graph
        self.meta_path = meta_path
        self.history = history
        self.warnings: list[str] = list(warnings or [])
        self._readers: dict[str, CheckpointReader] = {}
        self.active: CheckpointReader | None = None
        self._variables: list[VariableRow] | None = None
        self._joins = 0  # bumped when the join is forgotten: a join made meanwhile is stale
        self._joins_lock = threading.Lock()
        self._objects: ObjectGraph | GraphtuiError | None = None
        self._objects_of: CheckpointReader | None = None  # the reader _objects was read from
        self.saved_model: SavedModelInfo | None = None
        self.meta_graph: MetaGraphInfo | None = None  # the SavedModel's chosen meta graph
        self.variables_problem: str | None = None  # why a SavedModel's variables do not read
        self._links: tuple[tuple[object, object], dict[str, str]] | None = None
        # why the checkpoint that should give the values does not (fully) read; None when fine
        self.checkpoint_problem: str | None = None
        # (prefix, key) -> why: tensors whose stored checksum failed when they were read
        self.corrupt: dict[tuple[str, str], str] = {}
        if active is not None:
            self.set_active(active)

    # -- SavedModels ----------------------------------------------------------------------------

    def use_saved_model(self, model: SavedModelInfo, tags: str | None = None) -> None:
        """Show SavedModel ``model``: its meta graph ``tags`` (default: ``serve``, else the only
        one) as the graph, its ``variables/variables`` as the active checkpoint. Variables that
        are missing or do not read become :attr:`variables_problem` (and a warning)."""
        self.saved_model = model
        self.select_tag_set(tags)
        self.variables_problem = None
        if model.has_variables:
            try:
                self.set_active(model.variables_prefix)
            except GraphtuiError as exc:
                self.variables_problem = str(exc)
        elif model.expects_variables():
            self.variables_problem = (
                f"{model.variables_prefix}.index: no such file: the SavedModel's variables "
                "are missing"
            )
        if self.variables_problem:
            self.warnings.append(self.variables_problem)

    @property
    def tag_sets(self) -> list[str]:
        """The SavedModel's tag-sets (``"serve"``, ``"train,gpu"``); empty for other sources."""
        return [] if self.saved_model is None else [m.tag_set for m in self.saved_model.meta_graphs]

    @property
    def tag_set(self) -> str | None:
        return None if self.meta_graph is None else self.meta_graph.tag_set

    def select_tag_set(self, tags: str | None = None) -> MetaGraphInfo:
        """Make meta graph ``tags`` the graph shown (None: ``serve``, else the first one)."""
        model = self.saved_model
        if model is None:
            raise CoreError(f"{self.path}: not a SavedModel: no tag-sets to choose from")
        if tags is None:
            try:
                chosen = model.meta_graph(None)
            except NotFoundError:
                chosen = model.meta_graphs[0]
        else:
            chosen = model.meta_graph(tags)
        self.meta_graph = chosen
        self.graph = chosen.graph
        self._forget_variables()
        return chosen

    @property
    def signatures(self) -> list[Signature]:
        """The chosen meta graph's signatures (empty when this is no SavedModel)."""
        return [] if self.meta_graph is None else self.meta_graph.signatures

    # -- TF2 object graph -----------------------------------------------------------------------

    @property
    def has_objects(self) -> bool:
        """True when the active checkpoint is object-based (has ``_CHECKPOINTABLE_OBJECT_GRAPH``)."""
        from graphtui.core.objects import OBJECT_GRAPH_KEY

        return self.active is not None and self.active.has_tensor(OBJECT_GRAPH_KEY)

    @property
    def objects(self) -> ObjectGraph | None:
        """The active checkpoint's object graph, decoded on first use (None when the checkpoint is
        name-based or there is none); an object graph that does not decode raises its error."""
        if self._objects_of is not self.active or self._objects is None:
            self._objects_of = self.active
            self._objects = None
            if self.active is not None and self.has_objects:
                from graphtui.core.objects import load_object_graph

                try:
                    self._objects = load_object_graph(self.active)
                except GraphtuiError as exc:
                    self._objects = exc
        if isinstance(self._objects, GraphtuiError):
            raise self._objects
        return self._objects

    def _objects_or_none(self) -> ObjectGraph | None:
        try:
            return self.objects
        except GraphtuiError as exc:
            message = str(exc)
            if message not in self.warnings:
                self.warnings.append(message)
            return None

    def object_links(self) -> dict[str, str]:
        """TF2 SavedModel: graph variable node -> checkpoint key, joined through the object
        graph (the SavedObjectGraph and the checkpoint's object graph share node ids)."""
        if self._links is not None and self._links[0] == (self.meta_graph, self.active):
            return self._links[1]
        objects = self._objects_or_none()
        links: dict[str, str] = {}
        self._links = ((self.meta_graph, self.active), links)
        if self.meta_graph is None or objects is None or self.graph is None:
            return links
        for saved in self.meta_graph.saved_objects():
            if saved.kind != "variable" or not saved.variable_name:
                continue
            if saved.node_id >= len(objects) or saved.variable_name not in self.graph:
                continue
            attr = objects.nodes[saved.node_id].value_attribute
            if attr is not None:
                links[saved.variable_name] = attr.checkpoint_key
        return links

    def checkpoint_key_of(self, node: str) -> str | None:
        """The checkpoint key graph variable ``node`` is saved under (None: not a variable)."""
        from graphtui.core.variables import VariableTable

        if self.graph is None:
            return None
        linked = self.object_links().get(node)
        if linked is not None:
            return linked
        table = VariableTable.of(self.graph)
        return table.get(node).checkpoint_key if node in table else None

    # -- checkpoints ----------------------------------------------------------------------------

    def reader(self, prefix: str) -> CheckpointReader:
        """A reader of checkpoint ``prefix`` (opened once, kept)."""
        key = storage.abspath(prefix)
        got = self._readers.get(key)
        if got is None:
            got = self._readers[key] = CheckpointReader(prefix)
        return got

    def set_active(self, prefix: str) -> CheckpointReader:
        """Make checkpoint ``prefix`` the one values, statistics and variables come from.

        A checkpoint whose index does not read raises; one whose data shards are missing
        becomes active with :attr:`checkpoint_problem` saying which."""
        self.active = self.reader(prefix)
        missing = self.active.missing_files()
        self.checkpoint_problem = (
            f"{os.path.basename(missing[0])}: missing shard "
            f"({len(missing)} of {len(self.active.files()) - 1} data files not found)"
            if missing
            else None
        )
        self._forget_variables()  # after what the join reads is set (a worker may be joining)
        return self.active

    def set_unreadable(self, problem: str) -> None:
        """No checkpoint gives values: ``problem`` says why (shown, never a silent fallback)."""
        self.active = None
        self.checkpoint_problem = problem
        self._forget_variables()

    def rescan_history(self) -> list[str] | None:
        """Scan the history's directory again (as ``checkpoints_iterator`` polls it). None when
        nothing changed (the history object stays); else the prefixes of checkpoints that
        appeared, the history replaced whole (a reader on another thread sees old or new)."""
        if self.history is None:
            return None
        old = self.history
        fresh = scan_history(old.directory)

        def shape(h: History) -> list[tuple[object, ...]]:
            return [(r.prefix, tuple(r.files), r.complete, r.latest, r.in_state) for r in h.records]

        if shape(fresh) == shape(old):
            return None
        before = {r.prefix for r in old.records}
        self.history = fresh
        return [r.prefix for r in fresh.records if r.prefix not in before]

    def mark_corrupt(self, prefix: str, key: str, why: str) -> None:
        """Remember that tensor ``key`` of ``prefix`` failed its checksum."""
        self.corrupt[(os.path.normpath(prefix), key)] = why

    def corrupt_reason(self, key: str | None, prefix: str | None = None) -> str | None:
        """Why tensor ``key`` (of ``prefix``, default the active checkpoint) is corrupt, if it is."""
        where = prefix or self.active_prefix
        if key is None or where is None:
            return None
        return self.corrupt.get((os.path.normpath(where), key))

    @property
    def active_prefix(self) -> str | None:
        return None if self.active is None else self.active.prefix

    def tensor(self, key: str, prefix: str | None = None) -> TensorValue:
        """Lazy access to tensor ``key`` of ``prefix`` (default: the active checkpoint)."""
        reader = self.reader(prefix) if prefix is not None else self.active
        if reader is None:
            raise NotFoundError(f"{self.path}: no checkpoint to read {key!r} from")
        if not reader.has_tensor(key):
            raise NotFoundError(f"{reader.prefix}: tensor {key!r} not found in checkpoint")
        return TensorValue(reader, key)

    def stats(
        self,
        key: str,
        *,
        prefix: str | None = None,
        bins: int = HISTOGRAM_BINS,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        max_elements: int = CHUNK_ELEMENTS,
    ) -> TensorStats:
        """Statistics of tensor ``key`` (see :func:`compute_stats`)."""
        return compute_stats(
            self.tensor(key, prefix),
            bins=bins,
            progress=progress,
            cancelled=cancelled,
            max_elements=max_elements,
        )

    def diff(
        self,
        prefix_a: str,
        prefix_b: str,
        *,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        max_elements: int = CHUNK_ELEMENTS,
    ) -> list[DiffRow]:
        """Every tensor of two checkpoints compared, biggest relative change first."""
        return diff_checkpoints(
            self.reader(prefix_a),
            self.reader(prefix_b),
            progress=progress,
            cancelled=cancelled,
            max_elements=max_elements,
        )

    def export_npy(self, key: str, path: str | os.PathLike[str], prefix: str | None = None) -> str:
        """Write tensor ``key`` to a ``.npy`` file atomically; returns the path written. The
        file loads with plain numpy (see :func:`graphtui.core.export_npy.npy_array`)."""
        from graphtui.core.export_npy import npy_array
        from graphtui.formats.atomic import atomic_writer

        value = self.tensor(key, prefix)
        value.verify()
        arr, pickle = npy_array(value.whole(), value.dtype)
        out = os.fspath(path)
        with atomic_writer(out, "wb") as f:
            np.save(f, arr, allow_pickle=pickle)
        return out

    # -- variables ------------------------------------------------------------------------------

    def variables(self) -> list[VariableRow]:
        """Variables of the graph joined with the active checkpoint's tensors (natural order).

        Made once per active checkpoint; the app makes it in a worker thread, so a join that
        another checkpoint's activation overtook is returned to its caller but not kept."""
        rows = self._variables
        if rows is None:
            joins = self._joins
            rows = join_variables(
                self.graph,
                self.active,
                self.object_links(),
                self._objects_or_none(),
                unreadable=self.active is None and self.checkpoint_problem is not None,
            )
            with self._joins_lock:
                if joins == self._joins:
                    self._variables = rows
        return list(rows)

    @property
    def variables_joined(self) -> bool:
        """:meth:`variables` returns at once (else it joins: ~0.2 s for 20,000 variables)."""
        return self._variables is not None

    def _forget_variables(self) -> None:
        with self._joins_lock:
            self._variables = None
            self._joins += 1

    def variable(self, name: str) -> VariableRow:
        for row in self.variables():
            if row.name == name or row.key == name:
                return row
        raise NotFoundError(f"{self.path}: no variable named {name!r}")

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for reader in self._readers.values():
            with contextlib.suppress(BufferError, OSError):
                reader.close()
        self._readers.clear()
        self.active = None
        self._objects = self._objects_of = None
        self._links = None
        if self.saved_model is not None:
            self.saved_model.close()
        if self.graph is not None:
            self.graph.close()


# -- opening --------------------------------------------------------------------------------------


def _load_graph(meta: str) -> GraphIndex:
    from graphtui.core.graph import GraphIndex

    return GraphIndex.from_file(meta)


def _pick_active(history: History | None) -> tuple[str | None, str | None]:
    """(the checkpoint to make active, why the state file's latest cannot be it).

    The state file's latest checkpoint when it is complete; when it is missing or damaged,
    none (no silent fallback to another step: the problem names the others to pick from);
    with no state file, the newest complete checkpoint on disk."""
    if history is None:
        return None, None
    latest = history.latest
    if latest is not None:
        if latest.complete:
            return latest.prefix, None
        why = "no such files (missing)" if latest.missing else latest.problem
        return None, _latest_problem(history, latest.name, latest.prefix, why)
    complete = history.readable_others(None)
    return (complete[0].prefix if complete else None), None


def _latest_problem(history: History | None, name: str, prefix: str, why: str) -> str:
    """A checkpoint that should be active does not read: say why and what else there is."""
    latest = history.latest if history is not None else None
    what = " (the state file's latest)" if latest and latest.prefix == prefix else ""
    problem = f"{name}{what}: {why}"
    others = history.readable_others(prefix) if history is not None else []
    if others:
        names = ", ".join(r.name for r in others[:3]) + (", …" if len(others) > 3 else "")
        problem += f"; readable: {names} (History, 5: Enter opens one)"
    return problem


def _why(exc: GraphtuiError, prefix: str) -> str:
    """An open error without the path the message already names at its start."""
    text = str(exc)
    for path in (prefix + ".index", prefix):
        if text.startswith(path):
            return os.path.basename(path) + text[len(path) :]
    return text


def _history_of(directory: str, warnings: list[str]) -> History | None:
    try:
        hist = scan_history(directory)
    except GraphtuiError as exc:
        warnings.append(str(exc))
        return None
    if hist.state_error:
        warnings.append(hist.state_error)
    if not hist.records and hist.state_file is None:
        return None
    return hist


def open_workspace(path: str | os.PathLike[str] | None) -> Workspace:
    """Open what ``path`` names (None: the bundled demo) and find what belongs with it.

    * a ``.meta`` file: that graph, the checkpoint of the same prefix (else the directory's
      latest) and the directory's history;
    * a checkpoint prefix, ``.index`` or data file, or V1 file: that checkpoint active, the
      ``PREFIX.meta`` graph when present, the directory's history;
    * a directory: its history, the latest checkpoint active, and its ``.meta`` (the latest
      checkpoint's, else the newest ``.meta`` there);
    * a SavedModel directory (or its ``saved_model.pb`` / ``.pbtxt``): the meta graph tagged
      ``serve`` (else the first; :meth:`Workspace.select_tag_set` switches) as the graph, its
      ``variables/variables`` active (a problem with them is a warning), no history.

    An object-based (TF2) checkpoint also gives :attr:`Workspace.objects`.

    A graph or state file found beside the one asked for that cannot be read becomes a warning;
    what was asked for raises its error.
    """
    if path is None:
        from graphtui.demo import demo_path

        path = demo_path()
    raw = os.fspath(path)
    located = locate(raw)
    if located.kind == "saved_model":
        return _open_saved_model(raw, located.saved_model_dir or raw)
    warnings: list[str] = []
    graph: GraphIndex | None = None
    meta: str | None = None
    active: str | None = None
    history: History | None = None

    def beside_graph(candidate: str) -> None:
        nonlocal graph, meta
        try:
            graph = _load_graph(candidate)
            meta = candidate
        except GraphtuiError as exc:
            warnings.append(str(exc))

    directory = located.directory
    problem: str | None = None
    if located.kind == "directory":
        history = _history_of(directory, warnings)
        # the state file's latest when it reads; when it is missing or damaged, none (the
        # problem says so and names the others: no silent fallback)
        active, problem = _pick_active(history)
        latest = history.latest if history is not None else None
        wanted = active or (latest.prefix if latest is not None else None)
        if wanted is not None and storage.isfile(wanted + ".meta"):
            beside_graph(wanted + ".meta")
        elif located.meta is not None:
            beside_graph(located.meta)
        if history is None and graph is None:
            raise NotFoundError(f"{raw}: no checkpoint or .meta file in directory")
    elif located.kind == "meta":
        graph = _load_graph(raw)
        meta = raw
        history = _history_of(directory, warnings)
        active = located.prefix and storage.abspath(located.prefix)
        if active is None:
            active, problem = _pick_active(history)
    else:
        if not located.found and not storage.exists(raw):
            raise NotFoundError(f"{raw}: no such file, directory or checkpoint prefix")
        _fmt, prefix = located.checkpoint()
        active = storage.abspath(prefix)
        history = _history_of(directory, warnings)
        if located.meta is not None:
            beside_graph(located.meta)
    ws = Workspace(
        storage.abspath(raw),
        graph=graph,
        meta_path=meta,
        history=history,
        warnings=warnings,
    )
    if problem is not None:
        ws.set_unreadable(problem)
    elif active is not None:
        try:
            ws.set_active(active)
        except GraphtuiError as exc:
            if located.kind not in ("directory", "meta") and graph is None:
                raise  # a checkpoint alone that does not read: nothing to show
            name = os.path.relpath(active, directory)
            ws.set_unreadable(_latest_problem(history, name, active, _why(exc, active)))
    return ws


def _open_saved_model(raw: str, directory: str) -> Workspace:
    from graphtui.core.savedmodel import open_saved_model

    model = open_saved_model(raw)
    ws = Workspace(storage.abspath(directory))
    try:
        ws.use_saved_model(model)
    except BaseException:
        ws.close()
        raise
    return ws
