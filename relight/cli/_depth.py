"""The depth options several commands share (``--depth-kind``, ``--depth-model``) and the depth model
they load: with a download bar, and for ``batch`` only where an image has no depth file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from relight.cli._console import console
from relight.cli._progress import Counter, tracked

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
