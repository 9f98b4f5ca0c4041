"""TensorFlow's object-based checkpoint tests, translated: ``tensorflow/python/checkpoint/``
``checkpoint_test.py``, ``checkpoint_view_test.py`` and ``checkpoint_with_v1_optimizers_test.py``.

Each test names the upstream test it comes from. The objects are built and saved as upstream
does (``tf.train.Checkpoint`` in eager mode); graphtui reads the checkpoint without TensorFlow and
must answer what TensorFlow answers about it:

- the keys and shapes (``tf.train.list_variables``), the object graph proto
  (``object_metadata``), each node's children and the nodes reached, in order
  (``tf.train.CheckpointView.children`` / ``descendants``);
- each object's path is TensorFlow's name for it: the path and the attribute name give the
  checkpoint key TF wrote (escaping ``/`` and ``.`` as TF does), ``find(path)`` and
  ``node_for_key(key)`` lead back to the object, and its value is TF's, byte for byte;
- slot variables sit at TF's ``VAR/.OPTIMIZER_SLOT/OPTIMIZER/SLOT`` path, linked to their
  variable and optimizer;
- ``graphtui ls --objects`` lists every key, shared objects and cycles once.

Upstream's assertions on checkpoint keys (testVariableNameEscaping, testNumberedPath,
testLocalNameValidation, testAddVariable, testSkipSlotVarRestore) are asserted literally too.
Not translated: what only a restore into live Python objects can show (deferred restoration,
assert_consumed, partial-restore warnings, async checkpoints, graph-mode op counts).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.cli import main as cli_main
from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.objects import ObjectGraph, load_object_graph

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from tensorflow.python.checkpoint import checkpoint as trackable_utils  # noqa: E402
from tensorflow.python.trackable import autotrackable, base  # noqa: E402

from tests.interop.test_realworld import REALWORLD  # noqa: E402

SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


# -- the cases, saved as upstream saves them -------------------------------------------------------


def _add_variable(directory: Path) -> str:
    """checkpoint_test.py testAddVariable (eager): ``add_variable`` with every initializer kind,
    a variable scope that does not reach the key, and a name another variable already has."""

    class NonLayerTrackable(autotrackable.AutoTrackable):
        def __init__(self) -> None:
            super().__init__()
            self.a_variable = trackable_utils.add_variable(self, name="a_variable", shape=[])

    obj = NonLayerTrackable()
    trackable_utils.add_variable(obj, name="constant_initializer", initializer=1)
    with tf.compat.v1.variable_scope("some_variable_scope"):
        trackable_utils.add_variable(
            obj, name="ones_initializer", shape=[2], initializer=tf.compat.v1.ones_initializer()
        )
    trackable_utils.add_variable(
        obj, name="bare_initializer", shape=[2, 2], dtype=tf.float64,
        initializer=tf.compat.v1.zeros_initializer,
    )  # fmt: skip
    tf.Variable(1.0, name="duplicate")
    trackable_utils.add_variable(obj, name="duplicate", shape=[])
    return tf.train.Checkpoint(obj).save(str(directory / "ckpt"))


def _escaping(directory: Path) -> str:
    """checkpoint_test.py testVariableNameEscaping / testLocalNameValidation: local names with
    ``/`` and ``.``, and a child named ``.ATTRIBUTES``."""
    root = autotrackable.AutoTrackable()
    for name in ("a/b/c", "b", "c/", "d/.S", "d/.ATTRIBUTES/f"):
        trackable_utils.add_variable(root, name=name, shape=[1, 2], dtype=tf.float64)
    leaf = autotrackable.AutoTrackable()
    root._track_trackable(leaf, name=".ATTRIBUTES")  # noqa: SLF001 - upstream's own call
    trackable_utils.add_variable(trackable=leaf, name="a", shape=[])
    return tf.train.Checkpoint(root).save(str(directory / "ckpt"))


def _numbered_path(directory: Path) -> str:
    """checkpoint_test.py testNumberedPath: ``leaf/v``."""
    root = autotrackable.AutoTrackable()
    root.leaf = autotrackable.AutoTrackable()
    trackable_utils.add_variable(root.leaf, name="v", shape=[])
    return tf.train.Checkpoint(root).save(str(directory / "ckpt"))


def _shared(directory: Path) -> str:
    """checkpoint_test.py testAmbiguousLoad: one object under two parents."""
    save_root = tf.train.Checkpoint()
    save_root.dep_one = autotrackable.AutoTrackable()
    save_root.dep_two = autotrackable.AutoTrackable()
    dep_three = autotrackable.AutoTrackable()
    save_root.dep_one.dep_three = dep_three
    save_root.dep_two.dep_three = dep_three
    trackable_utils.add_variable(dep_three, name="var", initializer=0.0)
    return save_root.save(str(directory / "ckpt"))


def _combined(directory: Path) -> str:
    """checkpoint_test.py testObjectsCombined: float64 variables 32 and 64 under two objects."""
    save_root = tf.train.Checkpoint()
    save_root.dep_one = autotrackable.AutoTrackable()
    save_root.dep_two = autotrackable.AutoTrackable()
    trackable_utils.add_variable(save_root.dep_one, name="var1", initializer=32.0, dtype=tf.float64)
    trackable_utils.add_variable(save_root.dep_two, name="var2", initializer=64.0, dtype=tf.float64)
    return save_root.save(str(directory / "ckpt"))


def _loop(directory: Path) -> str:
    """checkpoint_test.py testDependencyLoop: first.second.first, a variable on each."""
    first = tf.train.Checkpoint()
    second = tf.train.Checkpoint()
    first.second = second
    second.first = first
    first.v = trackable_utils.add_variable(first, "v1", initializer=[3.0, 1.0, 4.0])
    second.v = trackable_utils.add_variable(second, "v2", initializer=[1.0, 1.0, 2.0, 3.0])
    return first.save(str(directory / "ckpt"))


def _empty_containers(directory: Path) -> str:
    """checkpoint_test.py testEmptyContainersIgnored: ``Checkpoint(a=[])``."""
    return tf.train.Checkpoint(a=[]).save(str(directory / "ckpt"))


def _data_structures(directory: Path) -> str:
    """checkpoint_test.py test_inititialize_with_data_structures: a list and a dict of
    variables."""
    checkpoint = tf.train.Checkpoint(
        a=[tf.Variable(0.0), tf.Variable(1.0)], b={"a": tf.Variable(2.0), "b": tf.Variable(3.0)}
    )
    return checkpoint.save(str(directory / "ckpt"))


def _root_object(directory: Path) -> str:
    """checkpoint_test.py test_initialize_with_root_object_and_kwargs: a root object and a
    keyword variable side by side at the top."""
    model = autotrackable.AutoTrackable()
    model.v = tf.Variable(3.0)
    separate_variable = tf.Variable(5.0)
    checkpoint = tf.train.Checkpoint(model, separate_variable=separate_variable)
    return checkpoint.save(str(directory / "ckpt"))


def _view(directory: Path) -> str:
    """checkpoint_view_test.py test_children / test_all_nodes: a bare Trackable root with one
    leaf tracked as ``leaf``."""
    root = base.Trackable()
    leaf = base.Trackable()
    root._track_trackable(leaf, name="leaf")  # noqa: SLF001 - upstream's own call
    return tf.train.Checkpoint(root=root).save(str(directory / "root_ckpt"))


def _v1_slots(directory: Path) -> str:
    """checkpoint_with_v1_optimizers_test.py testSkipSlotVarRestore: a v1 Adam optimizer's
    slots ``m`` / ``v`` and its beta powers."""
    root = tf.train.Checkpoint()
    root.var = trackable_utils.add_variable(root, name="var", initializer=0.0)
    root.optimizer = tf.compat.v1.train.AdamOptimizer(0.1)
    root.optimizer._create_slots([root.var])  # noqa: SLF001 - upstream's own call
    root.var.assign(12.0)
    root.optimizer.get_slot(name="m", var=root.var).assign(14.0)
    return root.save(str(directory / "chkpt"))


def _deferred_slots(directory: Path) -> str:
    """checkpoint_with_v1_optimizers_test.py testDeferredSlotRestoration: a checkpoint
    without the optimizer (var 12) and one with it (var 13, slot m 14); returns the second,
    the first is ``no_slots-1``."""
    root = tf.train.Checkpoint()
    root.var = trackable_utils.add_variable(root, name="var", initializer=0.0)
    optimizer = tf.compat.v1.train.AdamOptimizer(0.1)
    optimizer.minimize(root.var.read_value)
    root.var.assign(12.0)
    root.save(str(directory / "no_slots"))
    root.optimizer = optimizer
    root.var.assign(13.0)
    optimizer.get_slot(name="m", var=root.var).assign(14.0)
    return root.save(str(directory / "with_slots"))


def _template(directory: Path) -> str:
    """checkpoint_with_v1_optimizers_test.py TemplateTests.test_trackable_save_restore: a
    ``make_template`` with a manual scope inside, and a v1 Adam optimizer."""

    class ManualScope(autotrackable.AutoTrackable):
        def __call__(self) -> Any:
            with tf.compat.v1.variable_scope("ManualScope") as vs:
                self.variable_scope = vs
                with trackable_utils.capture_dependencies(template=self):
                    return tf.compat.v1.get_variable(name="in_manual_scope", shape=[])

    def templated() -> Any:
        zeros = tf.compat.v1.zeros_initializer()
        v = tf.compat.v1.get_variable("v", shape=[1], initializer=zeros, use_resource=True)
        v2 = tf.compat.v1.get_variable("v2", shape=[1], initializer=zeros, use_resource=True)
        manual = ManualScope()
        return v, v + 1.0, v2, manual, manual()

    save_template = tf.compat.v1.make_template("s1", templated)
    v1_save, _, v2_save, _, _ = save_template()
    optimizer = tf.compat.v1.train.AdamOptimizer(0.0)
    save_root = tf.train.Checkpoint(my_template=save_template, optimizer=optimizer)
    optimizer.minimize(v1_save.read_value)
    v1_save.assign([12.0])
    v2_save.assign([14.0])
    return save_root.save(str(directory / "ckpt"))


CASES: dict[str, Callable[[Path], str]] = {
    "add_variable": _add_variable,
    "escaping": _escaping,
    "numbered_path": _numbered_path,
    "shared": _shared,
    "combined": _combined,
    "loop": _loop,
    "empty_containers": _empty_containers,
    "data_structures": _data_structures,
    "root_object": _root_object,
    "view": _view,
    "v1_slots": _v1_slots,
    "deferred_slots": _deferred_slots,
    "template": _template,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every case saved once, each in its own directory."""
    root = tmp_path_factory.mktemp("object_checkpoints")
    out = {}
    for name, build in CASES.items():
        directory = root / name
        directory.mkdir()
        out[name] = build(directory)
    return out


def _graph(prefix: str) -> ObjectGraph:
    return load_object_graph(load_checkpoint(prefix))


def _keys(prefix: str) -> list[str]:
    return [name for name, _ in tf.train.list_variables(prefix)]


# -- what every case must answer as TF does ------------------------------------------------------


def judge_object_graph(prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Keys, proto, children, nodes reached (in TF's order), each object's path and value, and
    ``ls --objects``, against TensorFlow."""
    from tensorflow.python.checkpoint.checkpoint import object_metadata

    assert graphtui.list_variables(prefix) == [
        (name, list(shape)) for name, shape in tf.train.list_variables(prefix)
    ]
    graph = _graph(prefix)
    assert graph.proto.SerializeToString(deterministic=True) == object_metadata(
        prefix
    ).SerializeToString(deterministic=True)

    view = tf.train.CheckpointView(prefix)
    descendants = view.descendants()
    assert graph.paths.order == descendants
    for node_id in descendants:
        node = graph.nodes[node_id]
        assert {c.local_name: c.node.node_id for c in node.children} == view.children(node_id)

    reader = tf.train.load_checkpoint(prefix)
    keys = set(_keys(prefix))
    named = set()
    for node, attr in graph.attributes():
        assert node.path is not None
        assert (f"{node.path}/" if node.path else "") + f".ATTRIBUTES/{attr.name}" == (
            attr.checkpoint_key
        )
        assert graph.find(node.path) is node
        assert graph.node_for_key(attr.checkpoint_key) is node
        theirs = np.asarray(reader.get_tensor(attr.checkpoint_key))
        ours = graph.value(attr)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes(), attr.checkpoint_key
        named.add(attr.checkpoint_key)
    assert named == keys - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert graph.missing_keys() == [] and graph.unreferenced_keys() == []

    capsys.readouterr()
    assert cli_main(["ls", prefix, "--objects"]) == 0
    listing = capsys.readouterr().out
    for key in named:
        assert listing.count(f"  {key}") == 1, key


@pytest.mark.parametrize("case", list(CASES))
def test_object_graph_as_tensorflow_reads_it(
    case: str, saved: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every upstream case above, judged by :func:`judge_object_graph`."""
    judge_object_graph(saved[case], capsys)


def _realworld_object_checkpoints() -> list[str]:
    if not REALWORLD.is_dir():
        return []
    found = []
    for index in sorted(REALWORLD.rglob("*.index")):
        prefix = str(index)[: -len(".index")]
        with load_checkpoint(prefix) as reader:
            if reader.has_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"):
                found.append(prefix)
    return found


@pytest.mark.parametrize(
    "prefix",
    _realworld_object_checkpoints(),
    ids=lambda p: Path(p).relative_to(REALWORLD).parts[0],
)
def test_realworld_object_graphs(prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The same questions on every object-based checkpoint of ``../shared/realworld`` (TF2
    SavedModels' variables, Keras models with optimizer slots)."""
    judge_object_graph(prefix, capsys)


# -- upstream's literal assertions ---------------------------------------------------------------


def test_add_variable(saved: dict[str, str]) -> None:
    """checkpoint_test.py testAddVariable: the checkpoint names, whatever the variable scope
    or a clashing Python name."""
    graph = _graph(saved["add_variable"])
    expected = {
        "a_variable" + SUFFIX,
        "bare_initializer" + SUFFIX,
        "constant_initializer" + SUFFIX,
        "duplicate" + SUFFIX,
        "ones_initializer" + SUFFIX,
    }
    ours = {attr.checkpoint_key for _, attr in graph.attributes()}
    assert ours - {"save_counter" + SUFFIX} == expected
    ones = graph.find("ones_initializer")
    assert ones.value_attribute is not None
    assert ones.value_attribute.full_name == "some_variable_scope/ones_initializer"
    assert graph.value(ones).tolist() == [1.0, 1.0]
    assert graph.value(graph.find("bare_initializer")).dtype == np.float64


def test_variable_name_escaping(saved: dict[str, str]) -> None:
    """checkpoint_test.py testVariableNameEscaping and testLocalNameValidation: ``/`` and
    ``.`` in local names are escaped in keys and paths (``a.Sb.Sc``, ``..ATTRIBUTES``), and
    the local names themselves are shown as written."""
    graph = _graph(saved["escaping"])
    for local_name, escaped in [
        ("a/b/c", "a.Sb.Sc"),
        ("b", "b"),
        ("c/", "c.S"),
        ("d/.S", "d.S..S"),
        ("d/.ATTRIBUTES/f", "d.S..ATTRIBUTES.Sf"),
    ]:
        node = graph.root.child(local_name)
        assert node.path == escaped
        assert node.value_attribute is not None
        assert node.value_attribute.checkpoint_key == escaped + SUFFIX
        assert node.name == local_name
    leaf = graph.root.child(".ATTRIBUTES").child("a")
    assert leaf.value_attribute is not None
    assert leaf.value_attribute.checkpoint_key == "..ATTRIBUTES/a" + SUFFIX
    assert graph.find("..ATTRIBUTES/a") is leaf


def test_numbered_path(saved: dict[str, str]) -> None:
    """checkpoint_test.py testNumberedPath: ``leaf/v/.ATTRIBUTES/VARIABLE_VALUE``."""
    graph = _graph(saved["numbered_path"])
    node = graph.find("leaf/v")
    assert node.value_attribute is not None
    assert node.value_attribute.checkpoint_key == "leaf/v" + SUFFIX


def test_shared_object_listed_once(
    saved: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """checkpoint_test.py testAmbiguousLoad: the object under two parents has one path (TF's
    first, breadth-first) and is listed once, a reference in the other place."""
    graph = _graph(saved["shared"])
    node = graph.find("dep_one/dep_three")
    assert graph.find("dep_two/dep_three") is node
    assert node.path == "dep_one/dep_three"
    assert [(p.path, name) for p, name in node.parents] == [
        ("dep_one", "dep_three"),
        ("dep_two", "dep_three"),
    ]
    capsys.readouterr()
    assert cli_main(["ls", saved["shared"], "--objects"]) == 0
    listing = capsys.readouterr().out
    assert "dep_three -> dep_one/dep_three" in listing


def test_objects_combined(saved: dict[str, str]) -> None:
    """checkpoint_test.py testObjectsCombined: the values 32 and 64 (float64) at their
    paths."""
    graph = _graph(saved["combined"])
    assert graph.value(graph.find("dep_one/var1")).tolist() == 32.0
    assert graph.value(graph.find("dep_two/var2")).tolist() == 64.0
    assert graph.value(graph.find("dep_two/var2")).dtype == np.float64


def test_dependency_loop(saved: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """checkpoint_test.py testDependencyLoop: a cycle; each variable under its first path,
    values [3, 1, 4] and [1, 1, 2, 3]; the listing ends."""
    graph = _graph(saved["loop"])
    assert graph.value(graph.find("v1")).tolist() == [3.0, 1.0, 4.0]
    assert graph.value(graph.find("second/v2")).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert graph.find("second/first") is graph.root
    assert graph.find("v") is graph.find("v1")
    capsys.readouterr()
    assert cli_main(["ls", saved["loop"], "--objects"]) == 0
    assert "first -> (root)" in capsys.readouterr().out


def test_empty_containers(saved: dict[str, str]) -> None:
    """checkpoint_test.py testEmptyContainersIgnored: the empty list is an object without
    children or tensors."""
    graph = _graph(saved["empty_containers"])
    node = graph.root.child("a")
    assert node.children == [] and node.attributes == []
    assert [k for k in _keys(saved["empty_containers"]) if k.startswith("a/")] == []


def test_data_structures(saved: dict[str, str]) -> None:
    """checkpoint_test.py test_inititialize_with_data_structures: list items by index, dict
    items by key."""
    graph = _graph(saved["data_structures"])
    assert [graph.value(graph.find(f"a/{i}")).tolist() for i in range(2)] == [0.0, 1.0]
    assert {k: graph.value(graph.find(f"b/{k}")).tolist() for k in "ab"} == {"a": 2.0, "b": 3.0}


def test_root_object_and_kwargs(saved: dict[str, str]) -> None:
    """checkpoint_test.py test_initialize_with_root_object_and_kwargs: the root object's
    variable and the keyword one are both top-level."""
    graph = _graph(saved["root_object"])
    assert graph.value(graph.find("v")).tolist() == 3.0
    assert graph.value(graph.find("separate_variable")).tolist() == 5.0
    assert graph.value(graph.find("save_counter")).tolist() == 1


def test_checkpoint_view_children_and_nodes(
    saved: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """checkpoint_view_test.py test_children / test_all_nodes: ``Checkpoint(root=...)`` makes
    the Trackable itself node 0 (its ``root`` child is itself); its first child is ``leaf``,
    node 1; three nodes reached, 0 and 1 first."""
    prefix = saved["view"]
    graph = _graph(prefix)
    first = graph.root.children[0]
    assert (first.local_name, first.node.node_id) == ("leaf", 1)
    assert len(graph.paths.order) == 3 and graph.paths.order[:2] == [0, 1]
    assert graph.root.child("root") is graph.root
    assert graph.find("leaf").path == "leaf"
    capsys.readouterr()
    assert cli_main(["ls", prefix, "--objects"]) == 0
    assert "  root -> (root)" in capsys.readouterr().out


def test_skip_slot_var_restore_keys(
    saved: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """checkpoint_with_v1_optimizers_test.py testSkipSlotVarRestore: the keys upstream
    lists; the slots ``m`` / ``v`` at ``var/.OPTIMIZER_SLOT/optimizer/…``, linked to ``var``
    and the optimizer; var 12, m 14."""
    prefix = saved["v1_slots"]
    expected = [
        "_CHECKPOINTABLE_OBJECT_GRAPH",
        "optimizer/beta1_power/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/beta2_power/.ATTRIBUTES/VARIABLE_VALUE",
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
        "var/.ATTRIBUTES/VARIABLE_VALUE",
        "var/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
        "var/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/VARIABLE_VALUE",
    ]
    assert [name for name, _ in graphtui.list_variables(prefix)] == expected
    assert _keys(prefix) == expected
    graph = _graph(prefix)
    var, optimizer = graph.find("var"), graph.find("optimizer")
    assert optimizer.kind == "optimizer"
    slots = {link.slot_name: graph.nodes[link.slot_id] for link in var.slots}
    assert set(slots) == {"m", "v"}
    for name, slot in slots.items():
        assert slot.kind == "slot"
        assert slot.path == f"var/.OPTIMIZER_SLOT/optimizer/{name}"
        assert graph.find(slot.path) is slot
        assert slot.slot_of is not None and slot.slot_of.optimizer_id == optimizer.node_id
    assert graph.value(var).tolist() == 12.0
    assert graph.value(slots["m"]).tolist() == 14.0
    capsys.readouterr()
    assert cli_main(["ls", prefix, "--objects"]) == 0
    listing = capsys.readouterr().out
    assert "m of var" in listing and "v of var" in listing


def test_deferred_slot_restoration_values(saved: dict[str, str]) -> None:
    """checkpoint_with_v1_optimizers_test.py testDeferredSlotRestoration: the checkpoint
    saved before the optimizer was tracked has no slots (var 12); the one after has var 13
    and slot m 14, as TF restores them."""
    with_slots = saved["deferred_slots"]
    no_slots = str(Path(with_slots).parent / "no_slots-1")
    before = _graph(no_slots)
    assert before.value(before.find("var")).tolist() == 12.0
    assert not any(".OPTIMIZER_SLOT" in k for k in _keys(no_slots))
    after = _graph(with_slots)
    assert after.value(after.find("var")).tolist() == 13.0
    assert after.value(after.find("var/.OPTIMIZER_SLOT/optimizer/m")).tolist() == 14.0

    root = tf.train.Checkpoint()
    root.var = trackable_utils.add_variable(root, name="var", shape=[])
    root.optimizer = tf.compat.v1.train.AdamOptimizer(0.1)
    root.restore(with_slots).assert_existing_objects_matched()
    assert root.optimizer.get_slot(name="m", var=root.var).numpy() == after.value(
        after.find("var/.OPTIMIZER_SLOT/optimizer/m")
    )


def test_template_keys(saved: dict[str, str]) -> None:
    """checkpoint_with_v1_optimizers_test.py TemplateTests.test_trackable_save_restore: the
    template's children ``v``, ``v2``, ``ManualScope``; v 12, v2 14, the slot of v."""
    graph = _graph(saved["template"])
    template = graph.find("my_template")
    assert {c.local_name for c in template.children} == {"v", "v2", "ManualScope"}
    assert graph.value(graph.find("my_template/v")).tolist() == [12.0]
    assert graph.value(graph.find("my_template/v2")).tolist() == [14.0]
    assert graph.find("my_template/ManualScope/in_manual_scope").kind == "variable"
    v = graph.find("my_template/v")
    assert {link.slot_name for link in v.slots} == {"m", "v"}
    assert graph.find("my_template/v/.OPTIMIZER_SLOT/optimizer/m").kind == "slot"


def _realworld_tf2_saved_models() -> list[Path]:
    if not REALWORLD.is_dir():
        return []
    from graphtui.core.savedmodel import open_saved_model

    found = []
    for pb in sorted(REALWORLD.rglob("saved_model.pb")):
        with open_saved_model(pb.parent) as sm:
            if sm.has_variables and any(mg.has_object_graph for mg in sm.meta_graphs):
                found.append(pb.parent)
    return found


def _follow(obj: Any, path: str) -> Any:
    for part in path.split("/"):
        obj = obj[int(part)] if part.isdigit() and not hasattr(obj, part) else getattr(obj, part)
    return obj


@pytest.mark.parametrize(
    "directory", _realworld_tf2_saved_models(), ids=lambda p: p.relative_to(REALWORLD).parts[0]
)
def test_realworld_saved_model_object_paths(directory: Path) -> None:
    """The object paths of a TF2 SavedModel's object graph, on the realworld sets: each
    variable's path leads, in the object ``tf.saved_model.load`` rebuilds, to a variable
    holding the value graphtui reads for that path (where TF can load the model)."""
    from graphtui.core.savedmodel import open_saved_model

    try:
        loaded = tf.saved_model.load(str(directory))
    except Exception as exc:  # noqa: BLE001 - e.g. a Keras object TF 2.21 cannot rebuild
        pytest.skip(f"TensorFlow cannot load it: {str(exc)[:80]}")
    with open_saved_model(directory) as sm:
        graph = sm.object_graph()
        for saved in sm.meta_graph().saved_objects():
            if saved.kind != "variable":
                continue
            assert saved.path is not None
            var = _follow(loaded, saved.path)
            assert isinstance(var, tf.Variable), saved.path
            ours = graph.value(graph.find(saved.path))
            assert ours.dtype == var.dtype.as_numpy_dtype, saved.path
            assert np.array_equal(ours, var.numpy()), saved.path


def registered_saver_root(saver: str) -> Any:
    """Root ``v`` (a variable) and ``registered``, an object whose class has a saver registered
    as ``saver`` (``register_checkpoint_saver``; once per name in a process): the saver writes
    the object's value under a key of its own, its object name."""
    from tensorflow.python.ops import io_ops
    from tensorflow.python.saved_model import registration

    class TrackableWithRegisteredSaver(autotrackable.AutoTrackable):
        def __init__(self) -> None:
            self.value = tf.Variable([1.0, 2.0])

    def save_fn(trackables: dict[str, Any], file_prefix: Any) -> list[Any]:
        names = list(trackables)
        tensors = [trackables[n].value.read_value() for n in names]
        io_ops.save_v2(file_prefix, names, [""] * len(names), tensors)
        return [file_prefix]

    registration.register_checkpoint_saver(
        name=saver,
        predicate=lambda x: isinstance(x, TrackableWithRegisteredSaver),
        save_fn=save_fn,
        restore_fn=lambda trackables, merged_prefix: None,
    )
    root = autotrackable.AutoTrackable()
    root.v = tf.Variable(1.0)
    root.registered = TrackableWithRegisteredSaver()
    return root


def registered_saver_checkpoint(prefix: Path, saver: str) -> str:
    """:func:`registered_saver_root` saved by ``tf.train.Checkpoint`` at ``prefix``."""
    return str(tf.train.Checkpoint(registered_saver_root(saver)).save(str(prefix)))


def test_registered_saver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """util_test.py test_serialize_gathered_objects: an object with a saver registered by
    name (``register_checkpoint_saver``) is recorded as ``Custom.<name>`` with its name in the
    saver's call; here the saver writes a tensor under a key of its own (``registered``), which
    TF lists and no attribute names: graphtui marks the object and names that key as not named
    by the object graph, the variable beside it as usual."""
    from tensorflow.python.checkpoint.checkpoint import object_metadata

    prefix = registered_saver_checkpoint(tmp_path / "ckpt", "GraphtuiTestSaver")
    proto = object_metadata(prefix)
    theirs = {
        (n.registered_saver.name, n.registered_saver.object_name)
        for n in proto.nodes
        if n.HasField("registered_saver")
    }
    assert theirs == {("Custom.GraphtuiTestSaver", "registered")}
    graph = _graph(prefix)
    node = graph.find("registered")
    assert node.registered_saver == ("Custom.GraphtuiTestSaver", "registered")
    assert graph.registered_savers() == ["Custom.GraphtuiTestSaver"]
    assert graph.unreferenced_keys() == ["registered"]
    assert "registered" in _keys(prefix)
    assert graph.value(graph.find("v")).tolist() == 1.0
    capsys.readouterr()
    assert cli_main(["ls", prefix, "--objects"]) == 0
    listing = capsys.readouterr().out
    assert "registered/  [saved by Custom.GraphtuiTestSaver as 'registered']" in listing
    assert (
        "tensors the object graph does not name (written by Custom.GraphtuiTestSaver?): registered"
    ) in listing
