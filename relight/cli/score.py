"""``relight score``: two folders of images, paired by stem, scored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relight.cli._options import CsvFileOpt, DeviceOpt, JsonFileOpt, RequireLpipsOpt, check_report_outputs, emit_report
from relight.cli._progress import tracked


def score(
    pred: Annotated[Path, typer.Argument(metavar="PRED", help="Folder of predictions (relit images).")],
    gt: Annotated[Path, typer.Argument(metavar="GT", help="Folder of ground-truth images; files pair up by stem.")],
    json_out: JsonFileOpt = None,
    csv_out: CsvFileOpt = None,
    require_lpips: RequireLpipsOpt = False,
    device: DeviceOpt = None,
) -> None:
    """PSNR, SSIM, LPIPS and MPS per image and on average; exits 1 if ground-truth images lack a prediction
    or an image could not be scored (the others are still scored)."""
    from relight.evaluation.score import Scorer, score_folders

    check_report_outputs(json_out, csv_out)
    scorer = Scorer(device, require_lpips)
    with tracked("scoring") as counter:  # drawn once the folders are paired: a bad folder is refused before any bar
        report = score_folders(pred, gt, scorer=scorer, on_start=counter.begin, on_item=lambda _row: counter.advance())
    emit_report(report, json_out, csv_out, title=f"relight score {pred} vs {gt}")
    if report.missing_predictions or report.failed:
        raise typer.Exit(1)
