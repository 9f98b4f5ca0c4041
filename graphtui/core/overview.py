"""What a model is, in one place: the facts ``saved_model_cli``, TensorBoard and Netron show
about a meta graph, and the global step of each checkpoint.

Read from the MetaGraphDef (``meta_info_def``, ``graph_def.versions``, ``saver_def``), the
graph's variables (parameter totals by kind, the optimizer from its slots and update ops) and
the checkpoints of the history. Nothing here reads a tensor except each checkpoint's
``global_step`` scalar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graphtui.errors import GraphtuiError

if TYPE_CHECKING:
    from graphtui.core.checkpoint import CheckpointReader
    from graphtui.core.graph import GraphIndex
    from graphtui.core.history import History

# SaverDef.CheckpointFormatVersion
SAVER_VERSIONS = {0: "LEGACY", 1: "V1", 2: "V2"}
# update op (without Resource / Sparse) -> the tf.compat.v1.train optimizer that emits it
_OPTIMIZER_OF_APPLY = {
    "ApplyAdam": "Adam",
    "ApplyAdaMax": "AdaMax",
    "ApplyMomentum": "Momentum",
    "ApplyKerasMomentum": "Momentum (Keras)",
    "ApplyRMSProp": "RMSProp",
    "ApplyCenteredRMSProp": "RMSProp (centered)",
    "ApplyAdagrad": "Adagrad",
    "ApplyAdagradV2": "Adagrad",
    "ApplyAdagradDA": "AdagradDA",
    "ApplyProximalAdagrad": "ProximalAdagrad",
    "ApplyAdadelta": "Adadelta",
    "ApplyFtrl": "Ftrl",
    "ApplyFtrlV2": "Ftrl",
    "ApplyGradientDescent": "GradientDescent",
    "ApplyProximalGradientDescent": "ProximalGradientDescent",
    "ApplyAddSign": "AddSign",
    "ApplyPowerSign": "PowerSign",
}
_APPLY = re.compile(r"^(?:Resource)?(?:Sparse)?(Apply\w+)$")


@dataclass(frozen=True)
class SaverFacts:
    """The graph's SaverDef, as ``tf.compat.v1.train.Saver`` wrote it."""

    version: str  # LEGACY, V1 or V2
    sharded: bool
    max_to_keep: int
    keep_checkpoint_every_n_hours: float
    filename_tensor_name: str
    save_tensor_name: str
    restore_op_name: str


@dataclass(frozen=True)
class StepFacts:
    """One checkpoint of the history and the global step saved in it."""

    name: str
    prefix: str
    step: int | None  # the saved global_step value (None: not saved, or unreadable)
    problem: str = ""  # why the value is missing


@dataclass(frozen=True)
class ModelOverview:
    """The facts of one meta graph and its checkpoints (see the module docstring)."""

    tensorflow_version: str
    tensorflow_git_version: str
    tags: tuple[str, ...]
    stripped_default_attrs: bool
    meta_graph_version: str
    producer: int
    min_consumer: int
    bad_consumers: tuple[int, ...]
    stripped_ops: tuple[str, ...]  # meta_info_def.stripped_op_list: the ops the graph uses
    nodes: int
    functions: int
    saver: SaverFacts | None
    optimizers: tuple[str, ...]  # from the update ops, else from slot names
    moving_average: bool  # ExponentialMovingAverage shadows are saved
    params_model: int
    params_slots: int
    params_other: int
    global_step: str | None  # the global step variable's checkpoint key
    steps: tuple[StepFacts, ...] = field(default=())


def optimizers_of(graph: GraphIndex) -> tuple[str, ...]:
    """The optimizers the graph trains with: from its update ops (``ResourceApplyAdam`` ->
    Adam), else from slot variable names (``w/Adam_1`` -> Adam)."""
    found: list[str] = []
    for op in graph.op_histogram():
        m = _APPLY.match(op)
        if m is not None:
            name = _OPTIMIZER_OF_APPLY.get(m.group(1), m.group(1)[len("Apply") :])
            if name not in found:
                found.append(name)
    if found:
        return tuple(found)
    from graphtui.core.variables import VariableTable

    for var in VariableTable.of(graph).variables():
        if var.role == "slot" and var.slot_name:
            name = re.sub(r"_\d+$", "", var.slot_name.rsplit("/", 1)[-1])
            if name not in found:
                found.append(name)
    return tuple(found)


def _saver(meta: object) -> SaverFacts | None:
    if not meta.HasField("saver_def"):  # type: ignore[attr-defined]
        return None
    s = meta.saver_def  # type: ignore[attr-defined]
    return SaverFacts(
        version=SAVER_VERSIONS.get(int(s.version), str(s.version)),
        sharded=bool(s.sharded),
        max_to_keep=int(s.max_to_keep),
        keep_checkpoint_every_n_hours=float(s.keep_checkpoint_every_n_hours),
        filename_tensor_name=str(s.filename_tensor_name),
        save_tensor_name=str(s.save_tensor_name),
        restore_op_name=str(s.restore_op_name),
    )


def global_steps(
    history: History | None, key: str | None, reader_of: Callable[[str], CheckpointReader]
) -> tuple[StepFacts, ...]:
    """The saved ``key`` (the global step) of every checkpoint of ``history``, by step."""
    if history is None:
        return ()
    out: list[StepFacts] = []
    for rec in history.by_step():
        if not rec.complete:
            out.append(StepFacts(rec.name, rec.prefix, None, rec.problem or "missing"))
            continue
        if key is None:
            out.append(StepFacts(rec.name, rec.prefix, None, "no global step variable"))
            continue
        try:
            reader = reader_of(rec.prefix)
            if not reader.has_tensor(key):
                out.append(StepFacts(rec.name, rec.prefix, None, f"{key} not saved"))
                continue
            value = reader.get_tensor(key)
            out.append(StepFacts(rec.name, rec.prefix, int(value)))
        except (GraphtuiError, TypeError, ValueError) as exc:
            out.append(StepFacts(rec.name, rec.prefix, None, str(exc)))
    return tuple(out)


def model_overview(
    graph: GraphIndex,
    history: History | None = None,
    reader_of: Callable[[str], CheckpointReader] | None = None,
) -> ModelOverview:
    """The overview of ``graph`` (a meta graph) and the checkpoints of ``history``, whose
    readers ``reader_of(prefix)`` gives (a workspace's :meth:`reader`)."""
    from graphtui.core.scopes import ScopeTree
    from graphtui.core.variables import VariableTable

    meta = graph.meta_graph_header  # header fields only: the nodes stay undecoded
    info = meta.meta_info_def
    versions = meta.graph_def.versions
    scopes = ScopeTree.of(graph)
    step_var = next(
        (v for v in VariableTable.of(graph).variables() if v.role == "global_step"), None
    )
    key = step_var.checkpoint_key if step_var is not None else None
    steps = global_steps(history, key, reader_of) if reader_of is not None else ()
    return ModelOverview(
        tensorflow_version=str(info.tensorflow_version),
        tensorflow_git_version=str(info.tensorflow_git_version),
        tags=tuple(info.tags),
        stripped_default_attrs=bool(info.stripped_default_attrs),
        meta_graph_version=str(info.meta_graph_version),
        producer=int(versions.producer),
        min_consumer=int(versions.min_consumer),
        bad_consumers=tuple(int(v) for v in versions.bad_consumers),
        stripped_ops=tuple(sorted(op.name for op in info.stripped_op_list.op)),
        nodes=len(graph),
        functions=len(meta.graph_def.library.function),
        saver=_saver(meta),
        optimizers=optimizers_of(graph),
        moving_average=any(v.role == "ema" for v in VariableTable.of(graph).variables()),
        params_model=scopes.param_count(kind="model"),
        params_slots=scopes.param_count(kind="slots"),
        params_other=scopes.param_count(kind="other"),
        global_step=key,
        steps=steps,
    )
