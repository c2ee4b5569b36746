"""``relight eval``: run a model over data with ground truth and score it as ``relight score`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from relight.cli._console import console
from relight.cli._options import (
    CsvFileOpt, DepthDirOpt, DeviceOpt, ExtOpt, GtDirOpt, JsonFileOpt, PrecisionOpt, RequireLpipsOpt, SizeOpt, SourceOpt,
    TargetOpt, WeightsOpt, check_report_outputs, emit_report, make_relighter,
)
from relight.cli._progress import tracked


def evaluate(
    data: Annotated[Path, typer.Argument(help="Validation data with ground truth: validation (+ FOLDER_gt), one-to-one or any-to-any layout.")],
    weights: WeightsOpt = None,
    save_dir: Annotated[Optional[Path], typer.Option("--save-dir", help="Also write the relit images here.")] = None,
    ext: ExtOpt = ".png",
    gt_dir: GtDirOpt = None,
    depth_dir: DepthDirOpt = None,
    source: SourceOpt = "6500-N",
    target: TargetOpt = "4500-E",
    json_out: JsonFileOpt = None,
    csv_out: CsvFileOpt = None,
    require_lpips: RequireLpipsOpt = False,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    size: SizeOpt = None,
    workers: Annotated[int, typer.Option(help="DataLoader worker processes decoding files.")] = 2,
) -> None:
    """Run a model over a validation set and score it exactly as `relight score` does."""
    from relight.evaluate import check_save_dir, evaluate, evaluation_pairs
    from relight.score import Scorer
    from relight.weights import default_weights

    check_report_outputs(json_out, csv_out)
    found = evaluation_pairs(data, source, target, gt_dir=gt_dir, depth_dir=depth_dir)
    pairs = found.pairs
    if save_dir is not None:  # before the model loads (evaluate checks again, for callers of the API)
        check_save_dir(pairs, save_dir, ext)
    relighter = make_relighter(weights, device, precision, size)
    scorer = Scorer(relighter.device, require_lpips)
    with tracked("evaluating", total=len(pairs)) as counter:
        report = evaluate(relighter, pairs, scorer=scorer, save_dir=save_dir, ext=ext, workers=workers,
                          on_item=lambda _row: counter.advance(), left_out=found.skipped)
    emit_report(report, json_out, csv_out, title=f"relight eval {weights or default_weights()} on {data}")  # as given: the model line has the path
    if save_dir is not None:
        console.print(f"wrote {len(report.rows)} images to {save_dir}")
    if report.failed:
        raise typer.Exit(1)
