"""Judging relit images: :mod:`~relight.evaluation.metrics` (PSNR, SSIM, LPIPS, MPS, as the challenge
scored), :mod:`~relight.evaluation.score` (folders of predictions against ground truth),
:mod:`~relight.evaluation.evaluate` (a model over a validation set, one-to-one or by light) and
:mod:`~relight.evaluation.sheet` (contact sheets and score grids, to look at).

Every name is importable from ``relight.evaluation``, loaded on first use.
"""

from __future__ import annotations

from relight.lazy import lazy_attributes

_HOMES = {
    **dict.fromkeys(("LPIPS", "mean_perceptual_score", "psnr", "ssim"), "relight.evaluation.metrics"),
    **dict.fromkeys(("ScoreReport", "Scorer", "score_folders"), "relight.evaluation.score"),
    **dict.fromkeys(("AnyToAnyReport", "evaluate", "evaluate_any_to_any"), "relight.evaluation.evaluate"),
    **dict.fromkeys(("grid_sheet", "light_sheet", "write_picture"), "relight.evaluation.sheet"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = sorted(_HOMES)
