"""Validation during training: PSNR/SSIM (and LPIPS/MPS when AlexNet's weights are present).

The training model is never touched: each validation scores a copy of its weights, so its mode, its
dynamic convolution's form and its parameters are what they were (nothing to undo by hand).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from relight.data.anytoany import LitPair
from relight.train.config import TrainError
from relight.train.distributed import Dist, gather, sync_buffers


def inference_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A new network of ``model``'s config holding a copy of its weights (no gradients, no optimizer state)."""
    from relight.model import MBNet

    with torch.device("meta"):
        copy = MBNet(model.config)
    copy.load_state_dict({k: v.detach().clone() for k, v in model.state_dict().items()}, assign=True)
    return copy


class Validator:
    """Scores a model on ``pairs``, sharded over the ranks of ``where``; every rank gets the same means.
    Depth files are read as ``depth_kind`` says; what reading a pair has to say (a depth converted or
    resized) goes to ``on_warning``."""

    def __init__(self, pairs: Sequence[Any], device: torch.device, precision: str, size: tuple[int, int] | None,
                 workers: int, where: Dist | None = None, on_warning: Callable[[Any], None] | None = None,
                 depth_kind: str = "auto") -> None:
        self.pairs, self.device, self.precision, self.size = list(pairs), device, precision, size
        self.workers, self.where, self.on_warning, self.depth_kind = workers, where or Dist(), on_warning, depth_kind
        self.scorer: Any = None

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        from relight.evaluation.evaluate import evaluate
        from relight.inference.relighter import Relighter
        from relight.evaluation.score import ScoreReport, Scorer
        from relight.train.anytoany import score_lit_pairs

        sync_buffers(model, self.where)
        if self.scorer is None:
            self.scorer = Scorer(self.device)
        # The reference form (optimize=False) on a copy, which the Relighter may prepare in place.
        mine = self.pairs[self.where.rank :: self.where.world]
        if not mine:
            report = ScoreReport()
        elif isinstance(mine[0], LitPair):  # any-to-any: each pair has its lights
            report = score_lit_pairs(inference_copy(model), mine, self.device, self.precision, self.size, self.scorer, self.workers,
                                     self.on_warning, self.depth_kind)
        else:
            relighter = Relighter(inference_copy(model), self.device, precision=self.precision, size=self.size, optimize=False, inplace=True)
            report = evaluate(relighter, mine, scorer=self.scorer, workers=self.workers, on_warning=self.on_warning,
                              depth_kind=self.depth_kind)
        gathered = gather((report.rows, report.failed), self.where)  # every rank learns of every failure
        rows = [row for part, _ in gathered for row in part]
        failed = [failure for _, part in gathered for failure in part]
        if failed:  # means over part of the set would not compare with earlier epochs'
            raise TrainError(f"validation: {len(failed)} of {len(self.pairs)} pairs could not be scored; "
                             f"the first: {failed[0].reason}")
        return ScoreReport(rows=rows, lpips_skipped=self.scorer.lpips_skipped).means
