"""SavedModels and TF2 object graphs: graphtui against live TensorFlow (its protos, its loader,
saved_model_cli's printing, ``tf.train.list_variables`` and ``tf.train.CheckpointView``)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

from graphtui.cli import main  # noqa: E402
from graphtui.core.checkpoint import load_checkpoint  # noqa: E402
from graphtui.core.objects import load_object_graph  # noqa: E402
from graphtui.core.savedmodel import open_saved_model  # noqa: E402
from graphtui.formats.metagraph_io import serialize_message  # noqa: E402
from tests.fixtures.shared import DATA, FACTS  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES: dict[str, str] = FACTS["saved_model_cases"]
SAVED_MODELS = sorted(FACTS["saved_model_meta_graphs"])
TF2_MODELS = [d for d in SAVED_MODELS if FACTS["saved_model_meta_graphs"][d][0]["object_graph"]]
OBJECT_CKPTS = sorted(p for p, f in FACTS["checkpoints"].items() if "object_graph" in f)


def _tf_saved_model(directory: Path) -> Any:
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    model.ParseFromString((directory / "saved_model.pb").read_bytes())
    return model


@pytest.fixture(scope="module")
def loaded() -> dict[str, Any]:
    """Each TF2 SavedModel loaded once by TensorFlow."""
    return {d: tf.saved_model.load(str(DATA / d)) for d in TF2_MODELS}


@pytest.mark.parametrize("directory", SAVED_MODELS)
def test_meta_graphs_are_tensorflows_bytes(directory: str) -> None:
    theirs = _tf_saved_model(DATA / directory)
    with open_saved_model(DATA / directory) as sm:
        assert sm.schema_version == theirs.saved_model_schema_version
        assert len(sm.meta_graphs) == len(theirs.meta_graphs)
        for ours, mg in zip(sm.meta_graphs, theirs.meta_graphs, strict=True):
            assert ours.meta_graph.SerializeToString(deterministic=True) == mg.SerializeToString(
                deterministic=True
            )


@pytest.mark.parametrize("directory", SAVED_MODELS)
def test_op_names_equal_saved_model_cli(directory: str) -> None:
    from tensorflow.python.framework import meta_graph

    theirs = _tf_saved_model(DATA / directory)
    with open_saved_model(DATA / directory) as sm:
        for ours, mg in zip(sm.meta_graphs, theirs.meta_graphs, strict=True):
            assert ours.op_names() == sorted(meta_graph.ops_used_by_graph_def(mg.graph_def))


@pytest.mark.parametrize("directory", SAVED_MODELS)
def test_assets_equal_the_loaders(directory: str) -> None:
    from tensorflow.python.saved_model.loader_impl import get_asset_tensors

    theirs = _tf_saved_model(DATA / directory)
    with open_saved_model(DATA / directory) as sm:
        for ours, mg in zip(sm.meta_graphs, theirs.meta_graphs, strict=True):
            expected = {
                name: os.fsdecode(path)
                for name, path in get_asset_tensors(str(DATA / directory), mg).items()
            }
            assert {a.tensor_name: a.path for a in ours.assets()} == expected


@pytest.mark.parametrize("directory", SAVED_MODELS)
def test_show_signatures_as_saved_model_cli_prints_them(
    directory: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every signature block of ``graphtui show`` appears verbatim in ``saved_model_cli show
    --all`` (our extra sparse-component lines aside), with the same tag-set headers."""
    from tensorflow.python.tools import saved_model_cli

    show_all = getattr(saved_model_cli, "_show_all", None)
    if show_all is None:
        pytest.skip("saved_model_cli._show_all is gone in this TensorFlow")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        show_all(str(DATA / directory))
    theirs = buf.getvalue()
    capsys.readouterr()
    assert main(["show", str(DATA / directory)]) == 0
    ours = capsys.readouterr().out
    blocks = ours.split("\nsignature_def[")[1:]
    assert blocks
    for block in blocks:
        lines = block.split("\n\n")[0].splitlines()
        text = "\nsignature_def[" + "\n".join(lines) + "\n"
        assert text in theirs, text
    headers = [ln for ln in ours.splitlines() if ln.startswith("MetaGraphDef with tag-set:")]
    assert headers and all(h in theirs for h in headers)


@pytest.mark.parametrize("directory", TF2_MODELS)
def test_signatures_equal_the_loaded_concrete_functions(
    directory: str, loaded: dict[str, Any]
) -> None:
    obj = loaded[directory]
    with open_saved_model(DATA / directory) as sm:
        sigs = {s.key: s for s in sm.meta_graph().signatures if not s.is_init_op}
    assert set(sigs) == set(obj.signatures.keys())
    for key, fn in obj.signatures.items():
        ours = sigs[key]
        args, kwargs = fn.structured_input_signature
        assert not args
        assert {t.key: (t.dtype, t.shape) for t in ours.inputs} == {
            k: (s.dtype.name, [-1 if d is None else d for d in s.shape.as_list()])
            for k, s in kwargs.items()
        }
        outputs = fn.structured_outputs
        assert {t.key: (t.dtype, t.shape) for t in ours.outputs} == {
            k: (s.dtype.name, [-1 if d is None else d for d in s.shape.as_list()])
            for k, s in outputs.items()
        }


def _follow(obj: Any, path: str) -> Any:
    for part in path.split("/"):
        obj = obj[int(part)] if part.isdigit() and not hasattr(obj, part) else getattr(obj, part)
    return obj


@pytest.mark.parametrize("directory", TF2_MODELS)
def test_loaded_variables_hold_our_values(directory: str, loaded: dict[str, Any]) -> None:
    """Each SavedVariable path leads, in the object TF loaded, to a variable whose value is what
    our object graph reads for that path."""
    obj = loaded[directory]
    with open_saved_model(DATA / directory) as sm:
        graph = sm.object_graph()
        variables = [o for o in sm.meta_graph().saved_objects() if o.kind == "variable"]
        assert variables
        for saved in variables:
            assert saved.path is not None
            var = _follow(obj, saved.path)
            assert isinstance(var, tf.Variable), saved.path
            ours = graph.value(graph.find(saved.path))
            assert ours.dtype == var.dtype.as_numpy_dtype
            assert np.array_equal(ours, var.numpy()), saved.path


@pytest.mark.parametrize("directory", SAVED_MODELS)
def test_variables_equal_list_variables(directory: str) -> None:
    with open_saved_model(DATA / directory) as sm:
        ours = [(i.name, list(i.shape)) for i in sm.variables()]
        prefix = sm.variables_prefix
    assert ours == [(n, list(s)) for n, s in tf.train.list_variables(prefix)]


@pytest.mark.parametrize("prefix", OBJECT_CKPTS)
def test_object_graph_equals_checkpoint_view(prefix: str) -> None:
    from tensorflow.python.checkpoint.checkpoint import object_metadata

    path = str(DATA / prefix)
    view = tf.train.CheckpointView(path)
    proto = object_metadata(path)
    with load_checkpoint(path) as reader:
        graph = load_object_graph(reader)
        assert graph.proto.SerializeToString(deterministic=True) == proto.SerializeToString(
            deterministic=True
        )
        for node in graph.nodes:
            assert {c.local_name: c.node.node_id for c in node.children} == view.children(
                node.node_id
            )
        reached = {n.node_id for n in graph.nodes if n.parents or n.node_id == 0}
        assert set(view.descendants()) == reached
        tf_reader = tf.train.load_checkpoint(path)
        for _, attr in graph.attributes():
            theirs = tf_reader.get_tensor(attr.checkpoint_key)
            assert np.asarray(theirs).tobytes() == graph.value(attr).tobytes()


def test_object_paths_are_what_a_restore_matches() -> None:
    """Restoring the module checkpoint into fresh objects by TF fills the variables our paths
    name with the values we read."""
    prefix = str(DATA / FACTS["tf2"]["module_kept"][-1])
    model = tf.Module()
    model.hidden = tf.Module()
    model.hidden.w = tf.Variable(tf.zeros([4, 3]))
    model.head = tf.Module()
    model.head.b = tf.Variable(tf.zeros([2]))
    tf.train.Checkpoint(model=model).read(prefix).expect_partial()
    with load_checkpoint(prefix) as reader:
        graph = load_object_graph(reader)
        assert np.array_equal(graph.value(graph.find("model/hidden/w")), model.hidden.w.numpy())
        assert np.array_equal(graph.value(graph.find("model/head/b")), model.head.b.numpy())


@pytest.mark.parametrize("directory", [CASES["module"]])
def test_our_pbtxt_loads_in_tensorflow(directory: str, tmp_path: Path) -> None:
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    src = DATA / directory
    dst = tmp_path / "m"
    dst.mkdir()
    shutil.copytree(src / "variables", dst / "variables")
    with open_saved_model(src) as sm:
        (dst / "saved_model.pbtxt").write_bytes(serialize_message(sm.message, as_text=True))
        keys = {s.key for s in sm.meta_graph().signatures if not s.is_init_op}
    parsed = text_format.Parse(
        (dst / "saved_model.pbtxt").read_text(), saved_model_pb2.SavedModel()
    )
    assert parsed == _tf_saved_model(src)
    obj = tf.saved_model.load(str(dst))
    assert set(obj.signatures.keys()) == keys
    with open_saved_model(dst) as ours:
        assert ours.format == "text"
        scale = ours.object_graph().find("scale")
        assert np.array_equal(ours.object_graph().value(scale), obj.scale.numpy())
