"""``relight train``: its options derived from :class:`~relight.train.TrainConfig`'s fields, and the
progress bar that reports a run.

Each field becomes an option named after it (or after its ``metadata["flags"]``), with the field's
type and ``metadata["help"]``; a bool is ``--x/--no-x``. Every option defaults to "not given", so that
the saved run config (``--resume``) and ``--config`` fill what the command line leaves out.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, Union, get_args, get_origin, get_type_hints

import typer
from rich.table import Table

from relight.cli._console import console, out_console
from relight.cli._errors import cli_text, flag
from relight.cli._progress import Counter, tracked
from relight.errors import Interrupted, InvalidSetting, Setting
from relight.train.config import PATH_FIELDS, TrainConfig
from relight.train.monitor import TrainMonitor

if TYPE_CHECKING:
    from relight.train import EpochRecord, TrainResult


def _numbers(text: str, name: str, kind: Callable[[str], Any], expected: str) -> list[Any]:
    """Comma-separated numbers of ``kind``; a refusal says what was ``expected``."""
    try:
        return [kind(m) for m in text.split(",") if m.strip()]
    except ValueError:
        setting = Setting(name, text, owner="TrainConfig", shown=repr(text))
        raise InvalidSetting(setting, setting, f": expected {expected}") from None


def _epochs(text: str, name: str) -> list[int]:
    """``50,100`` as ``[50, 100]``."""
    return _numbers(text, name, int, "epoch numbers separated by commas, e.g. 50,100")


def _size(text: str, name: str) -> list[int] | None:
    from relight.train.config import size_setting

    return size_setting(text, name)


def _scales(text: str, name: str) -> list[float]:
    """``0.5,1.5`` as ``[0.5, 1.5]`` (the range is checked with the other settings)."""
    return _numbers(text, name, float, "LOW,HIGH, e.g. 0.5,1.5")


def _count_or_fraction(value: float, _name: str) -> int | float:
    """``--val-scenes 3`` holds out 3 scenes, ``0.2`` a fifth of them."""
    return int(value) if value >= 1 and value.is_integer() else value


#: Fields the command line takes as text (or a number) and turns into the field's value here.
PARSED: dict[str, Callable[[Any, str], Any]] = {"milestones": _epochs, "size": _size, "crop": _size, "val_scenes": _count_or_fraction,
                                                "scales": _scales}


def _option_type(hint: Any) -> type:
    """The command-line type of a field: bool, int, float (``int | float`` too), else text."""
    kinds = set(get_args(hint)) - {type(None)} if get_origin(hint) in (Union, types.UnionType) else {hint}
    if kinds == {bool}:
        return bool
    if kinds and kinds <= {int, float}:
        return float if float in kinds else int
    return str


#: Short flags of training options.
SHORT = {"out": ("-o",)}


def _worded(help_text: str) -> str:
    """A field's help with the settings it names (``{val_data}``) as their flags (``--val-data``)."""
    return re.sub(r"\{(\w+)\}", lambda m: flag(Setting(m.group(1))), help_text)


def _option(field: dataclasses.Field[Any], hint: Any) -> inspect.Parameter:
    """The ``typer`` parameter for one field: its flags, type and help, defaulting to "not given"."""
    kind = Path if field.name in PATH_FIELDS else _option_type(hint)
    dashed = field.name.replace("_", "-")
    flags = (f"--{dashed}/--no-{dashed}",) if kind is bool else (f"--{dashed}", *SHORT.get(field.name, ()))
    info = typer.Option(*flags, help=_worded(field.metadata.get("help", field.name)), show_default=False)
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[kind], info])


def _signature() -> inspect.Signature:
    """DATA, ``--out``, ``--config`` and ``--resume`` first, then one option per other field, in field order."""
    hints = get_type_hints(TrainConfig)
    options = {f.name: _option(f, hints[f.name]) for f in dataclasses.fields(TrainConfig) if f.name != "data"}
    data_help = TrainConfig.__dataclass_fields__["data"].metadata.get("help", "data")
    data = inspect.Parameter("data", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                             annotation=Annotated[Optional[list[Path]], typer.Argument(help=data_help, show_default=False)])
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[Path], typer.Option(*flags, help=text, show_default=False)])
        for name, flags, text in (
            ("config_file", ("--config",), "TOML file of settings (keys as in RUN_DIR/config.toml); command-line options win."),
            ("resume", ("--resume",), "Continue the run in this folder exactly where its last checkpoint left it."),
        )
    ]
    out = options.pop("out")
    return inspect.Signature([data, out, *extra, *options.values()], return_annotation=None)


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave, as :func:`~relight.train.resolve_config` takes them (None: not given)."""
    given: dict[str, Any] = {}
    for name, value in options.items():
        if value is not None and name in PARSED:
            value = PARSED[name](value, name)
        elif isinstance(value, Path):
            value = str(value)
        given[name] = value
    return given


class ProgressMonitor(TrainMonitor):
    """Reports a run into a progress bar (a :class:`Counter`): loss, rate, elapsed time and ETA, and a line per epoch."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.epochs = 0

    def begin(self, total_steps: int, done_steps: int, epochs: int) -> None:
        self.epochs = epochs
        self.counter.begin(total_steps, completed=done_steps)

    def step(self, step: int, epoch: int, loss: float, steps_per_second: float) -> None:
        self.counter.update(completed=step, description=f"epoch {epoch + 1}/{self.epochs}",
                            rate=f"loss {loss:.4f}  {steps_per_second:.2f} step/s")

    def epoch_end(self, record: EpochRecord) -> None:
        val = "  ".join(f"{k} {v:.4f}" for k, v in record.val.items())
        mark = "  [green]best[/green]" if record.best else ""
        self.message(f"epoch {record.epoch:.4g} step {record.step}: loss {record.loss:.4f}  lr {record.lr:.2g}  {val}{mark}")

    def message(self, text: object) -> None:
        self.counter.console.print(cli_text(text), soft_wrap=True)


def train(data: list[Path] | None = None, config_file: Path | None = None, resume: Path | None = None, **options: Any) -> None:
    """Train MBNet (paper recipe by default); resumable, and multi-GPU under torchrun."""
    from relight.train import is_main_process, resolve_config, resumable
    from relight.train import train as run_training

    given = {"data": [str(p) for p in data] if data else None, **_given(options)}
    config = resolve_config(given, config_file, resume)
    if not is_main_process():
        run_training(config, resume=resume is not None)
        return
    console.print(f"[dim]run {config.out}: {config.model_config().describe()}, {config.mapping()}[/dim]")
    try:
        with tracked("training") as counter:
            result = run_training(config, resume=resume is not None, monitor=ProgressMonitor(counter))
    except KeyboardInterrupt:
        raise Interrupted(f"--resume {config.out} continues from the last checkpoint (written at the end of each epoch)"
                          if resumable(config.out) else "stopped before the first checkpoint: rerun without --resume to start afresh") from None
    _print_result(result)


train.__signature__ = _signature()  # type: ignore[attr-defined]


def _print_result(result: TrainResult) -> None:
    table = Table(title=f"relight train -> {result.run_dir}")
    for column in ("steps", "epochs", "stopped by", "best PSNR", "val PSNR", "val SSIM", "procs", "time"):
        table.add_column(column, justify="right")
    table.add_row(
        str(result.step), f"{result.epoch:.4g}", result.stopped.replace("_", "-"),
        "-" if result.best_psnr is None else f"{result.best_psnr:.2f}",
        f"{result.last_val['psnr']:.2f}" if "psnr" in result.last_val else "-",
        f"{result.last_val['ssim']:.4f}" if "ssim" in result.last_val else "-",
        str(result.world_size), f"{result.seconds:.1f} s",
    )
    out_console.print(table)
