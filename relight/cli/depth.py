"""``relight depth``: depth estimated from photos, written as relight's .npy and a viewable 16-bit PNG;
and the depth options ``run`` and ``batch`` share (``--depth-kind``, ``--depth-model``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from relight.cli._console import console
from relight.cli._errors import cli_text
from relight.cli._options import DeviceOpt
from relight.cli._progress import Counter, tracked
from relight.errors import RelightError

if TYPE_CHECKING:
    from relight.depth.estimation import DepthEstimator

DepthKindOpt = Annotated[str, typer.Option(
    "--depth-kind", metavar="KIND",
    help="What depth files hold: normalised (VIDIT's [0, 1] depth, 8/16-bit rasters by their range), metric (distances, any unit) "
         "or disparity (inverse distances); auto takes floats up to 2 and 8/16-bit rasters for normalised, larger floats and "
         "other integer arrays for distances. Distances become [0, 1] as VIDIT's: over the farthest, at most 4x the centre's.",
)]
DepthModelOpt = Annotated[Optional[str], typer.Option(
    "--depth-model", metavar="NAME|DIR",
    help="Depth model for images without a depth file: a registry name (default depth-anything-v2-small, fetched into the "
         "Hugging Face cache on first use) or a transformers model folder.",
)]


def _byte_report(counter: Counter) -> Callable[[int, Any], None]:
    """A download's bytes drawn on ``counter``'s bar, with the speed."""

    def report(done: int, total: int | None) -> None:
        megabytes = done / 1e6
        counter.update(completed=done, total=total, rate=f"{megabytes:.1f} MB, {megabytes / max(counter.elapsed(), 1e-6):.1f} MB/s")

    return report


def load_estimator(depth_model: str | None, device: str | None, *, fetch: bool = True, image: Path | None = None) -> DepthEstimator:
    """The depth model, downloaded first (with a bar) if ``fetch`` allows it, and a line saying which it is;
    when it cannot be had for ``image``, the error names the image first."""
    from relight.depth.estimation import DepthEstimator, MissingDependency
    from relight.depth.registry import DepthModelUnavailable
    from relight.errors import InputFileError

    try:
        with tracked(f"downloading depth model {depth_model or ''}".rstrip()) as counter:  # drawn with the first byte only
            estimator = DepthEstimator.load(depth_model, device=device, fetch=fetch, progress=_byte_report(counter))
    except (DepthModelUnavailable, MissingDependency) as exc:
        if image is None:
            raise
        raise InputFileError(image, "no depth file given and none can be estimated: ", *exc.parts) from None
    console.print(f"[dim]depth model {estimator.label} ({estimator.files.verification}) on {estimator.device}[/dim]")
    return estimator


def batch_estimator(depth_model: str | None, device: str | None, needed: bool) -> Callable[..., Any] | None:
    """What ``batch`` estimates missing depth with: nothing when every image has depth; the depth model
    when it is given or already downloaded (a batch fetches only the model it is told to); else a
    stand-in that fails each image without depth with the reason, the others done."""
    from relight.depth.estimation import MissingDependency, unavailable_estimator
    from relight.depth.registry import DepthModelUnavailable

    if not needed:
        return None
    try:
        return load_estimator(depth_model, device, fetch=depth_model is not None)
    except (DepthModelUnavailable, MissingDependency) as exc:
        return unavailable_estimator(exc)


def _targets(images: list[Path], output: Path) -> list[tuple[Path, Path, Path]]:
    """(photo, .npy, .png) for each photo: ``output`` a file for one photo (the other type beside it),
    else a folder of STEM.npy and STEM.png; refused before any work when they cannot all be written."""
    from relight.io import check_output_folder, check_output_path, refuse_replacing_inputs
    from relight.errors import OutputFileError

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
