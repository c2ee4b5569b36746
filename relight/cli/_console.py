"""Where the command line writes: messages and progress to stderr, tables and data to stdout."""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from rich.console import Console
from rich.markup import escape

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
    console.print(f"[yellow]warning:[/yellow] {escape(cli_text(message))}", soft_wrap=True)


def quiet_libraries() -> None:
    """What other libraries print on their own, kept off the command line's output: relight reads or
    refuses each file itself and says in its own line what the user needs (tifffile logs each damaged tag
    it passes over, Pillow warns of a truncated read, huggingface_hub logs what it falls back to)."""
    logging.getLogger("tifffile").setLevel(logging.CRITICAL + 1)
    os.environ.setdefault("HF_HUB_VERBOSITY", "error")  # read when huggingface_hub is first imported
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(PIL|tifffile|huggingface_hub)(\.|$)")
