"""The ``relight`` command line: a thin Typer layer over the public API, one module per command.

Every command turns :class:`~relight.errors.RelightError` into one red line and a non-zero exit, worded
with the command line's flags by :mod:`relight.cli._errors`; ``--debug`` (or ``RELIGHT_DEBUG=1``) shows
the traceback instead. The command modules import the library only when a command runs, so that
``relight --help`` starts without torch or numpy.
"""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer
from rich.markup import escape

from relight.cli import batch, data, demo, run, score, synth, train, weights
from relight.cli import depth as depth_command
from relight.cli import eval as eval_command
from relight.cli import ui as ui_command
from relight.cli._console import console, out_console, quiet_libraries
from relight.cli._console import state as _state
from relight.cli._errors import is_click_error, message
from relight.cli._help import plain_help
from relight.cli._progress import progress_bar, rate_text
from relight.cli._stages import download_bar
from relight.errors import Interrupted, InvalidSetting, RelightError
from relight.weights.pretrained import reporting_downloads

app = typer.Typer(
    name="relight",
    help="Depth-guided image relighting with MBNet (Yang et al., CVPRW 2021).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(run.run)
app.command()(batch.batch)
app.command("depth")(depth_command.depth)
app.command()(score.score)
app.add_typer(data.app, name="data")
app.command()(synth.synth)
app.command()(train.train)
app.command("eval")(eval_command.evaluate)
app.add_typer(weights.app, name="weights")
app.command()(demo.demo)
app.command("ui")(ui_command.ui)


def _show_version(value: bool) -> None:
    if value:
        from relight import __version__

        typer.echo(f"relight {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print relight's version and exit.")] = False,
) -> None:
    if debug:
        _state["debug"] = True


#: Exit codes: the work failed (a missing or damaged file, an unreachable Hub, a full disk, a batch with
#: failures); the command line is wrong (an unknown option, a missing argument, a value refused).
FAILED, USAGE = 1, 2


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: temporary files are removed and the summary printed, rather than the process
    vanishing mid-write (a scheduler's or ``timeout``'s stop); the exit code still says which signal."""
    _state["signal"] = signum
    raise KeyboardInterrupt


def _interrupted_code() -> int:
    """128 + the signal, as a shell reports a process a signal stopped: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(_state.get("signal") or signal.SIGINT)


def _print_line(exc: BaseException) -> None:
    """``exc`` as its one line, the label (``error:``, ``interrupted``) in red."""
    label, colon, rest = message(exc).partition(":")
    console.print(f"[red]{label}[/red]{colon}{escape(rest)}", soft_wrap=True)


def main() -> None:
    """Console entry point: one-line errors for the user's mistakes (usage errors included), tracebacks
    only with --debug."""
    signal.signal(signal.SIGTERM, _terminate)
    quiet_libraries()
    try:
        with reporting_downloads(download_bar):  # a pretrained part fetched on first use draws its bar
            code = plain_help(typer.main.get_command(app))(standalone_mode=False, prog_name="relight")
    except (KeyboardInterrupt, Interrupted) as exc:
        _print_line(exc)
        sys.exit(_interrupted_code())
    except RelightError as exc:
        if _state["debug"]:
            raise
        _print_line(exc)
        sys.exit(USAGE if isinstance(exc, InvalidSetting) else FAILED)
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line unless debugging
        if is_click_error(exc, "NoArgsIsHelpError"):  # `relight` or `relight weights` alone: the help
            exc.ctx.get_help()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if is_click_error(exc, "UsageError") or is_click_error(exc, "Abort"):
            _print_line(exc)
            sys.exit(getattr(exc, "exit_code", FAILED))
        if _state["debug"]:
            raise
        _print_line(exc)
        sys.exit(FAILED)
    sys.exit(code if isinstance(code, int) else 0)  # a command's typer.Exit(n) comes back as n


__all__ = ["app", "console", "main", "out_console", "progress_bar", "rate_text"]
