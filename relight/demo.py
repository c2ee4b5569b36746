"""The bundled demonstration: relight the held-out example scenes and score them against ground truth.

It answers the first question a new user has ("does it do anything?") with numbers: the model's scores
next to the identity baseline (the input image taken as the answer). An any-to-any model is also shown
choosing the light: the examples are relit to :data:`DEMO_TARGETS` as well; only 4500-E has ground
truth in the examples, so that one is scored and the others are written for looking at, with a
contact sheet of them all (rows the scenes, columns the input and each target).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from relight.data.pairs import InferencePair, load_pair
from relight.data.vidit import TrainPair
from relight.errors import InputFileError
from relight.evaluation.evaluate import evaluate, evaluation_pairs, identity_report
from relight.inference.relighter import Relighter
from relight.io import write_image
from relight.lighting import DEFAULT_SOURCE, DEFAULT_TARGET, Light, as_light
from relight.inference.naming import SEVERAL_TARGETS, output_name
from relight.paths import shipped
from relight.evaluation.score import ScoreReport, Scorer

#: The examples ship beside the package in a checkout: ``examples/validation`` (inputs, 6500 K from the
#: north, with depth) and ``examples/validation_gt`` (the same scenes lit at 4500 K from the east).
EXAMPLES = shipped("examples")
#: The lights an any-to-any model relights the examples to: the scored one (the examples' ground truth) first.
DEMO_TARGETS: tuple[Light, ...] = (DEFAULT_TARGET, Light(4500, "W"), Light(2500, "S"), Light(6500, "NE"))
#: Where the versions without ground truth go, inside the demo's output folder.
LIGHTS_DIR = "lights"


@dataclass
class DemoResult:
    """Per-image scores of the model and of the identity baseline on the same pairs; for an any-to-any
    model also the mapping applied, the versions written for looking at, and their contact sheet."""

    model: ScoreReport
    identity: ScoreReport
    out_dir: Path
    mappings: list[str] = field(default_factory=list)
    versions: list[Path] = field(default_factory=list)
    sheet: Path | None = None


def run_demo(
    relighter: Relighter,
    out_dir: str | os.PathLike[str],
    *,
    examples: str | os.PathLike[str] = EXAMPLES,
    scorer: Scorer | None = None,
    targets: tuple[Light | str, ...] = DEMO_TARGETS,
) -> DemoResult:
    """Relight ``examples/validation`` into ``out_dir`` and score it, with the identity baseline beside it.

    An any-to-any model relights them to 4500-E (scored, in ``out_dir``, as a one-to-one model's are) and
    to the other ``targets`` it knows (in ``out_dir/lights``, with ``sheet.png``), told the examples' light."""
    examples = Path(examples)
    inputs, gt = examples / "validation", examples / "validation_gt"
    if not inputs.is_dir() or not gt.is_dir():
        raise InputFileError(examples, "the bundled examples are missing (expected validation/ and validation_gt/)")
    found = evaluation_pairs(inputs, gt_dir=gt)
    pairs = found.pairs
    scorer = scorer or Scorer(relighter.device)
    any_to_any = relighter.illumination.any_to_any
    lights = dict(to=DEFAULT_TARGET, source=DEFAULT_SOURCE) if any_to_any else {}
    model = evaluate(relighter, pairs, scorer=scorer, save_dir=out_dir, workers=0, left_out=found.skipped, **lights)
    result = DemoResult(model, identity_report(pairs, scorer), Path(out_dir))
    if any_to_any:
        known = [light for light in map(as_light, targets) if light in relighter.illumination.targets]
        shown = [DEFAULT_TARGET] + [light for light in known if light != DEFAULT_TARGET]
        result.mappings = [relighter.mapping(light, DEFAULT_SOURCE) for light in shown]
        failed = {failure.name for failure in model.failed}
        _versions(relighter, [pair for pair in pairs if pair.name not in failed], shown, result)
    return result


def _versions(relighter: Relighter, pairs: list[TrainPair], shown: list[Light], result: DemoResult) -> None:
    """Each example relit to every light of ``shown``: the ones after the first written to ``lights/``, all
    of them (with the input) on the contact sheet."""
    from relight.evaluation.sheet import grid_sheet, write_picture

    folder = result.out_dir / LIGHTS_DIR
    cells = {}
    for row, pair in enumerate(pairs):
        item = load_pair(InferencePair(pair.name, pair.input, pair.depth))
        relit = relighter.relight_many(item.image.rgb, item.depth, list(shown), DEFAULT_SOURCE)
        cells[(row, 0)] = item.image.rgb
        for col, (light, image) in enumerate(zip(shown, relit), start=1):
            cells[(row, col)] = image
            if col > 1:
                path = folder / f"{output_name(pair.name, light, SEVERAL_TARGETS)}.png"
                result.versions.append(write_image(path, image, item.image.alpha, 8, item.image.meta))
    if not cells:  # every example failed, as the scores' report says
        return
    columns = [f"input {DEFAULT_SOURCE}", f"{DEFAULT_TARGET} (scored)", *map(str, shown[1:])]
    result.sheet = write_picture(folder / "sheet.png", grid_sheet(cells, [pair.name for pair in pairs], columns))
