"""Scoring relit images against ground truth: PSNR, SSIM, LPIPS and MPS per image and on average.

``relight score`` pairs two folders by file stem; ``relight eval`` feeds arrays straight from the
model through :func:`score_arrays`. Both produce a :class:`ScoreReport`, which the command line prints
as one table and saves as JSON or CSV, so every command shows and saves scores the same way. Without AlexNet's
weights LPIPS and MPS are left out, and the report says so and why, instead of reporting a partial
score as if it were complete.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from relight.errors import InputFileError, RelightError
from relight.io import IMAGE_EXTENSIONS, json_text, read_image, unreadable
from relight.evaluation.metrics import LPIPS, SSIM_WINDOW, LPIPSUnavailable, mean_perceptual_score, psnr, ssim

METRICS = ("psnr", "ssim", "lpips", "mps")


@dataclass
class ScoreRow:
    """One image's scores; ``lpips`` and ``mps`` are ``None`` when LPIPS was unavailable."""

    name: str
    psnr: float
    ssim: float
    lpips: float | None = None
    mps: float | None = None


@dataclass(frozen=True)
class Unscored:
    """An image that could not be scored (an unreadable file, a size mismatch), and why, in one line."""

    name: str
    reason: str


@dataclass
class ScoreReport:
    """Per-image rows, their means, and what was left out (files without a partner, images that could
    not be scored, LPIPS)."""

    rows: list[ScoreRow] = field(default_factory=list)
    lpips_skipped: str | None = None
    missing_predictions: list[str] = field(default_factory=list)
    missing_ground_truth: list[str] = field(default_factory=list)
    failed: list[Unscored] = field(default_factory=list)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics this report holds: all four, or PSNR and SSIM when LPIPS was skipped."""
        return METRICS[:2] if self.lpips_skipped else METRICS

    @property
    def means(self) -> dict[str, float]:
        """The mean of each metric over the scored images (the challenges average per-image scores)."""
        if not self.rows:
            return {}
        return {m: float(np.mean([getattr(r, m) for r in self.rows])) for m in self.metrics}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: non-finite values (PSNR of identical images) become ``null``."""
        return {
            "count": len(self.rows),
            "metrics": list(self.metrics),
            "mean": {k: finite_or_none(v) for k, v in self.means.items()},
            "images": [{"name": r.name, **{m: finite_or_none(getattr(r, m)) for m in self.metrics}} for r in self.rows],
            "lpips_skipped": self.lpips_skipped,
            "missing_predictions": self.missing_predictions,
            "missing_ground_truth": self.missing_ground_truth,
            "failed": [{"name": f.name, "reason": f.reason} for f in self.failed],
        }

    def to_json(self) -> str:
        return json_text(self.to_dict())

    def to_csv(self) -> str:
        """One row per image, then a ``mean`` row; PSNR of identical images is written as ``inf``."""
        rows = [[row.name, *(repr(float(getattr(row, m))) for m in self.metrics)] for row in self.rows]
        if self.rows:
            rows.append(["mean", *(repr(self.means[m]) for m in self.metrics)])
        return csv_text(["name", *self.metrics], rows)


def csv_text(header: list[str], rows: Iterable[list[object]]) -> str:
    """A CSV document (``\\n`` line ends) of ``header`` and then ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or infinity: a score or loss that is not finite (a model that output NaN) is ``null``."""
    return value if value is not None and math.isfinite(value) else None


class Scorer:
    """Metrics on one device, with LPIPS loaded once; ``lpips_skipped`` says why when it could not be."""

    def __init__(self, device: str | torch.device | None = None, require_lpips: bool = False) -> None:
        from relight.device import select_device

        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.lpips: LPIPS | None = None
        self.lpips_skipped: str | None = None
        try:
            self.lpips = LPIPS().to(self.device)
        except LPIPSUnavailable as exc:
            if require_lpips:
                raise
            self.lpips_skipped = str(exc)

    @torch.inference_mode()
    def score(self, name: str, pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor) -> ScoreRow:
        """Score ``H x W x 3`` arrays (or ``3 x H x W`` tensors) in [0, 1].

        The prediction is clamped to [0, 1] first, as writing it to an image file would, so scoring a
        model's output in memory agrees with scoring the file it writes (8-bit rounding aside).
        """
        p, g = self._tensor(pred).clamp(0.0, 1.0), self._tensor(gt)
        if p.shape != g.shape:
            raise RelightError(f"{name}: prediction is {_size(p)} but ground truth is {_size(g)}")
        if min(p.shape[-2:]) < SSIM_WINDOW:
            raise RelightError(f"{name}: {_size(p)} is too small to score (SSIM needs {SSIM_WINDOW} x {SSIM_WINDOW})")
        s = float(ssim(p, g))
        row = ScoreRow(name, float(psnr(p, g)), s)
        if self.lpips is not None:
            row.lpips = float(self.lpips(p, g))
            row.mps = float(mean_perceptual_score(s, row.lpips))
        return row

    def _tensor(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(x)
        if t.ndim == 3 and t.shape[-1] == 3 and isinstance(x, np.ndarray):
            t = t.permute(2, 0, 1)
        if t.ndim != 3 or t.shape[0] != 3:
            raise ValueError(f"expected an H x W x 3 array or a 3 x H x W tensor, got shape {tuple(t.shape)}")
        return t[None].to(self.device, torch.float32)


def _size(t: torch.Tensor) -> str:
    return f"{t.shape[-2]}x{t.shape[-1]}"


def score_arrays(
    items: Iterable[tuple[str, np.ndarray | torch.Tensor, np.ndarray | torch.Tensor] | Unscored],
    device: str | torch.device | None = None,
    *,
    require_lpips: bool = False,
    scorer: Scorer | None = None,
    on_item: Callable[[ScoreRow | None], None] | None = None,
) -> ScoreReport:
    """Score ``(name, prediction, ground truth)`` triples; pass ``scorer`` to reuse a loaded LPIPS.

    An :class:`Unscored` item (one its producer could not load), or a pair the metrics refuse, goes to
    ``report.failed`` and the rest are still scored. ``on_item`` is called once per item, with its row,
    or None for a failure.
    """
    scorer = scorer or Scorer(device, require_lpips)
    report = ScoreReport(lpips_skipped=scorer.lpips_skipped)
    for item in items:
        row = None
        if isinstance(item, Unscored):
            report.failed.append(item)
        else:
            try:
                row = scorer.score(*item)
                report.rows.append(row)
            except RelightError as exc:
                report.failed.append(Unscored(item[0], str(exc)))
        if on_item is not None:
            on_item(row)
    return report


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """Every entry of ``folder`` named as an image (hidden ones left out), by stem: a folder, FIFO or
    broken symlink too, so that it is reported as a file that cannot be read, not passed over."""
    if not folder.is_dir():
        raise InputFileError(folder, "not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if path.stem in found:
            raise InputFileError(path, f"two images with stem {path.stem!r} ({found[path.stem].name} too); keep one")
        found[path.stem] = path
    return found


def _pair_paths(pred_dir: Path, gt_dir: Path) -> tuple[list[tuple[str, Path, Path]], dict[str, Path], dict[str, Path]]:
    """Stems in both folders with both paths, then the ground truth and the predictions without a partner."""
    preds, gts = _images_by_stem(pred_dir), _images_by_stem(gt_dir)
    pairs = [(stem, preds[stem], gts[stem]) for stem in sorted(preds.keys() & gts.keys())]
    return pairs, {s: gts[s] for s in sorted(gts.keys() - preds.keys())}, {s: preds[s] for s in sorted(preds.keys() - gts.keys())}


def pair_folders(pred_dir: str | os.PathLike[str], gt_dir: str | os.PathLike[str]) -> tuple[list[tuple[str, Path, Path]], list[str], list[str]]:
    """``(stem, prediction, ground truth)`` for stems in both folders, then the GT stems without a
    prediction and the prediction stems without GT (entries that are not readable files included)."""
    pairs, lone_gt, lone_pred = _pair_paths(Path(pred_dir), Path(gt_dir))
    return pairs, list(lone_gt), list(lone_pred)


def _cannot_read(stem: str, files: Iterable[tuple[str, Path]]) -> Unscored | None:
    """The failure for a stem whose prediction or ground truth is not a readable file (a symlink loop,
    a dangling symlink, a FIFO, a folder), naming each such file; None when all can be read."""
    reasons = [f"{path}: {role} cannot be read ({problem})" for role, path in files if (problem := unreadable(path)) is not None]
    return Unscored(stem, "; ".join(reasons)) if reasons else None


def _without_partner(lone: dict[str, Path], role: str) -> tuple[list[str], list[Unscored]]:
    """Stems found on one side only: those that are files without a partner, and the failures of those
    that cannot be read at all (a broken file is reported as one, whether or not it has a partner)."""
    failures = {stem: failure for stem, path in lone.items() if (failure := _cannot_read(stem, [(role, path)])) is not None}
    return [stem for stem in lone if stem not in failures], list(failures.values())


def _read_pair(pred_path: Path, gt_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Both images as RGB, refusing a size mismatch (naming both files) before any metric runs."""
    pred, gt = read_image(pred_path).rgb, read_image(gt_path).rgb
    (ph, pw), (gh, gw) = pred.shape[:2], gt.shape[:2]
    if (ph, pw) != (gh, gw):
        raise InputFileError(pred_path, f"size {ph}x{pw} differs from its ground truth {gt_path} ({gh}x{gw}); predictions must have the ground truth's size")
    if min(ph, pw) < SSIM_WINDOW:
        raise InputFileError(pred_path, f"{ph}x{pw} is too small to score (SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW})")
    return pred, gt


def score_folders(
    pred_dir: str | os.PathLike[str],
    gt_dir: str | os.PathLike[str],
    *,
    device: str | torch.device | None = None,
    require_lpips: bool = False,
    scorer: Scorer | None = None,
    on_start: Callable[[int], None] | None = None,
    on_item: Callable[[ScoreRow | None], None] | None = None,
) -> ScoreReport:
    """Score every prediction in ``pred_dir`` against the ground truth of the same stem in ``gt_dir``.

    Alpha is dropped (RGB is scored). Images of different sizes are refused: resizing either would
    change the score. Stems present on one side only are listed in the report, not scored; a file
    that cannot be read (on either side, paired or not: a symlink loop, a FIFO, a folder named as an
    image) or a pair of different sizes is listed in ``report.failed``.
    ``on_start`` gets the number of pairs to score (for a progress bar), ``on_item`` each row; pass
    ``scorer`` to reuse a loaded LPIPS.
    """
    pairs, lone_gt, lone_pred = _pair_paths(Path(pred_dir), Path(gt_dir))
    if not pairs:
        raise InputFileError(pred_dir, f"no prediction has a ground-truth image of the same stem in {gt_dir}")
    scorer = scorer or Scorer(device, require_lpips)
    if on_start is not None:
        on_start(len(pairs))

    def read() -> Iterator[tuple[str, np.ndarray, np.ndarray] | Unscored]:
        for stem, p, g in pairs:
            failure = _cannot_read(stem, [("prediction", p), ("ground truth", g)])
            if failure is not None:
                yield failure
                continue
            try:
                yield (stem, *_read_pair(p, g))
            except RelightError as exc:
                yield Unscored(stem, str(exc))

    report = score_arrays(read(), scorer=scorer, on_item=on_item)
    report.missing_predictions, gt_failures = _without_partner(lone_gt, "ground truth")
    report.missing_ground_truth, pred_failures = _without_partner(lone_pred, "prediction")
    report.failed.extend(sorted(gt_failures + pred_failures, key=lambda f: f.name))
    return report


__all__ = [
    "METRICS",
    "ScoreReport",
    "ScoreRow",
    "Scorer",
    "Unscored",
    "pair_folders",
    "score_arrays",
    "score_folders",
]
