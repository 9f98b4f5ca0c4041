"""A restore's data copy, begun while the restore is planned.

Why: copying a big checkpoint is bound by the disk, while the plan (reading the graph, finding
its variables, applying the assignment map) is Python work that needs no disk; one after the
other they add up, side by side the plan costs no wall time. The copy cannot wait for the plan
to say which tensors it takes, so it guesses: every tensor the map's checkpoint side names (all
of them for ``'/'``, those under ``'scope/'``, a tensor named one to one), whole, in the order
:func:`~graphtui.core.ckpt_write.copy_tensors` copies, into the write's staged data file, under
their own names. The data file of a write depends on that order of source tensors alone, so
when the plan copies exactly those tensors (:meth:`CopyAhead.take` compares), the write goes on
from the begun file and only the index entries take their new names and shapes. Anything else
(a tensor left out, taken twice or in partitions, another source) stops the early copy, removes
its file, and the write goes as without it. Either way the files written are the same bytes.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from graphtui.errors import GraphtuiError

if TYPE_CHECKING:
    from graphtui.core.checkpoint import CheckpointReader
    from graphtui.core.output import Begun
    from graphtui.core.restore_map import AssignmentMap
    from graphtui.core.write_check import Expected
    from graphtui.formats.transaction import OnStep

State = Literal["copying", "taken", "finished", "aborted"]
# seconds the plan waits once the copy has begun: its writes queue up (~100 MiB, ~50 ms of the
# disk's work) before the plan's Python holds the GIL, so the thread summing the next ones can
# fall behind for a while without the disk going idle (measured: 0.01-0.04 s of idle disk
# without the wait, none with it)
HEAD_START = 0.05


class CopyAhead:
    """The early copy of one restore (see the module docstring). :meth:`start` begins it;
    :meth:`take` hands the begun write over when the plan agrees, :meth:`finish` waits for the
    copy inside that write; :meth:`abort` stops it and removes what it wrote."""

    def __init__(
        self,
        reader: CheckpointReader,
        begun: Begun,
        entries: dict[str, Any],
        order: list[str],
    ) -> None:
        self._reader = reader
        self.begun = begun
        self._entries = entries  # guessed tensor -> its index entry
        self._order = order  # the guessed tensors in the order they are copied
        self._index = _identity(reader.prefix + ".index")
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.state: State = "copying"

    @classmethod
    def start(
        cls,
        checkpoint: str,
        amap: AssignmentMap,
        out: str,
        sources: Sequence[str],
        on_step: OnStep | None = None,
    ) -> CopyAhead | None:
        """Begin copying; None where there is nothing to guess or the write cannot begin here
        (a remote source or target, a V1 source, a target the write refuses, no directory
        made): the write then says what is wrong, after the plan, as without an early copy."""
        from graphtui.core.checkpoint import CheckpointReader
        from graphtui.core.output import Begun, check_target, make_directory, remove_directories
        from graphtui.core.restore_map import reachable
        from graphtui.formats.bundle_writer import BundleWriter
        from graphtui.formats.byte_source import is_url
        from graphtui.formats.transaction import FileTransaction

        if is_url(out) or is_url(checkpoint):
            return None
        reader: CheckpointReader | None = None
        created: list[str] = []
        txn: FileTransaction | None = None
        try:
            reader = CheckpointReader(checkpoint)
            target = check_target(out, [*sources, reader.prefix])
            bundle = reader.bundle
            if bundle is None or is_url(bundle.prefix):
                reader.close()
                return None
            listing = reader.listing()
            whole = {
                n for n, k in zip(listing.names, listing.slices.tolist(), strict=True) if not k
            }
            guess = [n for n in reachable(reader.names(), amap) if n in whole]
            if not guess:
                reader.close()
                return None
            from graphtui.core.ckpt_write import copy_order

            entries = {n: bundle.entry(n) for n in guess}
            order = [old for old, _ in copy_order([(n, n) for n in guess], entries)]
            created = make_directory(os.path.dirname(target))
            txn = FileTransaction(on_step)
            ahead = cls(reader, Begun(txn, BundleWriter(target, txn), created), entries, order)
            txn.on_abort(ahead._stop, first=True)  # the copy stops before its sink is closed
        except BaseException as exc:
            if txn is not None:
                txn.abort()
            remove_directories(created)
            if reader is not None:
                reader.close()
            if isinstance(exc, (GraphtuiError, OSError)):
                return None  # said again by the write, where it says it without us
            raise
        context = contextvars.copy_context()  # the progress bar's meter
        ahead._thread = threading.Thread(
            target=context.run, args=(ahead._copy,), name="graphtui-copy-ahead", daemon=True
        )
        ahead._thread.start()
        ahead._thread.join(HEAD_START)  # returns at once when a small copy is done sooner
        return ahead

    def _copy(self) -> None:
        from graphtui.core.ckpt_write import copy_tensors

        try:
            copy_tensors(self._reader, self.begun.writer, [(n, n) for n in self._order])
        except BaseException as exc:  # noqa: BLE001 - raised where the write waits for it
            self._error = exc

    def take(self, copies: Mapping[str, str], checkpoint: str | None) -> Begun | None:
        """The begun write, when the plan copies (``copies``: output key -> source tensor of
        ``checkpoint``) exactly the guessed tensors, in the guessed order, from the same index;
        else None, the early copy stopped and its file removed."""
        from graphtui.core.ckpt_write import copy_order

        pairs = [(old, new) for new, old in copies.items()]
        if (
            self.state == "copying"
            and checkpoint == self._reader.prefix
            and _identity(checkpoint + ".index") == self._index
            and all(old in self._entries for old, _ in pairs)
            and [old for old, _ in copy_order(pairs, self._entries)] == self._order
        ):
            self.state = "taken"
            return self.begun
        self.abort()
        return None

    def finish(
        self, copies: Mapping[str, str], shapes: Mapping[str, Sequence[int]]
    ) -> dict[str, Expected]:
        """Wait for the copy (raising its error), give its entries the plan's names and shapes
        (``copies`` as for :meth:`take`), and say what each written tensor must be."""
        from graphtui.core.write_check import Expected

        assert self.state == "taken"
        self._stop(cancel=False)
        self.state = "finished"
        if self._error is not None:
            raise self._error
        reshaped = {
            new: shapes[new]
            for new, old in copies.items()
            if tuple(shapes[new]) != tuple(self._entries[old].shape)
        }
        self.begun.writer.rename_entries({old: new for new, old in copies.items()}, reshaped)
        return {
            new: Expected(self._entries[old].dtype.name, tuple(shapes[new]))
            for new, old in copies.items()
        }

    def abort(self) -> None:
        """Stop the copy and remove its staged file and the directories made for it (nothing
        once finished: the write cleans up after itself)."""
        if self.state in ("finished", "aborted"):
            return
        self.state = "aborted"
        self.begun.txn.abort()  # stops the copy first (see start)

        from graphtui.core.output import remove_directories

        remove_directories(self.begun.created)

    def _stop(self, cancel: bool = True) -> None:
        """Wait for the copying thread (asking it to stop first when ``cancel``)."""
        if cancel:
            self.begun.writer.cancel()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._reader.close()


def _identity(path: str) -> tuple[int, ...] | None:
    """Which file is at ``path``, as it stands (a rewritten index is another one)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@contextlib.contextmanager
def copying_ahead(
    checkpoint: str,
    amap: AssignmentMap,
    out: str,
    sources: Sequence[str],
    on_step: OnStep | None = None,
) -> Iterator[CopyAhead | None]:
    """:meth:`CopyAhead.start` around a plan and its write: aborted on the way out unless the
    write finished it (an error, Ctrl+C, a plan that took something else)."""
    ahead = CopyAhead.start(checkpoint, amap, out, sources, on_step)
    try:
        yield ahead
    finally:
        if ahead is not None:
            ahead.abort()
