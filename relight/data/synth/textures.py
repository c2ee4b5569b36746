"""Albedo textures of the ray-cast renderer: patterns over an object's local coordinates, and photographs.

Textures are functions of local coordinates (:meth:`~relight.data.synth.shapes.Sphere.local`), which a
mirrored object reflects too, so a mirrored scene shows mirrored patterns. The second renderer reads the
same :class:`Texture` description through patterns of its own (:mod:`relight.data.synth.raster`).
A ``photo`` texture lays a tile of the photo bank on the surface (:mod:`relight.data.synth.photos`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relight.data.synth.photos import triplanar
from relight.errors import RelightError

#: Every procedural texture kind, and how often a random scene picks each (relative weights).
TEXTURE_WEIGHTS = {"checker": 0.3, "stripes": 0.25, "noise": 0.3, "plain": 0.15, "dots": 0.2, "rings": 0.15, "marble": 0.2}
TEXTURE_KINDS = tuple(TEXTURE_WEIGHTS)
#: A texture kind of world scenes only: a photograph.
PHOTO = "photo"


def hash_unit(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """A value in [0, 1) per integer lattice point (splitmix64-style mixing, wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        h = (
            ix.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            ^ iy.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
            ^ iz.astype(np.uint64) * np.uint64(0x165667B19E3779F9)
            ^ np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x27D4EB2F165667C5)
        )
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x7FB5D329728EA185)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x81DADEF4BC2DD44D)
        h ^= h >> np.uint64(33)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def value_noise(q: np.ndarray, seed: int, octaves: int = 3) -> np.ndarray:
    """Smooth lattice value noise (fBm of ``octaves``) in [0, 1] at points ``q`` (N x 3)."""
    total = np.zeros(len(q))
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        p = q * (2.0**octave)
        cell = np.floor(p)
        f = p - cell
        f = f * f * (3.0 - 2.0 * f)
        i = cell.astype(np.int64)
        acc = np.zeros(len(q))
        for dx in (0, 1):
            for dy in (0, 1):
                for dz in (0, 1):
                    w = (f[:, 0] if dx else 1 - f[:, 0]) * (f[:, 1] if dy else 1 - f[:, 1]) * (f[:, 2] if dz else 1 - f[:, 2])
                    acc += w * hash_unit(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, seed + octave)
        total += amplitude * acc
        norm += amplitude
        amplitude *= 0.5
    return total / norm


@dataclass(frozen=True)
class Texture:
    """An albedo pattern over local coordinates, one of :data:`TEXTURE_KINDS`.

    Colours are linear RGB; ``scale`` is the pattern period in metres; ``axis`` orients stripes and
    marble veins; ``seed`` drives the noise, the marble's turbulence and which dots are present. A
    ``photo`` texture shows tile ``seed`` of the photo bank, ``scale`` metres wide, shifted by the seed,
    its relative colour times a mix of the two colours that drifts slowly across the surface.
    """

    kind: str
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    scale: float = 0.5
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    seed: int = 0

    def albedo(self, q: np.ndarray, normal: np.ndarray | None = None) -> np.ndarray:
        """Linear RGB albedo at local points ``q`` (N x 3); a photo reads the local ``normal`` too."""
        a, b = np.asarray(self.color_a), np.asarray(self.color_b)
        if self.kind == "plain":
            return np.broadcast_to(a, q.shape).copy()
        if self.kind == PHOTO:
            drift = value_noise(q / (4 * self.scale), self.seed, octaves=1)
            return np.clip((a + (b - a) * drift[:, None]) * self.photo(q, normal), 0.0, 0.95)
        return a + (b - a) * self._mix(q)[:, None]

    def photo(self, q: np.ndarray, normal: np.ndarray | None, level: int = 0) -> np.ndarray:
        """The photo tile's relative colour at local points ``q`` with local normals ``normal`` (facing up if None)."""
        facing = np.broadcast_to(np.array([0.0, 1.0, 0.0]), q.shape) if normal is None else normal
        offset = ((self.seed >> 8) % 997 / 997, (self.seed >> 18) % 991 / 991)
        return triplanar(self.seed, q, facing, self.scale, offset, level)

    def _mix(self, q: np.ndarray) -> np.ndarray:
        """How much of ``color_b`` each local point shows."""
        if self.kind == "checker":
            return (np.floor(q / self.scale).astype(np.int64).sum(axis=1) % 2).astype(np.float64)
        if self.kind == "stripes":
            return (np.floor(q @ np.asarray(self.axis) / self.scale).astype(np.int64) % 2).astype(np.float64)
        p = q / self.scale
        if self.kind == "noise":
            return value_noise(p, self.seed)
        if self.kind == "dots":
            cell = np.floor(p)
            offset = p - cell - 0.5
            i = cell.astype(np.int64)
            present = hash_unit(i[:, 0], i[:, 1], i[:, 2], self.seed) < 0.75
            return ((np.sum(offset * offset, axis=1) < 0.33**2) & present).astype(np.float64)
        if self.kind == "rings":
            return (np.floor(np.hypot(p[:, 0], p[:, 2]) * 1.5).astype(np.int64) % 2).astype(np.float64)
        if self.kind == "marble":
            phase = 2.0 * np.pi * (p @ np.asarray(self.axis)) + 5.0 * value_noise(p, self.seed)
            return 0.5 + 0.5 * np.sin(phase)
        raise RelightError(f"unknown texture kind {self.kind!r}")
