"""Keras 3 checkpoints (issue 18.12), built by TF at test time: a ``Sequential`` trained one
step with SGD+momentum or Adam, saved by ``tf.train.Checkpoint(model=..., optimizer=...)``.

Keras 3 saves the model's weights under ``optimizer/_trainable_variables/N`` (the first path
TF's object graph walk finds) and the optimizer's momentums / velocities under
``optimizer/_variables/N``. graphtui must name the weights as Keras does
(``sequential/dense_a/kernel``), count the momentums / velocities as optimizer state (the slots
toggle), and offer strip patterns that match exactly that state; TF then restores the model
from the stripped checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.strip import matcher, strip
from graphtui.core.workspace import open_workspace, strip_patterns

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def _model() -> Any:
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, name="dense_a"),
            keras.layers.Dense(2, name="dense_b"),
        ],
        name="sequential",
    )


@pytest.fixture(scope="module", params=["sgd_momentum", "adam"])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    if not keras.__version__.startswith("3"):
        pytest.skip(f"Keras {keras.__version__} is not Keras 3")
    model = _model()
    opt = (
        keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        if request.param == "sgd_momentum"
        else keras.optimizers.Adam(learning_rate=0.1)
    )
    model.compile(optimizer=opt, loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 3)), rng.random((8, 2)), epochs=1, verbose=0)
    path = tf.train.Checkpoint(model=model, optimizer=opt).save(
        str(tmp_path_factory.mktemp(request.param) / "ckpt")
    )
    return path, model, opt


def test_weights_named_as_keras_and_slots_recognised(case: Any) -> None:
    path, model, opt = case
    rows = {r.name: r for r in open_workspace(path).variables()}
    reader = open_workspace(path).active
    assert reader is not None
    for weight in model.weights:
        row = rows[weight.path]  # e.g. sequential/dense_a/kernel, not optimizer/...
        assert not row.is_slot
        assert row.key is not None and row.key.startswith("optimizer/_trainable_variables/")
        np.testing.assert_array_equal(reader.read(row.key), weight.numpy())
    state = [v for v in opt.variables if ("momentum" in v.path or "velocity" in v.path)]
    assert state
    by_object = {r.object_name: r for r in rows.values()}
    for var in state:
        row = by_object[var.path]  # e.g. sgd/sequential_dense_a_kernel_momentum
        assert row.is_slot, var.path
        np.testing.assert_array_equal(reader.read(row.key), var.numpy())


def test_strip_preset_matches_the_optimizer_state_only(case: Any, tmp_path: Path) -> None:
    path, model, opt = case
    rows = open_workspace(path).variables()
    drop = matcher(strip_patterns(rows))
    for row in rows:
        if row.key is not None and row.key != "_CHECKPOINTABLE_OBJECT_GRAPH":
            assert drop(row.key) == row.is_slot, row.key
    out = tmp_path / "stripped" / "ckpt"
    report, _ = strip(path, str(out), strip_patterns(rows))
    assert report.dropped and all(drop(k) for k in report.dropped)
    restored = _model()
    tf.train.Checkpoint(model=restored).read(str(out)).expect_partial()
    for got, want in zip(restored.weights, model.weights, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
