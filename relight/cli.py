"""The ``relight`` command line: a thin Typer layer over the public API.

Every command turns :class:`~relight.errors.RelightError` into one red line and a non-zero exit;
``--debug`` (or ``RELIGHT_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from relight.errors import RelightError

if TYPE_CHECKING:  # the commands import what they use when they run, so that the CLI starts fast
    from relight.score import ScoreReport

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
PrecisionOpt = Annotated[Optional[str], typer.Option(help="fp32, fp16 or bf16 (default: bf16 autocast on Ampere and newer CUDA cards, fp16 on older ones, fp32 elsewhere; "
                                                                 "fp32 on CUDA lets cuDNN use TF32, as PyTorch does: NVIDIA_TF32_OVERRIDE=0 turns it off).")]
SizeOpt = Annotated[Optional[str], typer.Option(help="Run at a fixed N or HxW resolution and resize the result back.")]
BitDepthOpt = Annotated[int, typer.Option("--bit-depth", help="8 or 16 bits per channel for PNG/TIFF output.")]
CompileOpt = Annotated[bool, typer.Option("--compile", help="Run the network through torch.compile (slow first image; falls back to eager where unsupported).")]


class _Progress(Progress):
    """A progress display that leaves no blank line behind when it stops before any task was added
    (an error found first), so that the error is the first line of the output."""

    def stop(self) -> None:
        if self.tasks:
            super().stop()
        else:  # Progress.stop also prints an empty line where the console is not a terminal
            self.live.transient = True
            self.live.stop()


def progress_bar() -> Progress:
    """The progress bar every long command uses: count, rate, elapsed and ETA."""
    return _Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def rate_text(done: int, seconds: float, unit: str = "img") -> str:
    return f"{done / seconds:.2f} {unit}/s" if seconds > 0 and done else f"- {unit}/s"


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


def make_relighter(weights: str | None, device: str | None, precision: str | None, size: str | None, compile: bool = False):
    """Load weights and place them, saying once which model is used."""
    from relight.inference import Relighter, parse_size
    from relight.weights import default_weights

    if weights is None:
        weights = default_weights()
        console.print(f"[dim]no --weights given: using the default model {weights} (trained on synthetic scenes)[/dim]")
    relighter = Relighter.from_weights(
        weights, device=device, precision=precision, size=parse_size(size), compile=compile,
        warn=lambda message: console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True),
    )
    console.print(
        f"[dim]model {relighter.loaded.config.describe()} from {relighter.loaded.source or weights} "
        f"on {relighter.device} ({relighter.precision}{', compiled' if relighter.compiled else ''})[/dim]"
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
    compile: CompileOpt = False,
) -> None:
    """Relight one image with its depth map."""
    from relight.data.pairs import InferencePair, load_pair, refuse_replacing_inputs
    from relight.io import check_output_file, write_image

    check_output_file(output, bit_depth)  # before the model loads: a bad -o is the user's to fix at once
    refuse_replacing_inputs([output], [image, depth], "choose another output file")
    item = load_pair(InferencePair(image.stem, image, depth))
    for warning in item.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    relighter = make_relighter(weights, device, precision, size, compile)
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
    workers: Annotated[int, typer.Option(min=1, help="Background threads decoding and encoding files.")] = 2,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Images of the same size relit together in one forward pass (default: as many as make up 512x512 pixels, at most 8).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="CPU threads for the network (default: one per core), split between the streams.")] = None,
    streams: Annotated[Optional[int], typer.Option(min=1, help="Forward passes run at once (default: 2 on a CPU with 2+ threads for images up to 512x512, else 1; each holds its own activations).")] = None,
    compile: CompileOpt = False,
) -> None:
    """Relight every image + depth pair of a folder, resumably, with a progress bar and a summary."""
    from relight.batch import check_batch_outputs, finished, run_batch
    from relight.data.pairs import find_inference_pairs, shard

    ext = ext if ext.startswith(".") else f".{ext}"
    out_dir = output_dir or folder / "relit"
    pairs = shard(find_inference_pairs(folder, depth_dir), shard_spec)
    if not pairs:
        raise RelightError(f"{folder}: no images found")
    check_batch_outputs(pairs, out_dir, ext, bit_depth)  # before the model loads (run_batch checks again, for API callers)
    if threads:
        import torch

        torch.set_num_threads(threads)
    relighter = make_relighter(weights, device, precision, size, compile)
    with progress_bar() as progress:
        task = progress.add_task("relighting", total=len(pairs), rate="")
        start = time.perf_counter()
        counted = {"done": 0}

        def on_item(kind: str) -> None:
            if kind == "done":
                counted["done"] += 1
            progress.update(task, advance=1, rate=rate_text(counted["done"], time.perf_counter() - start))

        try:
            summary = run_batch(
                relighter, pairs, out_dir, ext=ext, bit_depth=bit_depth, overwrite=overwrite, workers=workers,
                batch_size=batch_size, streams=streams, on_item=on_item, on_warning=lambda w: progress.console.print(f"[yellow]warning:[/yellow] {w}"),
            )
        except KeyboardInterrupt:
            there = sum(finished(out_dir / f"{pair.stem}{ext}") for pair in pairs)
            raise Interrupted(f"{there} of {len(pairs)} outputs are in {out_dir}; the same command resumes, "
                              "skipping them") from None
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


def _check_report_outputs(json_out: str | None, csv_out: str | None = None) -> None:
    """``--json`` and ``--csv`` checked before the work whose results they hold: at most one of them on
    stdout (``-``), and a file that can be written for the others."""
    from relight.io import check_output_path

    if json_out == "-" and csv_out == "-":
        raise RelightError("--json - and --csv -: only one of them can go to stdout")
    for path in (json_out, csv_out):
        if path and path != "-":
            check_output_path(path)


def _emit_text(text: str, target: str | None) -> None:
    """``--json``/``--csv FILE|-``: the text to stdout with ``-``, else written (atomically) to FILE."""
    from relight.io import write_text

    if target == "-":
        typer.echo(text, nl=False)
    elif target:
        console.print(f"wrote {write_text(target, text)}")


def _tables_console(*targets: str | None) -> Console:
    """Where tables go: stderr when one of ``targets`` (``--json``/``--csv``) is ``-``, so stdout holds only that."""
    return console if "-" in targets else out_console


def _emit_report(report: ScoreReport, json_out: str | None, csv_out: str | None, title: str) -> None:
    """The score table (on stderr when ``-`` sends the JSON or CSV to stdout), then the files asked for."""
    from relight.score import print_score_table

    print_score_table(report, _tables_console(json_out, csv_out), title=title)
    _emit_text(report.to_json(), json_out)
    if csv_out:
        _emit_text(report.to_csv(), csv_out)


@app.command()
def score(
    pred: Annotated[Path, typer.Argument(metavar="PRED", help="Folder of predictions (relit images).")],
    gt: Annotated[Path, typer.Argument(metavar="GT", help="Folder of ground-truth images; files pair up by stem.")],
    json_out: Annotated[Optional[str], typer.Option("--json", metavar="FILE|-", help="Write the scores as JSON to FILE, or to stdout with -.")] = None,
    csv_out: Annotated[Optional[str], typer.Option("--csv", metavar="FILE|-", help="Write per-image scores and the mean row as CSV to FILE, or to stdout with -.")] = None,
    require_lpips: Annotated[bool, typer.Option("--require-lpips", help="Fail instead of skipping LPIPS and MPS when AlexNet's ImageNet weights are missing.")] = False,
    device: DeviceOpt = None,
) -> None:
    """PSNR, SSIM, LPIPS and MPS per image and on average; exits 1 if ground-truth images lack a prediction
    or an image could not be scored (the others are still scored)."""

    from relight.score import Scorer, score_folders

    _check_report_outputs(json_out, csv_out)
    scorer = Scorer(device, require_lpips)
    progress = progress_bar()  # drawn once the folders are paired: a bad folder is refused before any bar
    clock = {"start": time.perf_counter(), "done": 0}

    def on_start(total: int) -> None:
        progress.add_task("scoring", total=total, rate="")
        progress.start()
        clock["start"] = time.perf_counter()

    def on_item(_row: object) -> None:
        clock["done"] += 1
        progress.update(progress.task_ids[0], advance=1, rate=rate_text(clock["done"], time.perf_counter() - clock["start"]))

    try:
        report = score_folders(pred, gt, scorer=scorer, on_start=on_start, on_item=on_item)
    finally:
        progress.stop()
    _emit_report(report, json_out, csv_out, title=f"relight score {pred} vs {gt}")
    if report.missing_predictions or report.failed:
        raise typer.Exit(1)


data_app = typer.Typer(help="Inspect VIDIT-format data folders.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@data_app.command("pairs")
def data_pairs(
    data: Annotated[Path, typer.Argument(help="Any-to-any VIDIT folder, one-to-one train folder (input/ + target/), validation or generic folder.")],
    source: Annotated[str, typer.Option(help="Input setting for any-to-any data, TEMPERATURE-DIRECTION.")] = "6500-N",
    target: Annotated[str, typer.Option(help="Target setting for any-to-any data.")] = "4500-E",
    neighbours: Annotated[bool, typer.Option("--neighbours/--no-neighbours", help="Add inputs lit from the two directions next to the source (paper's extra data).")] = True,
    mirror: Annotated[bool, typer.Option("--mirror/--no-mirror", help="Add flipped pairs at the mirrored directions (E<->W).")] = True,
    gt_dir: Annotated[Optional[Path], typer.Option("--gt-dir", help="Ground-truth folder for validation data (default: the sibling DATA_gt if it exists).")] = None,
    depth_dir: Annotated[Optional[Path], typer.Option("--depth-dir", help="Folder holding the depth files, if not beside the images.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the pairs as JSON on stdout instead of a table.")] = False,
) -> None:
    """List the (input, depth, target) pairs training or evaluation would use, and what was left out."""
    import json

    from relight.data.vidit import Setting, load_pairs

    src, tgt = Setting.parse(source), Setting.parse(target)
    found = load_pairs(data, src, tgt, neighbours, mirror, gt_dir=gt_dir, depth_dir=depth_dir)
    if json_out:
        typer.echo(json.dumps({**found.to_dict(), "source": str(src), "target": str(tgt)}, indent=2))
        return
    for note in found.notes:
        console.print(f"[dim]{note}[/dim]")
    for reason in found.skipped[:20]:
        console.print(f"[yellow]skipped:[/yellow] {reason}")
    if len(found.skipped) > 20:
        console.print(f"[yellow]... and {len(found.skipped) - 20} more skipped (see --json)[/yellow]")
    table = Table(title=f"{len(found.pairs)} pair{'' if len(found.pairs) == 1 else 's'}, {found.layout} layout, in {data}")
    table.add_column("#", justify="right")
    for column in ("input", "target", "depth"):
        table.add_column(column, overflow="fold")
    table.add_column("flip")
    table.add_column("origin", no_wrap=True)
    for i, pair in enumerate(found.pairs, 1):
        table.add_row(
            str(i), _relative(pair.input, data), _relative(pair.target, data), _relative(pair.depth, data),
            "yes" if pair.flip else "", pair.origin,
        )
    out_console.print(table)


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the any-to-any data set into (created if needed).")],
    scenes: Annotated[int, typer.Option(help="Number of scenes (40 images and one depth file each).")] = 10,
    size: Annotated[int, typer.Option(help="Image width and height in pixels.")] = 128,
    seed: Annotated[int, typer.Option(help="Data set seed; scene I depends only on (seed, I).")] = 0,
    start_index: Annotated[int, typer.Option("--start-index", help="Index of the first scene (Image300... for a held-out set).")] = 0,
) -> None:
    """Render synthetic scenes in the VIDIT any-to-any format (8 light directions x 5 colour temperatures)."""

    from relight.data.synth import check_dataset_options, write_dataset

    check_dataset_options(out, scenes, size, start_index, seed)
    start = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("rendering", total=scenes, rate="")

        done = {"scenes": 0}

        def on_scene(_index: int) -> None:
            done["scenes"] += 1
            progress.update(task, advance=1, rate=rate_text(done["scenes"], time.perf_counter() - start, "scene"))

        written = write_dataset(out, scenes, size, seed=seed, start_index=start_index, on_scene=on_scene)
    seconds = time.perf_counter() - start
    table = Table(title=f"relight synth -> {out}")
    for column in ("scenes", "images", "size", "first", "seed", "time", "rate"):
        table.add_column(column, justify="right")
    table.add_row(
        str(scenes), str(sum(p.suffix == ".png" for p in written)), f"{size}x{size}", f"Image{start_index:03d}",
        str(seed), f"{seconds:.1f} s", rate_text(scenes, seconds, "scene"),
    )
    out_console.print(table)


def _opt(help_text: str, *flags: str) -> object:
    """A training option that defaults to "not given", so the config file and saved run config can fill it."""
    return typer.Option(*flags, help=help_text, show_default=False)


@app.command()
def train(
    data: Annotated[Optional[list[Path]], typer.Argument(help="Training data: any-to-any VIDIT folders or one-to-one train folders (input/ + target/).", show_default=False)] = None,
    out: Annotated[Optional[Path], _opt("Run folder for checkpoints, metrics and the resolved config.", "--out", "-o")] = None,
    config_file: Annotated[Optional[Path], _opt("TOML file of settings (keys as in RUN_DIR/config.toml); command-line options win.", "--config")] = None,
    resume: Annotated[Optional[Path], _opt("Continue the run in this folder exactly where its last checkpoint left it.")] = None,
    source: Annotated[Optional[str], _opt("Input setting, TEMPERATURE-DIRECTION (default: 6500-N).")] = None,
    target: Annotated[Optional[str], _opt("Target setting (default: 4500-E).")] = None,
    neighbours: Annotated[Optional[bool], _opt("Extra data: inputs lit from the two directions next to the source (default: on).", "--neighbours/--no-neighbours")] = None,
    mirror: Annotated[Optional[bool], _opt("Extra data: flipped pairs at the mirrored directions (default: on).", "--mirror/--no-mirror")] = None,
    val_data: Annotated[Optional[Path], _opt("Validation folder (validation, one-to-one or any-to-any layout).")] = None,
    val_gt_dir: Annotated[Optional[Path], _opt("Ground truth of --val-data (default: its sibling FOLDER_gt).")] = None,
    val_scenes: Annotated[Optional[float], _opt("Hold out this many scenes (or this fraction, < 1) of the training data for validation.")] = None,
    backbone: Annotated[Optional[str], _opt("resnet50 (paper), resnet34, resnet18 or narrow (default: resnet50).")] = None,
    width: Annotated[Optional[int], _opt("Base width of the narrow backbone (default: 64).")] = None,
    decoder_channels: Annotated[Optional[int], _opt("Width of the fusion/decoder path (default: 64).")] = None,
    residual: Annotated[Optional[bool], _opt("Predict relu(input + residual), as the paper (default: on).", "--residual/--no-residual")] = None,
    imagenet: Annotated[Optional[bool], _opt("Initialise ResNet encoders from ImageNet weights in the torch cache (default: on for resnets).", "--imagenet/--no-imagenet")] = None,
    charbonnier_weight: Annotated[Optional[float], _opt("Weight of the Charbonnier loss (default: 1.0).")] = None,
    ssim_weight: Annotated[Optional[float], _opt("Weight of the -SSIM loss (default: 1.1).")] = None,
    perceptual_weight: Annotated[Optional[float], _opt("Weight of the perceptual loss (L1 of VGG-19 conv3_3 features); 0 drops it (default: 0.1).")] = None,
    charbonnier_eps: Annotated[Optional[float], _opt("Charbonnier epsilon (default: 1e-3).")] = None,
    lr: Annotated[Optional[float], _opt("Adam learning rate (default: 1e-4).")] = None,
    beta1: Annotated[Optional[float], _opt("Adam beta1 (default: 0.5).")] = None,
    beta2: Annotated[Optional[float], _opt("Adam beta2 (default: 0.999).")] = None,
    batch_size: Annotated[Optional[int], _opt("Examples per step (per process under torchrun) (default: 3).")] = None,
    epochs: Annotated[Optional[int], _opt("Epochs (default: 200).")] = None,
    milestones: Annotated[Optional[str], _opt("Epochs after which the learning rate is multiplied by --lr-decay, comma-separated (default: 50).")] = None,
    lr_decay: Annotated[Optional[float], _opt("Learning-rate factor at each milestone (default: 0.1).")] = None,
    size: Annotated[Optional[str], _opt("Resize every image to N or HxW (default: off).")] = None,
    crop: Annotated[Optional[str], _opt("Random N or HxW crop, after --size (default: off).")] = None,
    workers: Annotated[Optional[int], _opt("DataLoader worker processes (default: 4).")] = None,
    seed: Annotated[Optional[int], _opt("Seed of initialisation, example order, crops and the scene split (default: 0).")] = None,
    device: DeviceOpt = None,
    amp: Annotated[Optional[bool], _opt("Mixed precision: bf16 (Ampere and newer, and the CPU), or fp16 with loss scaling on older CUDA cards (default: on for CUDA).", "--amp/--no-amp")] = None,
    val_every: Annotated[Optional[int], _opt("Validate every N epochs (default: 1).")] = None,
    max_steps: Annotated[Optional[int], _opt("Stop after this many steps in all (a checkpoint is written there) (default: off).")] = None,
) -> None:
    """Train MBNet (paper recipe by default); resumable, and multi-GPU under torchrun."""
    from relight.train import ProgressMonitor, is_main_process, resolve_config, resumable, size_setting
    from relight.train import train as run_training

    steps = None
    if milestones is not None:
        try:
            steps = [int(m) for m in milestones.split(",") if m.strip()]
        except ValueError:
            raise RelightError(f"--milestones {milestones!r}: expected epoch numbers separated by commas, e.g. 50,100") from None
    given = {
        "data": [str(p) for p in data] if data else None, "out": str(out) if out else None,
        "source": source, "target": target, "neighbours": neighbours, "mirror": mirror,
        "val_data": str(val_data) if val_data else None, "val_gt_dir": str(val_gt_dir) if val_gt_dir else None,
        "val_scenes": int(val_scenes) if val_scenes is not None and val_scenes >= 1 and val_scenes.is_integer() else val_scenes,
        "backbone": backbone, "width": width, "decoder_channels": decoder_channels, "residual": residual,
        "imagenet": imagenet, "charbonnier_weight": charbonnier_weight, "ssim_weight": ssim_weight,
        "perceptual_weight": perceptual_weight, "charbonnier_eps": charbonnier_eps, "lr": lr, "beta1": beta1,
        "beta2": beta2, "batch_size": batch_size, "epochs": epochs, "milestones": steps, "lr_decay": lr_decay,
        "size": size_setting(size, "--size"), "crop": size_setting(crop, "--crop"), "workers": workers, "seed": seed,
        "device": device, "amp": amp, "val_every": val_every, "max_steps": max_steps,
    }
    config = resolve_config(given, config_file, resume)
    if not is_main_process():
        run_training(config, resume=resume is not None)
        return
    console.print(f"[dim]run {config.out}: {config.model_config().describe()}, {config.source} -> {config.target}[/dim]")
    try:
        with progress_bar() as progress:
            result = run_training(config, resume=resume is not None, monitor=ProgressMonitor(progress))
    except KeyboardInterrupt:
        raise Interrupted(f"--resume {config.out} continues from the last checkpoint (written at the end of each epoch)"
                          if resumable(config.out) else "no checkpoint was written yet") from None
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


@app.command("eval")
def evaluate_command(
    data: Annotated[Path, typer.Argument(help="Validation data with ground truth: validation (+ FOLDER_gt), one-to-one or any-to-any layout.")],
    weights: WeightsOpt = None,
    save_dir: Annotated[Optional[Path], typer.Option("--save-dir", help="Also write the relit images here.")] = None,
    ext: Annotated[str, typer.Option(help="Extension of saved images: .png, .tif, .npy, .jpg or .webp.")] = ".png",
    gt_dir: Annotated[Optional[Path], typer.Option("--gt-dir", help="Ground-truth folder for validation data (default: the sibling DATA_gt).")] = None,
    depth_dir: Annotated[Optional[Path], typer.Option("--depth-dir", help="Folder holding the depth files, if not beside the images.")] = None,
    source: Annotated[str, typer.Option(help="Input setting for any-to-any data.")] = "6500-N",
    target: Annotated[str, typer.Option(help="Target setting for any-to-any data.")] = "4500-E",
    json_out: Annotated[Optional[str], typer.Option("--json", metavar="FILE|-", help="Write the scores as JSON to FILE, or to stdout with -.")] = None,
    csv_out: Annotated[Optional[str], typer.Option("--csv", metavar="FILE|-", help="Write per-image scores and the mean row as CSV to FILE, or to stdout with -.")] = None,
    require_lpips: Annotated[bool, typer.Option("--require-lpips", help="Fail instead of skipping LPIPS and MPS when AlexNet's ImageNet weights are missing.")] = False,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    workers: Annotated[int, typer.Option(help="DataLoader worker processes decoding files.")] = 2,
) -> None:
    """Run a model over a validation set and score it exactly as `relight score` does."""

    from relight.evaluate import check_save_dir, evaluate, evaluation_pairs
    from relight.score import Scorer
    from relight.weights import default_weights

    ext = ext if ext.startswith(".") else f".{ext}"
    _check_report_outputs(json_out, csv_out)
    found = evaluation_pairs(data, source, target, gt_dir=gt_dir, depth_dir=depth_dir)
    pairs = found.pairs
    if save_dir is not None:  # before the model loads (evaluate checks again, for callers of the API)
        check_save_dir(pairs, save_dir, ext)
    relighter = make_relighter(weights, device, precision, size)
    scorer = Scorer(relighter.device, require_lpips)
    with progress_bar() as progress:
        task = progress.add_task("evaluating", total=len(pairs), rate="")
        clock = {"start": time.perf_counter(), "done": 0}

        def on_item(_row: object) -> None:
            clock["done"] += 1
            progress.update(task, advance=1, rate=rate_text(clock["done"], time.perf_counter() - clock["start"]))

        report = evaluate(relighter, pairs, scorer=scorer, save_dir=save_dir, ext=ext, workers=workers, on_item=on_item,
                          left_out=found.skipped)
    _emit_report(report, json_out, csv_out, title=f"relight eval {weights or default_weights()} on {data}")  # as given: the model line has the path
    if save_dir is not None:
        console.print(f"wrote {len(report.rows)} images to {save_dir}")
    if report.failed:
        raise typer.Exit(1)


weights_app = typer.Typer(
    help="Known models: list them, show one, download from the Hugging Face Hub, import the authors' weight.pkl.",
    no_args_is_help=True,
)
app.add_typer(weights_app, name="weights")
WeightsJsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]


def _megabytes(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.1f} MB"


@weights_app.command("list")
def weights_list(json_out: WeightsJsonOpt = False) -> None:
    """Every model the registry knows (shipped with relight and imported by you) and whether it is here."""
    import json

    from relight.weights import availability, load_registry

    registry = load_registry()
    rows = [(entry, availability(entry)) for entry in registry.values()]
    if json_out:
        typer.echo(json.dumps([{**e.to_dict(), "status": a.status, "path": a.path and str(a.path)} for e, a in rows], indent=2))
        return
    # Two lines a row, so that names and paths stay whole in an 80-column terminal.
    table = Table(title="relight weights")
    table.add_column("name", overflow="fold")
    table.add_column("variant, light", overflow="fold")
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("here, where", overflow="fold", min_width=len("import needed"))
    colours = {"ready": "green", "missing": "red"}
    for entry, avail in rows:
        status = f"[{colours.get(avail.status, 'yellow')}]{avail.status}[/]"
        table.add_row(entry.name, f"{entry.config.describe()}\n{entry.illumination}", _megabytes(entry.size_bytes),
                      f"{status}\n[dim]{escape(entry.location.short())}[/dim]")
    out_console.print(table)
    console.print(f"[dim]registries: {registry.builtin_path} and {registry.user_path}[/dim]")


@weights_app.command("info")
def weights_info(
    name: Annotated[str, typer.Argument(help="A name from `relight weights list`.")],
    json_out: WeightsJsonOpt = False,
) -> None:
    """Everything the registry records about one model: where it lives, checksum, licence, data, metrics."""
    import json

    from relight.weights import availability, load_registry

    entry = load_registry().entry(name)
    avail = availability(entry)
    data = {**entry.to_dict(), "status": avail.status, "path": avail.path and str(avail.path)}
    if json_out:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"relight weights info {name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    metrics = ", ".join(f"{k} {v}" for k, v in entry.metrics.items()) or "-"
    for label, value in (
        ("description", entry.description),
        ("variant", f"{entry.config.describe()} ({entry.config.to_json()})"),
        ("illumination", entry.illumination),
        ("where", entry.location.describe()),
        ("here", f"{avail.status}{f' ({avail.path})' if avail.path else ''}"),
        ("sha256", entry.sha256 or "not recorded"),
        ("size", f"{_megabytes(entry.size_bytes)} ({entry.size_bytes} bytes)" if entry.size_bytes is not None else "not recorded"),
        ("licence", entry.licence or "-"),
        ("training data", entry.training_data or "-"),
        ("trained with", entry.trained_with or "-"),
        ("metrics", metrics),
        ("metrics note", entry.metrics_note or "-"),
        ("imported from", json.dumps(entry.imported_from) if entry.imported_from else "-"),
        ("registry", entry.origin),
    ):
        table.add_row(label, str(value))
    if entry.placeholders:
        table.add_row("[yellow]not filled in yet[/yellow]", ", ".join(entry.placeholders))
    out_console.print(table)


@weights_app.command("download")
def weights_download(
    name: Annotated[str, typer.Argument(help="A registry name, or hf://owner/repo/file[@revision].")],
) -> None:
    """Fetch a model into the Hugging Face cache (and verify it against the registry), so later runs can work offline."""

    from relight.weights import describe_verification, locate_weights

    progress = progress_bar()
    tasks: list = []  # the bar appears with the first byte: nothing to draw for a cached file or an error
    start = time.perf_counter()

    def on_bytes(done: int, total: int | None) -> None:
        if not tasks:
            progress.start()
            tasks.append(progress.add_task(f"downloading {name}", total=total, rate=""))
        speed = done / 1e6 / max(time.perf_counter() - start, 1e-6)
        progress.update(tasks[0], completed=done, total=total, rate=f"{done / 1e6:.1f} MB at {speed:.1f} MB/s")

    try:
        path, entry = locate_weights(name, progress=on_bytes)
    finally:
        progress.stop()
    console.print(f"ready: {path} ({describe_verification(entry)})")


@weights_app.command("import")
def weights_import(
    checkpoint: Annotated[Path, typer.Argument(help="The authors' checkpoint, weight.pkl (a .pkl/.pth state dict).")],
    name: Annotated[str, typer.Option("--name", help="Registry name to give it, e.g. mbnet-ntire21.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier import of the same name.")] = False,
) -> None:
    """Convert the authors' checkpoint to relight's fp32 safetensors in your cache and register it as NAME."""
    from relight.weights import import_authors_checkpoint

    steps = ["reading", "converting", "hashing", "writing", "hashing the result"]
    with progress_bar() as progress:
        task = progress.add_task("importing", total=len(steps), rate="")
        done = {"n": 0}

        def on_step(what: str) -> None:
            progress.update(task, completed=done["n"], description=what)
            done["n"] += 1

        try:
            entry = import_authors_checkpoint(checkpoint, name, force=force, on_step=on_step)
        except RelightError:
            progress.remove_task(task)  # leave the error as the only line
            raise
        progress.update(task, completed=len(steps), description="imported")
    table = Table(title=f"relight weights import -> {entry.name}")
    for column in ("name", "variant", "file", "size", "sha256"):
        table.add_column(column, overflow="fold")
    table.add_row(entry.name, entry.config.describe(), str(entry.location.path), _megabytes(entry.size_bytes), entry.sha256 or "?")
    out_console.print(table)
    console.print(f"use it with --weights {entry.name}")


@app.command()
def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the relit examples go.")] = Path(".demo"),
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    json_out: Annotated[Optional[str], typer.Option("--json", metavar="FILE|-", help="Also write both reports as JSON to FILE, or to stdout with -.")] = None,
) -> None:
    """Relight the bundled example scenes with the bundled model and score them next to the identity baseline."""
    from relight.demo import run_demo
    from relight.io import json_text
    from relight.score import print_gain_table, print_score_table

    _check_report_outputs(json_out)
    relighter = make_relighter(weights, device, precision, None)
    result = run_demo(relighter, output_dir)
    tables = _tables_console(json_out)
    print_score_table(result.model, tables, title=f"relit examples -> {result.out_dir}")
    print_gain_table(result.model, result.identity, tables, "model vs identity baseline (input image taken as the answer)")
    _emit_text(json_text({"model": result.model.to_dict(), "identity": result.identity.to_dict()}), json_out)
    if result.model.failed:
        raise typer.Exit(1)


def _click_error(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is click's ``name`` error, from whichever click typer uses (recent typers bundle
    their own copy, so the class cannot be imported from one place)."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) during a long command, with what was done and how to go on."""


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: temporary files are removed and the summary printed, rather than the process
    vanishing mid-write (a scheduler's or ``timeout``'s stop)."""
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point: one-line errors for the user's mistakes (usage errors included), tracebacks
    only with --debug."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(standalone_mode=False, prog_name="relight")
    except RelightError as exc:
        if _state["debug"]:
            raise
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, Interrupted) as exc:
        console.print(f"[red]interrupted[/red]{f': {exc}' if isinstance(exc, Interrupted) else ''}", soft_wrap=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line unless debugging
        if _click_error(exc, "NoArgsIsHelpError"):  # `relight` or `relight weights` alone: the help
            exc.ctx.get_help()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if _click_error(exc, "UsageError"):
            context = exc.ctx  # type: ignore[attr-defined]
            hint = f" (see {context.command_path} --help)" if context is not None else ""
            console.print(f"[red]error:[/red] {exc.format_message()}{hint}", soft_wrap=True)  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if _click_error(exc, "Abort"):
            console.print("[red]aborted[/red]")
            sys.exit(1)
        if _state["debug"]:
            raise
        console.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", soft_wrap=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)  # a command's typer.Exit(n) comes back as n
