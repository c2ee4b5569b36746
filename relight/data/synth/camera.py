"""The conventions both renderers share: the camera, the light ring and the depth normalisation.

A pinhole camera at (0, camera_height, 0) looks north (+z) and down by ``pitch_deg``, turned about its
axis by ``roll_deg``; east (+x) is to the camera's right when it is level. Its field of view spans the
image's width; an image is ``size`` (square) or (height, width) pixels. As in VIDIT, the light sits on a
horizontal ring centred above the point the central ray hits, with ring radius and height proportional
to that hit distance, at the 8 compass directions. Depth is distance from the camera over
min(farthest hit, FAR * central hit distance).
"""

from __future__ import annotations

from dataclasses import replace

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


def image_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    """(height, width) of an image of ``size``: one side for a square, or (height, width)."""
    return (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))


def camera_basis(scene: SynthScene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The camera's position, forward and up vectors (see :func:`camera_right` for its right)."""
    pitch = np.radians(scene.pitch_deg)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    up = np.array([0.0, np.cos(pitch), np.sin(pitch)])
    if scene.roll_deg:
        up = np.cos(np.radians(scene.roll_deg)) * up - _roll_sine(scene) * np.array([1.0, 0.0, 0.0])
    return np.array([0.0, scene.camera_height, 0.0]), forward, up


def _roll_sine(scene: SynthScene) -> float:
    """The sine of the roll, exactly odd in the roll (so a mirrored scene's camera is the mirrored camera)."""
    return float(np.copysign(np.sin(np.radians(abs(scene.roll_deg))), scene.roll_deg))


def camera_right(scene: SynthScene) -> np.ndarray:
    """The camera's right vector: +x when it is level, turned by the roll about the forward axis."""
    if not scene.roll_deg:
        return np.array([1.0, 0.0, 0.0])
    _, _, level_up = camera_basis(replace(scene, roll_deg=0.0))
    return np.cos(np.radians(scene.roll_deg)) * np.array([1.0, 0.0, 0.0]) + _roll_sine(scene) * level_up


def pixel_coordinates(size: int, width: int | None = None) -> np.ndarray:
    """Pixel centres of ``size`` pixels across, as exact integer numerators over ``width`` (over ``size``
    itself when None: [-1, 1] left to right), so that pixel i and pixel size-1-i are exactly opposite
    (rows use the same values over the width, top row first)."""
    return (2.0 * np.arange(size) + 1.0 - size) / (size if width is None else width)


def camera_rays(scene: SynthScene, size: int | tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and unit ray directions, one per pixel (row-major, top row first)."""
    origin, forward, up = camera_basis(scene)
    height, width = image_shape(size)
    half = np.tan(np.radians(scene.fov_deg) / 2)
    u = pixel_coordinates(width) * half
    v = -pixel_coordinates(height, width) * half
    vv, uu = np.meshgrid(v, u, indexing="ij")
    d = forward[None, :] + vv.reshape(-1, 1) * up[None, :]
    if scene.roll_deg:
        d += uu.reshape(-1, 1) * camera_right(scene)[None, :]
    else:
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


def ring(scene: SynthScene) -> tuple[float, float]:
    """The light ring's radius and height over the central hit distance: the scene's rig's, or VIDIT's."""
    return (RING_RADIUS, RING_HEIGHT) if scene.rig is None else (scene.rig.radius, scene.rig.height)


def light_positions(scene: SynthScene, central: tuple[np.ndarray, float] | None = None) -> dict[str, np.ndarray]:
    """The 8 light positions: a ring above where the central ray hits, scaled by that hit distance
    (and by the scene's ``light_distance``). ``central`` is :func:`central_hit` where the caller has it."""
    hit, distance = central or central_hit(scene)
    ring_radius, ring_height = ring(scene)
    radius = ring_radius * distance * scene.light_distance
    height = ring_height * distance * scene.light_distance
    return {
        name: np.array([hit[0] + radius * dx, hit[1] + height, hit[2] + radius * dz])
        for name, (dx, dz) in COMPASS.items()
    }


def reference_irradiance(scene: SynthScene, central: float) -> float:
    """The squared light distance that makes a light give cos(incidence) at the central hit point."""
    ring_radius, ring_height = ring(scene)
    return (ring_radius**2 + ring_height**2) * central**2 * scene.light_distance**2


def falloff(scene: SynthScene, reference: float, dist2: np.ndarray) -> np.ndarray:
    """The lamp's irradiance over cos(incidence) at squared distances ``dist2``: 1 at the reference
    distance, falling with the rig's power of distance (inverse square without a rig)."""
    if scene.rig is None or scene.rig.falloff == 2.0:
        return reference / dist2
    return (reference / dist2) ** (scene.rig.falloff / 2)


def normalised_depth(distance: np.ndarray, hit: np.ndarray, central: float, size: int | tuple[int, int]) -> np.ndarray:
    """VIDIT-style depth in [0, 1] from per-pixel distances (``hit`` marks pixels that see a surface)."""
    far = min(float(distance[hit].max()), FAR * central) if hit.any() else 1.0
    return np.where(hit, np.minimum(distance / far, 1.0), 1.0).astype(np.float32).reshape(image_shape(size))


def shadow_mask(hit: np.ndarray, seen: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A light's 8-bit shadow mask from the share of it each surface point sees (``seen``, per pixel of
    ``hit``): 255 where a surface gets none of it (blocked, or turned away), 0 where it sees all of it,
    the share hidden in penumbrae; 0 where a ray hits nothing."""
    blocked = np.zeros(len(hit))
    blocked[hit] = 1.0 - seen
    return np.round(blocked * 255.0).astype(np.uint8).reshape(shape)
