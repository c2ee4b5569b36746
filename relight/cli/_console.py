"""Where the command line writes: messages and progress to stderr, tables and data to stdout."""

from __future__ import annotations

import os

from rich.console import Console

from relight.cli._errors import cli_text

#: Messages, warnings and progress bars.
console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
#: Tables and data, unless ``--json -`` or ``--csv -`` takes stdout (see :func:`relight.cli._options.tables_console`).
out_console = Console(highlight=False, emoji=False)
#: ``--debug`` (or ``RELIGHT_DEBUG=1``): tracebacks instead of one-line errors.
state = {"debug": os.environ.get("RELIGHT_DEBUG", "") not in ("", "0")}


def warn(message: object) -> None:
    """A warning line on stderr (a :class:`~relight.errors.RelightWarning` worded with flags)."""
    console.print(f"[yellow]warning:[/yellow] {cli_text(message)}", soft_wrap=True)
