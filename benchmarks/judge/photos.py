"""Real photographs for generalise.py: permissively licensed ones scikit-image ships, their depth, and
the checks a relighter should pass on any photograph.

The photographs (``skimage.data``; each licence as scikit-image's docstring for it states):

=============  ==================================================  ==========================================
name           what                                                licence
=============  ==================================================  ==========================================
astronaut      portrait of Eileen Collins (NASA)                    public domain ("no known copyright restrictions")
coffee         a cup of coffee on a wooden table (Rachel Michetti)  CC0
chelsea        Chelsea the cat (Stefan van der Walt)                CC0
rocket         Falcon 9 launch (SpaceX)                             public domain
motorcycle     Middlebury 2014 stereo, left view, with disparity    not stated by scikit-image (Middlebury's data set)
=============  ==================================================  ==========================================

Depth: relight's depth estimator (Depth Anything V2 through transformers) when its weights are already in
the Hugging Face cache (nothing is downloaded); otherwise a stand-in: the motorcycle's own ground-truth
disparity (its holes filled along each row), and for the others a ramp from far at the top to near at the
bottom, the depth of a floor seen by a level camera. The checks need no exact depth: relit to its own
light a photograph should come back unchanged, whatever the depth.

Checks (:func:`check_photo`), each with the source light given as ``--from`` gives it:

* **same light**: relit from X to X; PSNR against the input (near-identity expected);
* **cycle**: relit from A to B, and the result from B back to A; PSNR against the input;
* **borders**: on the A -> B results, :func:`~judge.measures.border_fringe` and
  :func:`~judge.measures.outside_range`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from judge.measures import as_saved, border_fringe, outside_range, psnr
from relight.io.depth import to_normalised
from relight.lighting import Light

#: Lights the same-light check relights each photograph from and to.
SAME = (Light(4500, "E"), Light(6500, "N"), Light(2500, "W"))
#: (A, B) pairs of the cycle A -> B -> A.
CYCLES = ((Light(6500, "N"), Light(4500, "E")), (Light(4500, "E"), Light(4500, "W")), (Light(3500, "SW"), Light(6500, "NE")))
#: The lights of the contact sheet's columns (after the input).
SHEET_LIGHTS = (Light(2500, "W"), Light(4500, "E"), Light(6500, "N"), Light(3500, "NE"), Light(5500, "S"))
LICENCES = {
    "astronaut": "public domain (NASA; scikit-image: no known copyright restrictions)",
    "coffee": "CC0 (Rachel Michetti)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "rocket": "public domain (SpaceX)",
    "motorcycle": "not stated by scikit-image (Middlebury 2014 stereo data set)",
}
PHOTOS = tuple(LICENCES)


@dataclass(frozen=True)
class Photo:
    name: str
    rgb: np.ndarray
    depth: np.ndarray
    depth_from: str
    licence: str


def filled_disparity(disparity: np.ndarray) -> np.ndarray:
    """Invalid disparities (non-finite or not above 0) replaced by the nearest valid one to their left
    (to their right before a row's first valid one), as a stereo pair's occlusions are commonly filled."""
    valid = np.isfinite(disparity) & (disparity > 0)
    index = np.where(valid, np.arange(disparity.shape[1])[None, :], -1)
    np.maximum.accumulate(index, axis=1, out=index)
    index = np.where(index < 0, valid.argmax(axis=1)[:, None], index)
    filled = np.take_along_axis(np.where(valid, disparity, 0.0), index, axis=1)
    return np.where(filled > 0, filled, float(np.median(disparity[valid])))


def ramp_depth(shape: tuple[int, int]) -> np.ndarray:
    """The stand-in depth: 1 at the top row falling linearly to 0.3 at the bottom (a floor seen level)."""
    return np.repeat(np.linspace(1.0, 0.3, shape[0], dtype=np.float32)[:, None], shape[1], axis=1)


def load_estimator() -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    """relight's default depth estimator where transformers and its weights are already here (nothing is
    downloaded), and a few words saying which depth the photographs get and why."""
    from relight.errors import RelightError

    try:
        from relight.depth.estimation import DepthEstimator

        estimator = DepthEstimator.load(fetch=False, device="cpu")
    except RelightError as exc:
        return None, f"stand-ins: no depth estimator ({str(exc).splitlines()[0]})"
    return estimator, f"estimated by {estimator.label}"


def load_photos(names: Sequence[str] = PHOTOS, estimator: Callable[[np.ndarray], np.ndarray] | None = None) -> list[Photo]:
    """The photographs ``names`` as ``H x W x 3`` floats with depth (see the module's docstring)."""
    from skimage import data

    photos = []
    for name in names:
        if name == "motorcycle":
            left, _, disparity = data.stereo_motorcycle()
            rgb = left
        else:
            rgb = getattr(data, name)()
        rgb = np.asarray(rgb, dtype=np.float32)[..., :3] / 255.0
        if estimator is not None:
            depth, origin = np.asarray(estimator(rgb), dtype=np.float32), "depth estimator"
        elif name == "motorcycle":
            depth, origin = to_normalised(filled_disparity(np.asarray(disparity, np.float64)), "disparity").depth, "its stereo disparity"
        else:
            depth, origin = ramp_depth(rgb.shape[:2]), "stand-in ramp"
        photos.append(Photo(name, rgb, depth, origin, LICENCES[name]))
    return photos


def check_photo(relight: Callable[[np.ndarray, np.ndarray, Light, Light | None], np.ndarray], photo: Photo) -> dict[str, object]:
    """The same-light, cycle and border checks of one photograph with an any-to-any ``relight(rgb, depth, to, source)``."""
    rgb = as_saved(photo.rgb)
    same = {str(x): psnr(as_saved(relight(rgb, photo.depth, x, x)), rgb) for x in SAME}
    cycle, fringe, border, inside = {}, [], [], []
    for a, b in CYCLES:
        there = as_saved(relight(rgb, photo.depth, b, a))
        back = as_saved(relight(there, photo.depth, a, b))
        cycle[f"{a} -> {b} -> {a}"] = psnr(back, rgb)
        fringe.append(border_fringe(rgb, there))
        ranges = outside_range(rgb, there)
        border.append(ranges["border_pct"])
        inside.append(ranges["inside_pct"])
    return {
        "photo": photo.name, "size": f"{rgb.shape[1]}x{rgb.shape[0]}", "depth": photo.depth_from, "licence": photo.licence,
        "same_light_db": same, "same_light_mean_db": float(np.mean(list(same.values()))),
        "cycle_db": cycle, "cycle_mean_db": float(np.mean(list(cycle.values()))),
        "fringe_pct": float(np.mean(fringe)), "outside_border_pct": float(np.mean(border)), "outside_inside_pct": float(np.mean(inside)),
    }
