"""``relight depth``: depth estimated from photos, written as relight's .npy and a viewable 16-bit PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from relight.cli._console import console
from relight.cli._depth import DepthModelOpt, load_estimator
from relight.cli._errors import cli_text
from relight.cli._options import DeviceOpt
from relight.cli._progress import tracked
from relight.errors import RelightError

if TYPE_CHECKING:
    pass

def _targets(images: list[Path], output: Path) -> list[tuple[Path, Path, Path]]:
    """(photo, .npy, .png) for each photo: ``output`` a file for one photo (the other type beside it),
    else a folder of STEM.npy and STEM.png; refused before any work when they cannot all be written."""
    from relight.errors import OutputFileError
    from relight.io import check_output_folder, check_output_path, refuse_replacing_inputs

    if output.suffix.lower() in (".npy", ".png"):
        if len(images) > 1:
            raise OutputFileError(output, f"is one file, for {len(images)} photos; give a folder")
        targets = [(images[0], output.with_suffix(".npy"), output.with_suffix(".png"))]
    else:
        check_output_folder(output)
        targets = [(image, output / f"{image.stem}.npy", output / f"{image.stem}.png") for image in images]
    seen: dict[Path, Path] = {}
    photos = {os.path.realpath(image.parent) for image in images}
    for image, npy, png in targets:
        if npy in seen:
            raise OutputFileError(npy, f"is where both {seen[npy]} and {image} would go; rename one of them")
        seen[npy] = image
        check_output_path(npy)
        check_output_path(png)
        if os.path.realpath(png.parent) in photos:
            raise OutputFileError(png, "would sit among the photos, where `relight batch` would take it for one; write the depth "
                                   "to another folder (and pass it to --depth-dir)")
    refuse_replacing_inputs([path for _, npy, png in targets for path in (npy, png)], images, "choose another output")
    return targets


def depth(
    images: Annotated[list[Path], typer.Argument(help="Photos (PNG, JPEG, TIFF, WebP).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A folder: STEM.npy and STEM.png for each photo; for one photo also a "
                                                              "file, OUT.npy or OUT.png (the other is written beside it).")],
    depth_model: DepthModelOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Estimate depth from photos: relight's .npy (VIDIT's normalised depth: near small, far large, in
    [0, 1]) and a 16-bit PNG of it (near dark) for a look; both read back as depth files."""
    from relight.io import read_image
    from relight.io.depth import write_depth_npy, write_depth_png

    targets = _targets(images, output)
    estimator = load_estimator(depth_model, device)
    failures: list[RelightError] = []
    with tracked("estimating depth", total=len(targets)) as counter:
        for image, npy, png in targets:
            try:
                estimated = estimator(read_image(image).rgb)
                write_depth_npy(npy, estimated)
                write_depth_png(png, estimated)
            except RelightError as exc:
                failures.append(exc)
                counter.advance(False)
                continue
            counter.advance()
            counter.console.print(f"wrote {npy} and {png}", soft_wrap=True)
    for error in failures:
        console.print(f"[red]failed:[/red] {cli_text(error)}", soft_wrap=True)
    if failures:
        console.print(f"{len(targets) - len(failures)} of {len(targets)} photos done")
        raise typer.Exit(1)
