"""Textures taken from photographs: the bank of tiles (``photos.npz``, remade by scripts/make_photo_bank.py
from scikit-image's CC0 and public-domain photographs; docs/data.md lists each) and their mapping.

A tile is read in linear light over its mean (so a texture's own colours set its mean albedo), repeated
mirrored so that it tiles without seams, and laid on a surface by triplanar mapping: three planar
projections of the object's local coordinates, weighted by how squarely the surface faces each axis
(the local normal). Local coordinates and normals are the ones a mirrored object reflects, so a mirrored
scene shows the mirrored texture. The rasteriser reads the tiles halved (averaged 2 x 2), its own filter.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from relight.data.synth.colour import srgb_decode
from relight.errors import RelightError

BANK = Path(__file__).with_name("photos.npz")


@cache
def photo_tiles(level: int = 0) -> tuple[np.ndarray, ...]:
    """The bank's tiles, each H x W x 3 float64 in linear light over its mean, mirrored into a seamless
    2H x 2W tile; ``level`` 1 halves them first (for the rasteriser)."""
    try:
        with np.load(BANK, allow_pickle=False) as bank:
            raw = [bank[f"tile{i}"] for i in range(len(bank["names"]))]
    except (OSError, KeyError, ValueError) as exc:
        raise RelightError(f"{BANK}: the photo texture bank cannot be read ({exc}); remake it with scripts/make_photo_bank.py") from None
    tiles = []
    for tile in raw:
        rgb = np.repeat(tile[..., None], 3, axis=2) if tile.ndim == 2 else tile
        linear = srgb_decode(rgb / 255.0)
        if level:
            h, w = linear.shape[0] // 2 * 2, linear.shape[1] // 2 * 2
            linear = linear[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
        linear = linear / np.maximum(linear.reshape(-1, 3).mean(axis=0), 1e-3)
        seamless = np.concatenate([linear, linear[:, ::-1]], axis=1)
        tiles.append(np.concatenate([seamless, seamless[::-1]], axis=0))
    return tuple(tiles)


def photo_names() -> tuple[str, ...]:
    """The tiles' names, in the bank's order."""
    with np.load(BANK, allow_pickle=False) as bank:
        return tuple(str(name) for name in bank["names"])


def _bilinear(tile: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``tile`` at (u, v) in units of its original (unmirrored) width, wrapping around."""
    rows, cols = tile.shape[:2]
    x, y = u * (cols / 2), v * (cols / 2)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    c0, r0 = x0.astype(np.int64) % cols, y0.astype(np.int64) % rows
    c1, r1 = (c0 + 1) % cols, (r0 + 1) % rows
    top = tile[r0, c0] * (1 - fx) + tile[r0, c1] * fx
    bottom = tile[r1, c0] * (1 - fx) + tile[r1, c1] * fx
    return top * (1 - fy) + bottom * fy


def triplanar(index: int, q: np.ndarray, normal: np.ndarray, scale: float, offset: tuple[float, float], level: int = 0) -> np.ndarray:
    """Tile ``index`` (of the bank, modulo its size) at local points ``q`` with local normals ``normal``:
    ``scale`` metres to the tile's width, shifted by ``offset`` tiles; relative colour (mean 1), N x 3."""
    tiles = photo_tiles(level)
    tile = tiles[index % len(tiles)]
    weights = np.abs(normal) ** 4
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    p = q / scale
    total = np.zeros((len(q), 3))
    for axis, (a, b) in enumerate(((2, 1), (0, 2), (0, 1))):
        some = weights[:, axis] > 1e-3
        if some.any():
            sampled = _bilinear(tile, p[some, a] + offset[0], -p[some, b] + offset[1])
            total[some] += weights[some, axis, None] * sampled
    return total
