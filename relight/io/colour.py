"""Colour profiles: photographs tagged with an ICC profile (Display P3, Adobe RGB) are converted to sRGB
for the network, which was trained on sRGB, and the result back to the photo's own profile.

8-bit pixels go through Pillow's ImageCms (LittleCMS), which handles every kind of profile. Pixels with
more precision than 8 bits (16-bit PNG and TIFF, float TIFF) go through the profile's own matrix and
tone curves in float, the way LittleCMS evaluates a matrix/shaper profile (almost every RGB profile a
camera or phone writes), so they keep their precision; a profile of another kind (lookup tables) is
applied at 8-bit precision through ImageCms, with a note. Colours outside sRGB's gamut are clipped to
its edge on the way in: the network sees and returns sRGB.
"""

from __future__ import annotations

import functools
import io
import struct

import numpy as np
from PIL import Image, ImageCms

#: How close (in XYZ, and in the tone curve's output) a profile must be to sRGB to be taken as sRGB.
_SRGB_TOLERANCE = 2e-3
_INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
_CURVE_SAMPLES = 1 << 16  # points of a tone curve sampled to invert it


@functools.cache
def srgb_icc() -> bytes:
    """The bytes of the sRGB profile outputs are tagged with when asked for sRGB."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _tags(icc: bytes) -> dict[bytes, bytes]:
    """The tag table of an ICC profile: signature -> the tag's bytes."""
    count = struct.unpack_from(">I", icc, 128)[0]
    tags = {}
    for i in range(count):
        signature, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        tags[signature] = icc[offset : offset + size]
    return tags


#: The colour spaces an ICC header names (its bytes 16 to 20), as they are written there.
ICC_SPACES = frozenset({"XYZ", "Lab", "Luv", "YCbr", "Yxy", "RGB", "GRAY", "HSV", "HLS", "CMYK", "CMY",
                        *(f"{n:X}CLR" for n in range(2, 16))})


def colour_space(icc: bytes) -> str:
    """The profile's colour space as ICC names it (``RGB``, ``GRAY``, ``CMYK``), or ``?`` if it names
    none (a damaged profile's bytes are never shown as they are)."""
    space = icc[16:20].decode("latin-1").strip() if len(icc) >= 132 else "?"
    return space if space in ICC_SPACES else "?"


def _fixed(data: bytes, offset: int, count: int) -> np.ndarray:
    """``count`` s15Fixed16 numbers from ``offset``."""
    return np.array(struct.unpack_from(f">{count}i", data, offset), np.float64) / 65536.0


def _curve(tag: bytes) -> np.ndarray:
    """A tone curve (``curv`` or ``para``) sampled at :data:`_CURVE_SAMPLES` evenly spaced inputs in [0, 1]."""
    x = np.linspace(0.0, 1.0, _CURVE_SAMPLES)
    if tag[:4] == b"curv":
        n = struct.unpack_from(">I", tag, 8)[0]
        if n == 0:
            return x
        if n == 1:
            return x ** (struct.unpack_from(">H", tag, 12)[0] / 256.0)
        table = np.array(struct.unpack_from(f">{n}H", tag, 12), np.float64) / 65535.0
        return np.interp(x, np.linspace(0.0, 1.0, n), table)
    if tag[:4] != b"para":
        raise ValueError(f"unknown tone curve type {tag[:4]!r}")
    kind = struct.unpack_from(">H", tag, 8)[0]
    count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[kind]
    g, a, b, c, d, e, f = (*_fixed(tag, 12, count), 0, 0, 0, 0, 0, 0)[:7]
    if kind == 0:
        return x**g
    if kind in (1, 2):  # below -b/a the curve is flat: at 0 (type 1) or c (type 2)
        d, c, e, f = -b / a, 0.0, (c if kind == 2 else 0.0), (c if kind == 2 else 0.0)
    return np.where(x >= d, np.maximum(a * x + b, 0.0) ** g + e, c * x + f)


@functools.lru_cache(maxsize=16)
def _shaper(icc: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """``(curves, matrix)`` of a matrix/shaper RGB profile: the three tone curves sampled (3 x N) and the
    RGB -> XYZ (D50) matrix; None for any other kind of profile (lookup tables, grey, CMYK)."""
    try:
        tags = _tags(icc)
        if colour_space(icc) != "RGB" or icc[20:24] != b"XYZ " or tags.keys() & {b"A2B0", b"A2B1", b"B2A0", b"B2A1"}:
            return None
        matrix = np.stack([_fixed(tags[name], 8, 3) for name in (b"rXYZ", b"gXYZ", b"bXYZ")], axis=1)
        curves = np.stack([_curve(tags[name]) for name in (b"rTRC", b"gTRC", b"bTRC")])
    except (KeyError, ValueError, struct.error):
        return None
    return curves, matrix


@functools.lru_cache(maxsize=16)
def is_srgb(icc: bytes) -> bool:
    """Whether ``icc`` describes sRGB (within :data:`_SRGB_TOLERANCE`), so no conversion is needed."""
    mine, srgb = _shaper(icc), _shaper(srgb_icc())
    assert srgb is not None
    return mine is not None and all(np.abs(m - s).max() <= _SRGB_TOLERANCE for m, s in zip(mine, srgb))


@functools.lru_cache(maxsize=16)
def is_usable(icc: bytes) -> bool:
    """Whether relight can convert between ``icc`` and sRGB: an RGB profile LittleCMS can open."""
    if colour_space(icc) != "RGB":
        return False
    try:
        ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError):
        return False
    return True


def needs_8bit(icc: bytes) -> bool:
    """Whether float pixels in this profile can only be converted at 8-bit precision (not matrix/shaper)."""
    return _shaper(icc) is None


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, to_srgb: bool, mode: str) -> ImageCms.ImageCmsTransform:
    profile, srgb = ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    source, target = (profile, srgb) if to_srgb else (srgb, profile)
    # NOCACHE: LittleCMS's one-pixel cache is not safe when writer threads share the transform
    return ImageCms.buildTransform(source, target, mode, mode, renderingIntent=_INTENT, flags=ImageCms.Flags.NOCACHE)


def _through_cms(rgb: np.ndarray, icc: bytes, to_srgb: bool) -> np.ndarray:
    """``H x W x 3`` uint8 through LittleCMS."""
    image = _transform(icc, to_srgb, "RGB").apply(Image.fromarray(np.ascontiguousarray(rgb), "RGB"))
    return np.asarray(image)


def _apply(curve: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.interp(values, np.linspace(0.0, 1.0, len(curve)), curve)


def _through_matrix(rgb: np.ndarray, icc: bytes, to_srgb: bool) -> np.ndarray:
    """``H x W x 3`` floats in [0, 1] through two matrix/shaper profiles: linearise, change primaries
    (relative colorimetric: both matrices are adapted to D50), clip to the gamut, re-encode."""
    mine, srgb = _shaper(icc), _shaper(srgb_icc())
    assert mine is not None and srgb is not None
    (in_curves, in_matrix), (out_curves, out_matrix) = (mine, srgb) if to_srgb else (srgb, mine)
    x = np.clip(rgb.astype(np.float64), 0.0, 1.0)
    linear = np.stack([_apply(in_curves[i], x[..., i]) for i in range(3)], axis=-1)
    target = np.clip(linear @ (np.linalg.inv(out_matrix) @ in_matrix).T, 0.0, 1.0)
    grid = np.linspace(0.0, 1.0, out_curves.shape[1])
    encoded = [np.interp(target[..., i], np.maximum.accumulate(out_curves[i]), grid) for i in range(3)]
    return np.stack(encoded, axis=-1).astype(np.float32)


def convert(rgb: np.ndarray, icc: bytes, to_srgb: bool) -> np.ndarray:
    """``H x W x 3`` RGB from the profile ``icc`` to sRGB (``to_srgb``) or back.

    uint8 pixels go through LittleCMS and come back as uint8; float pixels in [0, 1] through the
    profile's matrix and curves, or, for a profile without them (:func:`needs_8bit`), through LittleCMS
    at 8 bits.
    """
    if rgb.dtype == np.uint8:
        return _through_cms(rgb, icc, to_srgb)
    if needs_8bit(icc):
        eight = np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
        return _through_cms(eight, icc, to_srgb).astype(np.float32) / 255.0
    return _through_matrix(rgb, icc, to_srgb)


__all__ = ["colour_space", "convert", "is_srgb", "is_usable", "needs_8bit", "srgb_icc"]
