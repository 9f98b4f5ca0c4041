"""TensorFlow's ``tensorflow/python/tools/saved_model_cli_test.py``, translated.

Each test names the upstream test it comes from. The SavedModels are built at test time as
upstream builds them (``half_plus_two``: the TF1 builder with classify / regress / predict
signatures over a string ``tf_example`` input; the TF2 ``DummyModel``s of the function tests);
TensorFlow's own ``saved_model_cli`` (run in this process: ``_show_all`` and the other bodies
of ``show``) prints its answer, and ``graphtui show`` must print the same lines without
TensorFlow: every signature block, the tag-set headers in the same order, and the "Concrete
Functions:" section (each function's options, what each is callable with, defaults included).
Where upstream asserts literal text, that text is asserted on graphtui's output too. The
realworld copies of upstream's ``half_plus_two/00000123`` are checked against upstream's
literal expectation as well (skipped when ``../shared/realworld`` is absent).

Deliberate differences, tested as such: saved_model_cli loads the model with TensorFlow to list
concrete functions and prints "N/A (could not be listed ...)" for a custom op or a function it
cannot rebuild (testShowAllWithCustomOp, testShowAllWithInvalidFuncGraph); graphtui reads the
object graph and still lists them. saved_model_cli orders the options of one function by the
names its loader gives the concrete functions (load order), graphtui by the SavedModel's list;
functions with several options are compared as multisets.

Not translated (graphtui does not run models): the ``run``, ``scan``, ``convert``,
``freeze_model`` and ``aot_compile_cpu`` tests, and the input parsing helpers they use.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphtui.cli import main as cli_main
from graphtui.core.savedmodel import open_saved_model

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1

from tensorflow.python.tools import saved_model_cli  # noqa: E402

from tests.interop.test_realworld import REALWORLD, _signature_block  # noqa: E402

# upstream's literal expectation for half_plus_two (testShowCommandAll), ops line left out
HALF_PLUS_TWO_ALL = """MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:

signature_def['classify_x2_to_y3']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['inputs'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: x2:0
  The given SavedModel SignatureDef contains the following output(s):
    outputs['scores'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: y3:0
  Method name is: tensorflow/serving/classify

signature_def['classify_x_to_y']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['inputs'] tensor_info:
        dtype: DT_STRING
        shape: unknown_rank
        name: tf_example:0
  The given SavedModel SignatureDef contains the following output(s):
    outputs['scores'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: y:0
  Method name is: tensorflow/serving/classify

signature_def['regress_x2_to_y3']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['inputs'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: x2:0
  The given SavedModel SignatureDef contains the following output(s):
    outputs['outputs'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: y3:0
  Method name is: tensorflow/serving/regress

signature_def['regress_x_to_y']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['inputs'] tensor_info:
        dtype: DT_STRING
        shape: unknown_rank
        name: tf_example:0
  The given SavedModel SignatureDef contains the following output(s):
    outputs['outputs'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: y:0
  Method name is: tensorflow/serving/regress

signature_def['regress_x_to_y2']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['inputs'] tensor_info:
        dtype: DT_STRING
        shape: unknown_rank
        name: tf_example:0
  The given SavedModel SignatureDef contains the following output(s):
    outputs['outputs'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: y2:0
  Method name is: tensorflow/serving/regress

signature_def['serving_default']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['x'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: x:0
  The given SavedModel SignatureDef contains the following output(s):
    outputs['y'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 1)
        name: y:0
  Method name is: tensorflow/serving/predict
"""

# upstream's literal expectation (testShowAllWithFunctions), from "Concrete Functions:" on
FUNCTIONS_EXPECTED = """Concrete Functions:
  Function Name: '__call__'
    Option #1
      Callable with:
        Argument #1
          y: TensorSpec(shape=(), dtype=tf.int32, name='y')
        Argument #2
          DType: int
          Value: 7

  Function Name: 'func1'
    Option #1
      Callable with:
        Argument #1
          a: TensorSpec(shape=(), dtype=tf.int32, name='a')
        Argument #2
          b: TensorSpec(shape=(), dtype=tf.int32, name='b')
        Argument #3
          DType: bool
          Value: True

  Function Name: 'func2'
    Option #1
      Callable with:
        Argument #1
          x: TensorSpec(shape=(2, 2), dtype=tf.float32, name='x')"""

PURE_EXPECTED = """Concrete Functions:
  Function Name: 'pure_concrete_function'
    Option #1
      Callable with:
        Argument #1
          a: TensorSpec(shape=(), dtype=tf.float32, name='a')
        Argument #2
          b: TensorSpec(shape=(), dtype=tf.float32, name='b')"""


# -- running both tools --------------------------------------------------------------------------


def _terminal(text: str) -> str:
    """What a terminal shows of saved_model_cli's output: its ``\\b\\b]`` take back the last
    ``, `` of a list (the space stays, so lines are compared right-stripped)."""
    lines = []
    for line in text.split("\n"):
        cells: list[str] = []
        cursor = 0
        for ch in line:
            if ch == "\b":
                cursor = max(cursor - 1, 0)
                continue
            if cursor < len(cells):
                cells[cursor] = ch
            else:
                cells.append(ch)
            cursor += 1
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


def tf_prints(body: Callable[..., Any], *args: Any) -> str:
    """What one of saved_model_cli's ``show`` bodies prints, as a terminal shows it."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        body(*args)
    return _terminal(buf.getvalue())


def ours(capsys: pytest.CaptureFixture[str], *argv: str, warnings: bool = False) -> str:
    """``graphtui show ARGV``'s stdout (exit 0; nothing on stderr unless ``warnings``: a
    realworld copy without its variables gets one warning line)."""
    capsys.readouterr()
    code = cli_main(["show", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(captured.err.splitlines()) <= (1 if warnings else 0), captured.err
    return "\n".join(line.rstrip() for line in captured.out.split("\n"))


def _functions_section(text: str) -> str:
    """From "Concrete Functions:" to the end of the section (graphtui's variables line and
    anything after a blank line that does not start a function left out)."""
    start = text.index("Concrete Functions:")
    lines = text[start:].split("\n")
    kept = [lines[0]]
    for i, line in enumerate(lines[1:], 1):
        if not line and not (i + 1 < len(lines) and lines[i + 1].startswith("  Function Name")):
            break
        kept.append(line)
    return "\n".join(kept).rstrip()


def _options(section: str) -> list[tuple[str, Counter[str]]]:
    """Each function's name line and the multiset of its options' text (``Option #N`` lines
    left out)."""
    out: list[tuple[str, Counter[str]]] = []
    current: list[str] = []
    for line in [*section.split("\n")[1:], "  Function Name: (end)"]:
        if line.startswith(("  Function Name: ", "    Option #")) or not line:
            if current:
                out[-1][1]["\n".join(current)] += 1
            current = []
            if line.startswith("  Function Name: "):
                out.append((line, Counter()))
            continue
        current.append(line)
    return out[:-1]


def assert_same_functions(theirs: str, mine: str) -> None:
    """The same functions, in order, each with the same options (as multisets)."""
    a, b = _functions_section(theirs), _functions_section(mine)
    assert _options(a) == _options(b)
    assert len(a.splitlines()) == len(b.splitlines())


# -- the models ----------------------------------------------------------------------------------


def _half_plus_two(path: Path, tags: list[list[str]]) -> Path:
    """Upstream's ``half_plus_two`` (``cc/saved_model/testdata``): y = 0.5 * x + 2,
    y2 = 0.5 * x + 3, y3 = 0.5 * x2 + 3, x / x2 parsed from a ``tf_example`` string; one meta
    graph per tag-set in ``tags`` (the first with the variables)."""
    build = tf1.saved_model.build_tensor_info
    with tf.Graph().as_default(), tf1.Session() as sess:
        a = tf1.Variable(0.5, name="a", use_resource=False)
        b = tf1.Variable(2.0, name="b", use_resource=False)
        c = tf1.Variable(3.0, name="c", use_resource=False)
        serialized = tf1.placeholder(tf.string, name="tf_example")
        features = tf1.parse_example(
            serialized,
            {
                "x": tf1.FixedLenFeature([1], tf.float32),
                "x2": tf1.FixedLenFeature([1], tf.float32, default_value=[0.0]),
            },
        )
        x = tf.reshape(features["x"], [-1, 1], name="x")
        x2 = tf.reshape(features["x2"], [-1, 1], name="x2")
        y = tf.raw_ops.Add(x=tf.multiply(a, x), y=b, name="y")  # TF1's tf.add
        y2 = tf.raw_ops.Add(x=tf.multiply(a, x), y=c, name="y2")
        y3 = tf.raw_ops.Add(x=tf.multiply(a, x2), y=c, name="y3")
        sess.run(tf1.global_variables_initializer())

        def sig(inputs: dict[str, Any], outputs: dict[str, Any], method: str) -> Any:
            return tf1.saved_model.build_signature_def(
                {k: build(v) for k, v in inputs.items()},
                {k: build(v) for k, v in outputs.items()},
                f"tensorflow/serving/{method}",
            )

        signatures = {
            "serving_default": sig({"x": x}, {"y": y}, "predict"),
            "classify_x_to_y": sig({"inputs": serialized}, {"scores": y}, "classify"),
            "classify_x2_to_y3": sig({"inputs": x2}, {"scores": y3}, "classify"),
            "regress_x_to_y": sig({"inputs": serialized}, {"outputs": y}, "regress"),
            "regress_x2_to_y3": sig({"inputs": x2}, {"outputs": y3}, "regress"),
            "regress_x_to_y2": sig({"inputs": serialized}, {"outputs": y2}, "regress"),
        }
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(sess, tags[0], signature_def_map=signatures)
        for more in tags[1:]:
            builder.add_meta_graph(more, signature_def_map=signatures)
        builder.save()
    return path


def _dummy_functions(path: Path) -> Path:
    """testShowAllWithFunctions's DummyModel, traced as upstream traces it."""
    from tensorflow.python.trackable import autotrackable

    class DummyModel(autotrackable.AutoTrackable):
        @tf.function
        def func1(self, a: Any, b: Any, c: Any) -> Any:
            if c:
                return a + b
            return a * b

        @tf.function(input_signature=[tf.TensorSpec(shape=(2, 2), dtype=tf.float32)])
        def func2(self, x: Any) -> Any:
            return x + 2

        @tf.function
        def __call__(self, y: Any, c: Any = 7) -> Any:
            return y + 2 * c

    model = DummyModel()
    model.func1(tf.constant(5), tf.constant(9), True)
    model(tf.constant(5))
    tf.saved_model.save(model, str(path))
    return path


def _pure_concrete(path: Path) -> Path:
    """``_save_dummy_model``: a bare concrete function with an input signature."""
    from tensorflow.python.trackable import autotrackable

    class DummyModel(autotrackable.AutoTrackable):
        def __init__(self) -> None:
            function = tf.function(
                self.multiply,
                input_signature=[
                    tf.TensorSpec(shape=(), dtype=tf.float32),
                    tf.TensorSpec(shape=(), dtype=tf.float32),
                ],
            )
            self.pure_concrete_function = function.get_concrete_function()

        def multiply(self, a: Any, b: Any) -> Any:
            return a * b

    tf.saved_model.save(DummyModel(), str(path))
    return path


def _many_arguments(path: Path) -> Path:
    """Beyond upstream: one function traced twice with arguments of every kind saved_model_cli
    prints differently (a list and a dict holding tensors, a str, a float and a None default,
    a tuple), and a bare concrete function with a partly unknown shape."""

    class Model(tf.Module):
        @tf.function
        def many(self, x: Any, opts: Any, d: Any, s: str = "hi", f: float = 1.5,
                 n: Any = None, t: tuple[int, int] = (1, 2)) -> Any:  # fmt: skip
            return x * 2

    model = Model()
    args = (tf.constant([1.0, 2.0]), [tf.constant(1), 3], {"k": tf.constant(2.0), "j": "x"})
    model.many(*args)
    model.many(*args, s="yo", n=tf.constant([[1]]))
    model.pure = tf.function(
        lambda a, b: a * b,
        input_signature=[
            tf.TensorSpec([None], tf.float32, name="aa"),
            tf.TensorSpec([], tf.float32),
        ],
    ).get_concrete_function()
    tf.saved_model.save(model, str(path))
    return path


def defaults_model(path: Path) -> Path:
    """A signature ``s`` over ``f(x, y=1.5, z=[1, 2])``: inputs ``y`` and ``z`` have tensor
    defaults, saved in ``SignatureDef.defaults``."""
    default_y, default_z = tf.constant(1.5), tf.constant([1, 2])

    class Model(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([2], tf.int32),
            ]
        )
        def f(self, x: Any, y: Any = default_y, z: Any = default_z) -> Any:
            return x * y + tf.cast(tf.reduce_sum(z), tf.float32)

    model = Model()
    tf.saved_model.save(model, str(path), signatures={"s": model.f})
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("saved_model_cli")
    return {
        "half_plus_two": _half_plus_two(root / "half_plus_two", [["serve"]]),
        # written train,gpu first: saved_model_cli prints meta graphs sorted by tags
        "two_tag_sets": _half_plus_two(root / "two_tag_sets", [["train", "gpu"], ["serve"]]),
        "functions": _dummy_functions(root / "functions"),
        "pure": _pure_concrete(root / "pure"),
        "many": _many_arguments(root / "many"),
    }


def _realworld_tf2_saved_models() -> list[Path]:
    """The realworld SavedModels with an object graph (TF2)."""
    if not REALWORLD.is_dir():
        return []
    found = []
    for pb in sorted(REALWORLD.rglob("saved_model.pb*")):
        with open_saved_model(pb.parent) as sm:
            if any(mg.has_object_graph for mg in sm.meta_graphs):
                found.append(pb.parent)
    return found


def _realworld_half_plus_two() -> list[Path]:
    """The realworld copies of upstream's ``half_plus_two/00000123`` (its SAVED_MODEL_PATH)."""
    if not REALWORLD.is_dir():
        return []
    return sorted(
        p.parent
        for p in REALWORLD.glob("tf_half_plus_two*/00000123/saved_model.pb*")
        if p.parent.name == "00000123"
    )


# -- show --all ----------------------------------------------------------------------------------


def test_show_command_all(models: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_cli_test.py testShowCommandAll: every signature block of half_plus_two, as
    upstream's literal text and as saved_model_cli prints it; the ops it lists are the ones
    graphtui finds."""
    from tensorflow.python.framework import meta_graph
    from tensorflow.python.saved_model import loader_impl

    directory = str(models["half_plus_two"])
    theirs = tf_prints(saved_model_cli._show_all, directory)  # noqa: SLF001
    mine = ours(capsys, directory)
    assert HALF_PLUS_TWO_ALL in mine
    assert _signature_block(mine) == _signature_block(theirs)
    assert "Concrete Functions:" not in mine  # a TF1 SavedModel: saved_model_cli lists none
    mg_def = loader_impl.parse_saved_model(directory).meta_graphs[0]
    with open_saved_model(directory) as sm:
        used = sm.meta_graph("serve").op_names()
    assert used == sorted(meta_graph.ops_used_by_graph_def(mg_def.graph_def))
    assert f"; {len(used)} op types" in mine


@pytest.mark.parametrize("directory", _realworld_half_plus_two(), ids=lambda p: p.parent.name)
def test_show_command_all_realworld(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_cli_test.py testShowCommandAll on the realworld copies of upstream's own
    test data (``cc/saved_model/testdata/half_plus_two/00000123``)."""
    mine = ours(capsys, str(directory))
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    assert _signature_block(mine) == _signature_block(theirs)
    if "classify_x2_to_y3" in theirs:  # the 2017 sets have every signature upstream lists
        assert HALF_PLUS_TWO_ALL in mine


@pytest.mark.parametrize(
    "directory", _realworld_tf2_saved_models(), ids=lambda p: p.relative_to(REALWORLD).as_posix()
)
def test_concrete_functions_realworld(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_cli_test.py testShowAllWithFunctions on the realworld TF2 SavedModels: the
    "Concrete Functions:" section equals saved_model_cli's wherever TensorFlow can load the
    model (where it cannot, graphtui still lists the functions)."""
    mine = ours(capsys, str(directory))
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    assert _signature_block(mine) == _signature_block(theirs)
    if "Concrete Functions: N/A" in theirs:
        assert "  Function Name: '" in _functions_section(mine)
    else:
        assert_same_functions(theirs, mine)


def test_meta_graphs_in_saved_model_clis_order(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowCommandAll / testShowCommandTags with two tag-sets
    written ``train,gpu`` first: ``show --all`` prints the meta graphs sorted by their tags,
    and so must graphtui (it printed them in file order)."""
    directory = str(models["two_tag_sets"])
    theirs = tf_prints(saved_model_cli._show_all, directory)  # noqa: SLF001
    mine = ours(capsys, directory)
    headers = [ln for ln in mine.splitlines() if ln.startswith("MetaGraphDef with tag-set:")]
    assert headers == [
        "MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:",
        "MetaGraphDef with tag-set: 'train, gpu' contains the following SignatureDefs:",
    ]
    assert _signature_block(mine) == _signature_block(theirs)


def test_show_all_with_functions(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowAllWithFunctions: the signatures (the init op's
    DT_INVALID / unknown_rank pseudo-output included) and the concrete functions with what each
    is callable with: TensorSpecs, a Python bool, the default ``c=7``."""
    directory = str(models["functions"])
    theirs = tf_prints(saved_model_cli._show_all, directory)  # noqa: SLF001
    mine = ours(capsys, directory)
    assert _signature_block(mine) == _signature_block(theirs)
    assert _functions_section(mine) == FUNCTIONS_EXPECTED
    assert _functions_section(mine) == _functions_section(theirs)
    assert "signature_def['serving_default']" in mine
    assert "        name: serving_default_x:0" in mine


def test_show_all_with_pure_concrete_function(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowAllWithPureConcreteFunction: a bare concrete function,
    its arguments named from the function's own (``a``, ``b``)."""
    directory = str(models["pure"])
    theirs = tf_prints(saved_model_cli._show_all, directory)  # noqa: SLF001
    mine = ours(capsys, directory)
    assert _signature_block(mine) == _signature_block(theirs)
    assert _functions_section(mine) == PURE_EXPECTED
    assert _functions_section(mine) == _functions_section(theirs)


def test_show_all_with_arguments_of_every_kind(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Beyond upstream (its _print_args branches): lists, dicts, str, float, None, tuple and
    TensorSpec arguments, a function with two options, a ``(None,)`` shape."""
    directory = str(models["many"])
    theirs = tf_prints(saved_model_cli._show_all, directory)  # noqa: SLF001
    mine = ours(capsys, directory)
    assert_same_functions(theirs, mine)
    assert "          aa: TensorSpec(shape=(None,), dtype=tf.float32, name='aa')" in mine
    # --json: the same functions and options, arguments as data
    capsys.readouterr()
    assert cli_main(["show", directory, "--json"]) == 0
    functions = json.loads(capsys.readouterr().out)["meta_graphs"][0]["concrete_functions"]
    assert [(f["name"], len(f["options"])) for f in functions] == [("many", 2), ("pure", 1)]
    pure = functions[1]["options"][0]
    assert pure["args"] == [
        {"tensor_spec": {"name": "aa", "dtype": "float32", "shape": [None]}},
        {"tensor_spec": {"name": "b", "dtype": "float32", "shape": []}},
    ]
    defaults = {tuple(map(json.dumps, o["args"][3:])) for o in functions[0]["options"]}
    assert ('"hi"', "1.5", "null", "[1, 2]") in defaults


@pytest.mark.parametrize("op", ["CustomOp", "VarHandleOp"], ids=["custom_op", "invalid_graph"])
def test_show_all_lists_functions_tensorflow_cannot_load(
    models: dict[str, Path], tmp_path: Path, op: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowAllWithCustomOp / testShowAllWithInvalidFuncGraph:
    a node added to a library function makes TF's loader fail, and saved_model_cli prints
    "N/A (could not be listed ...)"; graphtui does not load the model and lists the functions
    as saved_model_cli does for the model before the edit."""
    import shutil

    from tensorflow.python.saved_model import loader_impl

    directory = tmp_path / "edited"
    shutil.copytree(models["pure"], directory)
    proto = loader_impl.parse_saved_model(str(directory))
    proto.meta_graphs[0].graph_def.library.function[0].node_def.add(name="TestOp", op=op)
    (directory / "saved_model.pb").write_bytes(proto.SerializeToString(deterministic=True))
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    assert "Concrete Functions: N/A (could not be listed due to" in theirs
    mine = ours(capsys, str(directory))
    assert _functions_section(mine) == PURE_EXPECTED


# -- show --tag_set / --signature_def ------------------------------------------------------------


def test_show_command_tags(models: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_cli_test.py testShowCommandTags: the tag-sets of the SavedModel."""
    for name in ("half_plus_two", "two_tag_sets"):
        directory = str(models[name])
        theirs = tf_prints(saved_model_cli._show_tag_sets, directory)  # noqa: SLF001
        listed = theirs.strip().splitlines()
        assert listed[0] == "The given SavedModel contains the following tag-sets:"
        capsys.readouterr()
        assert cli_main(["show", directory, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        tag_sets = sorted(m["tags"] for m in data["meta_graphs"])  # as _show_tag_sets sorts
        mine = [repr(", ".join(sorted(tags))) for tags in tag_sets]
        assert mine == listed[1:]
    assert listed[1:] == ["'serve'", "'gpu, train'"]


def test_show_command_signature(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowCommandSignature: ``--tag_set serve`` lists the
    SignatureDef keys, sorted."""
    directory = str(models["half_plus_two"])
    theirs = tf_prints(saved_model_cli._show_signature_def_map_keys, directory, "serve")  # noqa: SLF001
    keys = [ln.split('"')[1] for ln in theirs.splitlines() if ln.startswith("SignatureDef key:")]
    assert keys == [
        "classify_x2_to_y3",
        "classify_x_to_y",
        "regress_x2_to_y3",
        "regress_x_to_y",
        "regress_x_to_y2",
        "serving_default",
    ]
    mine = ours(capsys, directory, "--tag-set", "serve")
    assert [ln[len("signature_def['") : -len("']:")] for ln in mine.splitlines()
            if ln.startswith("signature_def[")] == keys  # fmt: skip


def test_show_command_error_no_tag_set(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowCommandErrorNoTagSet: an unknown tag-set is an error
    (RuntimeError in TF; one line naming the file and the tag-sets there are, exit 1)."""
    directory = str(models["half_plus_two"])
    with pytest.raises(RuntimeError):
        saved_model_cli._show_signature_def_map_keys(directory, "badtagset")  # noqa: SLF001
    capsys.readouterr()
    assert cli_main(["show", directory, "--tag-set", "badtagset"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "badtagset" in lines[0] and "saved_model.pb" in lines[0] and "'serve'" in lines[0]


def test_show_command_inputs_outputs(
    models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model_cli_test.py testShowCommandInputsOutputs: ``--tag_set serve
    --signature_def serving_default`` prints that signature's inputs, outputs and method; graphtui
    prints the same block (indented one step, as in ``--all``)."""
    directory = str(models["half_plus_two"])
    expected = (
        "The given SavedModel SignatureDef contains the following input(s):\n"
        "  inputs['x'] tensor_info:\n"
        "      dtype: DT_FLOAT\n      shape: (-1, 1)\n      name: x:0\n"
        "The given SavedModel SignatureDef contains the following output(s):\n"
        "  outputs['y'] tensor_info:\n"
        "      dtype: DT_FLOAT\n      shape: (-1, 1)\n      name: y:0\n"
        "Method name is: tensorflow/serving/predict"
    )
    theirs = tf_prints(
        saved_model_cli._show_inputs_outputs,  # noqa: SLF001
        directory,
        "serve",
        "serving_default",
    )
    assert theirs.strip() == expected
    mine = ours(capsys, directory, "--tag-set", "serve", "--signature", "serving_default")
    block = mine.split("signature_def['serving_default']:\n")[1].split("\n\n")[0].rstrip()
    assert "\n".join(ln[2:] for ln in block.splitlines()) == expected
    assert mine.count("signature_def[") == 1


def test_show_command_list_ops(models: dict[str, Path]) -> None:
    """saved_model_cli_test.py testShowCommandListOps: the ops of the ``serve`` meta graph
    (upstream's list, and exactly the set saved_model_cli prints)."""
    import ast

    directory = str(models["half_plus_two"])
    theirs = tf_prints(saved_model_cli._show_ops_in_metagraph, directory, "serve")  # noqa: SLF001
    head = "The MetaGraph with tag set ['serve'] contains the following ops: "
    assert theirs.startswith(head)
    printed = ast.literal_eval(theirs.strip()[len(head) :])
    with open_saved_model(directory) as sm:
        used = sm.meta_graph("serve").op_names()
    assert set(used) == printed
    for op in ("VariableV2", "Add", "RestoreV2", "ShardedFilename", "Placeholder", "Mul",
               "Pack", "Reshape", "SaveV2", "Const", "Identity", "Assign", "StringJoin",
               "MergeV2Checkpoints", "NoOp"):  # fmt: skip
        assert op in used
    assert any(op.startswith("ParseExample") for op in used)  # ParseExampleV2 in TF 2.x


def test_print_ref_type_tensor() -> None:
    """saved_model_cli_test.py testPrintREFTypeTensor: a TensorInfo of DT_FLOAT_REF prints as
    ``DT_FLOAT_REF``."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    from graphtui._proto import pb
    from graphtui.core.savedmodel import tensor_spec

    theirs = tf_prints(
        saved_model_cli._print_tensor_info,  # noqa: SLF001
        meta_graph_pb2.TensorInfo(dtype=types_pb2.DT_FLOAT_REF),
    )
    spec = tensor_spec("x", pb.TensorInfo(dtype=pb.DataType.Value("DT_FLOAT_REF")))
    assert f"    dtype: {spec.dtype_enum}" in theirs.splitlines()
    assert spec.dtype_enum == "DT_FLOAT_REF"
    assert f"    shape: {spec.shape_text}" in theirs.splitlines()


# -- saved_model_utils_test.py -------------------------------------------------------------------


def test_get_saved_model_tag_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_utils_test.py testGetSavedModelTagSets: five meta graphs; the tag-sets in
    the file's order, as ``get_saved_model_tag_sets`` gives them; ``show`` prints them in
    ``show --all``'s order (sorted by tags) and picks each by its tags in any order."""
    from tensorflow.python.tools import saved_model_utils

    directory = tmp_path / "test_tags"
    builder = tf1.saved_model.Builder(str(directory))
    tag_sets = [["train"], ["serve"], ["serve", "gpu"], ["serve", "tpu"], ["foo", "bar"]]
    for i, tags in enumerate(tag_sets):
        with tf.Graph().as_default(), tf1.Session() as sess:
            v = tf1.Variable(42 + i, name="v")
            sess.run(v.initializer)
            if i == 0:
                builder.add_meta_graph_and_variables(sess, tags)
            else:
                builder.add_meta_graph(tags)
    builder.save()

    assert saved_model_utils.get_saved_model_tag_sets(str(directory)) == tag_sets
    with open_saved_model(directory) as sm:
        assert sm.tag_sets == tag_sets
        assert list(sm.meta_graph("gpu,serve").tags) == ["serve", "gpu"]
        assert list(sm.meta_graph(["bar", "foo"]).tags) == ["foo", "bar"]
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    mine = ours(capsys, str(directory))
    assert _signature_block(mine) == _signature_block(theirs)
    headers = [ln.split("'")[1] for ln in mine.splitlines() if ln.startswith("MetaGraphDef")]
    assert headers == ["foo, bar", "serve", "serve, gpu", "serve, tpu", "train"]


def test_read_saved_model_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_utils_test.py testReadSavedModelInvalid: no SavedModel there is an error
    naming the directory (IOError in TF; one line, exit 1)."""
    from tensorflow.python.tools import saved_model_utils

    directory = tmp_path / "invalid_saved_model"
    with pytest.raises(IOError, match="SavedModel file does not exist at"):
        saved_model_utils.read_saved_model(str(directory))
    capsys.readouterr()
    assert cli_main(["show", str(directory)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(directory) in lines[0]
    directory.mkdir()
    assert cli_main(["show", str(directory)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "not a SavedModel directory" in lines[0]


# -- saved_model/utils_test.py -------------------------------------------------------------------


def test_tensor_info_dense_sparse_ragged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """saved_model/utils_test.py testBuildTensorInfoDense / Sparse / Ragged and
    testGetTensorFromInfoDense / Sparse / Ragged: a signature's dense, sparse and ragged
    inputs; graphtui's encoding and component tensor names are the tensors TF's
    ``get_tensor_from_tensor_info`` finds, its dtype and shape what TF stored, and ``show``
    prints the block saved_model_cli prints."""
    from tensorflow.python.saved_model import utils

    directory = tmp_path / "infos"
    with tf.Graph().as_default(), tf1.Session() as sess:
        x = tf1.placeholder(tf.float32, 1, name="x")
        sparse = tf1.sparse_placeholder(tf.float32, [42, 69], name="sparse")
        ragged = tf1.ragged.placeholder(tf.int32, ragged_rank=1, name="ragged")
        y = tf.identity(x * 2, name="y")
        inputs = {"x": x, "sparse": sparse, "ragged": ragged}
        infos = {k: utils.build_tensor_info(v) for k, v in inputs.items()}
        signature = tf1.saved_model.build_signature_def(
            infos, {"y": utils.build_tensor_info(y)}, "tensorflow/serving/predict"
        )
        builder = tf1.saved_model.Builder(str(directory))
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"s": signature})
        builder.save()
        found = {k: utils.get_tensor_from_tensor_info(info) for k, info in infos.items()}
        assert found["x"].name == "x:0"
        want = {
            "x": {},
            "sparse": {
                "values": found["sparse"].values.name,
                "indices": found["sparse"].indices.name,
                "dense_shape": found["sparse"].dense_shape.name,
            },
            "ragged": {"0": found["ragged"].values.name, "1": found["ragged"].row_splits.name},
        }
    with open_saved_model(directory) as sm:
        specs = {t.key: t for t in sm.meta_graph("serve").signature("s").inputs}
    assert {k: s.encoding for k, s in specs.items()} == {
        "x": "name",
        "sparse": "coo_sparse",
        "ragged": "composite_tensor",
    }
    assert {k: s.components for k, s in specs.items()} == want
    assert specs["x"].name == "x:0" and specs["x"].shape == [1]
    assert (specs["sparse"].dtype, specs["sparse"].shape) == ("float32", [42, 69])
    assert specs["ragged"].type_spec == "RaggedTensorSpec"
    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    mine = ours(capsys, str(directory))
    assert _signature_block(mine) == _signature_block(theirs)
    assert "  s: inputs['sparse'] is coo_sparse: values=sparse/values:0" in mine


def _realworld_saved_models() -> list[Path]:
    if not REALWORLD.is_dir():
        return []
    return sorted({p.parent for p in REALWORLD.rglob("saved_model.pb*")})


@pytest.mark.parametrize(
    "directory", _realworld_saved_models(), ids=lambda p: p.relative_to(REALWORLD).as_posix()
)
def test_assets_realworld(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The assets ``show`` lists, on every realworld SavedModel: for each meta graph, the
    tensors TF's loader feeds asset paths to (``loader_impl.get_asset_tensors``, the
    ``asset_file_def`` field or a TF1 builder's ``saved_model_assets`` collection) and the
    paths it feeds them (some copies lack the asset file itself: ``show`` says MISSING)."""
    from tensorflow.python.saved_model.loader_impl import get_asset_tensors, parse_saved_model

    theirs = parse_saved_model(str(directory))
    names = set()
    with open_saved_model(directory) as sm:
        for mine, mg in zip(sm.meta_graphs, theirs.meta_graphs, strict=True):
            want = {k: os.fsdecode(v) for k, v in get_asset_tensors(str(directory), mg).items()}
            assert {a.tensor_name: a.path for a in mine.assets()} == want
            assert all(a.exists == os.path.isfile(a.path) for a in mine.assets())
            names |= set(want)
    shown = ours(capsys, str(directory), warnings=True)
    for name in names:
        assert f" -> {name} (" in shown


def _block(text: str, key: str) -> list[str]:
    """One signature's block, from ``signature_def['KEY']:`` to the blank line after it (or
    saved_model_cli's ops line, which follows the last block directly)."""
    lines = [line.rstrip() for line in text.split("\n")]
    start = lines.index(f"signature_def['{key}']:")
    end = next(
        i
        for i in range(start, len(lines))
        if not lines[i] or lines[i].startswith("The MetaGraph with tag set")
    )
    return lines[start:end]


def test_signature_with_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """saved_model_cli_test.py testShowAllWithFunctions's defaults, for a signature: a
    function whose inputs have tensor defaults is saved with ``SignatureDef.defaults``.
    saved_model_cli's block for it is graphtui's, line for line (graphtui printed an extra
    ``Inputs with defaults`` line inside it); graphtui gives each default's value below the
    signatures, as TF's ``make_ndarray`` reads it from the SignatureDef."""
    from tensorflow.python.saved_model import loader_impl

    directory = defaults_model(tmp_path / "defaults")
    stored = loader_impl.parse_saved_model(str(directory)).meta_graphs[0].signature_def["s"]
    assert {k: tf.make_ndarray(v).tolist() for k, v in stored.defaults.items()} == {
        "y": 1.5,
        "z": [1, 2],
    }

    theirs = tf_prints(saved_model_cli._show_all, str(directory))  # noqa: SLF001
    mine = ours(capsys, str(directory))
    assert _block(mine, "s") == _block(theirs, "s")
    assert "  s: inputs['y'] defaults to 1.5" in mine.splitlines()
    assert "  s: inputs['z'] defaults to [1, 2]" in mine.splitlines()
    capsys.readouterr()
    assert cli_main(["show", str(directory), "--json"]) == 0
    sigs = json.loads(capsys.readouterr().out)["meta_graphs"][0]["signatures"]
    s = next(sig for sig in sigs if sig["key"] == "s")
    assert s["defaults"] == ["y", "z"]
    assert s["default_values"] == {"y": "1.5", "z": "[1, 2]"}
