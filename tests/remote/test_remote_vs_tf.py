"""What graphtui writes to a bucket loads in real TensorFlow: export / rename / strip with a
``--out`` on the local S3 and GCS servers, downloaded, then imported and restored by TF
(``import_meta_graph`` + ``Saver.restore``) and read by ``tf.train.load_checkpoint``; values
must equal TF's reading of the source. (Here rather than in tests/interop/ so that it shares
this folder's servers: moto's servers in one process share one store.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.export import export
from graphtui.core.names import ScopeMap
from graphtui.core.rename import rename
from graphtui.core.strip import strip
from tests.remote.conftest import FIXTURES, Remote

pytestmark = pytest.mark.interop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

tf = pytest.importorskip("tensorflow")
tf1 = tf.compat.v1


def _download(store: Remote, prefix_url: str, into: Path) -> Path:
    directory, name = prefix_url.split("://", 1)[1].rsplit("/", 1)
    store.fs.invalidate_cache()
    for path in store.fs.ls(directory, detail=False):
        base = path.rsplit("/", 1)[1]
        if base.startswith(name + ".") or base == "checkpoint":
            store.fs.get_file(path, str(into / base))
    return into / name


def _tf_values(prefix: Path) -> dict[str, Any]:
    reader = tf.train.load_checkpoint(str(prefix))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


def _tf_restore(meta: Path, prefix: Path) -> dict[str, Any]:
    graph = tf.Graph()
    with graph.as_default():
        saver = tf1.train.import_meta_graph(str(meta))
        variables = tf1.global_variables()
        with tf1.Session(graph=graph) as sess:
            saver.restore(sess, str(prefix))
            return dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))


def _url(store: Remote, rel: str) -> str:
    return f"{store.base.split('://')[0]}://fixtures/interop-{store.kind}/{rel}"


def test_export_to_bucket_loads_in_tf(store: Remote, tmp_path: Path) -> None:
    out = _url(store, "export/model.ckpt-50")
    export(store.url("train"), out)
    local = _download(store, out, tmp_path)
    want = _tf_values(FIXTURES / "train" / "model.ckpt-50")
    got = _tf_values(local)
    assert got.keys() == want.keys()
    for name, value in want.items():
        assert np.array_equal(got[name], value), name
    restored = _tf_restore(Path(f"{local}.meta"), local)
    assert np.array_equal(restored["global_step"], want["global_step"])
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(local)


def test_rename_and_strip_to_bucket_load_in_tf(store: Remote, tmp_path: Path) -> None:
    src = store.url("train/model.ckpt-50")
    out = _url(store, "renamed/model.ckpt")
    rename(src, out, ScopeMap([("model", "net")]))
    local = _download(store, out, tmp_path)
    restored = _tf_restore(Path(f"{local}.meta"), local)
    want = _tf_values(FIXTURES / "train" / "model.ckpt-50")
    assert np.array_equal(restored["net/layer_1/dense/kernel"], want["model/layer_1/dense/kernel"])
    out2 = _url(store, "stripped/model.ckpt")
    strip(src, out2, ["*/Adam*"])
    (tmp_path / "s").mkdir()
    local2 = _download(store, out2, tmp_path / "s")
    values = _tf_values(local2)
    assert values and not any("Adam" in n for n in values)
    _tf_restore(Path(f"{local2}.meta"), local2)
