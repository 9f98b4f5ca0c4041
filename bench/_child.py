"""One measurement in a fresh process: ``python bench/_child.py TASK ARG...``.

Prints one JSON object on the last line of stdout. Imports are done before the clock starts
(TensorFlow's import costs seconds and is not what is measured); ``cpu_s`` is the process's
CPU time over the same work (on a loaded machine, wall time is mostly waiting for a core);
``maxrss_kb`` is the peak
resident set of this process (``VmHWM``: getrusage's ru_maxrss would also count the parent's
resident set, which Linux carries across the fork and exec), ``base_rss_kb`` its resident set
just before the measured work.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _measure(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    base = _status_kb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    extra = work()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_kb("VmHWM")
    return {"seconds": seconds, "cpu_s": cpu, "maxrss_kb": peak, "base_rss_kb": base, **extra}


def gt_read(prefix: str) -> dict[str, Any]:
    import numpy  # noqa: F401 - imported before the clock, as TensorFlow is for tf_read

    from graphtui.core.checkpoint import CheckpointReader

    def work() -> dict[str, Any]:
        total = 0
        with CheckpointReader(prefix) as reader:
            for name in reader.names():
                total += reader.get_tensor(name).nbytes
        return {"bytes": total}

    return _measure(work)


def tf_read(prefix: str) -> dict[str, Any]:
    import tensorflow as tf

    def work() -> dict[str, Any]:
        total = 0
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            total += reader.get_tensor(name).nbytes
        return {"bytes": total}

    return _measure(work)


def gt_meta(path: str) -> dict[str, Any]:
    """What opening a graph costs: read + scan + GraphIndex (``from_file``, as the app and the
    CLI open one), then the root scope listing."""
    import graphtui.core.metagraph  # noqa: F401 - imported before the clock, as TF's module is
    from graphtui.core.graph import GraphIndex
    from graphtui.core.scopes import ScopeTree

    def work() -> dict[str, Any]:
        t0 = time.perf_counter()
        index = GraphIndex.from_file(path)
        t1 = time.perf_counter()
        roots = ScopeTree.of(index).children("")
        t2 = time.perf_counter()
        return {
            "nodes": len(index),
            "root_children": len(roots),
            "open_s": t1 - t0,
            "scopes_s": t2 - t1,
        }

    return _measure(work)


def tf_meta(path: str) -> dict[str, Any]:
    from tensorflow.python.framework import meta_graph

    def work() -> dict[str, Any]:
        mg = meta_graph.read_meta_graph_file(path)
        return {"nodes": len(mg.graph_def.node)}

    return _measure(work)


def tf_check(many: str, single: str, *graphs: str) -> dict[str, Any]:
    """TensorFlow and graphtui agree on names, shapes, dtypes and sampled tensors' bytes."""
    import hashlib

    import tensorflow as tf
    from tensorflow.python.framework import meta_graph

    from graphtui.core.checkpoint import CheckpointReader
    from graphtui.core.graph import GraphIndex

    problems: list[str] = []
    checked = 0
    for prefix in (many, single):
        tf_reader = tf.train.load_checkpoint(prefix)
        tf_shapes = tf_reader.get_variable_to_shape_map()
        tf_dtypes = tf_reader.get_variable_to_dtype_map()
        with CheckpointReader(prefix) as ours:
            gt_shapes = ours.get_variable_to_shape_map()
            gt_dtypes = ours.get_variable_to_dtype_map()
            if gt_shapes != tf_shapes:
                problems.append(f"{prefix}: name/shape maps differ")
            for name, dt in tf_dtypes.items():
                if gt_dtypes.get(name) is None or gt_dtypes[name].name != dt.name:
                    problems.append(f"{prefix}: dtype of {name} differs")
            names = sorted(tf_shapes)
            sample = names[:: max(1, len(names) // 40)] + names[-3:]
            for name in sample:
                a = hashlib.sha256(tf_reader.get_tensor(name).tobytes()).hexdigest()
                b = hashlib.sha256(ours.get_tensor(name).tobytes()).hexdigest()
                checked += 1
                if a != b:
                    problems.append(f"{prefix}: bytes of {name} differ")
    for path in graphs:
        tf_mg = meta_graph.read_meta_graph_file(path)
        index = GraphIndex.from_file(path)
        tf_names = [n.name for n in tf_mg.graph_def.node]
        if tf_names != index.names:
            problems.append(f"{path}: node names differ")
        if index.meta_graph.SerializeToString(deterministic=True) != tf_mg.SerializeToString(
            deterministic=True
        ):
            problems.append(f"{path}: re-serialized bytes differ")
    return {"problems": problems, "tensors_compared": checked, "tf_version": tf.__version__}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "gt_read": gt_read,
    "tf_read": tf_read,
    "gt_meta": gt_meta,
    "tf_meta": tf_meta,
    "tf_check": tf_check,
}

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = TASKS[sys.argv[1]](*sys.argv[2:])
    sys.stdout.write("\n" + json.dumps(result) + "\n")
