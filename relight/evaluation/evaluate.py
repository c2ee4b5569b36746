"""Evaluating a model on pairs with ground truth: relight each input, score it, optionally keep the outputs.

``relight eval`` and the validation inside ``relight train`` both go through :func:`evaluate`, so a
run's validation numbers and a later ``relight eval`` of its checkpoint are computed the same way, by
the scoring code of ``relight score``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relight.data.anytoany import LitPair, PairSampler, load_scenes
from relight.data.dataset import LoadFailure, PairDataset, load_batches, say_notes
from relight.data.vidit import LeftOut, PairSet, TrainPair, load_pairs
from relight.data.vidit import Setting as Lighting
from relight.errors import InputFileError, InvalidSetting, RelightError, RelightWarning, Setting
from relight.device import cudnn_autotune
from relight.inference.relighter import Relighter
from relight.weights.registry import any_to_any_models
from relight.io import check_output_dir, json_text, read_image, refuse_replacing_inputs, write_image
from relight.lighting import DIRECTIONS, TEMPERATURES, Light, LightLike, encode_lights
from relight.evaluation.score import ScoreReport, ScoreRow, Scorer, Unscored, csv_text, finite_or_none, score_arrays

def check_save_dir(pairs: Sequence[TrainPair], save_dir: str | os.PathLike[str], ext: str = ".png") -> None:
    """Refuse, before any work, a ``save_dir`` that cannot hold the outputs, or where an output would
    replace an input, depth or ground-truth file (``save_dir`` set to the data folder)."""
    check_output_dir(save_dir, ext)
    refuse_replacing_inputs((Path(save_dir) / f"{pair.name}{ext}" for pair in pairs),
                            (path for pair in pairs for path in (pair.input, pair.depth, pair.target)),
                            "save the relit images elsewhere")


def evaluate(
    relighter: Relighter,
    pairs: Sequence[TrainPair],
    *,
    scorer: Scorer | None = None,
    save_dir: str | os.PathLike[str] | None = None,
    ext: str = ".png",
    workers: int = 2,
    on_item: Callable[[ScoreRow | None], None] | None = None,
    left_out: Sequence[LeftOut] = (),
    to: LightLike | None = None,
    source: LightLike | None = None,
    depth_kind: str = "auto",
    on_warning: Callable[[str | RelightWarning], None] | None = None,
) -> ScoreReport:
    """Relight every pair, score it against its target, and write ``save_dir/<name><ext>`` when asked.

    ``to``/``source`` are :meth:`Relighter.relight`'s: the light an any-to-any model relights every pair
    to (and the inputs' light, if told); a one-to-one model applies its own pair. A saved output keeps its
    input's alpha and metadata (colour profile, EXIF), at 8 bits: the levels it was scored at.

    Mirrored pairs are flipped as in training. The output is scored at the target's resolution (the
    relighter's ``size`` only sets the resolution the network runs at), rounded to the 8-bit levels an
    image file holds (unless ``ext`` is ``.npy``), so ``relight score`` on the saved PNGs gives the
    same numbers, as the challenge scored submitted PNGs. A pair that cannot be loaded, relit, saved
    or scored is listed in ``report.failed``, and the others are still done; so is each input the
    pairing ``left_out`` (``PairSet.skipped``: one line each, naming it), so that none goes unnoticed.
    Depth files are read as ``depth_kind`` says; what reading a pair had to say (a depth converted or
    resized) goes to ``on_warning`` (default: :func:`warnings.warn`).
    """
    if save_dir is not None:
        check_save_dir(pairs, save_dir, ext)
    target, lit = relighter.lights(to, source)
    light = encode_lights(target, lit) if relighter.illumination.any_to_any else None
    dataset = PairDataset(pairs, require_target=True, depth_kind=depth_kind, notes=True)
    pin = relighter.device.type == "cuda"

    def relight_one(pair: TrainPair, batch: dict[str, Any]) -> torch.Tensor:
        out = relighter.relight_tensor(batch["rgb"], batch["depth"], light)[0].clamp(0, 1)
        if ext.lower() != ".npy":  # what an image file holds: 8-bit levels, as the challenge scored submissions
            out = out.mul(255).round().div(255)
        if save_dir is not None:
            _save(pair, Path(save_dir) / f"{batch['name'][0]}{ext}", out)
        return out

    def relit() -> Iterator[tuple[str, torch.Tensor, torch.Tensor] | Unscored]:
        for pair, batch in zip(pairs, load_batches(dataset, range(len(dataset)), 1, workers, pin_memory=pin)):
            if isinstance(batch, LoadFailure):
                yield Unscored(pair.name, batch.message)
                continue
            say_notes(batch["notes"], on_warning)
            try:
                yield pair.name, relight_one(pair, batch), batch["target"][0]
            except RelightError as exc:  # out of memory, or an output that cannot be written
                yield Unscored(pair.name, str(exc))

    with cudnn_autotune(relighter.device):
        report = score_arrays(relit(), scorer=scorer or Scorer(relighter.device), on_item=on_item)
    report.failed += [Unscored(line.name, str(line)) for line in left_out]
    return report


def _save(pair: TrainPair, path: Path, out: torch.Tensor) -> None:
    """Write one relit output with its input's alpha (flipped with a mirrored pair) and metadata."""
    source = read_image(pair.input)
    alpha = source.alpha[:, ::-1] if pair.flip and source.alpha is not None else source.alpha
    bit_depth = None if path.suffix.lower() == ".npy" else 8
    write_image(path, out.permute(1, 2, 0).cpu().numpy(), alpha, bit_depth, source.meta)


def identity_report(pairs: Sequence[TrainPair], scorer: Scorer, depth_kind: str = "auto") -> ScoreReport:
    """The input image itself scored as the prediction: what "no relighting" gets, the baseline to beat."""
    dataset = PairDataset(pairs, require_target=True, depth_kind=depth_kind)
    items = ((item["name"], item["rgb"], item["target"]) for item in (dataset[i] for i in range(len(dataset))))
    return score_arrays(items, scorer=scorer)


def evaluation_pairs(
    data: str | os.PathLike[str],
    source: str = "6500-N",
    target: str = "4500-E",
    gt_dir: str | os.PathLike[str] | None = None,
    depth_dir: str | os.PathLike[str] | None = None,
) -> PairSet:
    """The direct pairs of a folder in any layout (no extra data: evaluation scores the task itself),
    and in ``skipped`` the inputs left out (no ground truth, no depth), for :func:`evaluate`'s ``left_out``."""
    found = load_pairs(data, Lighting.parse(source), Lighting.parse(target), False, False, gt_dir=gt_dir, depth_dir=depth_dir)
    if not found.pairs:
        reason = f" ({found.skipped[0]})" if found.skipped else ""
        raise InputFileError(data, f"no pairs to evaluate{reason}")
    without = [p for p in found.pairs if p.target is None]
    if without:
        raise InputFileError(without[0].input, f"no ground truth to score against "
                             f"({len(without)} inputs lack one; see ", Setting("gt_dir"), ")")
    return found




#: Pairs ``relight eval --any-to-any`` draws unless told otherwise.
ANY_TO_ANY_PAIRS = 200


@dataclass(frozen=True)
class LitScore:
    """One any-to-any pair's scores: the model's output and the identity (the input as the answer)."""

    scene: str
    source: Light
    target: Light
    psnr: float
    ssim: float
    identity_psnr: float
    identity_ssim: float

    @property
    def gain_psnr(self) -> float:
        return self.psnr - self.identity_psnr

    def to_dict(self) -> dict[str, object]:
        return {"scene": self.scene, "source": str(self.source), "target": str(self.target),
                **{k: finite_or_none(getattr(self, k)) for k in _SCORES}}


_SCORES = ("psnr", "ssim", "identity_psnr", "identity_ssim", "gain_psnr")


def _summary(rows: Sequence[LitScore]) -> dict[str, float | int | None]:
    """Count and mean scores of ``rows`` (None where there are none or a mean is not finite)."""
    means = {k: finite_or_none(float(np.mean([getattr(r, k) for r in rows]))) if rows else None for k in _SCORES}
    return {"count": len(rows), **means}


@dataclass
class AnyToAnyReport:
    """Scores of a seeded sample of (scene, source, target) pairs, with what could not be scored; grouped
    by target direction, by target temperature, and as a grid of the gain over identity by (source
    direction, target direction). The source is not told to the model (as ``relight run`` without ``--from``)."""

    rows: list[LitScore] = field(default_factory=list)
    failed: list[Unscored] = field(default_factory=list)
    seed: int = 0
    requested: int = ANY_TO_ANY_PAIRS
    possible: int = 0

    def summary(self) -> dict[str, float | int | None]:
        """Count and mean scores over all the pairs scored."""
        return _summary(self.rows)

    def by_direction(self) -> dict[str, dict[str, float | int | None]]:
        return {d: _summary([r for r in self.rows if r.target.direction == d]) for d in DIRECTIONS}

    def by_temperature(self) -> dict[str, dict[str, float | int | None]]:
        return {str(t): _summary([r for r in self.rows if r.target.temperature == t]) for t in TEMPERATURES}

    def grid(self) -> list[list[float | None]]:
        """Mean PSNR gain over identity, ``grid[source direction][target direction]`` in :data:`DIRECTIONS` order."""
        return [[_summary([r for r in self.rows if (r.source.direction, r.target.direction) == (s, t)])["gain_psnr"]  # type: ignore[misc]
                 for t in DIRECTIONS] for s in DIRECTIONS]

    def to_dict(self) -> dict[str, object]:
        counts = [[sum((r.source.direction, r.target.direction) == (s, t) for r in self.rows) for t in DIRECTIONS] for s in DIRECTIONS]
        return {
            "count": len(self.rows), "seed": self.seed, "pairs_requested": self.requested, "possible_pairs": self.possible,
            "source_told": False, "mean": self.summary(),
            "by_target_direction": self.by_direction(), "by_target_temperature": self.by_temperature(),
            "grid": {"rows": "source direction", "columns": "target direction", "directions": list(DIRECTIONS),
                     "gain_psnr": self.grid(), "count": counts},
            "pairs": [row.to_dict() for row in self.rows],
            "failed": [{"name": f.name, "reason": f.reason} for f in self.failed],
        }

    def to_json(self) -> str:
        return json_text(self.to_dict())

    def to_csv(self) -> str:
        """One row per group (``all``, each target direction, each target temperature) with its means."""
        groups = [("all", "all", self.summary())]
        groups += [("target_direction", key, value) for key, value in self.by_direction().items()]
        groups += [("target_temperature", key, value) for key, value in self.by_temperature().items()]
        return csv_text(["group", "key", "count", *_SCORES],
                        ([group, key, value["count"], *("" if value[k] is None else repr(value[k]) for k in _SCORES)]
                         for group, key, value in groups))


def any_to_any_sample(data: str | os.PathLike[str], pairs: int = ANY_TO_ANY_PAIRS, seed: int = 0,
                      depth_dir: str | os.PathLike[str] | None = None) -> tuple[list[LitPair], list[LeftOut], int]:
    """A seeded sample of ``pairs`` (scene, source, target) pairs with source != target from any-to-any
    data (at most the possible pairs, without repeats), the files left out, and how many pairs are possible."""
    if pairs < 1:
        setting = Setting("pairs", pairs, owner="any_to_any_sample")
        raise InvalidSetting(setting, setting, ": must be at least 1")
    scenes, skipped = load_scenes([data], depth_dir)
    sampler = PairSampler(scenes, per_epoch=1, seed=seed, mirror=False, withhold_source=1.0, stream="validation")
    sampler.per_epoch = min(pairs, sampler.possible)
    return sampler.draw(0), skipped, sampler.possible


def _refuse_one_to_one(relighter: Relighter) -> None:
    if not relighter.illumination.any_to_any:
        setting = Setting("any_to_any", True, owner="evaluate_any_to_any")
        raise InvalidSetting(setting, setting, f": this model is {relighter.illumination.describe()}", *any_to_any_models())


def evaluate_any_to_any(
    relighter: Relighter,
    pairs: Sequence[LitPair],
    *,
    scorer: Scorer | None = None,
    workers: int = 2,
    on_item: Callable[[LitScore | None], None] | None = None,
    left_out: Sequence[LeftOut] = (),
    sampled: tuple[int, int, int] | None = None,
    depth_kind: str = "auto",
    on_warning: Callable[[str | RelightWarning], None] | None = None,
) -> AnyToAnyReport:
    """Relight each pair to its target (the source withheld, as the pairs say), and score the output,
    rounded to 8-bit levels, and the input itself (identity) against the target. Refused for a one-to-one
    model. A pair that cannot be loaded, relit or scored is in ``report.failed``, as is each of ``left_out``.
    ``sampled``: (seed, pairs asked for, pairs possible) of :func:`any_to_any_sample`, for the report.
    ``depth_kind`` and ``on_warning`` are :func:`evaluate`'s."""
    _refuse_one_to_one(relighter)
    for target in dict.fromkeys(pair.target_light for pair in pairs):
        relighter.lights(target)  # a model trained for some targets only refuses the others
    scorer = scorer or Scorer(relighter.device)
    seed, requested, possible = sampled or (0, len(pairs), len(pairs))
    report = AnyToAnyReport(seed=seed, requested=requested, possible=possible)
    dataset = PairDataset(pairs, require_target=True, depth_kind=depth_kind, notes=True)
    batches = load_batches(dataset, range(len(dataset)), 1, workers, pin_memory=relighter.device.type == "cuda")
    with cudnn_autotune(relighter.device):
        for pair, batch in zip(pairs, batches):
            row = None
            try:
                if isinstance(batch, LoadFailure):
                    raise batch.error
                say_notes(batch["notes"], on_warning)
                out = relighter.relight_tensor(batch["rgb"], batch["depth"], batch["light"])[0].clamp(0, 1)
                model = scorer.score(pair.name, out.mul(255).round().div(255), batch["target"][0])
                identity = scorer.score(pair.name, batch["rgb"][0], batch["target"][0])
                row = LitScore(pair.scene, pair.source_light, pair.target_light, model.psnr, model.ssim, identity.psnr, identity.ssim)
                report.rows.append(row)
            except RelightError as exc:
                report.failed.append(Unscored(pair.name, str(exc)))
            if on_item is not None:
                on_item(row)
    report.failed += [Unscored(line.name, str(line)) for line in left_out]
    return report


__all__ = ["ANY_TO_ANY_PAIRS", "AnyToAnyReport", "LitScore", "any_to_any_sample", "check_save_dir", "evaluate",
           "evaluate_any_to_any", "evaluation_pairs", "identity_report"]
