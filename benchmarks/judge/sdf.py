"""Signed distance fields: the judge's geometry, evaluated on N x 3 arrays of points.

Each shape gives a distance that never overstates the true distance to its surface (exact, or scaled by
a Lipschitz bound where a surface is displaced or a profile is revolved), which is all sphere tracing
needs. A bounded shape also gives a bounding sphere: far from it the sphere's distance is used instead
of the shape's, which is still a lower bound and far cheaper (:meth:`Field.distance`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from judge.noise import fbm2


def _length(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", v, v))


def _yaw(p: np.ndarray, centre: np.ndarray, yaw: float) -> np.ndarray:
    """``p`` in a frame centred at ``centre`` and turned by ``yaw`` radians about the vertical."""
    q = p - centre
    if yaw == 0.0:
        return q
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * q[:, 0] - s * q[:, 2], q[:, 1], s * q[:, 0] + c * q[:, 2]], axis=1)


@dataclass(frozen=True)
class Shape:
    """A distance function, the material it wears, and a bounding sphere (radius inf: unbounded)."""

    dist: Callable[[np.ndarray], np.ndarray]
    material: int
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    radius: float = float("inf")
    #: A blend's parts, whose nearest gives the material.
    parts: tuple["Shape", ...] = ()
    #: An unbounded shape that is not a half-space (a heightfield): it can block a segment between two
    #: free points, where a half-space (a floor, a wall) never can.
    heightfield: bool = False


def ground(height: float, material: int) -> Shape:
    return Shape(lambda p: p[:, 1] - height, material)


def wall(normal: Sequence[float], offset: float, material: int) -> Shape:
    """The half-space ``dot(p, normal) > offset`` is free; ``normal`` must be a unit vector."""
    n = np.asarray(normal, dtype=np.float64)
    return Shape(lambda p: p @ n - offset, material)


class Heightfield:
    """Rolling ground: ``amplitude * (fbm(x / scale, z / scale) - 0.5)`` sampled once on a grid over
    ``extent`` (x0, x1, z0, z1) and interpolated bilinearly (held at the edge value beyond it)."""

    def __init__(self, amplitude: float, scale: float, seed: int, extent: tuple[float, float, float, float]) -> None:
        x0, x1, z0, z1 = extent
        self.cell = scale / 24.0
        self.x0, self.z0 = x0, z0
        self.nx, self.nz = int(np.ceil((x1 - x0) / self.cell)) + 1, int(np.ceil((z1 - z0) / self.cell)) + 1
        gx, gz = np.meshgrid(x0 + self.cell * np.arange(self.nx), z0 + self.cell * np.arange(self.nz), indexing="ij")
        self.grid = amplitude * (fbm2(gx / scale, gz / scale, seed, octaves=4) - 0.5)
        #: The steepest slope noise of this amplitude and scale gives, with room to spare.
        self.lipschitz = 1.0 / np.sqrt(1.0 + (2.5 * amplitude / scale) ** 2)

    def height(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        u = np.clip((x - self.x0) / self.cell, 0.0, self.nx - 1.000001)
        v = np.clip((z - self.z0) / self.cell, 0.0, self.nz - 1.000001)
        i, k = u.astype(np.int64), v.astype(np.int64)
        fu, fv = u - i, v - k
        g = self.grid
        return (g[i, k] * (1 - fu) + g[i + 1, k] * fu) * (1 - fv) + (g[i, k + 1] * (1 - fu) + g[i + 1, k + 1] * fu) * fv

    def shape(self, material: int) -> Shape:
        return Shape(lambda p: (p[:, 1] - self.height(p[:, 0], p[:, 2])) * self.lipschitz, material, heightfield=True)


def round_box(centre: Sequence[float], half: Sequence[float], rounding: float, material: int, yaw: float = 0.0) -> Shape:
    c, b = np.asarray(centre, float), np.asarray(half, float) - rounding

    def dist(p: np.ndarray) -> np.ndarray:
        q = np.abs(_yaw(p, c, yaw)) - b
        outside = _length(np.maximum(q, 0.0))
        return outside + np.minimum(q.max(axis=1), 0.0) - rounding

    return Shape(dist, material, tuple(c), float(np.linalg.norm(half)) + 1e-3)


def ellipsoid(centre: Sequence[float], radii: Sequence[float], material: int, yaw: float = 0.0) -> Shape:
    """A bound of the ellipsoid's distance: (|q/r| - 1) * min(r), exact for a sphere."""
    c, r = np.asarray(centre, float), np.asarray(radii, float)
    return Shape(lambda p: (_length(_yaw(p, c, yaw) / r) - 1.0) * r.min(), material, tuple(c), float(r.max()) + 1e-3)


def cylinder(base: Sequence[float], radius: float, height: float, material: int) -> Shape:
    """An upright cylinder standing on ``base``."""
    c = np.asarray(base, float) + np.array([0.0, height / 2, 0.0])

    def dist(p: np.ndarray) -> np.ndarray:
        q = p - c
        d = np.stack([np.hypot(q[:, 0], q[:, 2]) - radius, np.abs(q[:, 1]) - height / 2], axis=1)
        return np.minimum(d.max(axis=1), 0.0) + _length(np.maximum(d, 0.0))

    return Shape(dist, material, tuple(c), float(np.hypot(radius, height / 2)) + 1e-3)


def torus(centre: Sequence[float], major: float, minor: float, material: int) -> Shape:
    """A ring lying flat."""
    c = np.asarray(centre, float)

    def dist(p: np.ndarray) -> np.ndarray:
        q = p - c
        return np.hypot(np.hypot(q[:, 0], q[:, 2]) - major, q[:, 1]) - minor

    return Shape(dist, material, tuple(c), major + minor + 1e-3)


def capsule(a: Sequence[float], b: Sequence[float], radius: float, material: int) -> Shape:
    pa, pb = np.asarray(a, float), np.asarray(b, float)
    ab = pb - pa

    def dist(p: np.ndarray) -> np.ndarray:
        ap = p - pa
        h = np.clip(ap @ ab / (ab @ ab), 0.0, 1.0)
        return _length(ap - h[:, None] * ab) - radius

    return Shape(dist, material, tuple((pa + pb) / 2), float(np.linalg.norm(ab)) / 2 + radius + 1e-3)


def lathe(base: Sequence[float], height: float, profile: Callable[[np.ndarray], np.ndarray], slope: float,
          material: int, wall: float = 0.0) -> Shape:
    """A solid of revolution about the vertical through ``base``: radius ``profile(s)`` at height fraction
    ``s`` in [0, 1]. ``slope`` bounds |dr/dy|, which bounds the distance; ``wall`` > 0 hollows it open at the top."""
    c = np.asarray(base, float)
    lipschitz = 1.0 / np.sqrt(1.0 + slope**2)
    probe = np.linspace(0.0, 1.0, 65)
    widest = float(profile(probe).max())

    def dist(p: np.ndarray) -> np.ndarray:
        q = p - c
        s = np.clip(q[:, 1] / height, 0.0, 1.0)
        side = (np.hypot(q[:, 0], q[:, 2]) - profile(s)) * lipschitz
        if wall > 0:
            side = np.abs(side + wall) - wall
        return np.maximum(side, np.abs(q[:, 1] - height / 2) - height / 2)

    return Shape(dist, material, tuple(c + [0.0, height / 2, 0.0]), float(np.hypot(widest, height / 2)) + 1e-3)


def bowl(centre: Sequence[float], radius: float, thickness: float, material: int) -> Shape:
    """The lower half of a spherical shell, its rim at the centre's height."""
    c = np.asarray(centre, float)

    def dist(p: np.ndarray) -> np.ndarray:
        q = p - c
        shell = np.abs(_length(q) - radius) - thickness
        return np.maximum(shell, q[:, 1])

    return Shape(dist, material, tuple(c), radius + thickness + 1e-3)


def rock(centre: Sequence[float], radii: Sequence[float], roughness: float, seed: int, material: int, yaw: float = 0.0) -> Shape:
    """An ellipsoid displaced by six plane waves of random direction, frequency and phase, of total
    relative amplitude ``roughness``: a boulder. The waves' steepest slope bounds the distance's scale."""
    c, r = np.asarray(centre, float), np.asarray(radii, float)
    scale = float(r.min())
    rng = np.random.default_rng(seed)
    waves = rng.normal(size=(6, 3))
    waves *= (rng.uniform(1.5, 7.0, 6) / scale / np.linalg.norm(waves, axis=1))[:, None]
    amplitude = roughness * scale / np.linalg.norm(waves, axis=1) * (1.5 / scale)
    amplitude *= roughness * scale / amplitude.sum()
    phase = rng.uniform(0, 2 * np.pi, 6)
    lipschitz = 1.0 / (1.0 + float(np.sum(amplitude * np.linalg.norm(waves, axis=1))))
    smooth = ellipsoid(centre, radii, material, yaw).dist

    def dist(p: np.ndarray) -> np.ndarray:
        bump = np.sin((p - c) @ waves.T + phase[None, :]) @ amplitude
        return (smooth(p) + bump) * lipschitz

    return Shape(dist, material, tuple(c), float(r.max()) + roughness * scale + 1e-3)


def blend(parts: Sequence[Shape], k: float) -> Shape:
    """Parts joined by a smooth minimum of radius ``k`` (a bottle's neck into its body); the material is
    the nearest part's (:func:`Field.material_at` looks at the parts)."""

    def dist(p: np.ndarray) -> np.ndarray:
        d = parts[0].dist(p)
        for part in parts[1:]:
            e = part.dist(p)
            h = np.clip(0.5 + 0.5 * (e - d) / k, 0.0, 1.0)
            d = e + (d - e) * h - k * h * (1.0 - h)
        return d

    centres = np.array([s.centre for s in parts])
    middle = centres.mean(axis=0)
    reach = max(float(np.linalg.norm(s.centre - middle)) + s.radius for s in parts)
    return Shape(dist, -1, tuple(middle), reach + k, tuple(parts))


@dataclass
class Field:
    """A scene's shapes: the union's distance, and which material a surface point wears.

    A march first lists, per ray, the shapes it can come near (:meth:`candidates`: bounded shapes whose
    sphere the ray passes within reach of, and every unbounded shape that can block it), and then
    evaluates each shape only on its candidate rays, so that a step costs what the rays near objects cost.
    """

    shapes: list[Shape]
    #: Within this distance of a bounding sphere the shape itself is evaluated.
    margin: float = 0.25

    def __post_init__(self) -> None:
        self._bounded = np.array([np.isfinite(s.radius) for s in self.shapes], dtype=bool)
        self._centres = np.array([s.centre for s in self.shapes], dtype=np.float64).reshape(-1, 3)
        self._radii = np.array([s.radius if np.isfinite(s.radius) else 0.0 for s in self.shapes])
        #: Unbounded shapes that can block a segment between two free points (heightfields, not half-spaces).
        self._blocking = np.array([s.heightfield for s in self.shapes], dtype=bool)

    def candidates(self, origin: np.ndarray, d: np.ndarray, length: np.ndarray | float, widen: float,
                   half_spaces: bool = True) -> np.ndarray:
        """N x shapes: whether the segment ``origin + t d`` (0 <= t <= length) passes within a bounded
        shape's sphere plus ``widen`` plus the margin; unbounded shapes always, half-spaces only with
        ``half_spaces`` (a segment between two free points never crosses one)."""
        out = np.zeros((len(origin), len(self.shapes)), dtype=bool)
        out[:, ~self._bounded] = self._blocking[~self._bounded] | half_spaces
        for j in np.nonzero(self._bounded)[0]:
            w = self._centres[j][None, :] - origin
            t = np.clip(np.einsum("ij,ij->i", w, d), 0.0, length)
            gap = w - t[:, None] * d
            out[:, j] = np.einsum("ij,ij->i", gap, gap) < (self._radii[j] + widen + self.margin) ** 2
        return out

    def distance(self, p: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        """The union's distance at each point (over its ``candidates`` row's shapes when given; inf where
        a point has none)."""
        out = np.full(len(p), np.inf)
        counts = candidates.sum(axis=0) if candidates is not None else np.full(len(self.shapes), len(p))
        for j, shape in enumerate(self.shapes):
            if not counts[j]:
                continue
            rows = slice(None) if counts[j] == len(p) else np.nonzero(candidates[:, j])[0]  # type: ignore[index]
            q = p[rows]
            if not self._bounded[j]:
                out[rows] = np.minimum(out[rows], shape.dist(q))
                continue
            w = q - self._centres[j][None, :]
            value = np.sqrt(np.einsum("ij,ij->i", w, w)) - self._radii[j]
            near = np.nonzero(value < self.margin)[0]
            if len(near):
                value[near] = shape.dist(q[near])
            out[rows] = np.minimum(out[rows], value)
        return out

    def material_at(self, p: np.ndarray) -> np.ndarray:
        """The material index of the surface nearest each point."""
        each = np.stack([shape.dist(p) for shape in self.shapes], axis=1)
        nearest = each.argmin(axis=1)
        out = np.empty(len(p), dtype=np.int64)
        for j, shape in enumerate(self.shapes):
            mine = np.nonzero(nearest == j)[0]
            if not len(mine):
                continue
            if not shape.parts:
                out[mine] = shape.material
                continue
            closest = np.stack([part.dist(p[mine]) for part in shape.parts], axis=1).argmin(axis=1)
            out[mine] = np.array([part.material for part in shape.parts])[closest]
        return out
