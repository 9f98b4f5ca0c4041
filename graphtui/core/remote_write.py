"""Writing a result checkpoint to a bucket (``--out gs://...``, ``s3://...``).

Object stores have no rename, so a checkpoint cannot appear at once: it is written and verified
in a private temporary directory first (the same writer and checks as a local ``--out``), then
uploaded data shards first, ``.meta`` next and ``.index`` last (a prefix without its index is
no checkpoint), read back from the store and verified there, and only then is the directory's
``checkpoint`` state file replaced. A failure at any step deletes every object uploaded, so no
state file ever names a checkpoint that is not whole. Sources are never modified.

Why staged, not streamed to the store: the writer is the one local write path of every command
(its transaction, free-space checks, O_DIRECT data sink and copy-time checksum checks work on
file descriptors), and a staged file is uploaded by the libraries' own retrying multipart
uploads; a second writer streaming into ``fs.open(url, "wb")`` would repeat all of it. The cost
is local space of the result's size in ``TMPDIR``: a shortage is refused before anything is
uploaded, in one line naming ``TMPDIR``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from graphtui.errors import ConflictError, FormatError, GraphtuiError, WriteError
from graphtui.formats import storage
from graphtui.formats.state_file import DEFAULT_NAME

if TYPE_CHECKING:
    from graphtui.core.output import WriteResult
    from graphtui.core.write_check import Expected
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import OnStep


def upload_order(files: list[str]) -> list[str]:
    """Data shards, then the graph, then the index (the commit point of a checkpoint)."""

    def rank(path: str) -> int:
        if path.endswith(".index"):
            return 2
        if path.endswith(".meta"):
            return 1
        return 0

    return sorted(files, key=lambda p: (rank(p), p))


def check_remote_target(out: str, sources: Iterable[str]) -> str:
    """The normalised target URL; refuse a source or a prefix that already has objects."""
    target = storage.normpath(out)
    for src in sources:
        if storage.abspath(src) == target:
            raise ConflictError("refused: the output would overwrite the source", [target])
    clash = [
        p
        for p in [target + ".index", target + ".meta", *storage.glob(target + ".data-*-of-*")]
        if storage.isfile(p)
    ]
    if clash:
        raise ConflictError(
            "refused: the output prefix already has files (choose a new --out)", sorted(clash)
        )
    return target


def write_remote(
    out_prefix: str,
    *,
    sources: Iterable[str] = (),
    fill: Callable[[BundleWriter], Mapping[str, Expected] | None] | None = None,
    meta_graph: Any = None,
    as_text: bool = False,
    update_state: bool = True,
    on_step: OnStep | None = None,
) -> WriteResult:
    """:func:`~graphtui.core.output.write_checkpoint` for a URL target (see the module doc)."""
    from graphtui.core.output import WriteResult, state_after_adding, write_checkpoint
    from graphtui.formats.remote import call, filesystem

    sources = list(sources)
    out = check_remote_target(out_prefix, sources)
    directory = storage.dirname(out)
    name = storage.basename(out)
    fs, _ = filesystem(out)
    step = on_step or (lambda _step: None)
    uploaded: list[str] = []
    with tempfile.TemporaryDirectory(prefix="graphtui-upload-") as staging:
        try:
            local = write_checkpoint(
                os.path.join(staging, name),
                fill=fill,
                meta_graph=meta_graph,
                as_text=as_text,
                update_state=False,
            )
        except (WriteError, OSError) as exc:  # nothing was uploaded yet
            detail = exc.detail if isinstance(exc, WriteError) else (exc.strerror or str(exc))
            raise WriteError(
                out,
                f"staging the checkpoint in {tempfile.gettempdir()} before the upload failed "
                f"({detail}); set TMPDIR to a disk with room",
            ) from None
        try:
            for path in upload_order(list(local.files)):
                url = storage.join(directory, os.path.basename(path))
                step(f"upload {os.path.basename(path)}")
                call(url, fs.put_file, path, fs._strip_protocol(url), **_upload_meter())
                uploaded.append(url)
            storage.invalidate(directory)
            _verify_uploaded(out, local, fill is not None)
            result = WriteResult(
                prefix=out,
                files=list(uploaded),
                tensors=local.tensors,
                bytes=local.bytes,
                meta=out + ".meta" if local.meta is not None else None,
                notes=local.notes,
            )
            if fill is not None and update_state:
                state_url = storage.join(directory, DEFAULT_NAME)
                text = state_after_adding(directory, out)
                step(f"upload {DEFAULT_NAME}")
                call(state_url, fs.pipe_file, fs._strip_protocol(state_url), text.encode())
                storage.invalidate(directory)
                result.state_file = state_url
                result.files.append(state_url)
        except BaseException as exc:
            _delete(fs, uploaded)
            if isinstance(exc, GraphtuiError) and not isinstance(exc, FormatError):
                raise
            if isinstance(exc, FormatError):
                raise FormatError(
                    out, f"write failed and the uploaded objects were removed: {exc}"
                ) from None
            raise
    return result


def _upload_meter() -> dict[str, Any]:
    """``put_file``'s ``callback`` reporting the upload's bytes to the progress meter (nothing
    when no meter watches)."""
    from graphtui.formats import progress

    if not progress.watched():
        return {}
    from fsspec.callbacks import Callback

    class _Meter(Callback):
        seen = 0
        sized = False

        def call(self, hook_name: str | None = None, **kwargs: Any) -> None:
            if self.size and not self.sized:
                self.sized = True
                progress.expect(int(self.size))
            done = int(self.value or 0)
            if done > self.seen:
                progress.advance(done - self.seen)
                self.seen = done

    return {"callback": _Meter()}


def _verify_uploaded(out: str, local: WriteResult, has_checkpoint: bool) -> None:
    """Read the uploaded checkpoint back from the store: the same bytes, every checksum."""
    from graphtui.formats.bundle import BundleReader
    from graphtui.formats.byte_source import read_file

    for path in local.files:
        url = storage.join(storage.dirname(out), os.path.basename(path))
        if storage.getsize(url) != os.path.getsize(path):
            raise FormatError(url, "uploaded object differs in size from what was written")
    if local.meta is not None:
        with open(local.meta, "rb") as fh:
            if read_file(out + ".meta") != fh.read():
                raise FormatError(out + ".meta", "read back differs from what was written")
    if has_checkpoint:
        with BundleReader(out) as reader:
            problems = reader.verify()
        if problems:
            raise problems[0]


def _delete(fs: Any, urls: list[str]) -> None:
    """Remove what this write uploaded (the index first: the checkpoint stops existing)."""
    for url in sorted(urls, key=lambda u: not u.endswith(".index")):
        with contextlib.suppress(Exception):
            fs.rm_file(fs._strip_protocol(url))
    if urls:
        with contextlib.suppress(Exception):
            storage.invalidate(storage.dirname(urls[0]))
