"""``relight run``: one image and its depth map (estimated from the photo when none is given)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from relight.cli._console import console, warn
from relight.cli._depth import DepthKindOpt, DepthModelOpt, load_estimator
from relight.cli._lights import check_lights_early, parse_source, parse_targets, resolve_lights
from relight.cli._options import (BackendOpt, BitDepthOpt, CompileOpt, DeviceOpt, FromOpt, MirrorAverageOpt, NativeOpt, PrecisionOpt, QualityOpt,
                                  SizeOpt, SrgbOpt, ToOpt, UpscaleOpt, WeightsOpt, check_scale, make_relighter)
from relight.cli._stages import say_scale, stages_shown

if TYPE_CHECKING:
    from relight.lighting import Light


def run(
    image: Annotated[Path, typer.Argument(help="Input photo (PNG, JPEG, TIFF, WebP; 8/16-bit; grey, RGB, RGBA).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Result file: .png, .tif, .npy, .jpg or .webp; with several --to lights, each file's name gets its light (relit_2500_W.png).")] = None,
    depth: Annotated[Optional[Path], typer.Argument(help="Depth map (.npy VIDIT dict or array, .npz, 8/16-bit PNG, TIFF); without one, depth is estimated from the photo (--depth-model).")] = None,
    depth_kind: DepthKindOpt = "auto",
    depth_model: DepthModelOpt = None,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    native: NativeOpt = False,
    upscale: UpscaleOpt = None,
    bit_depth: BitDepthOpt = None,
    quality: QualityOpt = 95,
    srgb: SrgbOpt = False,
    compile: CompileOpt = False,
    backend: BackendOpt = None,
    mirror_average: MirrorAverageOpt = False,
    to: ToOpt = None,
    source: FromOpt = None,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Also write a labelled contact sheet of the relit versions (rows temperatures, columns directions; 5 x 8 with --to all).")] = None,
) -> None:
    """Relight one image with its depth map, or with depth estimated from the photo when none is given."""
    from relight.data.pairs import InferencePair, check_pair, load_pair
    from relight.evaluation.sheet import LightSheet, write_picture
    from relight.io import OutputOptions, check_output_file, refuse_replacing_inputs
    from relight.io.depth import check_depth_kind

    # Everything the command line says is checked before anything slow (the depth model, the Hub, the model)
    written = OutputOptions(bit_depth=bit_depth, quality=quality, srgb=srgb)
    targets, lit = parse_targets(to), parse_source(source)
    check_scale(size, native, upscale)
    check_depth_kind(depth_kind)
    outputs = output_files(output, targets, sheet)
    for path in outputs:
        check_output_file(path, bit_depth)
    if sheet is not None:
        check_output_file(sheet, 8)
    refuse_replacing_inputs([*outputs, *([sheet] if sheet else [])], [image, depth], "choose another output file")
    pair = InferencePair(image.stem, image, depth)
    check_pair(pair)
    check_lights_early(weights, targets, lit, mirror_average)
    estimate = None
    if depth is None:
        estimate = load_estimator(depth_model, device, image=image)
        console.print(f"[dim]no depth file given: estimating depth from {image} with {estimate.label}[/dim]")
    with stages_shown() as stage:  # shown once the run takes more than a moment
        stage("reading" if estimate is None else "reading and estimating depth")
        item = load_pair(pair, depth_kind, estimate)
        for warning in item.warnings:
            warn(warning)
        stage("loading the model")
        relighter = make_relighter(weights, device, precision, size, compile, native, upscale, backend, mirror_average)
        relighter.stages = stage
        say_scale(relighter, item.image.size)
        lights = resolve_lights(relighter, targets, lit, placed=sheet is not None)
        cells = LightSheet(lights, item.image.size) if sheet is not None else None  # type: ignore[arg-type]
        # Each light written (and put on the sheet) as it comes, then let go: one full-size result at a time.
        for i, result in enumerate(relighter.relight_each(item.image.rgb, item.depth, list(targets), lit)):
            if outputs:
                stage("writing")
                written.write(outputs[i], result, item.image.alpha, item.image.meta)
                if len(outputs) <= 4:
                    console.print(f"wrote {outputs[i]}")
            if cells is not None:
                cells.place_light(lights[i], result)  # type: ignore[arg-type]
            del result
    if len(outputs) > 4:
        console.print(f"wrote {len(outputs)} files in {outputs[0].parent}: {outputs[0].name} ... {outputs[-1].name}", soft_wrap=True)
    if sheet is not None and cells is not None:
        write_picture(sheet, cells.picture())
        console.print(f"wrote {sheet} (contact sheet of {len(lights)} lights)")
    if item.estimated:
        console.print(f"used depth estimated by {estimate.label} (`relight depth {image} -o DIR` writes it, to look at or correct)", soft_wrap=True)


def output_files(output: Path | None, targets: tuple[Light | None, ...], sheet: Path | None) -> list[Path]:
    """The files ``-o`` stands for: itself for one target, ``STEM_<light><ext>`` beside it for each of several."""
    from relight.errors import RelightError
    from relight.inference.naming import SEVERAL_TARGETS, output_name

    if output is None:
        if sheet is None:
            raise RelightError("give the result file (-o OUT.png), a contact sheet (--sheet SHEET.png), or both")
        return []
    if len(targets) == 1:
        return [output]
    return [output.with_name(output_name(output.stem, target, SEVERAL_TARGETS) + output.suffix) for target in targets]
