"""Where the command line writes: messages and progress to stderr, tables and data to stdout."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

from relight.cli._errors import cli_text
from relight.errors import one_line


class LineConsole(Console):
    """A console whose text prints as one line per call: control characters escaped, so that a file name
    holding a newline or an ANSI escape cannot fake a second line (rich prints them as they are)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(one_line(item) if isinstance(item, str) else item for item in objects), **kwargs)


#: Messages, warnings and progress bars.
console = LineConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)
#: Tables and data, unless ``--json -`` or ``--csv -`` takes stdout (see :func:`relight.cli._options.tables_console`).
out_console = LineConsole(highlight=False, emoji=False)
#: ``--debug`` (or ``RELIGHT_DEBUG=1``): tracebacks instead of one-line errors.
state = {"debug": os.environ.get("RELIGHT_DEBUG", "") not in ("", "0")}


def warn(message: object) -> None:
    """A warning line on stderr (a :class:`~relight.errors.RelightWarning` worded with flags)."""
    console.print(f"[yellow]warning:[/yellow] {cli_text(message)}", soft_wrap=True)
