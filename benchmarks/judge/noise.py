"""Lattice noise for the judge's textures and terrain: 3D and 2D value noise and their fractal sums.

Lattice values come from one fixed table of 64^3 random numbers; a seed shifts the lattice within the
table, so a point's noise depends only on its position and the seed (never on the order points are
evaluated in), and the pattern repeats only every 64 lattice cells. Values are interpolated with a
quintic fade, which keeps the normals of displaced surfaces continuous.
"""

from __future__ import annotations

import numpy as np

_SIDE = 64
_TABLE = np.random.default_rng(0x7A11_0022).random(_SIDE**3)


def _offsets(seed: int) -> tuple[int, int, int]:
    mixed = (seed * 2654435761 + 0x9E3779B9) % 2**32
    return mixed % _SIDE, (mixed >> 6) % _SIDE, (mixed >> 12) % _SIDE


def lattice_value(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """A value in [0, 1) per integer lattice point and seed."""
    ox, oy, oz = _offsets(seed)
    return _TABLE[(((ix + ox) % _SIDE) * _SIDE + (iy + oy) % _SIDE) * _SIDE + (iz + oz) % _SIDE]


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def value_noise3(p: np.ndarray, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1] at points ``p`` (N x 3), one lattice cell per unit."""
    cell = np.floor(p)
    f = _fade(p - cell)
    i = cell.astype(np.int64)
    out = np.zeros(len(p))
    for corner in range(8):
        dx, dy, dz = corner & 1, (corner >> 1) & 1, (corner >> 2) & 1
        w = (f[:, 0] if dx else 1.0 - f[:, 0]) * (f[:, 1] if dy else 1.0 - f[:, 1]) * (f[:, 2] if dz else 1.0 - f[:, 2])
        out += w * lattice_value(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, seed)
    return out


def value_noise2(x: np.ndarray, z: np.ndarray, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1] on the plane (one lattice cell per unit)."""
    cx, cz = np.floor(x), np.floor(z)
    fx, fz = _fade(x - cx), _fade(z - cz)
    ix, iz = cx.astype(np.int64), cz.astype(np.int64)
    zero = np.zeros_like(ix)
    a, b = lattice_value(ix, zero, iz, seed), lattice_value(ix + 1, zero, iz, seed)
    c, d = lattice_value(ix, zero, iz + 1, seed), lattice_value(ix + 1, zero, iz + 1, seed)
    return (a * (1 - fx) + b * fx) * (1 - fz) + (c * (1 - fx) + d * fx) * fz


def fbm3(p: np.ndarray, seed: int, octaves: int = 4, lacunarity: float = 2.03, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of :func:`value_noise3` octaves, rescaled to [0, 1]; each octave is shifted so that
    the lattices do not line up."""
    total, norm, amplitude = np.zeros(len(p)), 0.0, 1.0
    q = np.asarray(p, dtype=np.float64)
    for octave in range(octaves):
        total += amplitude * value_noise3(q + 17.31 * octave, seed + 101 * octave)
        norm += amplitude
        amplitude *= gain
        q = q * lacunarity
    return total / norm


def fbm2(x: np.ndarray, z: np.ndarray, seed: int, octaves: int = 4) -> np.ndarray:
    """Fractal sum of :func:`value_noise2` octaves in [0, 1], for heightfields."""
    total, norm, amplitude, scale = np.zeros(np.shape(x)), 0.0, 1.0, 1.0
    for octave in range(octaves):
        total += amplitude * value_noise2(x * scale + 17.31 * octave, z * scale - 9.7 * octave, seed + 101 * octave)
        norm += amplitude
        amplitude *= 0.5
        scale *= 2.03
    return total / norm


def cell_hash(ix: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """A value in [0, 1) per 2D cell (tiles, chips)."""
    return lattice_value(ix, np.zeros_like(ix), iz, seed)
