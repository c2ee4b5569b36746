"""The judge's materials: solid procedural textures (functions of the world position) and surface finish.

The textures are the judge's own (none of them is relight's): wood grain, floor tiles, terrazzo,
woven fabric, veined stone, mottled paint, brushed metal and ground cover (grass to soil by slope and
noise). Colours are picked in sRGB and used as linear albedo. A material also has a GGX roughness, a
Fresnel reflectance at normal incidence and, for metals, a tinted specular and no diffuse term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from judge.noise import cell_hash, fbm3, value_noise3

#: Texture kinds and how often :func:`random_material` picks each for an object.
OBJECT_TEXTURES = {"wood": 0.2, "terrazzo": 0.15, "fabric": 0.15, "stone": 0.15, "paint": 0.25, "metal": 0.1}


def linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded colour in [0, 1] to linear light."""
    srgb = np.asarray(srgb, dtype=np.float64)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a[None, :] * (1.0 - t[:, None]) + b[None, :] * t[:, None]


@dataclass(frozen=True)
class Material:
    """How a surface looks: ``albedo(points, normals) -> N x 3`` linear RGB, and its finish."""

    kind: str
    albedo: Callable[[np.ndarray, np.ndarray], np.ndarray]
    roughness: float
    reflectance: float
    metal: bool = False


def wood(light: np.ndarray, dark: np.ndarray, scale: float, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Growth rings round a horizontal axis along x, warped by noise, with fine grain."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        q = p / scale
        warp = fbm3(q * np.array([0.3, 1.0, 1.0]), seed, octaves=3)
        rings = np.hypot(q[:, 1] + 3.1, q[:, 2] + 1.7) * 6.0 + 4.0 * warp
        t = 0.5 + 0.5 * np.sin(rings * np.pi)
        grain = value_noise3(q * np.array([0.5, 40.0, 40.0]), seed + 7)
        return _mix(light, dark, np.clip(0.75 * t**3 + 0.25 * grain, 0.0, 1.0))
    return albedo


def tiles(a: np.ndarray, b: np.ndarray, grout: np.ndarray, size: float, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Square tiles on the horizontal, each its own shade between ``a`` and ``b``, with grout lines."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        u, v = p[:, 0] / size, p[:, 2] / size
        iu, iv = np.floor(u), np.floor(v)
        shade = cell_hash(iu.astype(np.int64), iv.astype(np.int64), seed)
        colour = _mix(a, b, shade)
        edge = np.minimum(np.minimum(u - iu, 1 - (u - iu)), np.minimum(v - iv, 1 - (v - iv)))
        line = np.clip((0.04 - edge) / 0.02, 0.0, 1.0)
        return colour * (1 - line[:, None]) + grout[None, :] * line[:, None]
    return albedo


def terrazzo(base: np.ndarray, chips: np.ndarray, scale: float, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A pale base with chips of several colours: a cell hash picks where chips are and which colour."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        q = p / scale
        cells = np.floor(q).astype(np.int64)
        pick = value_noise3(np.floor(q) + 0.5, seed)
        inside = np.linalg.norm(q - np.floor(q) - 0.5, axis=1) < 0.22 + 0.2 * value_noise3(q * 3.0, seed + 3)
        chip = chips[np.minimum((cell_hash(cells[:, 0] + cells[:, 1] * 7, cells[:, 2], seed + 1) * len(chips)).astype(int), len(chips) - 1)]
        out = np.repeat(base[None, :], len(p), axis=0)
        use = inside & (pick > 0.35)
        out[use] = chip[use]
        return out
    return albedo


def fabric(colour: np.ndarray, scale: float, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A plain weave: crossing threads darken where they dip, with slub noise along them."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        q = p / scale
        warp = np.sin(q[:, 0] * 2 * np.pi) * np.sin((q[:, 2] + q[:, 1]) * 2 * np.pi)
        slub = value_noise3(q * np.array([0.2, 1.0, 3.0]), seed)
        return colour[None, :] * (0.75 + 0.15 * warp + 0.2 * slub)[:, None]
    return albedo


def stone(light: np.ndarray, dark: np.ndarray, scale: float, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Fractal mottling with thin dark veins where a second noise crosses one half."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        q = p / scale
        body = fbm3(q, seed, octaves=5)
        vein = np.abs(fbm3(q * 0.7, seed + 9, octaves=4) - 0.5)
        t = np.clip(body * 1.2 - 0.1, 0.0, 1.0)
        colour = _mix(light, dark, t)
        return colour * (0.55 + 0.45 * np.clip(vein / 0.04, 0.0, 1.0))[:, None]
    return albedo


def paint(colour: np.ndarray, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A flat colour with faint, broad mottling."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        return colour[None, :] * (0.9 + 0.1 * fbm3(p * 1.7, seed, octaves=3))[:, None]
    return albedo


def brushed(colour: np.ndarray, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Metal streaked along one direction."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        streak = value_noise3(p * np.array([2.0, 180.0, 2.0]), seed)
        return colour[None, :] * (0.85 + 0.15 * streak)[:, None]
    return albedo


def ground_cover(grass: np.ndarray, soil: np.ndarray, rock_colour: np.ndarray, seed: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Grass on the flat, soil in patches, bare rock on steep slopes."""
    def albedo(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        patches = fbm3(p * 0.4, seed, octaves=4)
        fine = value_noise3(p * 9.0, seed + 5)
        colour = _mix(grass, soil, np.clip((patches - 0.45) * 5.0, 0.0, 1.0)) * (0.8 + 0.4 * fine)[:, None]
        steep = np.clip((0.85 - n[:, 1]) * 5.0, 0.0, 1.0)
        return colour * (1 - steep[:, None]) + rock_colour[None, :] * steep[:, None]
    return albedo


def _colour(rng: np.random.Generator, saturation: tuple[float, float] = (0.15, 0.7), value: tuple[float, float] = (0.35, 0.9)) -> np.ndarray:
    """A random colour (hue, saturation, value drawn in sRGB) as linear RGB."""
    h, s, v = rng.uniform(0, 1), rng.uniform(*saturation), rng.uniform(*value)
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    rgb = v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return linear(rgb)


def random_material(rng: np.random.Generator, kind: str | None = None) -> Material:
    """An object's material: a texture kind drawn from :data:`OBJECT_TEXTURES` (or ``kind``), its colours,
    scale and finish."""
    kind = kind or str(rng.choice(list(OBJECT_TEXTURES), p=np.array(list(OBJECT_TEXTURES.values())) / sum(OBJECT_TEXTURES.values())))
    seed = int(rng.integers(1, 2**31 - 1))
    if kind == "wood":
        light = linear(np.array([0.72, 0.52, 0.33]) * rng.uniform(0.8, 1.15))
        return Material(kind, wood(np.clip(light, 0, 1), light * 0.45, rng.uniform(0.15, 0.5), seed), rng.uniform(0.35, 0.7), 0.04)
    if kind == "terrazzo":
        chips = np.stack([_colour(rng) for _ in range(3)])
        return Material(kind, terrazzo(linear(np.full(3, rng.uniform(0.75, 0.92))), chips, rng.uniform(0.02, 0.06), seed),
                        rng.uniform(0.2, 0.45), 0.05)
    if kind == "fabric":
        return Material(kind, fabric(_colour(rng), rng.uniform(0.008, 0.03), seed), rng.uniform(0.8, 1.0), 0.02)
    if kind == "stone":
        base = _colour(rng, (0.0, 0.2), (0.55, 0.85))
        return Material(kind, stone(base, base * rng.uniform(0.3, 0.6), rng.uniform(0.2, 0.8), seed), rng.uniform(0.3, 0.8), 0.04)
    if kind == "metal":
        tint = linear(np.array([rng.uniform(0.75, 0.98), rng.uniform(0.6, 0.9), rng.uniform(0.45, 0.85)]))
        return Material(kind, brushed(tint, seed), rng.uniform(0.25, 0.55), 1.0, metal=True)
    return Material("paint", paint(_colour(rng), seed), rng.uniform(0.3, 0.9), 0.04)
