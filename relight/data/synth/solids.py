"""The shapes of world scenes beyond the classic five: ellipsoids, convex polyhedra and heightfield terrain.

Each follows :mod:`~relight.data.synth.shapes`' conventions: ``hit`` (distance along unit rays and the
outward normal), ``local`` and ``local_normal`` (texture coordinates and normals in the object's own
frame), ``bound`` (a bounding sphere) and ``mirrored`` (x negated, ``handed`` flipped), written so that a
mirrored object is hit at exactly the mirrored points. An object turned by ``yaw`` about the vertical
works in a frame that its mirror image reflects, as :class:`~relight.data.synth.shapes.Box` does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from relight.data.synth.materials import Material
from relight.data.synth.shapes import yaw_to_local, yaw_to_world
from relight.data.synth.textures import Texture

_EPS = 1e-6
#: The polyhedra a world scene draws (each a unit shape scaled by its half-sizes).
SOLID_KINDS = ("wedge", "pyramid", "prism", "rock")


class _Turned:
    """The frame of an object at ``center`` turned by ``yaw`` (its cosine and sine), reflected for a
    mirrored one: texture coordinates, normals, and the mirror image."""

    center: tuple[float, float, float]
    cos_yaw: float
    sin_yaw: float
    handed: float

    def frame(self, v: np.ndarray, offset: bool) -> np.ndarray:
        """World points (``offset``: less the centre) or directions in the object's reflected frame."""
        local = yaw_to_local(v - np.asarray(self.center) if offset else v, self.cos_yaw, self.sin_yaw)
        return local * np.array([self.handed, 1.0, 1.0])

    def world(self, v: np.ndarray) -> np.ndarray:
        """Directions of the reflected frame in the world."""
        return yaw_to_world(v * np.array([self.handed, 1.0, 1.0]), self.cos_yaw, self.sin_yaw)

    def local(self, p: np.ndarray) -> np.ndarray:
        return self.frame(p, True)

    def local_normal(self, n: np.ndarray) -> np.ndarray:
        return self.frame(n, False)

    def mirrored(self):  # noqa: ANN201 - the dataclass's own type
        x, y, z = self.center
        return replace(self, center=(-x, y, z), sin_yaw=-self.sin_yaw, handed=-self.handed)  # type: ignore[type-var]


@dataclass(frozen=True)
class Ellipsoid(_Turned):
    """An ellipsoid of half-axes ``radii`` (x, y, z in its frame) at ``center``, turned by ``yaw``."""

    center: tuple[float, float, float]
    radii: tuple[float, float, float]
    cos_yaw: float
    sin_yaw: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        radii = np.asarray(self.radii)
        lo, ld = self.frame(o, True) / radii, self.frame(d, False) / radii
        a = np.sum(ld * ld, axis=1)
        b = np.sum(lo * ld, axis=1)
        disc = b * b - a * (np.sum(lo * lo, axis=1) - 1.0)
        root = np.sqrt(np.maximum(disc, 0.0))
        near, far = (-b - root) / a, (-b + root) / a
        t = np.where(near > _EPS, near, far)
        t = np.where((disc >= 0) & (t > _EPS), t, np.inf)
        local_n = (lo + np.where(np.isfinite(t), t, 0.0)[:, None] * ld) / radii
        local_n /= np.maximum(np.sqrt(np.sum(local_n * local_n, axis=1)), 1e-12)[:, None]
        return t, self.world(local_n)

    def bound(self) -> tuple[np.ndarray, float]:
        return np.asarray(self.center), float(max(self.radii))


@cache
def polyhedron(kind: str, radii: tuple[float, ...] = ()) -> tuple[np.ndarray, tuple[tuple[int, ...], ...]]:
    """The vertices (in [-1, 1]^3) and faces (vertex loops, counter-clockwise seen from outside) of a
    unit solid of ``kind``; a ``rock`` is an octahedron with its six vertices at ``radii``."""
    if kind == "wedge":  # a ramp: its slope rises towards -x
        vertices = [(-1, -1, -1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1), (1, -1, 1), (-1, 1, 1)]
        faces = ((0, 1, 2), (3, 5, 4), (0, 3, 4, 1), (0, 2, 5, 3), (1, 4, 5, 2))
    elif kind == "pyramid":
        vertices = [(-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1), (0, 1, 0)]
        faces = ((0, 1, 2, 3), (0, 4, 1), (1, 4, 2), (2, 4, 3), (3, 4, 0))
    elif kind == "prism":  # hexagonal, standing
        angles = np.pi / 3 * np.arange(6)
        ring = [(float(np.cos(a)), float(np.sin(a))) for a in angles]
        vertices = [(x, -1, z) for x, z in ring] + [(x, 1, z) for x, z in ring]
        faces = (tuple(range(6)), tuple(range(11, 5, -1))) + tuple((k, (k + 1) % 6, (k + 1) % 6 + 6, k + 6) for k in range(6))
    else:
        r = radii or (1.0,) * 6
        vertices = [(r[0], 0, 0), (-r[1], 0, 0), (0, r[2], 0), (0, -r[3], 0), (0, 0, r[4]), (0, 0, -r[5])]
        faces = tuple((x, y, z) for x in (0, 1) for y in (2, 3) for z in (4, 5))
    points = np.asarray(vertices, dtype=np.float64)
    centre = points.mean(axis=0)
    oriented = []
    for face in faces:  # each loop turned to face outwards
        a, b, c = points[list(face[:3])]
        outward = np.dot(np.cross(b - a, c - a), a - centre) > 0
        oriented.append(tuple(face) if outward else tuple(reversed(face)))
    return points, tuple(oriented)


@cache
def _planes(kind: str, radii: tuple[float, ...], half: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    points, faces = polyhedron(kind, radii)
    points = points * np.asarray(half)
    normals, offsets = [], []
    for face in faces:
        a, b, c = points[list(face[:3])]
        n = np.cross(b - a, c - a)
        n /= np.linalg.norm(n)
        normals.append(n)
        offsets.append(float(np.dot(n, a)))
    return np.asarray(normals), np.asarray(offsets)


@dataclass(frozen=True)
class Solid(_Turned):
    """A convex polyhedron of ``kind`` (:data:`SOLID_KINDS`) with half-sizes ``half`` at ``center``,
    turned by ``yaw``; ``radii`` shape a rock's six vertices."""

    kind: str
    center: tuple[float, float, float]
    half: tuple[float, float, float]
    cos_yaw: float
    sin_yaw: float
    texture: Texture
    radii: tuple[float, ...] = ()
    handed: float = 1.0
    material: Material | None = None

    def planes(self) -> tuple[np.ndarray, np.ndarray]:
        """The faces' outward unit normals and offsets in the object's (unreflected) frame."""
        return _planes(self.kind, self.radii, self.half)

    def distance(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        """:meth:`hit`'s distances alone."""
        return self._crossing(o, d)[0]

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hit_t, inside, t_in, t_out = self._crossing(o, d)
        face = np.where(inside, t_out.argmin(axis=1), t_in.argmax(axis=1))
        return hit_t, self.world(self.planes()[0][face])

    def _crossing(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
        """Where rays enter and leave the solid (every face's plane cut), and the first hit."""
        normals, offsets = self.planes()
        lo, ld = self.frame(o, True), self.frame(d, False)
        denom = sum(ld[:, k, None] * normals[None, :, k] for k in range(3))
        gap = offsets[None, :] - sum(lo[:, k, None] * normals[None, :, k] for k in range(3))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = gap / denom
        entering, leaving = denom < 0, denom > 0
        t_in = np.where(entering, t, -np.inf)
        t_out = np.where(leaving, t, np.inf)
        near, far = t_in.max(axis=1), t_out.min(axis=1)
        parallel_outside = ((denom == 0) & (gap < 0)).any(axis=1)
        inside = near <= _EPS
        hit_t = np.where(inside, far, near)
        hit_t = np.where((near <= far) & (hit_t > _EPS) & ~parallel_outside, hit_t, np.inf)
        return hit_t, inside, t_in, t_out

    def bound(self) -> tuple[np.ndarray, float]:
        points, _ = polyhedron(self.kind, self.radii)
        return np.asarray(self.center), float(np.max(np.linalg.norm(points * np.asarray(self.half), axis=1)))


#: The steepest slope of one bump over its height and its smaller radius: max |d/dr (1 - r^2)^2|.
_BUMP_SLOPE = 8 / (3 * np.sqrt(3))
#: Steps of the terrain's ray march before a ray is given up as passing over it.
MARCH_STEPS = 96
#: How far a ray travels before it can hit the terrain (a shadow ray leaving its surface).
MARCH_START = 1e-3


@dataclass(frozen=True)
class Terrain:
    """Heightfield terrain on the ground: mounds and ridges ``bumps`` (x, z, x-radius, z-radius, height),
    each ``height * (1 - r^2)^2`` inside its ellipse (smooth where it meets the ground), summed.

    Rays march towards the surface in steps no longer than the gap below them over the steepest slope
    the bumps allow, so they never step through it; where the terrain is flat (height 0) it leaves the
    ground plane underneath to be hit.
    """

    bumps: tuple[tuple[float, float, float, float, float], ...]
    texture: Texture
    handed: float = 1.0
    material: Material | None = None

    def heights(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x))
        for cx, cz, rx, rz, height in self.bumps:
            s = ((x - cx) / rx) ** 2 + ((z - cz) / rz) ** 2
            total += np.where(s < 1, height * (1 - np.minimum(s, 1.0)) ** 2, 0.0)
        return total

    def gradient(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gx, gz = np.zeros(len(x)), np.zeros(len(x))
        for cx, cz, rx, rz, height in self.bumps:
            s = ((x - cx) / rx) ** 2 + ((z - cz) / rz) ** 2
            k = np.where(s < 1, -4 * height * (1 - np.minimum(s, 1.0)), 0.0)
            gx += k * (x - cx) / rx**2
            gz += k * (z - cz) / rz**2
        return gx, gz

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """The corners (x, y, z) of a box holding the terrain."""
        b = np.asarray(self.bumps)
        low = np.array([np.min(b[:, 0] - b[:, 2]), 0.0, np.min(b[:, 1] - b[:, 3])])
        high = np.array([np.max(b[:, 0] + b[:, 2]), float(b[:, 4].sum()), np.max(b[:, 1] + b[:, 3])])
        return low, high

    def hit(self, o: np.ndarray, d: np.ndarray, limit: np.ndarray | float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.box()
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (low - o) / d, (high - o) / d
        t_in = np.nanmax(np.minimum(t1, t2), axis=1)
        t_out = np.minimum(np.nanmin(np.maximum(t1, t2), axis=1), limit)
        t = np.maximum(t_in, MARCH_START)
        slope = sum(h * _BUMP_SLOPE / min(rx, rz) for _, _, rx, rz, h in self.bumps)
        closing = slope * np.sqrt(d[:, 0] ** 2 + d[:, 2] ** 2) - d[:, 1]  # the fastest the gap can shrink
        found = np.full(len(o), np.inf)
        rows = np.nonzero((t < t_out) & (closing > 0))[0]
        for _ in range(MARCH_STEPS):
            if not len(rows):
                break
            p = o[rows] + t[rows, None] * d[rows]
            ground = self.heights(p[:, 0], p[:, 2])
            gap = p[:, 1] - ground
            landed = (gap < 1e-4 * (1 + t[rows])) & (ground > 0)
            found[rows[landed]] = t[rows[landed]]
            t[rows] += np.maximum(gap / closing[rows], 1e-4 * (1 + t[rows]))
            keep = ~landed & (p[:, 1] > -1e-4) & (t[rows] < t_out[rows])
            rows = rows[keep]
        p = o + np.where(np.isfinite(found), found, 0.0)[:, None] * d
        gx, gz = self.gradient(p[:, 0], p[:, 2])
        normal = np.stack([-gx, np.ones(len(o)), -gz], axis=1)
        normal /= np.sqrt(np.sum(normal * normal, axis=1))[:, None]
        return found, normal

    def local(self, p: np.ndarray) -> np.ndarray:
        return p * np.array([self.handed, 1.0, 1.0])

    def local_normal(self, n: np.ndarray) -> np.ndarray:
        return n * np.array([self.handed, 1.0, 1.0])

    def bound(self) -> tuple[np.ndarray, float]:
        low, high = self.box()
        return (low + high) / 2, float(np.linalg.norm(high - low) / 2)

    def mirrored(self) -> Terrain:
        bumps = tuple((-cx, cz, rx, rz, h) for cx, cz, rx, rz, h in self.bumps)
        return replace(self, bumps=bumps, handed=-self.handed)
