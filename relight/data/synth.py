"""Synthetic scenes in the VIDIT any-to-any format, for tests, demos and training without the real data.

Each scene is a ground plane (and sometimes a back wall) with random spheres, boxes and cylinders, each
with its own albedo texture (checker, stripes, value noise or plain), seen by a pinhole camera at the
origin looking north (+z) and slightly down; east (+x) is to the camera's right. As in VIDIT, an omni
point light sits on a horizontal ring centred above the point the central ray hits, with ring radius
and height proportional to that hit distance, at the 8 compass directions, in 5 colour temperatures.

Shading is Lambertian with hard shadows that are ray-cast exactly (one shadow ray per visible point
against every primitive) plus a small ambient term, inverse-square falloff, and sRGB encoding to 8 bits.
Everything is vectorised over pixels with numpy in float64, and every formula is written so that
mirroring the scene in x negates x-quantities exactly: rendering :meth:`SynthScene.mirrored` gives the
horizontal flip of the original with E and W swapped, which is what the paper's mirror trick assumes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from relight.data.vidit import DIRECTIONS, TEMPERATURES, Setting
from relight.errors import InvalidSetting, RelightError
from relight.errors import Setting as Param  # beside relight.data.vidit's Setting, an illumination
from relight.io.depth import write_depth_npy
from relight.io.images import image_size, write_image
from relight.io.output import OutputError

#: The largest image side :func:`write_dataset` renders: a scene took 0.55 GB and 7 s at 1024 x 1024
#: (measured on 2 cores), so 2048 takes about 2 GB; past that a typo would run the machine out of memory.
MAX_SIZE = 2048
#: Ring radius and height above the central hit point, as fractions of the camera-to-hit distance.
RING_RADIUS = 0.55
RING_HEIGHT = 0.5
#: Ambient light as a fraction of the light's irradiance at the ring centre.
AMBIENT = 0.07
#: Linear-light exposure applied before sRGB encoding.
EXPOSURE = 1.5
#: Depth is distance from the camera over min(farthest hit, FAR * central hit distance), clipped to 1.
FAR = 4.0
SKY_HORIZON = np.array([0.20, 0.22, 0.25])
SKY_ZENITH = np.array([0.05, 0.07, 0.12])
_EPS = 1e-6
_SQRT_HALF = float(np.sqrt(0.5))
#: Unit (x, z) vectors of the compass directions: north is +z, east is +x.
COMPASS = {
    "N": (0.0, 1.0), "NE": (_SQRT_HALF, _SQRT_HALF), "E": (1.0, 0.0), "SE": (_SQRT_HALF, -_SQRT_HALF),
    "S": (0.0, -1.0), "SW": (-_SQRT_HALF, -_SQRT_HALF), "W": (-1.0, 0.0), "NW": (-_SQRT_HALF, _SQRT_HALF),
}


# --------------------------------------------------------------------------- colour


def _cie_cmf(wavelength_nm: np.ndarray) -> np.ndarray:
    """CIE 1931 2-degree colour matching functions, the multi-lobe Gaussian fit of Wyman, Sloan and Shirley,
    "Simple Analytic Approximations to the CIE XYZ Color Matching Functions", JCGT 2(2), 2013 (error < 1 %)."""

    def g(mu: float, s_below: float, s_above: float) -> np.ndarray:
        sigma = np.where(wavelength_nm < mu, s_below, s_above)
        return np.exp(-0.5 * ((wavelength_nm - mu) / sigma) ** 2)

    x = 1.056 * g(599.8, 37.9, 31.0) + 0.362 * g(442.0, 16.0, 26.7) - 0.065 * g(501.1, 20.4, 26.2)
    y = 0.821 * g(568.8, 46.9, 40.5) + 0.286 * g(530.9, 16.3, 31.1)
    z = 1.217 * g(437.0, 11.8, 36.0) + 0.681 * g(459.0, 26.0, 13.8)
    return np.stack([x, y, z], axis=-1)


#: CIE XYZ to linear sRGB (D65 white), IEC 61966-2-1.
XYZ_TO_SRGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])


def blackbody_rgb(kelvin: float) -> np.ndarray:
    """Linear sRGB colour of a black body at ``kelvin``, scaled so its largest channel is 1.

    Planck's law is integrated against the CIE 1931 colour matching functions (380-780 nm, 1 nm steps)
    to get XYZ, which the sRGB matrix turns into linear RGB; negative channels (out of gamut) clip to 0.
    Gives orange at 2500 K and near white at 6500 K, as in VIDIT.
    """
    lam = np.arange(380.0, 781.0)
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    lam_m = lam * 1e-9
    radiance = 1.0 / (lam_m**5 * np.expm1(h * c / (lam_m * k * kelvin)))
    xyz = radiance @ _cie_cmf(lam)
    rgb = np.clip(XYZ_TO_SRGB @ (xyz / xyz[1]), 0.0, None)
    return rgb / rgb.max()


LIGHT_RGB = {t: blackbody_rgb(t) for t in TEMPERATURES}


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] to the sRGB transfer curve (IEC 61966-2-1)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """The inverse of :func:`srgb_encode`, for picking albedos as one would pick colours."""
    encoded = np.asarray(encoded, dtype=np.float64)
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)


def to_uint8(linear: np.ndarray) -> np.ndarray:
    return np.round(srgb_encode(linear) * 255.0).astype(np.uint8)


# --------------------------------------------------------------------------- textures


def _hash_unit(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
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
                    acc += w * _hash_unit(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, seed + octave)
        total += amplitude * acc
        norm += amplitude
        amplitude *= 0.5
    return total / norm


@dataclass(frozen=True)
class Texture:
    """An albedo pattern over local coordinates: ``checker``, ``stripes``, ``noise`` or ``plain``.

    Colours are linear RGB; ``scale`` is the pattern period in metres; ``axis`` orients stripes.
    """

    kind: str
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    scale: float = 0.5
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    seed: int = 0

    def albedo(self, q: np.ndarray) -> np.ndarray:
        a, b = np.asarray(self.color_a), np.asarray(self.color_b)
        if self.kind == "plain":
            return np.broadcast_to(a, q.shape).copy()
        if self.kind == "checker":
            mix = (np.floor(q / self.scale).astype(np.int64).sum(axis=1) % 2).astype(np.float64)
        elif self.kind == "stripes":
            mix = (np.floor(q @ np.asarray(self.axis) / self.scale).astype(np.int64) % 2).astype(np.float64)
        elif self.kind == "noise":
            mix = value_noise(q / self.scale, self.seed)
        else:
            raise RelightError(f"unknown texture kind {self.kind!r}")
        return a + (b - a) * mix[:, None]


# --------------------------------------------------------------------------- geometry


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _safe(d: np.ndarray) -> np.ndarray:
    """Direction components away from zero, keeping the sign (so a mirrored -0.0 stays mirrored)."""
    return np.where(np.abs(d) < 1e-12, np.copysign(1e-12, d), d)


@dataclass(frozen=True)
class Sphere:
    center: tuple[float, float, float]
    radius: float
    texture: Texture
    handed: float = 1.0

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance along unit rays to the first hit (inf for none) and the outward normal there."""
        oc = o - np.asarray(self.center)
        b = _dot(oc, d)
        disc = b * b - (_dot(oc, oc) - self.radius**2)
        root = np.sqrt(np.maximum(disc, 0.0))
        t = np.where(-b - root > _EPS, -b - root, -b + root)
        t = np.where((disc >= 0) & (t > _EPS), t, np.inf)
        normal = (oc + t[:, None] * d) / self.radius
        return t, normal

    def local(self, p: np.ndarray) -> np.ndarray:
        return (p - np.asarray(self.center)) * np.array([self.handed, 1.0, 1.0])

    def mirrored(self) -> Sphere:
        x, y, z = self.center
        return replace(self, center=(-x, y, z), handed=-self.handed)


@dataclass(frozen=True)
class Box:
    """A box standing on the ground, turned by ``yaw`` about the vertical (given as its cosine and sine)."""

    center: tuple[float, float, float]
    half: tuple[float, float, float]
    cos_yaw: float
    sin_yaw: float
    texture: Texture
    handed: float = 1.0

    def _to_local(self, v: np.ndarray) -> np.ndarray:
        c, s = self.cos_yaw, self.sin_yaw
        return np.stack([c * v[:, 0] - s * v[:, 2], v[:, 1], s * v[:, 0] + c * v[:, 2]], axis=1)

    def _to_world(self, v: np.ndarray) -> np.ndarray:
        c, s = self.cos_yaw, self.sin_yaw
        return np.stack([c * v[:, 0] + s * v[:, 2], v[:, 1], -s * v[:, 0] + c * v[:, 2]], axis=1)

    def hit(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = self._to_local(o - np.asarray(self.center))
        ld = _safe(self._to_local(d))
        half = np.asarray(self.half)
        t1 = (-half - lo) / ld
        t2 = (half - lo) / ld
        tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
        near, far = tmin.max(axis=1), tmax.min(axis=1)
        t = np.where(near > _EPS, near, far)
        t = np.where((near <= far) & (t > _EPS), t, np.inf)
        axis = np.where(near > _EPS, tmin.argmax(axis=1), tmax.argmin(axis=1))
        rows = np.arange(len(o))
        local_n = np.zeros_like(lo)
        local_n[rows, axis] = -np.sign(ld[rows, axis])
        return t, self._to_world(local_n)

    def local(self, p: np.ndarray) -> np.ndarray:
        return self._to_local(p - np.asarray(self.center)) * np.array([self.handed, 1.0, 1.0])

    def mirrored(self) -> Box:
        x, y, z = self.center
        return replace(self, center=(-x, y, z), sin_yaw=-self.sin_yaw, handed=-self.handed)


@dataclass(frozen=True)
class Cylinder:
    """An upright cylinder standing on the ground (y = 0), with a top cap."""

    center: tuple[float, float]
    radius: float
    height: float
    texture: Texture
    handed: float = 1.0

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
            ok = (disc >= 0) & (t > _EPS) & (y >= 0) & (y <= self.height)
            t_side = np.where(ok, np.minimum(t_side, t), t_side)
        t_cap = (self.height - o[:, 1]) / _safe(d[:, 1])
        cap_x, cap_z = ox + t_cap * dx, oz + t_cap * dz
        t_cap = np.where((t_cap > _EPS) & (cap_x * cap_x + cap_z * cap_z <= self.radius**2), t_cap, np.inf)
        t = np.minimum(t_side, t_cap)
        px, pz = ox + t_side * dx, oz + t_side * dz
        side_n = np.stack([px / self.radius, np.zeros(len(o)), pz / self.radius], axis=1)
        normal = np.where((t_cap < t_side)[:, None], np.array([0.0, 1.0, 0.0]), side_n)
        return t, normal

    def local(self, p: np.ndarray) -> np.ndarray:
        cx, cz = self.center
        return np.stack([(p[:, 0] - cx) * self.handed, p[:, 1], p[:, 2] - cz], axis=1)

    def mirrored(self) -> Cylinder:
        cx, cz = self.center
        return replace(self, center=(-cx, cz), handed=-self.handed)


@dataclass(frozen=True)
class Plane:
    """The ground (``axis=1``, facing up) or a back wall (``axis=2``, facing the camera) at ``offset``."""

    axis: int
    offset: float
    texture: Texture
    handed: float = 1.0

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

    def mirrored(self) -> Plane:
        return replace(self, handed=-self.handed)


Primitive = Sphere | Box | Cylinder | Plane


@dataclass(frozen=True)
class SynthScene:
    """Geometry and camera of one synthetic scene; :meth:`mirrored` reflects it left-right (x -> -x)."""

    primitives: tuple[Primitive, ...]
    camera_height: float = 1.6
    pitch_deg: float = 18.0
    fov_deg: float = 55.0
    name: str = field(default="scene", compare=False)

    def mirrored(self) -> SynthScene:
        return replace(self, primitives=tuple(p.mirrored() for p in self.primitives))


# --------------------------------------------------------------------------- rendering


def _camera_rays(scene: SynthScene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and unit ray directions, one per pixel (row-major, top row first)."""
    pitch = np.radians(scene.pitch_deg)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    up = np.array([0.0, np.cos(pitch), np.sin(pitch)])
    half = np.tan(np.radians(scene.fov_deg) / 2)
    # Pixel centres as exact integer numerators, so column i and column size-1-i get exactly opposite u.
    u = (2.0 * np.arange(size) + 1.0 - size) / size * half
    v = (size - 2.0 * np.arange(size) - 1.0) / size * half
    vv, uu = np.meshgrid(v, u, indexing="ij")
    d = forward[None, :] + vv.reshape(-1, 1) * up[None, :]
    d[:, 0] = uu.reshape(-1)
    d /= np.sqrt(_dot(d, d))[:, None]
    origin = np.array([0.0, scene.camera_height, 0.0])
    return origin, d


def _first_hit(primitives: tuple[Primitive, ...], o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest distance, index of the primitive hit (-1 for none) and its normal, per ray."""
    best_t = np.full(len(d), np.inf)
    best_i = np.full(len(d), -1)
    best_n = np.zeros_like(d)
    for i, prim in enumerate(primitives):
        t, n = prim.hit(o, d)
        closer = t < best_t
        best_t = np.where(closer, t, best_t)
        best_i = np.where(closer, i, best_i)
        best_n = np.where(closer[:, None], n, best_n)
    return best_t, best_i, best_n


def _occluded(primitives: tuple[Primitive, ...], o: np.ndarray, d: np.ndarray, limit: np.ndarray) -> np.ndarray:
    blocked = np.zeros(len(d), dtype=bool)
    for prim in primitives:
        t, _ = prim.hit(o, d)
        blocked |= t < limit
    return blocked


def central_hit(scene: SynthScene) -> tuple[np.ndarray, float]:
    """Where the camera's central ray first hits the scene, and how far away that is."""
    origin = np.array([[0.0, scene.camera_height, 0.0]])
    pitch = np.radians(scene.pitch_deg)
    forward = np.array([[0.0, -np.sin(pitch), np.cos(pitch)]])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        t, index, _ = _first_hit(scene.primitives, origin, forward)
    if index[0] < 0:
        raise RelightError(f"scene {scene.name}: the camera's central ray hits nothing; cannot place the light ring")
    return origin[0] + t[0] * forward[0], float(t[0])


def light_positions(scene: SynthScene, central: tuple[np.ndarray, float] | None = None) -> dict[str, np.ndarray]:
    """The 8 light positions: a ring above where the central ray hits, scaled by that hit distance.

    ``central`` is :func:`central_hit` of ``scene`` where the caller has it already.
    """
    hit, distance = central or central_hit(scene)
    radius, height = RING_RADIUS * distance, RING_HEIGHT * distance
    return {
        name: np.array([hit[0] + radius * dx, hit[1] + height, hit[2] + radius * dz])
        for name, (dx, dz) in COMPASS.items()
    }


def render_scene(scene: SynthScene, size: int) -> dict[str, object]:
    """All 40 settings of ``scene`` at ``size`` x ``size``.

    Returns ``{"images": {Setting: H x W x 3 uint8 sRGB}, "depth": H x W float32 in [0, 1]}``.
    """
    if size < 2:
        raise RelightError(f"image size {size} is too small; use at least 2 pixels")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _render(scene, size)


def _render(scene: SynthScene, size: int) -> dict[str, object]:
    # Misses give inf distances, and inf * 0 gives NaN in rows no one reads; hence the errstate above.
    origin, dirs = _camera_rays(scene, size)
    centre, central = central_hit(scene)
    lights = light_positions(scene, (centre, central))
    o = np.broadcast_to(origin, dirs.shape)
    t, index, normal = _first_hit(scene.primitives, o, dirs)
    hit = index >= 0
    p = origin + t[hit, None] * dirs[hit]
    n = normal[hit]
    n = np.where((_dot(n, dirs[hit]) > 0)[:, None], -n, n)
    albedo = np.zeros_like(p)
    for i, prim in enumerate(scene.primitives):
        mine = index[hit] == i
        if mine.any():
            albedo[mine] = prim.texture.albedo(prim.local(p[mine]))

    # Irradiance is normalised so that the lights give cos(incidence) at the central hit point.
    reference = (RING_RADIUS**2 + RING_HEIGHT**2) * central**2
    start = p + n * (1e-5 * (1.0 + t[hit, None]))
    irradiance = {}
    for direction in DIRECTIONS:
        to_light = lights[direction] - p
        dist2 = _dot(to_light, to_light)
        dist = np.sqrt(dist2)
        ldir = to_light / dist[:, None]
        cosine = np.maximum(_dot(n, ldir), 0.0)
        facing = cosine > 0
        shadow = np.zeros(len(p), dtype=bool)
        shadow[facing] = _occluded(scene.primitives, start[facing], ldir[facing], dist[facing])
        irradiance[direction] = np.where(shadow, 0.0, cosine * reference / dist2)

    # Sky: a dim gradient by ray elevation, not lit by the point light.
    elevation = np.clip(dirs[~hit, 1], 0.0, 1.0)[:, None]
    sky = SKY_HORIZON + (SKY_ZENITH - SKY_HORIZON) * np.sqrt(elevation)
    images = {}
    for temperature in TEMPERATURES:
        color = LIGHT_RGB[temperature]
        for direction in DIRECTIONS:
            linear = np.empty_like(dirs)
            linear[hit] = albedo * (AMBIENT + irradiance[direction])[:, None] * color * EXPOSURE
            linear[~hit] = sky
            images[Setting(temperature, direction)] = to_uint8(linear).reshape(size, size, 3)

    distance = np.where(hit, t, np.inf)
    far = min(float(distance[hit].max()), FAR * central) if hit.any() else 1.0
    depth = np.where(hit, np.minimum(distance / far, 1.0), 1.0).astype(np.float32).reshape(size, size)
    return {"images": images, "depth": depth}


# --------------------------------------------------------------------------- random scenes


def _random_color(rng: np.random.Generator, muted: bool = False) -> np.ndarray:
    """A pleasant albedo: random hue, moderate saturation (low if ``muted``), mid to high value; linear RGB."""
    hue, sat, val = rng.uniform(0, 1), rng.uniform(0.05, 0.3) if muted else rng.uniform(0.2, 0.75), rng.uniform(0.45, 0.95)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6.0) % 6.0
    rgb = val - val * sat * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return srgb_decode(rgb)


def _random_texture(rng: np.random.Generator, size_hint: float, muted: bool = False) -> Texture:
    """Objects get any colours; the ground and wall (``muted``) get greyish tones of one hue, as backdrops."""
    kind = rng.choice(["checker", "stripes", "noise", "plain"], p=[0.3, 0.25, 0.3, 0.15])
    a = _random_color(rng, muted)
    b = a * rng.uniform(0.3, 0.7) if muted or rng.random() < 0.6 else _random_color(rng)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    return Texture(
        str(kind), tuple(a), tuple(b), float(size_hint * rng.uniform(0.25, 0.6)), tuple(axis),
        int(rng.integers(0, 2**31)),
    )


def random_scene(seed: int) -> SynthScene:
    """A random scene from ``seed``: ground, maybe a back wall, 3 to 7 primitives, one near the image centre."""
    rng = np.random.default_rng(seed)
    camera_height = float(rng.uniform(1.1, 1.7))
    pitch = float(rng.uniform(12.0, 20.0))
    fov = 55.0
    ground_z = camera_height / np.tan(np.radians(pitch))
    prims: list[Primitive] = [Plane(1, 0.0, _random_texture(rng, 3.0, muted=True))]
    # A wall stays well behind the north light (which is RING_RADIUS * distance beyond the central hit).
    wall_z = float(ground_z * (1.1 + RING_RADIUS) + rng.uniform(1.5, 5.0)) if rng.random() < 0.5 else None
    if wall_z is not None:
        prims.append(Plane(2, wall_z, _random_texture(rng, 3.0, muted=True)))
    z_max = (wall_z - 0.8) if wall_z is not None else ground_z + 5.0
    footprints: list[tuple[float, float, float]] = []
    count = int(rng.integers(3, 8))
    for k in range(count):
        for _ in range(40):
            if k == 0:
                z = float(ground_z + rng.uniform(-0.6, 0.8))
                x = float(rng.uniform(-0.4, 0.4))
            else:
                z = float(rng.uniform(2.2, z_max))
                reach = 0.85 * z * np.tan(np.radians(fov / 2))
                x = float(rng.uniform(-reach, reach))
            kind = rng.choice(["sphere", "box", "cylinder"])
            r = float(rng.uniform(0.35, 0.9))
            if all((x - fx) ** 2 + (z - fz) ** 2 > (r + fr + 0.1) ** 2 for fx, fz, fr in footprints):
                break
        else:
            continue
        footprints.append((x, z, r))
        texture = _random_texture(rng, r * 2)
        if kind == "sphere":
            lift = float(rng.uniform(0.2, 0.7)) if rng.random() < 0.3 else 0.0
            prims.append(Sphere((x, r + lift, z), r, texture))
        elif kind == "box":
            hx, hz = r * rng.uniform(0.6, 1.0), r * rng.uniform(0.6, 1.0)
            hy = float(rng.uniform(0.25, 0.9))
            yaw = float(rng.uniform(0.0, np.pi / 2))
            prims.append(Box((x, hy, z), (float(hx), hy, float(hz)), float(np.cos(yaw)), float(np.sin(yaw)), texture))
        else:
            prims.append(Cylinder((x, z), r * 0.8, float(rng.uniform(0.5, 1.8)), texture))
    return SynthScene(tuple(prims), camera_height, pitch, fov, name=f"seed {seed}")


def scene_seed(seed: int, index: int) -> int:
    """The seed of scene ``index`` in a data set made with ``seed``: independent of where generation starts."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def generate_scene(seed: int, size: int) -> dict[str, object]:
    """Render the random scene of ``seed`` at ``size`` px: ``{"images": {Setting: uint8 HxWx3}, "depth": HxW}``."""
    return render_scene(random_scene(seed), size)


def check_dataset_options(out: str | os.PathLike[str], scenes: int, size: int, start_index: int, seed: int = 0) -> Path:
    """Refuse impossible requests before anything is written (or a progress bar is shown)."""
    for name, value, lowest, problem in (("scenes", scenes, 1, "need at least one scene"),
                                         ("start_index", start_index, 0, "must be 0 or more"), ("seed", seed, 0, "must be 0 or more")):
        if value < lowest:
            setting = Param(name, value, owner="write_dataset")
            raise InvalidSetting(setting, setting, f": {problem}")
    size_setting = Param("size", size, owner="write_dataset")
    if not 8 <= size <= MAX_SIZE:
        raise InvalidSetting(size_setting, size_setting, f": use 8 to {MAX_SIZE} pixels (VIDIT's images are 1024x1024)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(out, "exists and is not a folder")
    earlier = next(out.glob("Image*_*_*.png"), None) if out.is_dir() else None
    height, width = image_size(earlier) if earlier is not None else (size, size)
    if (height, width) != (size, size):
        raise InvalidSetting(size_setting, f"{out}: holds {width}x{height} scenes ({earlier.name}); ", size_setting,
                             " would mix two sizes in one data set: choose another folder", path=out)
    present = sorted(int(m["index"]) for p in (out.glob("Image*.npy") if out.is_dir() else ())
                     if (m := re.fullmatch(r"Image(?P<index>\d+)", p.stem)))
    clash = [i for i in present if start_index <= i < start_index + scenes]
    if clash:
        after = Param("start_index", present[-1] + 1, owner="write_dataset")
        raise InvalidSetting(Param("start_index", start_index, owner="write_dataset"),
                             f"{out}: already holds scene Image{clash[0]:03d} ({len(clash)} of the {scenes} asked for); "
                             "add scenes after it with ", after, ", or choose another folder", path=out)
    return out


def write_dataset(
    out: str | os.PathLike[str],
    scenes: int,
    size: int,
    seed: int = 0,
    start_index: int = 0,
    on_scene: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``scenes`` scenes in the any-to-any layout: ``ImageNNN_TEMP_DIR.png`` (RGBA) and ``ImageNNN.npy``.

    Scene ``i`` depends only on (``seed``, ``i``), so sets made in pieces with ``start_index`` agree with
    one made at once. Returns the files written; ``on_scene(index)`` is called after each scene.
    """
    out = check_dataset_options(out, scenes, size, start_index, seed)
    written = []
    alpha = np.ones((size, size), dtype=np.float32)
    for index in range(start_index, start_index + scenes):
        rendered = generate_scene(scene_seed(seed, index), size)
        stem = f"Image{index:03d}"
        for setting, pixels in rendered["images"].items():
            path = out / f"{stem}_{setting.file_tag}.png"
            written.append(write_image(path, pixels.astype(np.float32) / 255.0, alpha, 8))
        written.append(write_depth_npy(out / f"{stem}.npy", rendered["depth"], vidit=True))
        if on_scene is not None:
            on_scene(index)
    return written


__all__ = [
    "COMPASS",
    "LIGHT_RGB",
    "MAX_SIZE",
    "Box",
    "Cylinder",
    "Plane",
    "Sphere",
    "SynthScene",
    "Texture",
    "blackbody_rgb",
    "check_dataset_options",
    "generate_scene",
    "light_positions",
    "random_scene",
    "render_scene",
    "scene_seed",
    "srgb_decode",
    "srgb_encode",
    "write_dataset",
]
