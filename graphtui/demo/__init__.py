"""The bundled demo: a tiny TF1 training run shipped inside the package.

``data/`` holds a small CNN (``mnist_like/conv1`` ... ``mnist_like/logits``) trained with Adam on
8x8 synthetic digits: the ``checkpoint`` state file, the 4 checkpoints kept of 6 saves
(``model.ckpt-150`` ... ``model.ckpt-300``) and a ``.meta`` graph per kept checkpoint.
It is written by ``tests/fixtures/generate.py``.
"""

from __future__ import annotations

from pathlib import Path


def demo_path() -> Path:
    """The directory of the demo training run (pass it to graphtui like any checkpoint dir)."""
    return Path(__file__).resolve().parent / "data"
