"""Scene geometry: the primitives, a scene, and ray queries against them (nearest hit, occlusion).

Every formula is written so that mirroring in x negates x-quantities exactly: each primitive's
:meth:`mirrored` negates its x-position and flips its ``handed`` flag (which reflects its local texture
coordinates), and a mirrored scene renders as the exact horizontal flip of the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Self

import numpy as np

from relight.data.synth.materials import Material
from relight.data.synth.settings import DepthEstimate, LightRig, Look
from relight.data.synth.textures import Texture

_EPS = 1e-6
#: Ambient light as a fraction of the light's irradiance at the ring centre, when a scene gives none.
AMBIENT = 0.07


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two N x 3 arrays, summed in x, y, z order (so mirroring is exact)."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _safe(d: np.ndarray) -> np.ndarray:
    """Direction components away from zero, keeping the sign (so a mirrored -0.0 stays mirrored)."""
    return np.where(np.abs(d) < 1e-12, np.copysign(1e-12, d), d)


def _sphere_hit(o: np.ndarray, d: np.ndarray, center: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    oc = o - center
    b = dot(oc, d)
    disc = b * b - (dot(oc, oc) - radius**2)
    root = np.sqrt(np.maximum(disc, 0.0))
    t = np.where(-b - root > _EPS, -b - root, -b + root)
    t = np.where((disc >= 0) & (t > _EPS), t, np.inf)
    return t, (oc + t[:, None] * d) / radius


def _upright_local(p: np.ndarray, center: tuple[float, float], handed: float, base: float) -> np.ndarray:
    cx, cz = center
    return np.stack([(p[:, 0] - cx) * handed, p[:, 1] - base, p[:, 2] - cz], axis=1)


def _upright_bound(center: tuple[float, float], radius: float, cap: float, length: float, base: float) -> tuple[np.ndarray, float]:
    """The bounding sphere of an upright object of ``radius`` from y = ``base`` up by ``length + 2 * cap``."""
    half = cap + length / 2
    return np.array([center[0], base + half, center[1]]), float(np.hypot(radius, length / 2) + cap)


def _reflected(v: np.ndarray, handed: float) -> np.ndarray:
    """Directions in an object's frame: x reflected for a mirrored (left-handed) object."""
    return v * np.array([handed, 1.0, 1.0])


class _Upright:
    """Texture coordinates, bound and mirror image shared by the upright objects standing at ``center``
    (x, z) on y = ``base``."""

    center: tuple[float, float]
    radius: float
    height: float
    handed: float
    base: float

    def local(self, p: np.ndarray) -> np.ndarray:
        return _upright_local(p, self.center, self.handed, self.base)

    def local_normal(self, n: np.ndarray) -> np.ndarray:
        return _reflected(n, self.handed)

    def bound(self) -> tuple[np.ndarray, float]:
        return _upright_bound(self.center, self.radius, 0.0, self.height, self.base)

    def mirrored(self) -> Self:
        cx, cz = self.center
        return replace(self, center=(-cx, cz), handed=-self.handed)  # type: ignore[type-var]


@dataclass(frozen=True)
class Sphere:
    center: tuple[float, float, float]
    radius: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance along unit rays to the first hit (inf for none) and the outward normal there."""
        return _sphere_hit(o, d, np.asarray(self.center), self.radius)

    def local(self, p: np.ndarray) -> np.ndarray:
        return (p - np.asarray(self.center)) * np.array([self.handed, 1.0, 1.0])

    def local_normal(self, n: np.ndarray) -> np.ndarray:
        """A world direction (a normal) in the frame :meth:`local` gives coordinates in."""
        return _reflected(n, self.handed)

    def bound(self) -> tuple[np.ndarray, float]:
        """A sphere holding the object: centre and radius."""
        return np.asarray(self.center), self.radius

    def mirrored(self) -> Sphere:
        x, y, z = self.center
        return replace(self, center=(-x, y, z), handed=-self.handed)


def yaw_to_local(v: np.ndarray, c: float, s: float) -> np.ndarray:
    """N x 3 world vectors in the frame of an object turned by yaw about the vertical (its cosine ``c`` and sine ``s``)."""
    return np.stack([c * v[:, 0] - s * v[:, 2], v[:, 1], s * v[:, 0] + c * v[:, 2]], axis=1)


def yaw_to_world(v: np.ndarray, c: float, s: float) -> np.ndarray:
    """The inverse of :func:`yaw_to_local`."""
    return np.stack([c * v[:, 0] + s * v[:, 2], v[:, 1], -s * v[:, 0] + c * v[:, 2]], axis=1)


@dataclass(frozen=True)
class Box:
    """A box standing on the ground, turned by ``yaw`` about the vertical (given as its cosine and sine)."""

    center: tuple[float, float, float]
    half: tuple[float, float, float]
    cos_yaw: float
    sin_yaw: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None

    def to_local(self, v: np.ndarray) -> np.ndarray:
        return yaw_to_local(v, self.cos_yaw, self.sin_yaw)

    def to_world(self, v: np.ndarray) -> np.ndarray:
        return yaw_to_world(v, self.cos_yaw, self.sin_yaw)

    def _slabs(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
        lo = self.to_local(o - np.asarray(self.center))
        ld = _safe(self.to_local(d))
        half = np.asarray(self.half)
        t1 = (-half - lo) / ld
        t2 = (half - lo) / ld
        tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
        near, far = tmin.max(axis=1), tmax.min(axis=1)
        t = np.where(near > _EPS, near, far)
        t = np.where((near <= far) & (t > _EPS), t, np.inf)
        return t, near, tmin, tmax, lo, ld

    def distance(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        """:meth:`hit`'s distances alone (for shadow rays, which need no normal)."""
        return self._slabs(o, d)[0]

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t, near, tmin, tmax, lo, ld = self._slabs(o, d)
        axis = np.where(near > _EPS, tmin.argmax(axis=1), tmax.argmin(axis=1))
        rows = np.arange(len(o))
        local_n = np.zeros_like(lo)
        local_n[rows, axis] = -np.sign(ld[rows, axis])
        return t, self.to_world(local_n)

    def local(self, p: np.ndarray) -> np.ndarray:
        return self.to_local(p - np.asarray(self.center)) * np.array([self.handed, 1.0, 1.0])

    def local_normal(self, n: np.ndarray) -> np.ndarray:
        return _reflected(self.to_local(n), self.handed)

    def bound(self) -> tuple[np.ndarray, float]:
        return np.asarray(self.center), float(np.linalg.norm(self.half))

    def mirrored(self) -> Box:
        x, y, z = self.center
        return replace(self, center=(-x, y, z), sin_yaw=-self.sin_yaw, handed=-self.handed)


@dataclass(frozen=True)
class Cylinder(_Upright):
    """An upright cylinder standing on y = ``base`` (the ground, or terrain), with a top cap."""

    center: tuple[float, float]
    radius: float
    height: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None
    base: float = 0.0

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cx, cz = self.center
        ox, oz = o[:, 0] - cx, o[:, 2] - cz
        dx, dz = d[:, 0], d[:, 2]
        a = np.maximum(dx * dx + dz * dz, 1e-18)
        b = ox * dx + oz * dz
        disc = b * b - a * (ox * ox + oz * oz - self.radius**2)
        root = np.sqrt(np.maximum(disc, 0.0))
        t_side = np.full(len(o), np.inf)
        for t in ((-b + root) / a, (-b - root) / a):
            y = o[:, 1] + t * d[:, 1]
            ok = (disc >= 0) & (t > _EPS) & (y >= self.base) & (y <= self.base + self.height)
            t_side = np.where(ok, np.minimum(t_side, t), t_side)
        t_cap = (self.base + self.height - o[:, 1]) / _safe(d[:, 1])
        cap_x, cap_z = ox + t_cap * dx, oz + t_cap * dz
        t_cap = np.where((t_cap > _EPS) & (cap_x * cap_x + cap_z * cap_z <= self.radius**2), t_cap, np.inf)
        t = np.minimum(t_side, t_cap)
        px, pz = ox + t_side * dx, oz + t_side * dz
        side_n = np.stack([px / self.radius, np.zeros(len(o)), pz / self.radius], axis=1)
        normal = np.where((t_cap < t_side)[:, None], np.array([0.0, 1.0, 0.0]), side_n)
        return t, normal


@dataclass(frozen=True)
class Cone(_Upright):
    """An upright cone standing on y = ``base``: its base of ``radius`` there, its apex ``height`` above."""

    center: tuple[float, float]
    radius: float
    height: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None
    base: float = 0.0

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cx, cz = self.center
        ox, oz = o[:, 0] - cx, o[:, 2] - cz
        k2 = (self.radius / self.height) ** 2
        top = self.base + self.height
        above = top - o[:, 1]  # the apex's height above the ray origin
        a = d[:, 0] * d[:, 0] + d[:, 2] * d[:, 2] - k2 * d[:, 1] * d[:, 1]
        a = np.where(np.abs(a) < 1e-12, 1e-12, a)
        b = ox * d[:, 0] + oz * d[:, 2] + k2 * above * d[:, 1]
        c = ox * ox + oz * oz - k2 * above * above
        disc = b * b - a * c
        root = np.sqrt(np.maximum(disc, 0.0))
        best = np.full(len(o), np.inf)
        for t in ((-b - root) / a, (-b + root) / a):
            y = o[:, 1] + t * d[:, 1]
            ok = (disc >= 0) & (t > _EPS) & (y >= self.base) & (y <= top)
            best = np.where(ok, np.minimum(best, t), best)
        px, pz = ox + best * d[:, 0], oz + best * d[:, 2]
        ny = k2 * (top - (o[:, 1] + best * d[:, 1]))
        normal = np.stack([px, ny, pz], axis=1)
        normal /= np.sqrt(dot(normal, normal))[:, None]
        return best, normal


@dataclass(frozen=True)
class Capsule(_Upright):
    """An upright capsule standing on y = ``base``: a cylinder of ``length`` between two hemispheres."""

    center: tuple[float, float]
    radius: float
    length: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None
    base: float = 0.0

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The first hit of a union seen from outside is the nearest first hit of its parts.
        cx, cz = self.center
        r, bottom = self.radius, self.base + self.radius
        top = bottom + self.length
        t, normal = _sphere_hit(o, d, np.array([cx, bottom, cz]), r)
        t_top, n_top = _sphere_hit(o, d, np.array([cx, top, cz]), r)
        closer = t_top < t
        t, normal = np.where(closer, t_top, t), np.where(closer[:, None], n_top, normal)
        ox, oz = o[:, 0] - cx, o[:, 2] - cz
        a = np.maximum(d[:, 0] * d[:, 0] + d[:, 2] * d[:, 2], 1e-18)
        b = ox * d[:, 0] + oz * d[:, 2]
        disc = b * b - a * (ox * ox + oz * oz - r * r)
        t_side = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
        y = o[:, 1] + t_side * d[:, 1]
        t_side = np.where((disc >= 0) & (t_side > _EPS) & (y >= bottom) & (y <= top), t_side, np.inf)
        side_n = np.stack([(ox + t_side * d[:, 0]) / r, np.zeros(len(o)), (oz + t_side * d[:, 2]) / r], axis=1)
        closer = t_side < t
        return np.where(closer, t_side, t), np.where(closer[:, None], side_n, normal)

    def bound(self) -> tuple[np.ndarray, float]:
        return _upright_bound(self.center, self.radius, self.radius, self.length, self.base)


@dataclass(frozen=True)
class Plane:
    """The ground (``axis=1``, facing up) or a back wall (``axis=2``, facing the camera) at ``offset``."""

    axis: int
    offset: float
    texture: Texture
    handed: float = 1.0
    material: Material | None = None

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = (self.offset - o[:, self.axis]) / _safe(d[:, self.axis])
        t = np.where(t > _EPS, t, np.inf)
        normal = np.zeros_like(o)
        normal[:, self.axis] = 1.0 if self.axis == 1 else -1.0
        return t, normal

    def local(self, p: np.ndarray) -> np.ndarray:
        q = p * np.array([self.handed, 1.0, 1.0])
        q[:, self.axis] = 0.0
        return q

    def local_normal(self, n: np.ndarray) -> np.ndarray:
        return _reflected(n, self.handed)

    def mirrored(self) -> Plane:
        return replace(self, handed=-self.handed)


Primitive = Sphere | Box | Cylinder | Cone | Capsule | Plane
#: The object shapes a random scene may hold (the ground and wall are always planes).
SHAPES = ("sphere", "box", "cylinder", "cone", "capsule")


@dataclass(frozen=True)
class SynthScene:
    """Geometry, camera and light of one synthetic scene; :meth:`mirrored` reflects it left-right (x -> -x).

    ``light_distance`` scales the light ring's radius and height; ``light_size`` is the radius of the
    light (a horizontal disc) as a fraction of the camera's distance to the ring centre, 0 for a point
    light and hard shadows; ``ambient`` is the ambient light as a fraction of the light's irradiance there.
    ``fov_deg`` is the field of view across the image's width; ``roll_deg`` turns the camera about its
    axis (positive raises its right side, so the horizon falls to the right in the image).

    A world scene also sets ``rig`` (the light ring's shape, falloff, sky fill and bounce), ``look``
    (the camera's image pipeline) and ``estimate`` (the depth a user would have); a classic scene
    leaves them None (:mod:`~relight.data.synth.settings`).
    """

    primitives: tuple[Primitive, ...]
    camera_height: float = 1.6
    pitch_deg: float = 18.0
    fov_deg: float = 55.0
    name: str = field(default="scene", compare=False)
    ambient: float = AMBIENT
    light_size: float = 0.0
    light_distance: float = 1.0
    roll_deg: float = 0.0
    rig: LightRig | None = None
    look: Look | None = None
    estimate: DepthEstimate | None = None

    def mirrored(self) -> SynthScene:
        return replace(self, primitives=tuple(p.mirrored() for p in self.primitives), roll_deg=-self.roll_deg)


def first_hit(primitives: tuple[Primitive, ...], o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest distance, index of the primitive hit (-1 for none) and its normal, per ray."""
    best_t = np.full(len(d), np.inf)
    best_i = np.full(len(d), -1)
    best_n = np.zeros_like(d)
    for i, prim in enumerate(primitives):
        near = None if isinstance(prim, Plane) else _near_bound(prim, o, d, np.inf)
        if near is None:
            t, n = prim.hit(o, d)
            closer = t < best_t
        else:
            # Only rays passing near the object's bound can hit it; the others keep what they have.
            rows = np.nonzero(near)[0]
            if not len(rows):
                continue
            t, n = prim.hit(o[rows], d[rows])
            closer = np.zeros(len(d), dtype=bool)
            closer[rows] = t < best_t[rows]
            t_full, n_full = np.full(len(d), np.inf), np.zeros_like(d)
            t_full[rows], n_full[rows] = t, n
            t, n = t_full, n_full
        best_t = np.where(closer, t, best_t)
        best_i = np.where(closer, i, best_i)
        best_n = np.where(closer[:, None], n, best_n)
    return best_t, best_i, best_n


def _near_bound(prim: Primitive, o: np.ndarray, d: np.ndarray, limit: np.ndarray | float) -> np.ndarray:
    """Which rays pass near ``prim``'s bounding sphere before ``limit`` (with a margin, so that every ray
    that can hit it is among them)."""
    centre, radius = prim.bound()
    radius = radius * 1.01 + 1e-6
    oc = centre - o
    along = dot(oc, d)
    return (dot(oc, oc) - along * along <= radius * radius) & (along + radius > 0) & (along - radius < limit)


def distance(prim: Primitive, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """How far along each ray ``prim`` is first hit (inf for never), without the normal where it can."""
    return prim.distance(o, d) if hasattr(prim, "distance") else prim.hit(o, d)[0]


def occluded(primitives: tuple[Primitive, ...], o: np.ndarray, d: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Whether anything lies along each ray closer than ``limit``.

    Each object is tested only against the rays that pass near its bounding sphere (with a margin, so
    that the answer is the one testing every ray would give).
    """
    blocked = np.zeros(len(d), dtype=bool)
    for prim in primitives:
        if isinstance(prim, Plane):
            blocked |= distance(prim, o, d) < limit
            continue
        near = _near_bound(prim, o, d, limit) & ~blocked
        if near.any():
            blocked[near] |= distance(prim, o[near], d[near]) < limit[near]
    return blocked
