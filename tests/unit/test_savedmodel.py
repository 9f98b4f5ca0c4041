"""SavedModel directories against what TensorFlow's own protos and loader reported (facts.json),
and the ``graphtui show`` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from graphtui._proto import pb
from graphtui.cli import main
from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.graph import parse_input
from graphtui.core.objects import load_object_graph
from graphtui.core.savedmodel import (
    INIT_OP_SIGNATURE_KEY,
    find_saved_model_file,
    is_saved_model_dir,
    open_saved_model,
)
from graphtui.errors import CoreError, FormatError, MissingFileError, NotFoundError
from graphtui.formats.metagraph_io import serialize_message
from tests.fixtures.shared import DATA, FACTS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ALL_META = FACTS["saved_model_meta_graphs"]
CASES = FACTS["saved_model_cases"]
DIRS = sorted(ALL_META)


@pytest.fixture(params=DIRS)
def case(request: pytest.FixtureRequest) -> Any:
    with open_saved_model(DATA / request.param) as sm:
        yield request.param, sm


def test_fixtures_cover_tf1_tf2_keras_and_multiple_tag_sets() -> None:
    assert set(CASES.values()) == set(DIRS)
    assert len(ALL_META[CASES["v1_multi_tag"]]) == 2
    assert ALL_META[CASES["keras"]][0]["object_graph"] is not None
    assert any(m["assets"] for m in ALL_META[CASES["v1_multi_tag"]])


def _spec_facts(spec: Any) -> dict[str, Any]:
    out = {"name": spec.name, "dtype": spec.dtype, "shape": spec.shape, "encoding": spec.encoding}
    if spec.encoding == "coo_sparse":
        out["components"] = spec.components
    return out


def test_tag_sets_signatures_and_functions(case: Any) -> None:
    directory, sm = case
    facts = ALL_META[directory]
    assert sm.tag_sets == [m["tags"] for m in facts]
    assert sm.schema_version == 1 and sm.format == "binary"
    for mg, mfacts in zip(sm.meta_graphs, facts, strict=True):
        assert mg.tags == tuple(mfacts["tags"])
        ours = {
            s.key: {
                "method_name": s.method_name,
                "inputs": {t.key: _spec_facts(t) for t in s.inputs},
                "outputs": {t.key: _spec_facts(t) for t in s.outputs},
            }
            for s in mg.signatures
        }
        assert ours == mfacts["signatures"]
        assert [s.key for s in mg.signatures] == sorted(mfacts["signatures"])
        assert len(mg.graph) == mfacts["node_count"]
        assert sorted(mg.function_names()) == mfacts["functions"]
        assert sorted(f.name for f in mg.functions()) == mfacts["functions"]


def test_first_meta_graph_matches_saved_model_facts(case: Any) -> None:
    directory, sm = case
    facts = FACTS["saved_models"][directory]
    mg = sm.meta_graphs[0]
    assert list(mg.tags) == facts["tags"]
    for sig in mg.signatures:
        expected = facts["signatures"][sig.key]
        for spec in sig.inputs:
            got = {"name": spec.name, "dtype": spec.dtype, "shape": spec.shape}
            assert got == expected["inputs"][spec.key]
    assert sm.variables_prefix == str(DATA / facts["variables_prefix"])


def test_shape_text_like_saved_model_cli(case: Any) -> None:
    _, sm = case
    for mg in sm.meta_graphs:
        for sig in mg.signatures:
            for spec in sig.inputs + sig.outputs:
                if spec.shape is None:
                    assert spec.shape_text == "unknown_rank"
                else:
                    assert spec.shape_text == "(" + ", ".join(map(str, spec.shape)) + ")"
                assert spec.dtype_enum.startswith("DT_")


def test_init_op_signature_is_flagged() -> None:
    with open_saved_model(DATA / CASES["module"]) as sm:
        sig = sm.meta_graph().signature(INIT_OP_SIGNATURE_KEY)
    assert sig.is_init_op and sig.outputs[0].dtype == "DT_INVALID"
    assert sig.outputs[0].shape is None


def test_assets_follow_tensorflows_loader(case: Any) -> None:
    directory, sm = case
    for mg, mfacts in zip(sm.meta_graphs, ALL_META[directory], strict=True):
        assets = mg.assets()
        assert {
            a.tensor_name: str(Path(a.path).relative_to(DATA / directory)) for a in assets
        } == mfacts["assets"]
        for a in assets:
            assert a.exists and a.size == Path(a.path).stat().st_size
    expected = sorted({p for m in ALL_META[directory] for p in m["assets"].values()})
    assert [f for f in sm.asset_files() if f.startswith("assets/")] == expected


def test_object_graph_summary_and_nodes(case: Any) -> None:
    directory, sm = case
    for mg, mfacts in zip(sm.meta_graphs, ALL_META[directory], strict=True):
        og = mfacts["object_graph"]
        summary = mg.object_graph_summary()
        if og is None:
            assert summary is None and mg.saved_objects() == [] and not mg.has_object_graph
            continue
        assert summary is not None
        assert summary.nodes == len(og["nodes"])
        assert summary.concrete_functions == len(og["concrete_functions"])
        kinds: dict[str, int] = {}
        for node in og["nodes"]:
            kinds[node["kind"]] = kinds.get(node["kind"], 0) + 1
        assert summary.kinds == dict(sorted(kinds.items()))
        objects = mg.saved_objects()
        assert [o.kind for o in objects] == [n["kind"] for n in og["nodes"]]
        assert [[[i, name] for name, i in o.children] for o in objects] == [
            n["children"] for n in og["nodes"]
        ]
        named = {f for o in objects for f in o.concrete_functions}
        assert named <= set(og["concrete_functions"]) | set(mfacts["functions"])


def test_saved_variables_agree_with_the_checkpoint_object_graph(case: Any) -> None:
    """Each SavedVariable's path reaches the checkpoint object with the same dtype and shape."""
    directory, sm = case
    objects = sm.meta_graphs[0].saved_objects()
    variables = [o for o in objects if o.kind == "variable"]
    if not variables:
        with pytest.raises(CoreError, match="not an object-based checkpoint"):
            sm.object_graph()
        return
    graph = sm.object_graph()
    for obj in variables:
        node = graph.find(obj.path)
        attr = node.value_attribute
        assert attr is not None, obj.path
        assert (attr.dtype, list(attr.shape)) == (obj.dtype, obj.shape)


def test_variables_match_list_variables(case: Any) -> None:
    directory, sm = case
    facts = FACTS["checkpoints"][f"{directory}/variables/variables"]
    assert [[i.name, list(i.shape)] for i in sm.variables()] == facts["list_variables"]
    assert sm.variables_problem() is None and sm.has_variables


def test_function_graph_resolves_every_edge() -> None:
    with open_saved_model(DATA / CASES["module"]) as sm:
        mg = sm.meta_graph("serve")
        for info in mg.functions():
            fdef = mg.graph.function(info.name)
            sub = mg.function_graph(info.name)
            body = [n.name for n in fdef.node_def]
            args = [a.name for a in fdef.signature.input_arg]
            assert [n for n in sub.names if n in body] == body
            assert len(sub) == len(body) + len(args) + len(fdef.signature.output_arg)
            for name in sub.names:
                for text in sub.node(name).input:
                    assert parse_input(text).node in sub, (info.name, name, text)
            for arg in args:
                assert sub.op(arg) == "_Arg"
                if any(arg in n.input or f"{arg}:0" in n.input for n in fdef.node_def):
                    assert sub.consumers(arg)
        with pytest.raises(NotFoundError, match="no function named"):
            mg.function_graph("nope")


def test_op_names_cover_graph_and_called_functions() -> None:
    with open_saved_model(DATA / CASES["module"]) as sm:
        mg = sm.meta_graph()
        ops = mg.op_names()
        library = set(mg.function_names())
        graph_ops = {op for op in mg.graph.ops if op not in library}
        assert graph_ops <= set(ops)
        called = mg.graph.function("__inference_predict_1028")
        assert {n.op for n in called.node_def} - library <= set(ops)
        assert not set(ops) & library


# -- choosing a meta graph -----------------------------------------------------------------------


def test_meta_graph_by_tags() -> None:
    with open_saved_model(DATA / CASES["v1_multi_tag"]) as sm:
        train = sm.meta_graph("train,gpu")
        assert sm.meta_graph("gpu, train") is train
        assert sm.meta_graph(["gpu", "train"]) is train
        assert train.tag_set == "train,gpu"
        assert sm.meta_graph() is sm.meta_graph("serve")
        with pytest.raises(NotFoundError) as err:
            sm.meta_graph("train")
        assert "'serve'; 'train,gpu'" in str(err.value)
        with pytest.raises(NotFoundError, match="no signature 'x' in tag-set 'serve'"):
            sm.meta_graph().signature("x")


# -- text format, files and errors ---------------------------------------------------------------


def _copy_model(src: Path, dst: Path, *, variables: bool = True) -> Path:
    dst.mkdir()
    shutil.copy(src / "saved_model.pb", dst / "saved_model.pb")
    if variables:
        shutil.copytree(src / "variables", dst / "variables")
    return dst


def test_pbtxt_reads_like_the_binary(tmp_path: Path) -> None:
    src = DATA / CASES["module"]
    dst = _copy_model(src, tmp_path / "m")
    with open_saved_model(src) as binary:
        text = serialize_message(binary.message, as_text=True)
        (dst / "saved_model.pbtxt").write_bytes(text)
        (dst / "saved_model.pb").unlink()
        with open_saved_model(dst) as sm:
            assert sm.format == "text" and sm.path.endswith("saved_model.pbtxt")
            assert sm.message == binary.message
            a, b = sm.to_json(), binary.to_json()
            for key in ("directory", "file", "format", "variables_prefix"):
                a.pop(key), b.pop(key)
            for m in a["meta_graphs"] + b["meta_graphs"]:
                m.pop("assets")
            assert a == b
            assert [i.name for i in sm.variables()] == [i.name for i in binary.variables()]


def test_binary_wins_over_text(tmp_path: Path) -> None:
    dst = _copy_model(DATA / CASES["module"], tmp_path / "m")
    (dst / "saved_model.pbtxt").write_text("garbage {")
    assert find_saved_model_file(dst) == str(dst / "saved_model.pb")
    with open_saved_model(dst) as sm:
        assert sm.format == "binary"


def test_open_by_file_path() -> None:
    pb_file = DATA / CASES["module"] / "saved_model.pb"
    with open_saved_model(pb_file) as sm:
        assert sm.directory == str(pb_file.parent)
        assert sm.variables()


def test_directory_without_saved_model(tmp_path: Path) -> None:
    assert not is_saved_model_dir(tmp_path)
    with pytest.raises(NotFoundError) as err:
        open_saved_model(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: not a SavedModel directory (no saved_model.pb or saved_model.pbtxt)"
    )
    with pytest.raises(NotFoundError, match="no such directory"):
        open_saved_model(tmp_path / "absent")
    (tmp_path / "x.meta").write_bytes(b"")
    with pytest.raises(NotFoundError, match="not a SavedModel directory or saved_model.pb file"):
        open_saved_model(tmp_path / "x.meta")


@pytest.mark.parametrize("cut", [0, 7, 1000])
def test_corrupt_saved_model_pb(tmp_path: Path, cut: int) -> None:
    dst = _copy_model(DATA / CASES["module"], tmp_path / "m")
    data = (dst / "saved_model.pb").read_bytes()
    (dst / "saved_model.pb").write_bytes(data[:cut])
    with pytest.raises(FormatError) as err:
        open_saved_model(dst)
    message = str(err.value)
    assert message.startswith(str(dst / "saved_model.pb")) and "\n" not in message


def test_saved_model_without_meta_graphs(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(
        pb.SavedModel(saved_model_schema_version=1).SerializeToString()
    )
    with pytest.raises(FormatError, match="holds no meta graph"):
        open_saved_model(tmp_path)


def test_missing_variables(tmp_path: Path) -> None:
    dst = _copy_model(DATA / CASES["module"], tmp_path / "m", variables=False)
    with open_saved_model(dst) as sm:
        assert sm.meta_graph().signatures  # the structure is still readable
        assert not sm.has_variables and sm.expects_variables()
        index = str(dst / "variables" / "variables.index")
        with pytest.raises(MissingFileError) as err:
            sm.open_variables()
        assert str(err.value) == f"{index}: no such file: the SavedModel's variables are missing"
        assert sm.variables_problem() == str(err.value)


def test_corrupt_variables(tmp_path: Path) -> None:
    dst = _copy_model(DATA / CASES["module"], tmp_path / "m")
    index = dst / "variables" / "variables.index"
    index.write_bytes(index.read_bytes()[:20])
    with open_saved_model(dst) as sm:
        problem = sm.variables_problem()
    assert problem is not None and str(index) in problem and "\n" not in problem


def test_variables_reader_is_shared_and_closed() -> None:
    sm = open_saved_model(DATA / CASES["module"])
    reader = sm.open_variables()
    assert sm.open_variables() is reader
    assert load_object_graph(reader).root.children
    sm.close()
    assert sm._reader is None  # noqa: SLF001 - closing released it
    with load_checkpoint(sm.variables_prefix) as again:
        assert again.names() == [i.name for i in sm.variables()]


# -- graphtui show -------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _signature_block(key: str, sig: dict[str, Any]) -> list[str]:
    """What saved_model_cli prints for one signature (dense tensors), from the facts."""

    def dtype_enum(name: str) -> str:
        return name if name.startswith("DT_") else pb.DataType.Name(_enum(name))

    lines = [f"signature_def['{key}']:"]
    for direction, label in (("input", "inputs"), ("output", "outputs")):
        lines.append(f"  The given SavedModel SignatureDef contains the following {direction}(s):")
        for k, t in sorted(sig[label].items()):
            shape = "unknown_rank" if t["shape"] is None else f"({', '.join(map(str, t['shape']))})"
            lines += [
                f"    {label}['{k}'] tensor_info:",
                f"        dtype: {dtype_enum(t['dtype'])}",
                f"        shape: {shape}",
                f"        name: {t['name']}",
            ]
    lines.append(f"  Method name is: {sig['method_name']}")
    return lines


def _enum(name: str) -> int:
    from graphtui.formats import dtypes

    return dtypes.from_name(name).enum


def test_show_prints_signatures_like_saved_model_cli(capsys: pytest.CaptureFixture[str]) -> None:
    directory = CASES["module"]
    code, out, err = _run(capsys, "show", str(DATA / directory))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:" in lines
    for key, sig in ALL_META[directory][0]["signatures"].items():
        block = _signature_block(key, sig)
        start = lines.index(block[0])
        assert lines[start : start + len(block)] == block
    functions = ALL_META[directory][0]["functions"]
    assert f"  functions: {len(functions)}" in lines
    assert all(f"    {f}" in lines for f in functions)
    count = len(FACTS["checkpoints"][f"{directory}/variables/variables"]["list_variables"]) - 1
    assert any(line.startswith(f"variables: {count} tensors") for line in lines)


def test_show_multi_tag_sets_sparse_and_assets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "show", str(DATA / CASES["v1_multi_tag"]))
    assert code == 0
    assert "tag-sets: 'serve'; 'train,gpu'" in out.splitlines()[0]
    assert "MetaGraphDef with tag-set: 'train, gpu' contains the following SignatureDefs:" in out
    # below the signatures, not inside saved_model_cli's block (issue 18.9)
    assert "coo_sparse: values=ids/values:0 indices=ids/indices:0 dense_shape=ids/shape:0" in out
    assert "        coo_sparse:" not in out
    assert "  asset: vocab.txt -> vocab:0 (17 B)" in out
    assert "(name-based:" in out


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    directory = CASES["keras"]
    code, out, _ = _run(capsys, "show", str(DATA / directory), "--json")
    assert code == 0
    data = json.loads(out)
    facts = ALL_META[directory]
    assert [m["tags"] for m in data["meta_graphs"]] == [m["tags"] for m in facts]
    mg = data["meta_graphs"][0]
    assert [s["key"] for s in mg["signatures"]] == sorted(facts[0]["signatures"])
    assert mg["functions"] == facts[0]["functions"]
    assert mg["object_graph"]["nodes"] == len(facts[0]["object_graph"]["nodes"])
    listed = FACTS["checkpoints"][f"{directory}/variables/variables"]["list_variables"]
    expected = [[n, s] for n, s in listed if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert [[t["name"], t["shape"]] for t in data["variables"]["tensors"]] == expected
    assert data["variables"]["object_based"] is True and data["variables"]["error"] is None


def test_show_filters(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / CASES["v1_multi_tag"])
    code, out, _ = _run(capsys, "show", path, "--tag-set", "gpu,train", "--json")
    assert code == 0 and [m["tags"] for m in json.loads(out)["meta_graphs"]] == [["train", "gpu"]]
    code, out, _ = _run(capsys, "show", path, "--signature", "predict")
    assert code == 0 and "signature_def['predict']:" in out and "serving_default" not in out
    code, _, err = _run(capsys, "show", path, "--signature", "nope")
    assert code == 1 and "no signature 'nope'" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "show", path, "--tag-set", "eval")
    assert code == 1 and "no meta graph with tag-set 'eval'" in err


def test_show_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, "show", str(DATA / "train"))
    assert code == 1 and out == ""
    assert (
        err
        == f"graphtui: error: {DATA / 'train'}: not a SavedModel directory (no saved_model.pb or saved_model.pbtxt)\n"
    )
    dst = _copy_model(DATA / CASES["module"], tmp_path / "m", variables=False)
    code, out, err = _run(capsys, "show", str(dst))
    # the signatures were shown: a warning, exit 0, as the app does (issue 18.9)
    assert code == 0 and "signature_def['serving_default']:" in out
    assert err.startswith("graphtui: warning: ") and "variables are missing" in err
    assert err.count("\n") == 1


def test_concrete_functions_that_do_not_decode_are_na() -> None:
    """A root function whose input signature holds a value that does not decode (a tensor
    naming 10**12 elements): the functions are not listed, the reason is, in the line ``show``
    prints and the app shows ("N/A (could not be listed: ...)", saved_model_cli's N/A)."""
    from graphtui.core.savedmodel_functions import list_root_functions

    graph = pb.SavedObjectGraph()
    root, function = graph.nodes.add(), graph.nodes.add()
    root.children.add(node_id=1, local_name="f")
    function.function.concrete_functions.append("__inference_f_1")
    saved = graph.concrete_functions["__inference_f_1"]
    args = saved.canonicalized_input_signature.tuple_value.values
    tensor = args.add().tuple_value.values.add().tensor_value
    tensor.dtype = pb.DataType.Value("DT_FLOAT")
    tensor.tensor_shape.dim.add(size=10**12)
    args.add().dict_value.SetInParent()
    listing = list_root_functions(graph)
    assert listing.functions == [] and listing.problem is not None
    assert "too many" in listing.problem
    assert listing.lines() == [f"Concrete Functions: N/A (could not be listed: {listing.problem})"]
    # the same structure with a small tensor lists the function
    tensor.tensor_shape.dim[0].size = 1
    tensor.float_val.append(2.5)
    listing = list_root_functions(graph)
    assert listing.problem is None and [f.name for f in listing.functions] == ["f"]
    assert listing.lines()[:2] == ["Concrete Functions:", "  Function Name: 'f'"]


def test_function_catalog_lists_without_decoding_and_checks_as_listing_does() -> None:
    """FunctionCatalog lists the root's functions (names, option counts) without decoding a
    signature; looking one up decodes it; ``check`` (cancellable, resumed where it stopped)
    ends with :func:`list_root_functions`' listing: every function, or N/A with the first
    reason in order (a structural problem found at once, decoded up to it as the listing
    does)."""
    from graphtui.core.savedmodel_functions import FunctionCatalog, list_root_functions

    graph = pb.SavedObjectGraph()
    root = graph.nodes.add()
    for i in range(5):
        name = f"__inference_f{i}_1"
        root.children.add(node_id=i + 1, local_name=f"f{i}")
        graph.nodes.add().function.concrete_functions.extend([name, name + "0"][: 1 + i % 2])
        for concrete in graph.nodes[-1].function.concrete_functions:
            args = graph.concrete_functions[concrete].canonicalized_input_signature
            args.tuple_value.values.add().tuple_value.values.add().int64_value = i
            args.tuple_value.values.add().dict_value.SetInParent()
    catalog = FunctionCatalog(graph)
    assert list(catalog) == [f"f{i}" for i in range(5)]
    assert [catalog.options(n) for n in catalog] == [1, 2, 1, 2, 1]
    assert catalog.listing is None and catalog._decoded == {}  # noqa: SLF001
    assert catalog["f3"].options[1].args == (3,)
    calls = iter(range(100))
    assert catalog.check(cancelled=lambda: next(calls) >= 2) is None
    assert catalog.checked == 2 and catalog.listing is None
    assert catalog.check() == list_root_functions(graph) and catalog.checked == 5
    # a value that does not decode in f3 and f1: N/A with f1's reason, as the listing says
    for i in (3, 1):
        values = graph.concrete_functions[f"__inference_f{i}_1"].canonicalized_input_signature
        tensor = values.tuple_value.values[0].tuple_value.values.add().tensor_value
        tensor.dtype = pb.DataType.Value("DT_FLOAT")
        tensor.tensor_shape.dim.add(size=10**12 + i)
    expected = list_root_functions(graph)
    assert expected.problem is not None and str(10**12 + 1) in expected.problem
    catalog = FunctionCatalog(graph)
    assert catalog.decode("f3") is None and catalog.decode("f4") is not None
    assert catalog.check() == expected
    # a structural problem after f1: the listing's reason (f1's value) at once
    root.children.add(local_name="f9", node_id=99)
    catalog = FunctionCatalog(graph)
    assert catalog.listing == list_root_functions(graph) == expected
    assert list(catalog) == [] and catalog.check() == expected
