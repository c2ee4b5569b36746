"""A world scene's camera: exposure, white balance, sensor noise, a tone curve and JPEG, from linear light
to the 8-bit images a data set holds.

Exposure, white balance, the tone curve, the noise level and the JPEG quality belong to the camera, so
they are the same for the 40 images of a scene (:class:`~relight.data.synth.settings.Look`). What
differs per image is what differs per shot: the noise itself (drawn per image from the look's seed and
the image's index) and the JPEG artefacts (the same quality on different content).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from relight.data.synth.colour import EXPOSURE, LIGHT_RGB
from relight.data.synth.settings import Look
from relight.data.vidit import DIRECTIONS, TEMPERATURES, Setting

#: Linear light above this is rolled off smoothly towards 1 instead of clipping (a film-like shoulder).
SHOULDER = 0.8
#: Shot noise's variance per unit of signal, over the read noise's variance.
SHOT = 10.0


def _shoulder(x: np.ndarray) -> np.ndarray:
    over = np.maximum(x - np.float32(SHOULDER), 0)
    return np.minimum(x, np.float32(SHOULDER)) + np.float32(1 - SHOULDER) * np.tanh(over / np.float32(1 - SHOULDER))


def _encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB curve in float32 (the pipeline's precision; classic scenes encode in float64)."""
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= np.float32(0.0031308), np.float32(12.92) * linear,
                    np.float32(1.055) * np.power(linear, np.float32(1 / 2.4)) - np.float32(0.055))


def develop(linear: np.ndarray, look: Look, index: int) -> np.ndarray:
    """An H x W x 3 linear image (exposed as classic scenes are) through the camera of ``look``, as the
    image of index ``index`` among the scene's 40 (which draws its noise): 8-bit sRGB."""
    x = np.maximum(linear * look.exposure * np.asarray(look.white_balance), 0.0).astype(np.float32)
    if look.noise > 0:
        rng = np.random.default_rng([look.seed, index])
        x += np.float32(look.noise) * np.sqrt(1 + np.float32(SHOT) * x) * rng.standard_normal(x.shape, dtype=np.float32)
    encoded = _encode(_shoulder(np.maximum(x, 0)))
    # A contrast curve on the encoded values, monotonic for |tone| < 1 (positive: more contrast).
    encoded = encoded + np.float32(look.tone) * encoded * (1 - encoded) * (2 * encoded - 1)
    if look.gamma != 1.0:
        encoded = np.clip(encoded, 0, 1) ** np.float32(look.gamma)
    pixels = np.round(np.clip(encoded, 0, 1) * 255).astype(np.uint8)
    return jpeg(pixels, look.jpeg) if look.jpeg else pixels


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    """``pixels`` after a JPEG round trip at ``quality`` (4:2:0 chroma, as cameras and phones save)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality), subsampling=2)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB")).copy()


def sky_radiance(sky: tuple[float, float, float], directions: np.ndarray) -> np.ndarray:
    """What a ray that hits nothing sees in a world scene: the sky fill's colour, brighter towards the horizon."""
    elevation = np.clip(directions[:, 1], 0.0, 1.0)[:, None]
    return np.asarray(sky) * (1.3 - 0.6 * np.sqrt(elevation))


def compose_world(dirs: np.ndarray, hit: np.ndarray, lamp: dict[str, np.ndarray], fill: np.ndarray, look: Look,
                  sky: tuple[float, float, float], shape: tuple[int, int]) -> dict[Setting, np.ndarray]:
    """The 8-bit image of every lighting: ``lamp[direction]`` (linear, per hit pixel, in the lamp's units)
    in each light colour plus the ``fill`` no lamp tints, and the sky where a ray hits nothing; through
    the camera of ``look``."""
    background = sky_radiance(sky, dirs[~hit]) * EXPOSURE
    steady = fill * EXPOSURE
    images = {}
    for t_index, temperature in enumerate(TEMPERATURES):
        color = LIGHT_RGB[temperature] * EXPOSURE
        for d_index, direction in enumerate(DIRECTIONS):
            linear = np.empty_like(dirs)
            linear[hit] = lamp[direction] * color + steady
            linear[~hit] = background
            index = t_index * len(DIRECTIONS) + d_index
            images[Setting(temperature, direction)] = develop(linear.reshape(*shape, 3), look, index)
    return images
