"""``relight export``: a model as an ONNX file, with relight's metadata in it, optionally checked against torch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relight.cli._console import console, out_console
from relight.errors import RelightError


def export(
    weights: Annotated[str, typer.Argument(metavar="WEIGHTS", help="What --weights takes: a registry name, .safetensors, the authors' .pkl/.pth, or hf://owner/repo/file[@rev].")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The ONNX file to write (.onnx).")],
    check: Annotated[bool, typer.Option("--check", help="Compare the export with torch on seeded inputs and state the largest difference (fails above 1e-4 in fp32, 5e-2 in fp16).")] = False,
    fp16: Annotated[bool, typer.Option("--fp16", help="Export the network in half precision (inputs and output stay float32): half the file, for GPUs.")] = False,
) -> None:
    """Export a model to ONNX: dynamic batch, height and width (multiples of 32), the light input of an
    any-to-any model, and relight's metadata (name, weights sha256, trained_at, illumination, version),
    so that `relight run --weights model.onnx` and any ONNX Runtime can run it."""
    from relight.inference.export import export_weights
    from relight.io import check_output_path
    from relight.weights import load_weights

    if output.suffix.lower() != ".onnx":
        raise RelightError(f"{output}: an ONNX export's file name ends in .onnx")
    check_output_path(output)
    if Path(weights).suffix.lower() == ".onnx":
        raise RelightError(f"{weights}: already an ONNX file; export takes the weights it came from")
    loaded = load_weights(weights)
    console.print(f"[dim]model {loaded.config.describe()} from {loaded.source or weights}[/dim]", soft_wrap=True)
    done = export_weights(loaded, output, fp16=fp16, check=check, stage=lambda stage: console.print(f"[dim]{stage}[/dim]"))
    props = done.props
    size = done.path.stat().st_size / 1e6
    out_console.print(f"wrote {done.path} ({size:.1f} MB; {props['model_name']}, {props['illumination']}, trained at "
                      f"{props['trained_at'] or 'an unrecorded size'}, opset {props['opset']}, {props['precision']})", soft_wrap=True)
    if done.difference is None:
        return
    verdict = "within" if done.difference <= done.tolerance else "above"
    out_console.print(f"largest difference to torch (fp32) on seeded inputs: {done.difference:.2g}, {verdict} the bar of {done.tolerance:g}",
                      soft_wrap=True)
    if done.difference > done.tolerance:
        raise typer.Exit(1)
