"""``relight batch``: a folder of image + depth pairs, resumably, with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from relight.cli._console import console, out_console, warn
from relight.cli._errors import cli_text
from relight.cli._options import BitDepthOpt, CompileOpt, DepthDirOpt, DeviceOpt, ExtOpt, PrecisionOpt, SizeOpt, WeightsOpt, make_relighter
from relight.cli._progress import rate_text, tracked
from relight.errors import InputFileError, Interrupted

if TYPE_CHECKING:
    from relight.batch import BatchSummary


def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of images with depth files of the same stem.")],
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Where results go (default: FOLDER/relit).")] = None,
    depth_dir: DepthDirOpt = None,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    bit_depth: BitDepthOpt = 8,
    ext: ExtOpt = ".png",
    overwrite: Annotated[bool, typer.Option(help="Redo outputs that already exist (default: skip them, so a batch resumes).")] = False,
    shard_spec: Annotated[Optional[str], typer.Option("--shard", help="Take the K-th of N slices, e.g. 2/4, to share a folder.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Background threads decoding and encoding files.")] = 2,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Images of the same size relit together in one forward pass (default: as many as make up 512x512 pixels, at most 8).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="CPU threads for the network (default: one per core), split between the streams.")] = None,
    streams: Annotated[Optional[int], typer.Option(min=1, help="Forward passes run at once (default: 2 on a CPU with 2+ threads for images up to 512x512, else 1; each holds its own activations).")] = None,
    compile: CompileOpt = False,
) -> None:
    """Relight every image + depth pair of a folder, resumably, with a progress bar and a summary."""
    from relight.batch import check_batch_outputs, finished, run_batch
    from relight.data.pairs import find_inference_pairs, shard

    out_dir = output_dir or folder / "relit"
    pairs = shard(find_inference_pairs(folder, depth_dir), shard_spec)
    if not pairs:
        raise InputFileError(folder, f"{folder}: no images found")
    check_batch_outputs(pairs, out_dir, ext, bit_depth)  # before the model loads (run_batch checks again, for API callers)
    if threads:
        import torch

        torch.set_num_threads(threads)
    relighter = make_relighter(weights, device, precision, size, compile)
    with tracked("relighting", total=len(pairs)) as counter:
        try:
            summary = run_batch(
                relighter, pairs, out_dir, ext=ext, bit_depth=bit_depth, overwrite=overwrite, workers=workers,
                batch_size=batch_size, streams=streams, on_item=lambda kind: counter.advance(kind == "done"),
                on_warning=warn,
            )
        except KeyboardInterrupt:
            there = sum(finished(out_dir / f"{pair.stem}{ext}") for pair in pairs)
            raise Interrupted(f"{there} of {len(pairs)} outputs are in {out_dir}; the same command resumes, "
                              "skipping them") from None
    _print_summary(summary, out_dir)
    if not summary.ok:
        raise typer.Exit(1)


def _print_summary(summary: BatchSummary, out_dir: Path) -> None:
    """Each failure on its own line, then one table: relit, already there, failed, time, rate."""
    for _path, error in summary.failures:
        console.print(f"[red]failed:[/red] {cli_text(error)}")
    table = Table(title=f"relight batch -> {out_dir}")
    for column in ("relit", "already there", "failed", "time", "rate"):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(summary.done)), str(len(summary.skipped)), f"[red]{len(summary.failures)}[/red]" if summary.failures else "0",
        f"{summary.seconds:.1f} s", rate_text(len(summary.done), summary.seconds),
    )
    out_console.print(table)
