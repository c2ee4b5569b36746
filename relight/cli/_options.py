"""Options several commands share, their checks, and the helpers that act on them.

``--weights``/``--device``/``--precision``/``--size``/``--compile`` become a placed model through
:func:`make_relighter`; ``--json``/``--csv FILE|-`` are checked before the work (:func:`check_report_outputs`)
and written after it (:func:`emit_text`, :func:`emit_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from relight.cli._console import console, out_console, warn
from relight.errors import RelightError

if TYPE_CHECKING:  # the commands import what they use when they run, so that the CLI starts fast
    from relight.evaluation.score import ScoreReport
    from relight.inference.relighter import Relighter


def _dotted(ext: str) -> str:
    """``--ext png`` means ``.png``."""
    return ext if ext.startswith(".") else f".{ext}"


WeightsOpt = Annotated[
    Optional[str],
    typer.Option("--weights", "-w", help="Registry name, .safetensors, the authors' .pkl/.pth, a Hub file, hf://owner/repo\\[@rev]/file (rev: a branch, tag or commit), or an .onnx file `relight export` wrote. Default: the registry's default model (`relight weights list` marks it)."),
]
DeviceOpt = Annotated[Optional[str], typer.Option(help="cuda, cuda:N, mps or cpu (default: best available).")]
PrecisionOpt = Annotated[Optional[str], typer.Option(help="fp32, fp16 or bf16 (default: bf16 autocast on Ampere and newer CUDA cards, fp16 on older ones, fp32 elsewhere; "
                                                          "fp32 on CUDA lets cuDNN use TF32, as PyTorch does: NVIDIA_TF32_OVERRIDE=0 turns it off).")]
SizeOpt = Annotated[Optional[str], typer.Option(help="Run the network with N pixels on the longer side (aspect ratio kept) or at HxW, "
                                                    "instead of the model's training scale; the result comes back to the image's size (--upscale).")]
NativeOpt = Annotated[bool, typer.Option("--native", help="Run the network at the image's own resolution, not scaled to the model's training size "
                                                          "(slower on large photos, and a model relights best at the scale it learnt).")]
UpscaleOpt = Annotated[Optional[str], typer.Option("--upscale", metavar="change|result", help="How a result run at a lower scale comes back: change (the default: "
                                                                                              "the change the network made, resized and added to the full-resolution image, which keeps its detail) or result (the output resized).")]
BitDepthOpt = Annotated[Optional[int], typer.Option("--bit-depth", help="8 or 16 bits per channel for PNG/TIFF output (default: the input's: 16 for a 16-bit or float input, else 8; JPEG and WebP are 8).")]
QualityOpt = Annotated[int, typer.Option("--quality", min=1, max=100, help="JPEG and WebP quality, 1 to 100.")]
SrgbOpt = Annotated[bool, typer.Option("--srgb", help="Write the result in sRGB, tagged so, instead of in the input's colour profile.")]


def _backend(name: str | None) -> str | None:
    """``--backend`` checked as it is parsed, before any work (torch is imported only when it is given)."""
    if name is None:
        return None
    from relight.inference.backend import check_backend

    return check_backend(name)


BackendOpt = Annotated[Optional[str], typer.Option("--backend", metavar="auto|torch|onnxruntime", callback=_backend, help="What runs the network: onnxruntime "
                                                    "(an ONNX export of the model, made once into relight's cache), torch, or auto (the default: onnxruntime on the CPU, "
                                                    "torch on CUDA and MPS; torch where a model does not export; RELIGHT_BACKEND gives another default). The run says which.")]
MirrorAverageOpt = Annotated[bool, typer.Option("--mirror-avg", help="Also relight the image mirrored left to right to the mirrored light (east and "
                                                                      "west swapped) and average the two results: twice the time, a little closer to the "
                                                                      "truth (any-to-any models; without --weights, the default any-to-any model).")]
CompileOpt = Annotated[bool, typer.Option("--compile", help="Run the network through torch.compile (slow first image; falls back to eager where unsupported).")]
ExtOpt = Annotated[str, typer.Option(callback=_dotted, help="Output extension: .png, .tif, .npy, .jpg or .webp.")]
DepthDirOpt = Annotated[Optional[Path], typer.Option("--depth-dir", help="Folder holding the depth files, if not beside the images.")]
GtDirOpt = Annotated[Optional[Path], typer.Option("--gt-dir", help="Ground-truth folder for validation data (default: the sibling DATA_gt if it exists).")]
SourceOpt = Annotated[str, typer.Option(help="Input setting for any-to-any data, TEMPERATURE-DIRECTION.")]
TargetOpt = Annotated[str, typer.Option(help="Target setting for any-to-any data.")]
ToOpt = Annotated[Optional[list[str]], typer.Option("--to", metavar="LIGHT", help="Light to relight to, TEMPERATURE-DIRECTION (e.g. 2500-W): several separated by commas or the option repeated, or all (an any-to-any model; default: the model's own target).")]
FromOpt = Annotated[Optional[str], typer.Option("--from", metavar="LIGHT", help="The input's light, if known (e.g. 6500-N); without it an any-to-any model reads it from the image.")]
JsonFileOpt = Annotated[Optional[str], typer.Option("--json", metavar="FILE|-", help="Write the scores as JSON to FILE, or to stdout with -.")]
CsvFileOpt = Annotated[Optional[str], typer.Option("--csv", metavar="FILE|-", help="Write per-image scores and the mean row as CSV to FILE, or to stdout with -.")]
JsonFlagOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]
RequireLpipsOpt = Annotated[bool, typer.Option("--require-lpips", help="Fail instead of skipping LPIPS and MPS when AlexNet's ImageNet weights are missing.")]


def check_scale(size: str | None, native: bool = False, upscale: str | None = None) -> tuple[tuple[int, int] | int | None, str]:
    """``--size``, ``--native`` and ``--upscale`` parsed and checked (a contradiction refused), before
    anything slow: the run size and the upscale."""
    from relight.inference.scale import DEFAULT_UPSCALE, check_upscale, parse_run_size, run_scale

    run_size, chosen = parse_run_size(size), check_upscale(upscale or DEFAULT_UPSCALE)
    run_scale(run_size, native, None)
    return run_size, chosen


def make_relighter(weights: str | None, device: str | None, precision: str | None, size: str | None, compile: bool = False,
                   native: bool = False, upscale: str | None = None, backend: str | None = None,
                   mirror_average: bool = False) -> Relighter:
    """Load weights and place them, saying once which model is used and what runs it (``size``, ``native``
    and ``upscale``: the scale it runs at, :mod:`relight.inference.scale`; ``backend``:
    :mod:`relight.inference.backend`; ``mirror_average``: :class:`~relight.inference.relighter.Relighter`),
    and each step of a first export to ONNX; without ``weights``, the default model
    (:func:`relight.weights.default_weights`)."""
    from relight.inference.relighter import Relighter
    from relight.weights import default_weights

    run_size, upscale = check_scale(size, native, upscale)
    if weights is None:
        weights = default_weights()
        console.print(f"[dim]no --weights given: using the default model {weights} (trained on synthetic scenes)[/dim]")
    relighter = Relighter.from_weights(weights, device=device, precision=precision, size=run_size, compile=compile, warn=warn,
                                       native=native, upscale=upscale, backend=backend, mirror_average=mirror_average,
                                       stages=lambda stage: console.print(f"[dim]{stage}[/dim]", soft_wrap=True))
    relighter.stages = None  # the export's steps only: a command shows its relights' stages itself
    console.print(
        f"[dim]model {relighter.loaded.config.describe()} from {relighter.loaded.source or weights} "
        f"on {relighter.device} ({relighter.precision}{', compiled' if relighter.compiled else ''}"
        f"{', mirror-averaged' if relighter.mirror_average else ''}), "
        f"backend {relighter.choice.describe()}[/dim]", soft_wrap=True,
    )
    return relighter


def check_report_outputs(json_out: str | None, csv_out: str | None = None) -> None:
    """``--json`` and ``--csv`` checked before the work whose results they hold: at most one of them on
    stdout (``-``), and a file that can be written for the others."""
    from relight.io import check_output_path

    if json_out == "-" and csv_out == "-":
        raise RelightError("--json - and --csv -: only one of them can go to stdout")
    for path in (json_out, csv_out):
        if path and path != "-":
            check_output_path(path)


def emit_text(text: str, target: str | None) -> None:
    """``--json``/``--csv FILE|-``: the text to stdout with ``-``, else written (atomically) to FILE."""
    from relight.io import write_text

    if target == "-":
        typer.echo(text, nl=False)
    elif target:
        console.print(f"wrote {write_text(target, text)}")


def emit_json(data: Any) -> None:
    """``--json`` (a flag): ``data`` as indented JSON on stdout."""
    import json

    typer.echo(json.dumps(data, indent=2))


def tables_console(*targets: str | None) -> Console:
    """Where tables go: stderr when one of ``targets`` (``--json``/``--csv``) is ``-``, so stdout holds only that."""
    return console if "-" in targets else out_console


def emit_report(report: ScoreReport, json_out: str | None, csv_out: str | None, title: str) -> None:
    """The score table (on stderr when ``-`` sends the JSON or CSV to stdout), then the files asked for."""
    from relight.cli._tables import print_score_table

    print_score_table(report, tables_console(json_out, csv_out), title=title)
    emit_text(report.to_json(), json_out)
    if csv_out:
        emit_text(report.to_csv(), csv_out)
