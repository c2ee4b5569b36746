"""Sphere tracing through a :class:`~judge.sdf.Field`: first hits, normals, cone-traced soft shadows and
ambient occlusion, vectorised over pixels with numpy.

A ray advances by the field's distance (never past a surface) until it comes within a pixel's footprint
of one. A shadow ray towards a spherical light of radius R keeps, at each step, the ratio of the
clearance h around the ray to the radius of the cone from the point to the light's disc there
(R * t / L); the light's visible fraction is taken as 0.5 + 0.5 * min(h / cone), clamped to [0, 1] and
smoothed: one march per light gives penumbrae as wide as the light and the occluder's distance make them.
Both marches look only at the shapes each ray can come near (:meth:`~judge.sdf.Field.candidates`).
"""

from __future__ import annotations

import numpy as np

from judge.sdf import Field

#: Tetrahedron offsets for the normal's central differences.
_TETRA = np.array([[1.0, -1.0, -1.0], [-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, 1.0, 1.0]])


def march(field: Field, origin: np.ndarray, dirs: np.ndarray, far: float, footprint: float,
          steps: int = 220) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each ray to its first surface, and whether it found one before ``far``.

    A hit is a field distance under ``footprint * t`` (the pixel's half-width at that distance) plus a
    small floor; rays that exhaust ``steps`` close to a surface count as hits."""
    n = len(dirs)
    near = field.candidates(origin, dirs, far, widen=0.0)
    t = np.zeros(n)
    hit = np.zeros(n, dtype=bool)
    active = np.nonzero(near.any(axis=1))[0]
    floor = 1e-5 * far
    last = np.full(n, np.inf)
    for _ in range(steps):
        if not len(active):
            break
        d = field.distance(origin[active] + t[active, None] * dirs[active], near[active])
        last[active] = d
        close = d < footprint * t[active] + floor
        hit[active[close]] = True
        t[active] += np.where(close, 0.0, d)
        keep = ~close & (t[active] < far)
        active = active[keep]
    if len(active):
        hit[active] = last[active] < 20 * (footprint * t[active] + floor)
    return t, hit


def normals(field: Field, p: np.ndarray, eps: np.ndarray | float) -> np.ndarray:
    """Unit surface normals by tetrahedral differences of the field at offsets ``eps``."""
    eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), (len(p),))
    grad = np.zeros_like(p)
    for k in _TETRA:
        grad += k[None, :] * field.distance(p + eps[:, None] * k[None, :])[:, None]
    return grad / np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-12)


def soft_visibility(field: Field, start: np.ndarray, light: np.ndarray, radius: float, scale: float,
                    steps: int = 64) -> np.ndarray:
    """The fraction (0 to 1) of a spherical light of ``radius`` at ``light`` each point ``start`` sees."""
    to_light = light[None, :] - start
    length = np.linalg.norm(to_light, axis=1)
    d = to_light / length[:, None]
    reach = np.maximum(length - radius, 0.0)
    near = field.candidates(start, d, reach, widen=radius, half_spaces=False)
    ratio = np.full(len(start), np.inf)
    t = np.full(len(start), 2e-3 * scale)
    active = np.nonzero(near.any(axis=1))[0]
    for _ in range(steps):
        if not len(active):
            break
        h = field.distance(start[active] + t[active, None] * d[active], near[active])
        cone = radius * t[active] / length[active]
        ratio[active] = np.minimum(ratio[active], h / np.maximum(cone, 1e-9))
        t[active] += np.clip(h, 4e-3 * scale, 0.25 * scale)
        keep = (t[active] < reach[active]) & (ratio[active] > -1.0)
        active = active[keep]
    v = np.clip(0.5 + 0.5 * ratio, 0.0, 1.0)
    return v * v * (3.0 - 2.0 * v)


def occlusion(field: Field, p: np.ndarray, n: np.ndarray, spacing: float, samples: int = 5) -> np.ndarray:
    """Ambient occlusion in [0, 1] (1: open): how far the field's distance falls short of the distance
    travelled along the normal, nearer samples weighing more."""
    short = np.zeros(len(p))
    weight = 1.0
    for k in range(1, samples + 1):
        step = k * spacing
        short += weight * np.clip(step - field.distance(p + step * n), 0.0, None) / step
        weight *= 0.6
    return np.clip(1.0 - 0.9 * short / 2.0, 0.0, 1.0)
