"""Colour for the synthetic renderers: black-body light colours, the sRGB curve and 8-bit encoding."""

from __future__ import annotations

import numpy as np

from relight.data.vidit import DIRECTIONS, TEMPERATURES, Setting


def _cie_cmf(wavelength_nm: np.ndarray) -> np.ndarray:
    """CIE 1931 2-degree colour matching functions, the multi-lobe Gaussian fit of Wyman, Sloan and Shirley,
    "Simple Analytic Approximations to the CIE XYZ Color Matching Functions", JCGT 2(2), 2013 (error < 1 %)."""

    def g(mu: float, s_below: float, s_above: float) -> np.ndarray:
        sigma = np.where(wavelength_nm < mu, s_below, s_above)
        return np.exp(-0.5 * ((wavelength_nm - mu) / sigma) ** 2)

    x = 1.056 * g(599.8, 37.9, 31.0) + 0.362 * g(442.0, 16.0, 26.7) - 0.065 * g(501.1, 20.4, 26.2)
    y = 0.821 * g(568.8, 46.9, 40.5) + 0.286 * g(530.9, 16.3, 31.1)
    z = 1.217 * g(437.0, 11.8, 36.0) + 0.681 * g(459.0, 26.0, 13.8)
    return np.stack([x, y, z], axis=-1)


#: CIE XYZ to linear sRGB (D65 white), IEC 61966-2-1.
XYZ_TO_SRGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])


def blackbody_rgb(kelvin: float) -> np.ndarray:
    """Linear sRGB colour of a black body at ``kelvin``, scaled so its largest channel is 1.

    Planck's law is integrated against the CIE 1931 colour matching functions (380-780 nm, 1 nm steps)
    to get XYZ, which the sRGB matrix turns into linear RGB; negative channels (out of gamut) clip to 0.
    Gives orange at 2500 K and near white at 6500 K, as in VIDIT.
    """
    lam = np.arange(380.0, 781.0)
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    lam_m = lam * 1e-9
    radiance = 1.0 / (lam_m**5 * np.expm1(h * c / (lam_m * k * kelvin)))
    xyz = radiance @ _cie_cmf(lam)
    rgb = np.clip(XYZ_TO_SRGB @ (xyz / xyz[1]), 0.0, None)
    return rgb / rgb.max()


LIGHT_RGB = {t: blackbody_rgb(t) for t in TEMPERATURES}
#: Linear-light exposure applied before sRGB encoding.
EXPOSURE = 1.5
SKY_HORIZON = np.array([0.20, 0.22, 0.25])
SKY_ZENITH = np.array([0.05, 0.07, 0.12])


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] to the sRGB transfer curve (IEC 61966-2-1)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """The inverse of :func:`srgb_encode`, for picking albedos as one would pick colours."""
    encoded = np.asarray(encoded, dtype=np.float64)
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)


def to_uint8(linear: np.ndarray) -> np.ndarray:
    """Linear RGB to 8-bit sRGB, as the data set's PNGs hold it."""
    return np.round(srgb_encode(linear) * 255.0).astype(np.uint8)


def sky(directions: np.ndarray) -> np.ndarray:
    """The dim sky gradient by ray elevation that both renderers show where a ray hits nothing."""
    elevation = np.clip(directions[:, 1], 0.0, 1.0)[:, None]
    return SKY_HORIZON + (SKY_ZENITH - SKY_HORIZON) * np.sqrt(elevation)


def compose_images(dirs: np.ndarray, hit: np.ndarray, shades: dict[str, np.ndarray], shape: tuple[int, int]) -> dict[Setting, np.ndarray]:
    """The 8-bit image of every lighting, (height, width) = ``shape``: ``shades[direction]`` (linear, per
    hit pixel) in each light colour, sky elsewhere."""
    background = sky(dirs[~hit])
    images = {}
    for temperature in TEMPERATURES:
        color = LIGHT_RGB[temperature]
        for direction in DIRECTIONS:
            linear = np.empty_like(dirs)
            linear[hit] = shades[direction] * color * EXPOSURE
            linear[~hit] = background
            images[Setting(temperature, direction)] = to_uint8(linear).reshape(*shape, 3)
    return images
