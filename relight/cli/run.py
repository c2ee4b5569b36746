"""``relight run``: one image and its depth map (estimated from the photo when none is given)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from relight.cli._console import console, warn
from relight.cli.depth import DepthKindOpt, DepthModelOpt, load_estimator
from relight.cli._options import BitDepthOpt, CompileOpt, DeviceOpt, PrecisionOpt, QualityOpt, SizeOpt, SrgbOpt, WeightsOpt, make_relighter


def run(
    image: Annotated[Path, typer.Argument(help="Input photo (PNG, JPEG, TIFF, WebP; 8/16-bit; grey, RGB, RGBA).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result file: .png, .tif, .npy, .jpg or .webp.")],
    depth: Annotated[Optional[Path], typer.Argument(help="Depth map (.npy VIDIT dict or array, .npz, 8/16-bit PNG, TIFF); without one, depth is estimated from the photo (--depth-model).")] = None,
    depth_kind: DepthKindOpt = "auto",
    depth_model: DepthModelOpt = None,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    bit_depth: BitDepthOpt = None,
    quality: QualityOpt = 95,
    srgb: SrgbOpt = False,
    compile: CompileOpt = False,
) -> None:
    """Relight one image with its depth map, or with depth estimated from the photo when none is given."""
    from relight.data.pairs import InferencePair, load_pair, refuse_replacing_inputs
    from relight.io import check_output_file, write_image

    check_output_file(output, bit_depth)  # before the model loads: a bad -o is the user's to fix at once
    refuse_replacing_inputs([output], [image, depth], "choose another output file")
    estimate = None
    if depth is None:
        console.print(f"[dim]no depth file given: estimating depth from {image}[/dim]")
        estimate = load_estimator(depth_model, device, image=image)
    item = load_pair(InferencePair(image.stem, image, depth), depth_kind, estimate)
    for warning in item.warnings:
        warn(warning)
    relighter = make_relighter(weights, device, precision, size, compile)
    result = relighter.relight(item.image.rgb, item.depth)
    write_image(output, result, item.image.alpha, bit_depth, item.image.meta, quality=quality, srgb=srgb)
    console.print(f"wrote {output}")
    if item.estimated:
        console.print(f"used depth estimated by {estimate.label} (`relight depth {image} -o DIR` writes it, to look at or correct)", soft_wrap=True)
