"""The ray-cast renderer: exact first hits, Lambertian shading and ray-cast shadows from a disc light.

A point light (``light_size`` 0) casts hard shadows: one shadow ray per visible point and light. A
larger light is a horizontal disc sampled at :func:`light_samples`, a fixed stratified pattern; the
shadow is the fraction of samples a point sees, so shadows have penumbrae. Four probe samples are cast
first and the other samples only where the probes disagree (a point that sees all four or none is taken
to see all samples or none). Shading adds a small ambient term and inverse-square falloff, and
encodes sRGB to 8 bits. Everything is vectorised over pixels with numpy in float64.
"""

from __future__ import annotations

import numpy as np

from relight.data.synth.camera import camera_rays, central_hit, light_positions, normalised_depth, reference_irradiance
from relight.data.synth.colour import compose_images
from relight.data.synth.shapes import Plane, Primitive, SynthScene, dot, first_hit, occluded
from relight.data.vidit import DIRECTIONS
from relight.errors import RelightError

#: Rings and samples per ring of the disc light's sampling pattern.
LIGHT_RINGS = 3
LIGHT_RING_SAMPLES = 8


def light_samples(rings: int = LIGHT_RINGS, per_ring: int = LIGHT_RING_SAMPLES) -> np.ndarray:
    """Offsets (x, z) in the unit disc, one per stratum of equal area (``rings`` rings of ``per_ring``).

    The pattern is its own mirror image, and its samples come in mirrored pairs ((x, z), then (-x, z)),
    so a mirrored scene sees exactly the mirrored samples. Alternate rings are turned by half a stratum.
    """
    offsets = []
    for ring in range(rings):
        radius = np.sqrt((ring + 0.5) / rings)
        turn = 0.5 * (ring % 2)
        for k in range(per_ring // 2):
            angle = 2 * np.pi * (k + 0.5 + turn) / per_ring - np.pi / 2  # the half with x >= 0
            x, z = radius * np.cos(angle), radius * np.sin(angle)
            offsets += [(x, z), (-x, z)]
    return np.array(offsets)


def _probe_indices(samples: np.ndarray) -> np.ndarray:
    """Four samples of the outer ring, two mirrored pairs, one nearer each end of the disc in z."""
    outer = np.arange(len(samples) - LIGHT_RING_SAMPLES, len(samples))
    by_z = outer[np.argsort(samples[outer, 1], kind="stable")]
    return np.concatenate([by_z[:2], by_z[-2:]])


def _near_segments(primitives: tuple[Primitive, ...], p: np.ndarray, light: np.ndarray, reach: float) -> list[tuple[Primitive, np.ndarray]]:
    """Each primitive with the points whose segment to ``light`` passes within ``reach`` of its bounds
    (planes with every point): only those can have a ray to the light's disc blocked by it."""
    found = []
    for prim in primitives:
        if isinstance(prim, Plane):
            found.append((prim, np.ones(len(p), dtype=bool)))
            continue
        centre, radius = prim.bound()
        segment = light - p
        w = centre - p
        f = np.clip(dot(w, segment) / dot(segment, segment), 0.0, 1.0)
        gap = w - f[:, None] * segment
        near = dot(gap, gap) <= (radius * 1.01 + reach + 1e-6) ** 2
        if near.any():
            found.append((prim, near))
    return found


def visibility(primitives: tuple[Primitive, ...], start: np.ndarray, p: np.ndarray, light: np.ndarray, radius: float) -> np.ndarray:
    """The fraction of a disc light of ``radius`` centred at ``light`` that each point ``p`` sees."""
    samples = light_samples()
    probes = _probe_indices(samples)
    rest = np.setdiff1d(np.arange(len(samples)), probes)
    blockers = _near_segments(primitives, p, light, radius)

    def seen(index: int, rows: np.ndarray | slice) -> np.ndarray:
        target = light + radius * np.array([samples[index, 0], 0.0, samples[index, 1]])
        to_light = target - p[rows]
        dist = np.sqrt(dot(to_light, to_light))
        ldir, o = to_light / dist[:, None], start[rows]
        blocked = np.zeros(len(dist), dtype=bool)
        for prim, near in blockers:
            test = near[rows] & ~blocked
            if test.any():
                t, _ = prim.hit(o[test], ldir[test])
                blocked[test] = t < dist[test]
        return ~blocked

    count = sum(seen(i, slice(None)).astype(np.int64) for i in probes)
    fraction = count / len(probes)
    mixed = np.nonzero((count > 0) & (count < len(probes)))[0]
    if len(mixed):
        fraction[mixed] = (count[mixed] + sum(seen(i, mixed).astype(np.int64) for i in rest)) / len(samples)
    return fraction


def render_scene(scene: SynthScene, size: int) -> dict[str, object]:
    """All 40 settings of ``scene`` at ``size`` x ``size``, ray-cast.

    Returns ``{"images": {Setting: H x W x 3 uint8 sRGB}, "depth": H x W float32 in [0, 1]}``.
    """
    if size < 2:
        raise RelightError(f"image size {size} is too small; use at least 2 pixels")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _render(scene, size)


def _render(scene: SynthScene, size: int) -> dict[str, object]:
    # Misses give inf distances, and inf * 0 gives NaN in rows no one reads; hence the errstate above.
    origin, dirs = camera_rays(scene, size)
    centre, central = central_hit(scene)
    lights = light_positions(scene, (centre, central))
    o = np.broadcast_to(origin, dirs.shape)
    t, index, normal = first_hit(scene.primitives, o, dirs)
    hit = index >= 0
    p = origin + t[hit, None] * dirs[hit]
    n = normal[hit]
    n = np.where((dot(n, dirs[hit]) > 0)[:, None], -n, n)
    albedo = np.zeros_like(p)
    for i, prim in enumerate(scene.primitives):
        mine = index[hit] == i
        if mine.any():
            albedo[mine] = prim.texture.albedo(prim.local(p[mine]))

    # Irradiance is normalised so that the lights give cos(incidence) at the central hit point.
    reference = reference_irradiance(scene, central)
    start = p + n * (1e-5 * (1.0 + t[hit, None]))
    disc_radius = scene.light_size * central
    irradiance = {}
    for direction in DIRECTIONS:
        to_light = lights[direction] - p
        dist2 = dot(to_light, to_light)
        dist = np.sqrt(dist2)
        ldir = to_light / dist[:, None]
        cosine = np.maximum(dot(n, ldir), 0.0)
        facing = cosine > 0
        if disc_radius > 0:
            seen = np.zeros(len(p))
            seen[facing] = visibility(scene.primitives, start[facing], p[facing], lights[direction], disc_radius)
            irradiance[direction] = cosine * reference / dist2 * seen
        else:
            shadow = np.zeros(len(p), dtype=bool)
            shadow[facing] = occluded(scene.primitives, start[facing], ldir[facing], dist[facing])
            irradiance[direction] = np.where(shadow, 0.0, cosine * reference / dist2)

    images = compose_images(dirs, hit, {d: albedo * (scene.ambient + irradiance[d])[:, None] for d in DIRECTIONS}, size)
    depth = normalised_depth(np.where(hit, t, np.inf), hit, central, size)
    return {"images": images, "depth": depth}
