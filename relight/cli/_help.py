"""How ``relight COMMAND --help`` reads: typer's help, made to say what the command line takes.

Typer shows a placeholder after every option, flags included (``--native <bool>``, which reads as if
``--native true`` were taken; it is refused), names arguments in the usage line as their Python names
while ``metavar`` gives others upper case (``{image} [depth]`` beside ``{PRED} {GT}``), and an argument
that takes several files as its Python type (``<list[Path]>``). :func:`plain_help` sets each right once,
on the built command, for every command alike.
"""

from __future__ import annotations

import re
from typing import Any

import typer

_LIST = re.compile(r"^<list\[(\w+)\]>$")


def _each_type(shown: str | None) -> str | None:
    """``<list[Path]>`` as ``<path>...``: the type of each value, then that several are taken."""
    match = _LIST.match(shown or "")
    return f"<{match[1].lower()}>..." if match else shown


def plain_help(command: Any) -> Any:
    """``command`` (a click command or group built by typer) and its subcommands, changed in place and
    returned: flags (``--help`` too) show no placeholder, arguments are upper case in the usage line and
    the table (``IMAGE``, ``PRED``), and an argument of several values shows its type once (``<path>...``)."""
    help_option = command.get_help_option(typer.Context(command))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.param_type_name == "argument":
            param.metavar = param.metavar or param.name.upper()
            if param.nargs != 1:
                shown = param.display_type_rich
                param.display_type_rich = lambda ctx, shown=shown: _each_type(shown(ctx=ctx))
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    return command
