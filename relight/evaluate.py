"""Evaluating a model on pairs with ground truth: relight each input, score it, optionally keep the outputs.

``relight eval`` and the validation inside ``relight train`` both go through :func:`evaluate`, so a
run's validation numbers and a later ``relight eval`` of its checkpoint are computed the same way, by
the scoring code of ``relight score``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from relight.data.dataset import LoadFailure, PairDataset, load_batches
from relight.data.pairs import refuse_replacing_inputs
from relight.data.vidit import LeftOut, PairSet, TrainPair, load_pairs
from relight.data.vidit import Setting as Lighting
from relight.errors import InputFileError, RelightError, Setting
from relight.inference import Relighter, cudnn_autotune
from relight.io import check_output_dir, write_image
from relight.score import ScoreReport, ScoreRow, Scorer, Unscored, score_arrays


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
    scorer: Scorer | None = None,
    save_dir: str | os.PathLike[str] | None = None,
    ext: str = ".png",
    workers: int = 2,
    on_item: Callable[[ScoreRow | None], None] | None = None,
    left_out: Sequence[LeftOut] = (),
) -> ScoreReport:
    """Relight every pair, score it against its target, and write ``save_dir/<name><ext>`` when asked.

    Mirrored pairs are flipped as in training. The output is scored at the target's resolution (the
    relighter's ``size`` only sets the resolution the network runs at), rounded to the 8-bit levels an
    image file holds (unless ``ext`` is ``.npy``), so ``relight score`` on the saved PNGs gives the
    same numbers, as the challenge scored submitted PNGs. A pair that cannot be loaded, relit, saved
    or scored is listed in ``report.failed``, and the others are still done; so is each input the
    pairing ``left_out`` (``PairSet.skipped``: one line each, naming it), so that none goes unnoticed.
    """
    if save_dir is not None:
        check_save_dir(pairs, save_dir, ext)
    dataset = PairDataset(pairs, require_target=True)
    pin = relighter.device.type == "cuda"

    def relight_one(batch: dict[str, Any]) -> torch.Tensor:
        out = relighter.relight_tensor(batch["rgb"], batch["depth"])[0].clamp(0, 1)
        if ext.lower() != ".npy":  # what an image file holds: 8-bit levels, as the challenge scored submissions
            out = out.mul(255).round().div(255)
        if save_dir is not None:
            write_image(Path(save_dir) / f"{batch['name'][0]}{ext}", out.permute(1, 2, 0).cpu().numpy())
        return out

    def relit() -> Iterator[tuple[str, torch.Tensor, torch.Tensor] | Unscored]:
        for pair, batch in zip(pairs, load_batches(dataset, range(len(dataset)), 1, workers, pin_memory=pin)):
            if isinstance(batch, LoadFailure):
                yield Unscored(pair.name, batch.message)
                continue
            try:
                yield pair.name, relight_one(batch), batch["target"][0]
            except RelightError as exc:  # out of memory, or an output that cannot be written
                yield Unscored(pair.name, str(exc))

    with cudnn_autotune(relighter.device):
        report = score_arrays(relit(), scorer=scorer or Scorer(relighter.device), on_item=on_item)
    report.failed += [Unscored(line.name, str(line)) for line in left_out]
    return report


def identity_report(pairs: Sequence[TrainPair], scorer: Scorer) -> ScoreReport:
    """The input image itself scored as the prediction: what "no relighting" gets, the baseline to beat."""
    dataset = PairDataset(pairs, require_target=True)
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
        raise InputFileError(data, f"{data}: no pairs to evaluate{reason}")
    without = [p for p in found.pairs if p.target is None]
    if without:
        raise InputFileError(without[0].input, f"{without[0].input}: no ground truth to score against "
                             f"({len(without)} inputs lack one; see ", Setting("gt_dir"), ")")
    return found


__all__ = ["check_save_dir", "evaluate", "evaluation_pairs", "identity_report"]
