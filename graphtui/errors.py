"""graphtui's exceptions: one base, one type per layer, messages that name the file and the fault.

Every error message is a single line: ``<file>: <what is wrong>`` (plus an offset or tensor name
where one is known), so the CLI can print it as is.
"""

from __future__ import annotations

import os

from graphtui.formats.visible import visible


class GraphtuiError(Exception):
    """Base of every error graphtui raises on purpose."""

    def __str__(self) -> str:
        # One line whatever a path or name holds: control characters are shown escaped.
        return visible(super().__str__())


class FormatError(GraphtuiError, ValueError):
    """Bytes that do not decode: truncated, corrupt or unsupported files (the ``formats`` layer).

    A ``ValueError`` too, as TensorFlow raises for an invalid state file, so ``except
    ValueError:`` code written for TF keeps working."""

    def __init__(
        self, path: str | os.PathLike[str] | None, message: str, *, offset: int | None = None
    ) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.offset = offset
        self.detail = message
        where = "<bytes>" if self.path is None else self.path or "(an empty path)"
        if offset is not None:
            where += f" (at byte {offset})"
        super().__init__(f"{where}: {message}")


class UnknownDtypeError(FormatError, TypeError):
    """A stored DataType enum TensorFlow has no DType for (0, 34, 1000). A ``TypeError`` too,
    as TF's ``get_variable_to_dtype_map`` raises on it."""


class ChecksumError(FormatError):
    """A stored crc32c does not match the bytes it covers."""


class MissingFileError(FormatError, FileNotFoundError):
    """A file the format needs (a data shard, a checkpoint named by a state file) is absent.

    A ``FileNotFoundError`` too (TF raises ``NotFoundError``)."""


class RemoteError(FormatError):
    """A remote object could not be read or written: server, network or credentials."""

    transient = False  # a timeout or a dropped connection: asking again may work


class TransferCancelled(RemoteError):
    """A remote read stopped because the user cancelled it (Esc / Ctrl+C in the app)."""


class MissingExtraError(FormatError):
    """A URL whose scheme needs an optional package that is not installed."""

    def __init__(self, url: str, scheme: str, package: str, extra: str) -> None:
        self.extra = extra
        super().__init__(url, f"{scheme}:// URLs need {package}: pip install 'graphtui[{extra}]'")


class WriteError(GraphtuiError):
    """A file could not be written (no space, no permission); nothing was left behind."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = os.fspath(path)
        self.detail = message
        super().__init__(f"{self.path}: {message}")

    @classmethod
    def of(
        cls, path: str | os.PathLike[str], exc: OSError, after: str = "nothing was written"
    ) -> WriteError:
        """The one line for an OSError met while writing ``path``: what the system said, then
        what was left (every write is staged, so a failed one leaves nothing behind)."""
        return cls(path, f"cannot write: {exc.strerror or exc}; {after}")


class CoreError(GraphtuiError):
    """A request the domain model cannot satisfy (the ``core`` layer): unknown names, conflicts."""


class NotFoundError(CoreError, FileNotFoundError):
    """No checkpoint, tensor, node or variable by that name.

    A ``FileNotFoundError`` too: TensorFlow raises its ``NotFoundError`` for these."""


class NoCheckpointError(NotFoundError, ValueError):
    """A directory without a checkpoint to open: TF's ``load_checkpoint`` raises ``ValueError``."""


class ConflictError(CoreError):
    """A rename, restore or strip that would produce an inconsistent result; lists each conflict."""

    def __init__(self, message: str, conflicts: list[str]) -> None:
        self.summary = message  # the one-line reason, without the conflicts
        self.conflicts = list(conflicts)
        shown = "; ".join(self.conflicts[:5])
        more = f" (+{len(self.conflicts) - 5} more)" if len(self.conflicts) > 5 else ""
        super().__init__(f"{message}: {shown}{more}" if conflicts else message)
