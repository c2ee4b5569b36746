"""Depth as users have it: a world scene's depth file holds an estimate, not the renderer's perfect z.

An estimate is made in its own kind (:data:`~relight.data.synth.settings.ESTIMATE_KINDS`):

- ``metric``: distances in metres as a depth sensor or a metric estimator gives them, with an error
  that grows with distance (relative noise times distance: a stereo or time-of-flight error grows as
  the square of it), and no value (0) where it has no return: holes, and the sky;
- ``disparity``: inverse depth up to an unknown scale and shift, as monocular estimators give it, with
  relative noise, holes where it has no value (0, read as infinitely far);
- ``normalised``: VIDIT's normalised depth with noise and holes (0).

Then blur (a Gaussian: estimators smear depth across object edges), noise and holes, in that order.
The file written is what relight reads from such an estimate (:func:`relight.io.depth.to_normalised`
with the estimate's kind), so one data set mixes kinds and is read with the default depth kind.
"""

from __future__ import annotations

import numpy as np

from relight.data.synth.settings import DepthEstimate
from relight.io.depth import to_normalised


def gaussian_blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` (H x W, or H x W x C: each channel alone) blurred by a Gaussian of ``sigma`` pixels, edges
    reflected."""
    if sigma < 0.3:
        return values
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = values
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect" if out.shape[axis] > radius else "edge")
        length = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(k, k + length), axis=axis) for k, w in enumerate(taps))
    return out


def _holes(shape: tuple[int, int], share: float, rng: np.random.Generator) -> np.ndarray:
    """Blobs covering about ``share`` of the image: smoothed white noise over its top quantile."""
    if share <= 0:
        return np.zeros(shape, dtype=bool)
    field = gaussian_blur(rng.standard_normal(shape), max(shape) * 0.02)
    return field > np.quantile(field, 1 - share)


def estimate_depth(distance: np.ndarray, exact: np.ndarray, central: float, estimate: DepthEstimate) -> np.ndarray:
    """The depth file's content (relight's convention, H x W float32) for a scene whose surfaces lie at
    ``distance`` (H x W, inf where a ray hits nothing) and whose perfect normalised depth is ``exact``."""
    rng = np.random.default_rng([estimate.seed, 5])
    hit = np.isfinite(distance)
    if estimate.kind == "metric":
        values = np.where(hit, distance, 0.0)
    elif estimate.kind == "disparity":
        shift = rng.uniform(0.0, 0.05)
        values = np.where(hit, central / np.where(hit, distance, 1.0), 0.0) + shift
    else:
        values = exact.astype(np.float64)
    values = gaussian_blur(values, estimate.blur * distance.shape[1])
    noise = rng.standard_normal(values.shape) * estimate.noise
    if estimate.kind == "metric":
        values = values * (1 + noise * values / central)
    elif estimate.kind == "disparity":
        values = values * (1 + noise)
    else:
        values = values + noise
    values = np.where(_holes(values.shape, estimate.holes, rng), 0.0, np.maximum(values, 0.0))
    if estimate.kind == "normalised":
        values = np.minimum(values, 1.0)
    return to_normalised(values.astype(np.float32), estimate.kind).depth
