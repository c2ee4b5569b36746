"""``relight eval``: run a model over data with ground truth and score it as ``relight score`` does;
``--any-to-any`` scores a seeded sample of (source, target) pairs, grouped by target light."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from relight.cli._console import console, warn
from relight.cli._depth import DepthKindOpt
from relight.cli._options import (BackendOpt, CsvFileOpt, DepthDirOpt, DeviceOpt, ExtOpt, GtDirOpt, JsonFileOpt, MirrorAverageOpt, NativeOpt, PrecisionOpt,
                                  RequireLpipsOpt, SizeOpt, SourceOpt, TargetOpt, UpscaleOpt, WeightsOpt, check_report_outputs, emit_report, emit_text,
                                  make_relighter, tables_console)
from relight.cli._progress import tracked
from relight.errors import RelightError

if TYPE_CHECKING:
    from relight.inference.relighter import Relighter


def evaluate(
    data: Annotated[Path, typer.Argument(help="Validation data with ground truth: validation (+ FOLDER_gt), one-to-one or any-to-any layout.")],
    weights: WeightsOpt = None,
    save_dir: Annotated[Optional[Path], typer.Option("--save-dir", help="Also write the relit images here.")] = None,
    ext: ExtOpt = ".png",
    gt_dir: GtDirOpt = None,
    depth_dir: DepthDirOpt = None,
    depth_kind: DepthKindOpt = "auto",
    source: SourceOpt = "6500-N",
    target: TargetOpt = "4500-E",
    json_out: JsonFileOpt = None,
    csv_out: CsvFileOpt = None,
    require_lpips: RequireLpipsOpt = False,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    native: NativeOpt = False,
    upscale: UpscaleOpt = None,
    backend: BackendOpt = None,
    mirror_average: MirrorAverageOpt = False,
    workers: Annotated[int, typer.Option(help="DataLoader worker processes decoding files.")] = 2,
    any_to_any: Annotated[bool, typer.Option("--any-to-any", help="Score an any-to-any model on a seeded sample of (source, target) pairs of any-to-any data, by target direction and temperature (the source not told).")] = False,
    pairs: Annotated[int, typer.Option("--pairs", min=1, help="With --any-to-any: how many (scene, source, target) pairs to draw (at most all there are).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="With --any-to-any: the seed of the sample.")] = 0,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="With --any-to-any: also draw the PSNR gain over identity per (source direction, target direction) as an 8 x 8 picture.")] = None,
) -> None:
    """Run a model over a validation set and score it exactly as `relight score` does."""
    from relight.evaluation.evaluate import check_save_dir, evaluate, evaluation_pairs
    from relight.evaluation.score import Scorer
    from relight.io.depth import check_depth_kind
    from relight.weights import default_weights

    check_report_outputs(json_out, csv_out)
    depth_kind = check_depth_kind(depth_kind)
    title = f"relight eval {weights or default_weights()} on {data}"  # as given: the model line has the path
    if any_to_any:
        _any_to_any(data, weights, (device, precision, size, False, native, upscale, backend, mirror_average), (json_out, csv_out, plot), pairs, seed,
                    (depth_dir, depth_kind), workers, require_lpips, save_dir, title)
        return
    if plot is not None:
        raise RelightError("--plot draws the any-to-any grid: use it with --any-to-any")
    found = evaluation_pairs(data, source, target, gt_dir=gt_dir, depth_dir=depth_dir)
    pairs_found = found.pairs
    if save_dir is not None:  # before the model loads (evaluate checks again, for callers of the API)
        check_save_dir(pairs_found, save_dir, ext)
    relighter = make_relighter(weights, device, precision, size, False, native, upscale, backend=backend, mirror_average=mirror_average)
    lights = _lights(relighter, source, target)
    scorer = Scorer(relighter.device, require_lpips)
    with tracked("evaluating", total=len(pairs_found)) as counter:
        report = evaluate(relighter, pairs_found, scorer=scorer, save_dir=save_dir, ext=ext, workers=workers,
                          on_item=lambda _row: counter.advance(), left_out=found.skipped, depth_kind=depth_kind,
                          on_warning=warn, **lights)
    emit_report(report, json_out, csv_out, title=title)
    if save_dir is not None:
        console.print(f"wrote {len(report.rows)} images to {save_dir}")
    if report.failed:
        raise typer.Exit(1)


def _lights(relighter: Relighter, source: str, target: str) -> dict[str, str]:
    """An any-to-any model relights the data's pairs to ``--target``, told ``--source``; a one-to-one model
    applies its own pair. Either way the mapping is said."""
    lights = {"to": target, "source": source} if relighter.illumination.any_to_any else {}
    kind = "" if relighter.illumination.any_to_any else " (one-to-one model)"
    console.print(f"relighting {relighter.mapping(**lights)}{kind}")
    return lights


def _any_to_any(data: Path, weights: str | None, placed: tuple[object, ...],
                outputs: tuple[str | None, str | None, Path | None], pairs: int, seed: int,
                depth: tuple[Path | None, str], workers: int, require_lpips: bool, save_dir: Path | None, title: str) -> None:
    """``relight eval --any-to-any``: the sample, scored, as tables by target light, JSON/CSV, and the grid picture."""
    from relight.cli._tables import print_light_tables
    from relight.evaluation.evaluate import any_to_any_sample, evaluate_any_to_any
    from relight.evaluation.score import Scorer
    from relight.evaluation.sheet import heat_map, write_picture
    from relight.io import check_output_file
    from relight.lighting import DIRECTIONS

    json_out, csv_out, plot = outputs
    depth_dir, depth_kind = depth
    if save_dir is not None:
        raise RelightError("--save-dir is for one-to-one evaluation: --any-to-any writes no images")
    if plot is not None:
        check_output_file(plot, 8)
    sample, left_out, possible = any_to_any_sample(data, pairs, seed, depth_dir)
    relighter = make_relighter(weights, *placed)
    scorer = Scorer(relighter.device, require_lpips)
    console.print(f"relighting ? -> each pair's target: {len(sample)} of {possible} possible pairs (seed {seed}), the source not told",
                  soft_wrap=True)
    with tracked("evaluating", total=len(sample)) as counter:
        report = evaluate_any_to_any(relighter, sample, scorer=scorer, workers=workers, on_item=lambda _row: counter.advance(), left_out=left_out,
                                     sampled=(seed, pairs, possible), depth_kind=depth_kind, on_warning=warn)
    print_light_tables(report, tables_console(json_out, csv_out), title)
    emit_text(report.to_json(), json_out)
    if csv_out:
        emit_text(report.to_csv(), csv_out)
    if plot is not None:
        picture = heat_map(report.grid(), [f"from {d}" for d in DIRECTIONS], [f"to {d}" for d in DIRECTIONS],
                           f"PSNR gain over identity (dB), {len(report.rows)} pairs")
        console.print(f"wrote {write_picture(plot, picture)}")
    if report.failed:
        raise typer.Exit(1)
