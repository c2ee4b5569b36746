"""``relight batch``: a folder of image + depth pairs, resumably, with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from relight.cli._console import console, out_console, warn
from relight.cli._depth import DepthKindOpt, DepthModelOpt, batch_estimator
from relight.cli._errors import cli_text, cli_words
from relight.cli._lights import check_lights_early, parse_source, parse_targets, resolve_lights
from relight.cli._options import (BackendOpt, BitDepthOpt, CompileOpt, DepthDirOpt, DeviceOpt, ExtOpt, FromOpt, MirrorAverageOpt, NativeOpt,
                                  PrecisionOpt, QualityOpt, SizeOpt, SrgbOpt, ToOpt, UpscaleOpt, WeightsOpt, check_scale, make_relighter)
from relight.cli._progress import rate_text, tracked
from relight.errors import InputFileError, Interrupted

if TYPE_CHECKING:
    from relight.inference.batch import BatchSummary


def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of images with depth files of the same stem.")],
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Where results go (default: FOLDER/relit).")] = None,
    depth_dir: DepthDirOpt = None,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    native: NativeOpt = False,
    upscale: UpscaleOpt = None,
    bit_depth: BitDepthOpt = None,
    quality: QualityOpt = 95,
    srgb: SrgbOpt = False,
    ext: ExtOpt = ".png",
    overwrite: Annotated[bool, typer.Option(help="Redo outputs that already exist (default: skip them, so a batch resumes).")] = False,
    shard_spec: Annotated[Optional[str], typer.Option("--shard", help="Take the K-th of N slices, e.g. 2/4, to share a folder (default: the slice torchrun's RANK/WORLD_SIZE or a SLURM array's task give, else all).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Background threads decoding and encoding files.")] = 2,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Images of the same size relit together in one forward pass (default: as many as make up 512x512 pixels, at most 8).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="CPU threads for the network (default: one per core), split between the streams.")] = None,
    streams: Annotated[Optional[int], typer.Option(min=1, help="Forward passes run at once (default: 2 on a CPU with 2+ threads for images up to 512x512, else 1; each holds its own activations).")] = None,
    compile: CompileOpt = False,
    backend: BackendOpt = None,
    mirror_average: MirrorAverageOpt = False,
    depth_kind: DepthKindOpt = "auto",
    depth_model: DepthModelOpt = None,
    to: ToOpt = None,
    source: FromOpt = None,
    name: Annotated[Optional[str], typer.Option("--name", metavar="TEMPLATE", help="Output file names from {stem}, {scene}, {source}, {target} (VIDIT names give scene and source: '{scene}_4500_E' names outputs as VIDIT names its ground truth); default: the stem, with _TARGET appended for several --to lights.")] = None,
) -> None:
    """Relight every image + depth pair of a folder, resumably, with a progress bar and a summary.

    Images without a depth file get depth estimated from the photo when the depth model is downloaded
    (`relight weights download depth-anything-v2-small`) or --depth-model names one; the summary says how many.

    Under torchrun or a SLURM job array each process relights its own slice (and under torchrun on
    CUDA, on the GPU of its LOCAL_RANK) unless --shard or --device say otherwise."""
    from relight.data.pairs import find_inference_pairs
    from relight.inference.batch import BatchOptions, batch_plan, check_batch_outputs, early_names, finished, run_batch
    from relight.inference.naming import check_names, template_fields
    from relight.inference.shards import local_device, resolve_slice
    from relight.io import OutputOptions

    from relight.io.depth import check_depth_kind

    # Everything the command line says is checked before any work (the model, the depth model)
    out_dir = output_dir or folder / "relit"
    wanted, lit = parse_targets(to), parse_source(source)
    check_scale(size, native, upscale)
    check_depth_kind(depth_kind)
    if name is not None:
        template_fields(name)
    chosen = resolve_slice(shard_spec)
    pairs = find_inference_pairs(folder, depth_dir)
    if not pairs:
        raise InputFileError(folder, "no images found")
    total = len(pairs)
    if chosen is not None:
        pairs = chosen.take(pairs)
        if not pairs:  # more processes than images: this one has nothing to do, which is no failure
            out_console.print(f"{chosen.describe(cli_words)}: none of the {total} images", soft_wrap=True)
            return
    output = OutputOptions(ext, bit_depth, quality, srgb)
    options = BatchOptions(batch_size, streams, workers)
    check_batch_outputs(pairs, out_dir, output, early_names(pairs, wanted, output.ext, name, lit))
    check_names(pairs, wanted, output.ext, name, lit)  # lengths too where the model's own target is not known yet
    check_lights_early(weights, wanted, lit, mirror_average)
    device = device or local_device()
    if threads:
        import torch

        torch.set_num_threads(threads)
    relighter = make_relighter(weights, device, precision, size, compile, native, upscale, backend, mirror_average)
    targets = resolve_lights(relighter, wanted, lit)
    plan = batch_plan(relighter, pairs, ext=output.ext, to=targets, source=lit, name=name)
    check_batch_outputs(pairs, out_dir, output, [planned.name for outputs in plan for planned in outputs])
    needed = any(pair.depth is None and (overwrite or not all(finished(out_dir / o.name) for o in outputs))
                 for pair, outputs in zip(pairs, plan))
    estimate = batch_estimator(depth_model, device, needed)  # images without a depth file get estimated depth
    with tracked("relighting", total=sum(len(outputs) for outputs in plan)) as counter:
        try:
            summary = run_batch(
                relighter, pairs, out_dir, output=output, options=options, overwrite=overwrite, to=targets, source=lit, name=name,
                depth_kind=depth_kind, estimate=estimate, on_item=lambda kind: counter.advance(kind == "done"), on_warning=warn,
            )
        except KeyboardInterrupt:
            names = [planned.name for outputs in plan for planned in outputs]
            there = sum(finished(out_dir / name) for name in names)
            raise Interrupted(f"{there} of {len(names)} outputs are in {out_dir}; the same command resumes, "
                              "skipping them") from None
    counted = f"{len(pairs)} images, {sum(len(outputs) for outputs in plan)} outputs"
    _print_summary(summary, out_dir, counted, chosen and f"{chosen.describe(cli_words)}: {len(pairs)} of the {total} images")
    if summary.estimated:
        out_console.print(f"estimated depth for {len(summary.estimated)} image(s) without a depth file, with {estimate.label}", soft_wrap=True)
    if not summary.ok:
        raise typer.Exit(1)


def _print_summary(summary: BatchSummary, out_dir: Path, counted: str, slice_line: str | None) -> None:
    """Stale temporaries removed, each failure on its own line, the outputs given up on, then one table
    of outputs (relit, already there, failed, time, rate) under the images and outputs it counts, and
    which slice of the folder this was."""
    from relight.inference.batch import DISK_FULL_LIMIT

    if summary.removed:
        console.print(f"[dim]removed {len(summary.removed)} stale temporary file(s) that killed processes left in {out_dir}[/dim]")
    for line in dict.fromkeys(cli_text(error) for _path, error in summary.failures):  # an input's several outputs fail alike
        console.print(f"[red]failed:[/red] {line}")
    if summary.unwritten:
        console.print(f"[red]not written:[/red] {len(summary.unwritten)} output(s): {out_dir} was given up on after "
                      f"{DISK_FULL_LIMIT} full-disk errors; free some space and run the same command again", soft_wrap=True)
    table = Table(title=f"relight batch -> {out_dir} ({counted})")
    for column in ("relit", "already there", "failed", "time", "rate"):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(summary.done)), str(len(summary.skipped)), f"[red]{summary.failed_count}[/red]" if summary.failed_count else "0",
        f"{summary.seconds:.1f} s", rate_text(len(summary.done), summary.seconds),
    )
    out_console.print(table)
    if slice_line:
        out_console.print(slice_line, soft_wrap=True)
