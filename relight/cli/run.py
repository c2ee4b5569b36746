"""``relight run``: one image and its depth map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relight.cli._console import console, warn
from relight.cli._options import BitDepthOpt, CompileOpt, DeviceOpt, PrecisionOpt, SizeOpt, WeightsOpt, make_relighter


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
        warn(warning)
    relighter = make_relighter(weights, device, precision, size, compile)
    result = relighter.relight(item.image.rgb, item.depth)
    write_image(output, result, item.image.alpha, bit_depth)
    console.print(f"wrote {output}")
