"""The bundled demonstration: relight the held-out example scenes and score them against ground truth.

It answers the first question a new user has ("does it do anything?") with numbers: the model's scores
next to the identity baseline (the input image taken as the answer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from relight.data.vidit import TrainPair
from relight.errors import InputFileError
from relight.evaluate import evaluate, evaluation_pairs, identity_report
from relight.inference import Relighter
from relight.io import read_image, write_image
from relight.paths import shipped
from relight.score import ScoreReport, Scorer

#: The examples ship beside the package in a checkout: ``examples/validation`` (inputs, 6500 K from the
#: north, with depth) and ``examples/validation_gt`` (the same scenes lit at 4500 K from the east).
EXAMPLES = shipped("examples")


@dataclass
class DemoResult:
    """Per-image scores of the model and of the identity baseline on the same pairs."""

    model: ScoreReport
    identity: ScoreReport
    out_dir: Path


def run_demo(
    relighter: Relighter,
    out_dir: str | os.PathLike[str],
    examples: str | os.PathLike[str] = EXAMPLES,
    scorer: Scorer | None = None,
) -> DemoResult:
    """Relight ``examples/validation`` into ``out_dir`` and score it, with the identity baseline beside it."""
    examples = Path(examples)
    inputs, gt = examples / "validation", examples / "validation_gt"
    if not inputs.is_dir() or not gt.is_dir():
        raise InputFileError(examples, f"{examples}: the bundled examples are missing (expected validation/ and validation_gt/)")
    found = evaluation_pairs(inputs, gt_dir=gt)
    pairs = found.pairs
    scorer = scorer or Scorer(relighter.device)
    model = evaluate(relighter, pairs, scorer, save_dir=out_dir, workers=0, left_out=found.skipped)
    _keep_inputs_alpha(pairs, Path(out_dir), {failure.name for failure in model.failed})
    return DemoResult(model, identity_report(pairs, scorer), Path(out_dir))


def _keep_inputs_alpha(pairs: list[TrainPair], out_dir: Path, failed: set[str]) -> None:
    """Give each relit example its input's alpha channel and metadata back (the examples are RGBA, like
    VIDIT; evaluation scores and writes RGB). The saved 8-bit levels are written again unchanged."""
    for pair in pairs:
        output = out_dir / f"{pair.name}.png"
        if pair.name in failed or not output.is_file():
            continue
        source = read_image(pair.input)
        if source.alpha is not None:
            write_image(output, read_image(output).rgb, source.alpha, 8, source.meta)
