"""What generalise.py measures, on plain arrays (``H x W x 3`` sRGB floats in [0, 1], masks ``H x W`` bool).

* :func:`psnr` and the **colour-tint oracle** (:func:`tint_oracle`): the source image times one gain per
  channel, fitted to the ground truth by least squares (it peeks at the answer; a relighter that cannot
  beat it does no more than recolour);
* the **smooth oracle** (:func:`smooth_oracle`): the source times the ground truth's change blurred
  (:data:`SMOOTH` of the shorter side): it peeks at the answer too, and moves the light's broad shape
  but no sharp shadow edge, the yardstick of the shadow measures;
* **opposite directions** (:func:`told_apart`): the output for a direction is closer (PSNR) to that
  direction's ground truth than to the opposite direction's at the same temperature;
* **warmth** (:func:`warmth`): mean red over mean blue, larger for a warmer light;
* **shadows** (:func:`shadow_moves`), from the renderers' shadow masks, in stops (log2) of the
  luminance ratio output / input, each against the pixels lit under both lights (so that a global
  brightness or colour change counts for nothing):
  - *darkening*: how much more the pixels that the target light shadows (and the source light lit)
    darkened than the pixels lit by both;
  - *removal*: how much more the pixels that the source light shadowed (and the target light lights)
    brightened than the pixels lit by both.
  Identity scores 0 on both; the ground truth's own values say how far a shadow really moves. With
  ``beside`` the reference is instead the pixels lit by both lights within ``beside`` pixels of the
  region (:func:`dilate`): the lit surface right beside a shadow, so that a change smooth across the
  shadow's edge (a side of the scene brightened or darkened as a whole) counts for little, and only a
  shadow that appears or goes with its edge counts in full.
* on photographs: **border fringes** (:func:`border_fringe`): how much more the relit image's colour
  balance (log ratio per channel, brightness taken out) shifts in the outer band of the image than in
  the band just inside it, in percent; and :func:`outside_range`, the share of pixels whose colour leaves
  the input's per-channel range, in the border band and inside it.
"""

from __future__ import annotations

import math

import numpy as np

from relight.data.synth.estimates import gaussian_blur

#: Luminance weights of linear sRGB (Rec. 709).
LUMA = np.array([0.2126, 0.7152, 0.0722])
#: Linear-light floor under the shadow measure's ratios: keeps black pixels from dominating.
DARK = 0.01
#: The fewest pixels a shadow region needs (also at least this share of the valid pixels) to be measured.
FEWEST, SHARE = 16, 0.002


def as_saved(image: np.ndarray) -> np.ndarray:
    """What an 8-bit file holds of ``image``."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0) / 255.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def tint_oracle(source: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The source times the per-channel gains that best fit ``truth`` (least squares), as saved; and the gains."""
    s = source.reshape(-1, 3).astype(np.float64)
    t = truth.reshape(-1, 3).astype(np.float64)
    gains = (s * t).sum(axis=0) / np.maximum((s * s).sum(axis=0), 1e-12)
    return as_saved(source * gains), gains


#: The smooth oracle's blur: a Gaussian whose sigma is this share of the shorter side (16 px at 256 x 256).
SMOOTH = 1 / 16


def smooth_oracle(source: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The source times the ground truth's change blurred (see :data:`SMOOTH`), as saved."""
    sigma = SMOOTH * min(source.shape[:2])
    eps = 1e-3
    return as_saved(source * gaussian_blur(truth + eps, sigma) / gaussian_blur(source + eps, sigma))


def told_apart(output: np.ndarray, truth: np.ndarray, opposite: np.ndarray) -> bool:
    """Whether ``output`` is closer to the target's ground truth than to the opposite direction's."""
    return psnr(output, truth) > psnr(output, opposite)


def warmth(image: np.ndarray) -> float:
    """Mean red over mean blue: larger for a warmer (lower-kelvin) light."""
    return float(image[..., 0].mean() / max(float(image[..., 2].mean()), 1e-6))


def luminance(image: np.ndarray) -> np.ndarray:
    """Linear luminance of sRGB-encoded pixels."""
    srgb = np.asarray(image, dtype=np.float64)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return lin @ LUMA


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` grown by ``radius`` pixels (a square neighbourhood)."""
    h, w = mask.shape
    padded = np.pad(mask, radius)
    rows = np.zeros((h, w + 2 * radius), dtype=bool)
    for dy in range(2 * radius + 1):
        rows |= padded[dy : dy + h]
    grown = np.zeros((h, w), dtype=bool)
    for dx in range(2 * radius + 1):
        grown |= rows[:, dx : dx + w]
    return grown


def beside_width(shape: tuple[int, ...]) -> int:
    """How near a shadow its lit surface is taken for the ``beside`` measure: 3 % of the shorter side, at
    least 2 pixels (8 at 256 x 256)."""
    return max(2, round(0.03 * min(shape[:2])))


def _mean_or_none(values: np.ndarray, where: np.ndarray, enough: int) -> float | None:
    return float(values[where].mean()) if int(where.sum()) >= enough else None


def shadow_moves(source: np.ndarray, output: np.ndarray, target_mask: np.ndarray, source_mask: np.ndarray,
                 valid: np.ndarray | None = None, beside: int | None = None) -> dict[str, float | None]:
    """``{"darkening": stops, "removal": stops}`` of ``output`` against ``source`` (see the module's
    docstring; ``beside``: against the lit pixels near each region only); a value is None where its
    region, or the pixels lit under both lights it is measured against, is too small. ``valid`` leaves
    pixels out (the sky)."""
    valid = np.ones(target_mask.shape, dtype=bool) if valid is None else valid
    enough = max(FEWEST, int(SHARE * valid.sum()))
    ratio = np.log2((luminance(output) + DARK) / (luminance(source) + DARK))
    both = valid & ~target_mask & ~source_mask
    new_region, gone_region = valid & target_mask & ~source_mask, valid & source_mask & ~target_mask
    near = (lambda region: both & dilate(region, beside)) if beside else (lambda region: both)
    new, gone = _mean_or_none(ratio, new_region, enough), _mean_or_none(ratio, gone_region, enough)
    lit_new, lit_gone = _mean_or_none(ratio, near(new_region), enough), _mean_or_none(ratio, near(gone_region), enough)
    return {"darkening": None if lit_new is None or new is None else lit_new - new,
            "removal": None if lit_gone is None or gone is None else gone - lit_gone}


def _bands(shape: tuple[int, ...], width: int) -> tuple[np.ndarray, np.ndarray]:
    """The outer band ``width`` pixels wide, and the band from ``width`` to ``3 * width`` inside it."""
    h, w = shape[:2]
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    edge = np.minimum(np.minimum(rows, h - 1 - rows), np.minimum(cols, w - 1 - cols))
    return edge < width, (edge >= width) & (edge < 3 * width)


def band_width(shape: tuple[int, ...]) -> int:
    """The border band the photograph checks look at: 2 % of the shorter side, at least 2 pixels."""
    return max(2, round(0.02 * min(shape[:2])))


def border_fringe(source: np.ndarray, output: np.ndarray, width: int | None = None) -> float:
    """Mean colour-balance shift (percent) in the border band minus that in the band just inside it."""
    width = width or band_width(source.shape)
    shift = np.log((np.asarray(output, np.float64) + 0.02) / (np.asarray(source, np.float64) + 0.02))
    balance = np.linalg.norm(shift - shift.mean(axis=-1, keepdims=True), axis=-1)
    border, inner = _bands(source.shape, width)
    return 100.0 * float(balance[border].mean() - balance[inner].mean())


def outside_range(source: np.ndarray, output: np.ndarray, width: int | None = None, slack: float = 2 / 255) -> dict[str, float]:
    """The share (percent) of pixels with a channel outside the input's range for it (``slack`` allowed),
    in the border band and inside it."""
    width = width or band_width(source.shape)
    low = source.reshape(-1, 3).min(axis=0) - slack
    high = source.reshape(-1, 3).max(axis=0) + slack
    out = ((output < low) | (output > high)).any(axis=-1)
    border, _ = _bands(source.shape, width)
    return {"border_pct": 100.0 * float(out[border].mean()), "inside_pct": 100.0 * float(out[~border].mean())}
