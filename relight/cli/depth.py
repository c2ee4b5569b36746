"""``relight depth``: depth estimated from photos, written as the depth file asked for (relight's .npy, or a
16-bit PNG), with a 16-bit PNG preview beside it where no one could take it for a photo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from relight.cli._console import console
from relight.cli._depth import load_estimator
from relight.cli._errors import cli_text
from relight.cli._options import DeviceOpt
from relight.cli._progress import tracked
from relight.errors import RelightError

DEPTH_SUFFIXES = (".npy", ".png")


def _targets(images: list[Path], output: Path, preview: bool | None) -> tuple[list[tuple[Path, Path, Path | None]], str | None]:
    """(photo, depth file, preview or None) for each photo, and why previews are left out (None when they
    are not): ``output`` a file for one photo (``.npy`` or ``.png``, written as asked), else a folder of
    ``STEM.npy``. A preview (``STEM.png``, 16-bit, near dark) goes beside each ``.npy`` with ``preview``
    True, and with None (the default) only where no photo is, since ``relight batch`` would take it for
    one. Refused before any work when they cannot all be written."""
    from relight.errors import OutputFileError
    from relight.io import check_output_folder, check_output_path, refuse_replacing_inputs

    if output.suffix.lower() in DEPTH_SUFFIXES:
        if len(images) > 1:
            raise OutputFileError(output, f"is one file, for {len(images)} photos; give a folder")
        depths = [(images[0], output)]
    else:
        check_output_folder(output)
        depths = [(image, output / f"{image.stem}.npy") for image in images]
    photos = {os.path.realpath(image.parent) for image in images}
    among = any(os.path.realpath(depth.parent) in photos for _, depth in depths)
    wanted = preview if preview is not None else not among
    targets = [(image, depth, depth.with_suffix(".png") if wanted and depth.suffix.lower() == ".npy" else None) for image, depth in depths]
    seen: dict[Path, Path] = {}
    for image, depth, picture in targets:
        if depth in seen:
            raise OutputFileError(depth, f"is where both {seen[depth]} and {image} would go; rename one of them")
        seen[depth] = image
        for path in (depth, picture):
            if path is not None:
                check_output_path(path)
    refuse_replacing_inputs([path for _, depth, picture in targets for path in (depth, picture) if path is not None], images,
                            "choose another output")
    skipped = "no PNG preview: it would sit among the photos, where `relight batch` would take it for one (--preview writes it)"
    return targets, skipped if preview is None and among and any(d.suffix.lower() == ".npy" for _, d in depths) else None


DepthModelForDepth = Annotated[Optional[str], typer.Option(
    "--depth-model", metavar="NAME|DIR",
    help="The depth model: a registry name (default depth-anything-v2-small, fetched into the Hugging Face cache on first use) "
         "or a transformers model folder.",
)]


def depth(
    images: Annotated[list[Path], typer.Argument(help="Photos (PNG, JPEG, TIFF, WebP).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A folder: STEM.npy for each photo; for one photo also a file, "
                                                              "OUT.npy or OUT.png (a 16-bit PNG of the depth), written as named.")],
    preview: Annotated[Optional[bool], typer.Option("--preview/--no-preview", help="A 16-bit PNG of each .npy beside it, to look at "
                                                    "(default: only where no photo is, since relight batch would take it for one).")] = None,
    depth_model: DepthModelForDepth = None,
    device: DeviceOpt = None,
) -> None:
    """Estimate depth from photos and write it as relight's .npy (VIDIT's normalised depth: near small, far
    large, in [0, 1]) or a 16-bit PNG (near dark); both read back as depth files."""
    from relight.io import read_image
    from relight.io.images import check_input_file
    from relight.io.depth import write_depth_npy, write_depth_png

    targets, skipped = _targets(images, output, preview)
    for image in images:  # a mistyped name is said before the depth model loads
        check_input_file(image)
    estimator = load_estimator(depth_model, device)
    failures: list[RelightError] = []
    with tracked("estimating depth", total=len(targets)) as counter:
        for image, target, picture in targets:
            try:
                estimated = estimator(read_image(image).rgb)
                (write_depth_png if target.suffix.lower() == ".png" else write_depth_npy)(target, estimated)
                if picture is not None:
                    write_depth_png(picture, estimated)
            except RelightError as exc:
                failures.append(exc)
                counter.advance(False)
                continue
            counter.advance()
            counter.console.print(f"wrote {target}" + (f" and {picture}" if picture is not None else ""), soft_wrap=True)
    if skipped and len(failures) < len(targets):
        console.print(f"[dim]{skipped}[/dim]", soft_wrap=True)
    for error in failures:
        console.print(f"[red]failed:[/red] {cli_text(error)}", soft_wrap=True)
    if failures:
        console.print(f"{len(targets) - len(failures)} of {len(targets)} photos done")
        raise typer.Exit(1)
