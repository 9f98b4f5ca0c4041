"""Optimizer state by name (core/slot_names.py, issue 12): one heuristic for the graph's
variables (core/variables.py) and for bare checkpoint keys (core/join.py), which used to keep
two lists that disagreed. The names are the ones TensorFlow gives: ``Optimizer._get_or_make_slot``
names a TF1 slot ``VAR/OPTIMIZER_NAME`` (a second slot ``_1``), Keras optimizers name theirs
``m``, ``v``, ``momentum``, ``rms``, ``accumulator``, ``linear``; TF2 object-based checkpoints put
``/.OPTIMIZER_SLOT/`` in a slot's key. tests/interop/test_slot_names_vs_tf.py checks them
against the files TensorFlow writes."""

from __future__ import annotations

import pytest

from graphtui._proto import pb
from graphtui.core.graph import GraphIndex
from graphtui.core.join import join_variables
from graphtui.core.slot_names import is_optimizer_state, looks_like_slot, slot_role
from graphtui.core.variables import VariableTable

# (name, what it is): TF1 optimizer slots, EMA shadows, Adam's beta powers, model weights
TF1_NAMES = [
    ("dense/kernel/Adam", "slot"),
    ("dense/kernel/Adam_1", "slot"),
    ("dense/kernel/Momentum", "slot"),
    ("dense/kernel/RMSProp", "slot"),
    ("dense/kernel/RMSProp_1", "slot"),
    ("dense/kernel/RMSProp_2", "slot"),
    ("dense/kernel/Adagrad", "slot"),
    ("dense/kernel/AdagradDA", "slot"),
    ("dense/kernel/ProximalAdagrad", "slot"),
    ("dense/kernel/Ftrl", "slot"),
    ("dense/kernel/Ftrl_1", "slot"),
    ("dense/kernel/Adadelta", "slot"),
    ("dense/kernel/Adadelta_1", "slot"),
    ("dense/kernel/AdamWeightDecay", "slot"),  # BERT's optimizer
    ("dense/kernel/AdamWeightDecay_1", "slot"),
    ("dense/kernel/LazyAdam", "slot"),
    ("dense/kernel/Nadam_1", "slot"),
    ("dense/kernel/momentum", "slot"),  # Keras optimizers in a TF1 graph
    ("dense/kernel/rms", "slot"),
    ("dense/kernel/accumulator", "slot"),
    ("dense/kernel/linear", "slot"),  # Keras Ftrl (tfx_chicago_history_2020 in realworld)
    ("dense/kernel/ExponentialMovingAverage", "ema"),
    ("dense/kernel/ExponentialMovingAverage_1", "ema"),
    ("dense/kernel/MovingAverage", "ema"),
    ("beta1_power", "optimizer"),
    ("beta2_power", "optimizer"),
    ("beta1_power_1", "optimizer"),  # a second Adam optimizer in one graph
    ("dense/kernel", "model"),
    ("dense/bias", "model"),
    ("dense/kernel/Adamant", "model"),  # a name that only starts like one
    ("dense/kernel/weights", "model"),
    ("global_step", "model"),
]


@pytest.mark.parametrize(("name", "what"), TF1_NAMES)
def test_checkpoint_keys_by_name(name: str, what: str) -> None:
    assert looks_like_slot(name) == (what != "model"), name


@pytest.mark.parametrize(
    "key",
    [
        # TF2 object-based checkpoints: Keras 2 (tf.keras) optimizers' slots
        "model/layer-1/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer-1/kernel/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer-1/kernel/.OPTIMIZER_SLOT/optimizer/vhat/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer-1/bias/.OPTIMIZER_SLOT/optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer-1/bias/.OPTIMIZER_SLOT/optimizer/rms/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer-1/bias/.OPTIMIZER_SLOT/optimizer/accumulator/.ATTRIBUTES/VARIABLE_VALUE",
        # Keras 3 keeps every optimizer variable under the optimizer
        "optimizer/_variables/1/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
    ],
)
def test_object_based_slot_keys(key: str) -> None:
    assert looks_like_slot(key)


@pytest.mark.parametrize(
    "key",
    [
        "model/layer-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
        "attention/v",  # a weight called v: Keras's short slot names need the variable above
        "encoder/m",
        "Adam",  # a bare name is no slot of anything
        "ExponentialMovingAverage",
    ],
)
def test_model_keys(key: str) -> None:
    assert not looks_like_slot(key)


def test_short_keras_names_count_under_a_variable_only() -> None:
    for rest in ("m", "v", "vhat", "mg", "accum_grad", "accum_var"):
        assert slot_role(rest, under_variable=True) == "slot"
        assert slot_role(rest, under_variable=False) is None
    assert slot_role("Adam_1", under_variable=False) == "slot"
    assert slot_role("ExponentialMovingAverage", under_variable=False) == "ema"
    assert slot_role("kernel", under_variable=True) is None
    assert is_optimizer_state("scope/beta2_power") and not is_optimizer_state("beta1")


def _graph(names: list[str]) -> GraphIndex:
    """Variables with no ops around them: only their names can say what they are."""
    meta = pb.MetaGraphDef()
    for name in names:
        node = meta.graph_def.node.add(name=name, op="VariableV2")
        node.attr["dtype"].type = 1
        node.attr["shape"].shape.dim.add().size = 2
    return GraphIndex(meta)


def test_graph_roles_and_checkpoint_keys_agree() -> None:
    """The same names as graph variables (the graph holds ``dense/kernel``, so each slot name
    extends a variable) and as bare checkpoint keys: both callers decide alike."""
    names = sorted({n for n, _ in TF1_NAMES} | {"dense/kernel/m", "dense/kernel/v"})
    table = VariableTable.of(_graph(names))
    for name, what in TF1_NAMES:
        var = table.get(name)
        assert var.role == ("global_step" if name == "global_step" else what), (name, var.role)
        if what in ("slot", "ema"):
            assert (var.slot_of, var.slot_name) == ("dense/kernel", name.split("/")[-1])
    # Keras's m / v: slots in the graph, where the variable they extend is known
    assert table.get("dense/kernel/m").role == "slot"
    assert table.get("dense/kernel/v").role == "slot"
    rows = {r.name: r for r in join_variables(_graph(names), None)}
    for name, what in TF1_NAMES:
        assert rows[name].is_slot == looks_like_slot(name) == (what != "model"), name
