"""Optimizer state by its name: the one heuristic for graph variables and bare checkpoint keys.

A graph says most of it by structure (an ``Apply*`` op updating a variable through an input
other than the first is a slot; ``AssignSub`` on an EMA shadow): ``core/variables.py`` asks
these names only when the structure is silent, and ``core/join.py`` asks :func:`looks_like_slot`
for checkpoint keys no graph or object graph describes. Both used to keep their own lists and
disagreed (``w/Nadam`` was a slot in a graph and not in a checkpoint; ``w/AdamWeightDecay`` the
other way round).

Names TF1 optimizers give their slots (``Optimizer._get_or_make_slot`` with the optimizer's
name: ``w/Adam``, ``w/Adam_1``, ``w/Momentum``, ``w/RMSProp``, ``w/Ftrl_1``, ...), the names
Keras optimizers give theirs (``momentum``, ``rms``, ``accumulator``, ``linear``; and the short
``m``, ``v``, ``vhat``, ``mg`` trusted only where the name extends another variable), TF1
``ExponentialMovingAverage`` shadows, and Adam's ``beta1_power`` / ``beta2_power``. TF2 object
graphs mark slots themselves (``/.OPTIMIZER_SLOT/``; Keras 3 keeps its state under
``optimizer/``).
"""

from __future__ import annotations

import re
from typing import Literal

SlotRole = Literal["slot", "ema"]

# a slot's own name, with the _N TF1 gives the second slot of one optimizer (Adam_1)
_SLOT = re.compile(
    r"^(Adam|AdamWeightDecay|Momentum|RMSProp|Adagrad|AdagradDA|ProximalAdagrad|Ftrl|Adadelta"
    r"|Nadam|Adamax|LazyAdam|AMSGrad|accumulator|update_accumulator|gradient_accumulator"
    r"|gradient_squared_accumulator|linear|momentum|rms)(_\d+)?$"
)
# Keras's short slot names: a weight may be called ``v`` too, so only under another variable
_SHORT_SLOT = re.compile(r"^(m|v|vhat|mg|accum_grad|accum_var)$")
_EMA = re.compile(r"^(ExponentialMovingAverage|MovingAverage|ema)(_\d+)?$", re.IGNORECASE)
_OPTIMIZER_STATE = re.compile(r"^beta[12]_power(_\d+)?$")


def slot_role(rest: str, *, under_variable: bool) -> SlotRole | None:
    """What the end of a variable's name says it is: ``rest`` is the part after the variable
    it belongs to (``Adam_1`` of ``w/Adam_1``), ``under_variable`` whether that variable is
    known to exist (a graph holds it); without one only the unmistakable names count."""
    if _SLOT.match(rest) or (under_variable and _SHORT_SLOT.match(rest)):
        return "slot"
    if _EMA.match(rest):
        return "ema"
    return None


def is_optimizer_state(name: str) -> bool:
    """Optimizer state that belongs to no variable: Adam's ``beta1_power`` and ``beta2_power``
    (``_1`` and so on when a graph has several Adam optimizers)."""
    return _OPTIMIZER_STATE.match(name.rpartition("/")[2]) is not None


def looks_like_slot(key: str) -> bool:
    """A checkpoint key with no graph to ask: an optimizer slot, a moving average or other
    optimizer state (``w/Adam``, ``w/ExponentialMovingAverage``, ``beta1_power``, a TF2
    object-based slot, Keras 3's ``optimizer/...``)."""
    from graphtui.core.objects import OPTIMIZER_SLOT_NAME  # not on a graph's path: 6 ms

    if f"/{OPTIMIZER_SLOT_NAME}/" in key or key.startswith("optimizer/") or is_optimizer_state(key):
        return True
    head, _, last = key.rpartition("/")
    return bool(head) and slot_role(last, under_variable=False) is not None
