"""The CLI's command registry and exit codes: each command module registers its handlers with
:func:`command`; :mod:`graphtui.cli` builds the parser from them (no lookup by name)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: AddArguments
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, help_text: str, add_arguments: AddArguments) -> Callable[[Handler], Handler]:
    """Register ``handler`` as subcommand ``name`` with the arguments ``add_arguments`` adds."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, help_text, add_arguments, handler)
        return handler

    return register
