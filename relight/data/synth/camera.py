"""The conventions both renderers share: the camera, the light ring and the depth normalisation.

A pinhole camera at (0, camera_height, 0) looks north (+z) and down by ``pitch_deg``; east (+x) is to
the camera's right. As in VIDIT, the light sits on a horizontal ring centred above the point the
central ray hits, with ring radius and height proportional to that hit distance, at the 8 compass
directions. Depth is distance from the camera over min(farthest hit, FAR * central hit distance).
"""

from __future__ import annotations

import numpy as np

from relight.data.synth.shapes import SynthScene, dot, first_hit
from relight.errors import RelightError

#: Ring radius and height above the central hit point, as fractions of the camera-to-hit distance.
RING_RADIUS = 0.55
RING_HEIGHT = 0.5
#: Depth is distance from the camera over min(farthest hit, FAR * central hit distance), clipped to 1.
FAR = 4.0
_SQRT_HALF = float(np.sqrt(0.5))
#: Unit (x, z) vectors of the compass directions: north is +z, east is +x.
COMPASS = {
    "N": (0.0, 1.0), "NE": (_SQRT_HALF, _SQRT_HALF), "E": (1.0, 0.0), "SE": (_SQRT_HALF, -_SQRT_HALF),
    "S": (0.0, -1.0), "SW": (-_SQRT_HALF, -_SQRT_HALF), "W": (-1.0, 0.0), "NW": (-_SQRT_HALF, _SQRT_HALF),
}


def camera_basis(scene: SynthScene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The camera's position, forward and up vectors (its right is +x)."""
    pitch = np.radians(scene.pitch_deg)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    up = np.array([0.0, np.cos(pitch), np.sin(pitch)])
    return np.array([0.0, scene.camera_height, 0.0]), forward, up


def pixel_coordinates(size: int) -> np.ndarray:
    """Pixel centres across [-1, 1] left to right, as exact integer numerators over ``size``, so that
    column i and column size-1-i are exactly opposite (rows use the same values, top row first)."""
    return (2.0 * np.arange(size) + 1.0 - size) / size


def camera_rays(scene: SynthScene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and unit ray directions, one per pixel (row-major, top row first)."""
    origin, forward, up = camera_basis(scene)
    half = np.tan(np.radians(scene.fov_deg) / 2)
    u = pixel_coordinates(size) * half
    v = -pixel_coordinates(size) * half
    vv, uu = np.meshgrid(v, u, indexing="ij")
    d = forward[None, :] + vv.reshape(-1, 1) * up[None, :]
    d[:, 0] = uu.reshape(-1)
    d /= np.sqrt(dot(d, d))[:, None]
    return origin, d


def central_hit(scene: SynthScene) -> tuple[np.ndarray, float]:
    """Where the camera's central ray first hits the scene, and how far away that is."""
    origin, forward, _ = camera_basis(scene)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        t, index, _ = first_hit(scene.primitives, origin[None, :], forward[None, :])
    if index[0] < 0:
        raise RelightError(f"scene {scene.name}: the camera's central ray hits nothing; cannot place the light ring")
    return origin + t[0] * forward, float(t[0])


def light_positions(scene: SynthScene, central: tuple[np.ndarray, float] | None = None) -> dict[str, np.ndarray]:
    """The 8 light positions: a ring above where the central ray hits, scaled by that hit distance
    (and by the scene's ``light_distance``). ``central`` is :func:`central_hit` where the caller has it."""
    hit, distance = central or central_hit(scene)
    radius = RING_RADIUS * distance * scene.light_distance
    height = RING_HEIGHT * distance * scene.light_distance
    return {
        name: np.array([hit[0] + radius * dx, hit[1] + height, hit[2] + radius * dz])
        for name, (dx, dz) in COMPASS.items()
    }


def reference_irradiance(scene: SynthScene, central: float) -> float:
    """The squared light distance that makes a light give cos(incidence) at the central hit point."""
    return (RING_RADIUS**2 + RING_HEIGHT**2) * central**2 * scene.light_distance**2


def normalised_depth(distance: np.ndarray, hit: np.ndarray, central: float, size: int) -> np.ndarray:
    """VIDIT-style depth in [0, 1] from per-pixel distances (``hit`` marks pixels that see a surface)."""
    far = min(float(distance[hit].max()), FAR * central) if hit.any() else 1.0
    return np.where(hit, np.minimum(distance / far, 1.0), 1.0).astype(np.float32).reshape(size, size)
