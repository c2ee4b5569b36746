"""The ``relight`` command line: a thin Typer layer over the public API.

Every command turns :class:`~relight.errors.RelightError` into one red line and a non-zero exit;
``--debug`` (or ``RELIGHT_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from relight.errors import RelightError

app = typer.Typer(
    name="relight",
    help="Depth-guided image relighting with MBNet (Yang et al., CVPRW 2021).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False)
_state = {"debug": os.environ.get("RELIGHT_DEBUG", "") not in ("", "0")}

WeightsOpt = Annotated[
    Optional[str],
    typer.Option("--weights", "-w", help="Registry name, .safetensors, the authors' .pkl/.pth, or hf://owner/repo/file[@rev]."),
]
DeviceOpt = Annotated[Optional[str], typer.Option(help="cuda, cuda:N, mps or cpu (default: best available).")]
PrecisionOpt = Annotated[Optional[str], typer.Option(help="fp32, fp16 or bf16 (default: bf16/fp16 autocast on CUDA, fp32 elsewhere).")]
SizeOpt = Annotated[Optional[str], typer.Option(help="Run at a fixed N or HxW resolution and resize the result back.")]
BitDepthOpt = Annotated[int, typer.Option("--bit-depth", help="8 or 16 bits per channel for PNG/TIFF output.")]


def progress_bar(unit: str = "img") -> Progress:
    """The progress bar every long command uses: count, rate, elapsed and ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def rate_text(done: int, seconds: float, unit: str = "img") -> str:
    return f"{done / seconds:.2f} {unit}/s" if seconds > 0 and done else f"- {unit}/s"


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    if debug:
        _state["debug"] = True


def make_relighter(weights: str | None, device: str | None, precision: str | None, size: str | None):
    """Load weights and place them, saying once which model is used."""
    from relight.inference import Relighter, parse_size

    if weights is None:
        raise RelightError("no model given: pass --weights PATH (a .safetensors checkpoint or the authors' weight.pkl)")
    relighter = Relighter.from_weights(weights, device=device, precision=precision, size=parse_size(size))
    console.print(
        f"[dim]model {relighter.loaded.config.describe()} from {relighter.loaded.source or weights} "
        f"on {relighter.device} ({relighter.precision})[/dim]"
    )
    return relighter


@app.command()
def run(
    image: Annotated[Path, typer.Argument(help="Input photo (PNG, JPEG, TIFF, WebP; 8/16-bit; grey, RGB, RGBA).")],
    depth: Annotated[Path, typer.Argument(help="Depth map (.npy VIDIT dict or array, .npz, 8/16-bit PNG, TIFF).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result file: .png, .tif, .npy, .jpg or .webp.")],
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    bit_depth: BitDepthOpt = 8,
) -> None:
    """Relight one image with its depth map."""
    from relight.batch import load_pair
    from relight.data.pairs import InferencePair
    from relight.io import write_image

    item = load_pair(InferencePair(image.stem, image, depth))
    for warning in item.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    relighter = make_relighter(weights, device, precision, size)
    result = relighter.relight(item.image.rgb, item.depth)
    write_image(output, result, item.image.alpha, bit_depth)
    console.print(f"wrote {output}")


@app.command()
def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of images with depth files of the same stem.")],
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Where results go (default: FOLDER/relit).")] = None,
    depth_dir: Annotated[Optional[Path], typer.Option("--depth-dir", help="Folder holding the depth files, if not beside the images.")] = None,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    bit_depth: BitDepthOpt = 8,
    ext: Annotated[str, typer.Option(help="Output extension: .png, .tif, .npy, .jpg or .webp.")] = ".png",
    overwrite: Annotated[bool, typer.Option(help="Redo outputs that already exist (default: skip them, so a batch resumes).")] = False,
    shard_spec: Annotated[Optional[str], typer.Option("--shard", help="Take the K-th of N slices, e.g. 2/4, to share a folder.")] = None,
    workers: Annotated[int, typer.Option(help="Background threads decoding and encoding files.")] = 2,
) -> None:
    """Relight every image + depth pair of a folder, resumably, with a progress bar and a summary."""
    from relight.batch import run_batch
    from relight.data.pairs import find_inference_pairs, shard

    ext = ext if ext.startswith(".") else f".{ext}"
    out_dir = output_dir or folder / "relit"
    pairs = shard(find_inference_pairs(folder, depth_dir), shard_spec)
    if not pairs:
        raise RelightError(f"{folder}: no images found")
    relighter = make_relighter(weights, device, precision, size)
    import time

    with progress_bar() as progress:
        task = progress.add_task("relighting", total=len(pairs), rate="")
        start = time.perf_counter()
        counted = {"done": 0}

        def on_item(kind: str) -> None:
            if kind == "done":
                counted["done"] += 1
            progress.update(task, advance=1, rate=rate_text(counted["done"], time.perf_counter() - start))

        summary = run_batch(
            relighter, pairs, out_dir, ext=ext, bit_depth=bit_depth, overwrite=overwrite, workers=workers,
            on_item=on_item, on_warning=lambda w: progress.console.print(f"[yellow]warning:[/yellow] {w}"),
        )
    for path, reason in summary.failed:
        console.print(f"[red]failed:[/red] {reason}")
    table = Table(title=f"relight batch -> {out_dir}")
    table.add_column("relit", justify="right")
    table.add_column("already there", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("time", justify="right")
    table.add_column("rate", justify="right")
    table.add_row(
        str(len(summary.done)), str(len(summary.skipped)), f"[red]{len(summary.failed)}[/red]" if summary.failed else "0",
        f"{summary.seconds:.1f} s", rate_text(len(summary.done), summary.seconds),
    )
    out_console.print(table)
    if not summary.ok:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point: one-line errors for the user's mistakes, tracebacks only with --debug."""
    try:
        app()
    except RelightError as exc:
        if _state["debug"]:
            raise
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line unless debugging
        if _state["debug"]:
            raise
        console.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", soft_wrap=True)
        sys.exit(1)
