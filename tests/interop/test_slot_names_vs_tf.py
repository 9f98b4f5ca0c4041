"""Optimizer state as TensorFlow names it (issue 12: one slot heuristic, core/slot_names.py).

TF1 graphs trained by each ``tf.compat.v1.train`` optimizer (and an ExponentialMovingAverage)
are saved by TF at test time; TF itself says which variables are optimizer state
(``Optimizer.get_slot``, ``ExponentialMovingAverage.average``, Adam's beta accumulators).
graphtui must give them the same roles from the ``.meta`` graph, and say the same of the bare
checkpoint keys (no graph to ask). A TF2 object-based checkpoint of the same optimizers run
eagerly: every ``/.OPTIMIZER_SLOT/`` key and the optimizer's own variables are slots.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.slot_names import looks_like_slot
from graphtui.core.workspace import open_workspace

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

OPTIMIZERS = {
    "adam": lambda: v1.train.AdamOptimizer(0.1),
    "momentum": lambda: v1.train.MomentumOptimizer(0.1, 0.9),
    "rmsprop_centered": lambda: v1.train.RMSPropOptimizer(0.1, momentum=0.9, centered=True),
    "adagrad": lambda: v1.train.AdagradOptimizer(0.1),
    "ftrl": lambda: v1.train.FtrlOptimizer(0.1),
    "adadelta": lambda: v1.train.AdadeltaOptimizer(0.1),
    "proximal_adagrad": lambda: v1.train.ProximalAdagradOptimizer(0.1),
}


def _tf1_case(directory: Path, name: str) -> tuple[Path, dict[str, str]]:
    """A TF1 graph trained by optimizer ``name`` plus an EMA of its weights, saved once; the
    role TF gives each saved variable."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        with v1.variable_scope("dense"):
            kernel = v1.get_variable("kernel", [3, 2], use_resource=False)
            bias = v1.get_variable("bias", [2], use_resource=False)
        loss = tf.reduce_sum(tf.matmul(x, kernel) + bias)
        step = v1.train.get_or_create_global_step()
        opt = OPTIMIZERS[name]()
        train = opt.minimize(loss, global_step=step)
        ema = v1.train.ExponentialMovingAverage(0.9)
        with tf.control_dependencies([train]):
            ema.apply([kernel, bias])
        roles = {kernel.op.name: "model", bias.op.name: "model", step.op.name: "global_step"}
        for var in (kernel, bias):
            for slot in opt.get_slot_names():
                roles[opt.get_slot(var, slot).op.name] = "slot"
            roles[ema.average(var).op.name] = "ema"
        for extra in opt.variables():
            roles.setdefault(extra.op.name, "optimizer")  # Adam's beta1_power, beta2_power
        saver = v1.train.Saver()
        with v1.Session() as sess:
            sess.run(v1.variables_initializer([kernel, bias]))  # the EMA's start value
            sess.run(v1.global_variables_initializer())
            prefix = saver.save(sess, str(directory / name / "model.ckpt"), global_step=1)
    return Path(prefix), roles


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_tf1_optimizer_state_by_graph_and_by_key(tmp_path: Path, name: str) -> None:
    prefix, roles = _tf1_case(tmp_path, name)
    assert any(role == "slot" for role in roles.values())
    with open_workspace(str(prefix) + ".meta") as ws:
        got = {r.node: r.role for r in ws.variables() if r.node}
        is_slot = {r.key: r.is_slot for r in ws.variables() if r.key}
    assert got == roles
    with load_checkpoint(prefix) as reader:
        keys = set(reader.names())
    assert keys == set(roles)
    for key in keys:
        state = roles[key] in ("slot", "ema", "optimizer")
        assert looks_like_slot(key) == state, (key, roles[key])  # the key alone
        assert is_slot[key] == state, key  # the graph's answer


@pytest.mark.parametrize("name", ["adam", "momentum", "rmsprop_centered", "adagrad", "ftrl"])
def test_tf2_object_based_slot_keys(tmp_path: Path, name: str) -> None:
    opt: Any = OPTIMIZERS[name]()
    kernel = tf.Variable(tf.ones([3, 2]), name="kernel")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.matmul(tf.ones([1, 3]), kernel))
    opt.apply_gradients([(tape.gradient(loss, kernel), kernel)])
    ckpt = tf.train.Checkpoint(model=tf.Module(), kernel=kernel, optimizer=opt)
    prefix = ckpt.write(str(tmp_path / "ckpt"))
    keys = [name for name, _ in tf.train.list_variables(prefix)]
    slots = [k for k in keys if "/.OPTIMIZER_SLOT/" in k]
    assert slots
    for key in keys:
        theirs = "/.OPTIMIZER_SLOT/" in key or key.startswith("optimizer/")
        assert looks_like_slot(key) == theirs, key
    with open_workspace(prefix) as ws:
        rows = {r.key: r.is_slot for r in ws.variables() if r.key}
    for key in slots:
        assert rows[key], key
    assert not rows["kernel/.ATTRIBUTES/VARIABLE_VALUE"]
