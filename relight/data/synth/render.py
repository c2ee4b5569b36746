"""The ray-cast renderer: exact first hits, Lambertian shading and ray-cast shadows from a disc light.

A point light (``light_size`` 0) casts hard shadows: one shadow ray per visible point and light. A
larger light is a horizontal disc sampled at :func:`light_samples`, a fixed stratified pattern; the
shadow is the fraction of samples a point sees, so shadows have penumbrae. Four probe samples are cast
first and the other samples only where the probes disagree (a point that sees all four or none is taken
to see all samples or none). Shading adds a small ambient term and inverse-square falloff, and
encodes sRGB to 8 bits. Everything is vectorised over pixels with numpy in float64.

World scenes add materials (Oren-Nayar diffuse, GGX specular, metals), the rig's falloff, a sky fill
whose visibility is ray-cast (:func:`sky_visibility`) and one bounce of the lamp's light
(:mod:`~relight.data.synth.bounce`), then the camera's pipeline and the depth estimate.
"""

from __future__ import annotations

import numpy as np

from relight.data.synth.bounce import bounce_light, ring_directions
from relight.data.synth.camera import (
    camera_rays, central_hit, falloff, image_shape, light_positions, normalised_depth, reference_irradiance, shadow_mask,
)
from relight.data.synth.colour import compose_images
from relight.data.synth.estimates import estimate_depth
from relight.data.synth.materials import PixelMaterials, ggx, oren_nayar
from relight.data.synth.pipeline import compose_world
from relight.data.synth.settings import Look
from relight.data.synth.shapes import Plane, Primitive, SynthScene, distance, dot, first_hit, occluded
from relight.data.synth.textures import PHOTO
from relight.data.vidit import DIRECTIONS
from relight.errors import RelightError

#: Rings and samples per ring of the disc light's sampling pattern (world scenes: fewer rings).
LIGHT_RINGS = 3
LIGHT_RING_SAMPLES = 8
WORLD_LIGHT_RINGS = 2


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


def _segment_near(prim: Primitive, p: np.ndarray, light: np.ndarray, reach: float) -> np.ndarray:
    """Which points' segment to ``light`` passes within ``reach`` of ``prim``'s bounding sphere."""
    centre, radius = prim.bound()
    segment = light - p
    w = centre - p
    f = np.clip(dot(w, segment) / dot(segment, segment), 0.0, 1.0)
    gap = w - f[:, None] * segment
    return dot(gap, gap) <= (radius * 1.01 + reach + 1e-6) ** 2


def _near_segments(primitives: tuple[Primitive, ...], p: np.ndarray, light: np.ndarray, reach: float) -> list[tuple[Primitive, np.ndarray]]:
    """Each primitive with the points whose segment to ``light`` passes within ``reach`` of its bounds
    (planes with every point): only those can have a ray to the light's disc blocked by it."""
    found = []
    for prim in primitives:
        if isinstance(prim, Plane):
            found.append((prim, np.ones(len(p), dtype=bool)))
            continue
        near = _segment_near(prim, p, light, reach)
        if near.any():
            found.append((prim, near))
    return found


def visibility(primitives: tuple[Primitive, ...], start: np.ndarray, p: np.ndarray, light: np.ndarray, radius: float,
               rings: int = LIGHT_RINGS) -> np.ndarray:
    """The fraction of a disc light of ``radius`` centred at ``light`` that each point ``p`` sees,
    sampled on ``rings`` rings."""
    samples = light_samples(rings)
    probes = _probe_indices(samples)
    rest = np.setdiff1d(np.arange(len(samples)), probes)

    def seen(index: int, points: np.ndarray, starts: np.ndarray, blockers: list[tuple[Primitive, np.ndarray]]) -> np.ndarray:
        """Which ``points`` see sample ``index``; ``blockers`` pairs each primitive with the indices of the
        points it may block."""
        target = light + radius * np.array([samples[index, 0], 0.0, samples[index, 1]])
        to_light = target - points
        dist = np.sqrt(dot(to_light, to_light))
        ldir = to_light / dist[:, None]
        blocked = np.zeros(len(dist), dtype=bool)
        for prim, near in blockers:
            test = near[~blocked[near]]
            if len(test) and not isinstance(prim, Plane):
                test = test[_segment_near(prim, points[test], target, 0.0)]  # this sample's own segment
            if len(test):
                blocked[test] = distance(prim, starts[test], ldir[test]) < dist[test]
        return ~blocked

    blockers = [(prim, np.nonzero(near)[0]) for prim, near in _near_segments(primitives, p, light, radius)]
    count = sum(seen(i, p, start, blockers).astype(np.int64) for i in probes)
    fraction = count / len(probes)
    mixed = np.nonzero((count > 0) & (count < len(probes)))[0]
    if len(mixed):
        points, starts = p[mixed], start[mixed]
        some = [(prim, np.nonzero(np.isin(mixed, near, assume_unique=True))[0]) for prim, near in blockers]
        fraction[mixed] = (count[mixed] + sum(seen(i, points, starts, some).astype(np.int64) for i in rest)) / len(samples)
    return fraction


def render_scene(scene: SynthScene, size: int | tuple[int, int]) -> dict[str, object]:
    """All 40 settings of ``scene`` at ``size`` (square, or (height, width)), ray-cast.

    Returns ``{"images": {Setting: H x W x 3 uint8 sRGB}, "depth": H x W float32 in [0, 1],
    "masks": {direction: H x W uint8}}``: each light's shadow mask, 255 where a surface gets none of the
    light (blocked, or turned away from it), 0 where it sees all of it, the share hidden in penumbrae,
    0 where a ray hits nothing.
    """
    if min(image_shape(size)) < 2:
        raise RelightError(f"image size {size} is too small; use at least 2 pixels")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _render(scene, image_shape(size))


def _albedo(primitives: tuple[Primitive, ...], index: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The albedo at points ``p`` (normals ``n``) of the primitives ``index`` names."""
    albedo = np.zeros_like(p)
    for i, prim in enumerate(primitives):
        mine = index == i
        if mine.any():
            normal = prim.local_normal(n[mine]) if prim.texture.kind == PHOTO else None
            albedo[mine] = prim.texture.albedo(prim.local(p[mine]), normal)
    return albedo


def _seen(scene: SynthScene, p: np.ndarray, n: np.ndarray, start: np.ndarray, light: np.ndarray, disc_radius: float) -> tuple[np.ndarray, ...]:
    """Per point: the cosine of incidence, the squared distance to ``light``, its direction, and the
    share of the light the point sees (0 where it faces away)."""
    to_light = light - p
    dist2 = dot(to_light, to_light)
    dist = np.sqrt(dist2)
    ldir = to_light / dist[:, None]
    cosine = np.maximum(dot(n, ldir), 0.0)
    facing = cosine > 0
    seen = np.zeros(len(p))
    if disc_radius > 0:
        rings = LIGHT_RINGS if scene.rig is None else WORLD_LIGHT_RINGS
        seen[facing] = visibility(scene.primitives, start[facing], p[facing], light, disc_radius, rings)
    else:
        seen[facing] = ~occluded(scene.primitives, start[facing], ldir[facing], dist[facing])
    return cosine, dist2, ldir, seen


def _render(scene: SynthScene, shape: tuple[int, int]) -> dict[str, object]:
    # Misses give inf distances, and inf * 0 gives NaN in rows no one reads; hence the errstate above.
    origin, dirs = camera_rays(scene, shape)
    centre, central = central_hit(scene)
    lights = light_positions(scene, (centre, central))
    o = np.broadcast_to(origin, dirs.shape)
    t, index, normal = first_hit(scene.primitives, o, dirs)
    hit = index >= 0
    p = origin + t[hit, None] * dirs[hit]
    n = normal[hit]
    n = np.where((dot(n, dirs[hit]) > 0)[:, None], -n, n)
    albedo = _albedo(scene.primitives, index[hit], p, n)

    # Irradiance is normalised so that the lights give cos(incidence) at the central hit point.
    reference = reference_irradiance(scene, central)
    start = p + n * (1e-5 * (1.0 + t[hit, None]))
    seen = {d: _seen(scene, p, n, start, lights[d], scene.light_size * central) for d in DIRECTIONS}
    masks = {d: shadow_mask(hit, seen[d][3], shape) for d in DIRECTIONS}
    depth = normalised_depth(np.where(hit, t, np.inf), hit, central, shape)
    if scene.rig is not None:
        images = _world_images(scene, (dirs, hit, index[hit]), (p, n, start, albedo), seen, (centre, central, lights, reference), shape)
        if scene.estimate is not None:
            depth = estimate_depth(np.where(hit, t, np.inf).reshape(shape), depth, central, scene.estimate)
        return {"images": images, "depth": depth, "masks": masks}
    irradiance = {}
    for direction in DIRECTIONS:
        cosine, dist2, _, lit = seen[direction]
        if scene.light_size > 0:
            irradiance[direction] = cosine * reference / dist2 * lit
        else:
            irradiance[direction] = np.where(lit > 0, cosine * reference / dist2, 0.0)
    images = compose_images(dirs, hit, {d: albedo * (scene.ambient + irradiance[d])[:, None] for d in DIRECTIONS}, shape)
    return {"images": images, "depth": depth, "masks": masks}


#: The sky's sample directions: rings of (elevation in degrees, count), each count's azimuths in mirrored pairs.
SKY_RINGS = ((20.0, 6), (55.0, 4))


def sky_visibility(primitives: tuple[Primitive, ...], start: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The share of a uniform sky's irradiance each point gets: sky directions weighted by solid angle
    and cosine, each ray-cast for occlusion, over what an unoccluded upward surface gets (1)."""
    directions, weights = ring_directions(SKY_RINGS, upward=True)
    total, full = np.zeros(len(n)), float(np.sum(weights * directions[:, 1]))
    for k in range(0, len(directions), 2):  # mirrored pairs summed first, so a mirrored scene sums alike
        pair = np.zeros(len(n))
        for d, w in zip(directions[k:k + 2], weights[k:k + 2]):
            cosine = np.maximum(dot(n, np.broadcast_to(d, n.shape)), 0.0)
            open_sky = np.zeros(len(n), dtype=bool)
            some = cosine > 0
            rays = np.broadcast_to(d, (int(some.sum()), 3))
            open_sky[some] = ~occluded(primitives, start[some], rays, np.full(int(some.sum()), np.inf))
            pair = pair + w * cosine * open_sky
        total = total + pair
    return total / full


def _world_images(scene: SynthScene, view: tuple, surface: tuple, seen: dict, ring: tuple, shape: tuple[int, int]) -> dict:
    """A world scene's images: materials, the rig's falloff, bounce and sky fill, then the camera."""
    dirs, hit, owner = view
    p, n, start, albedo = surface
    centre, central, lights, reference = ring
    rig = scene.rig
    mats = PixelMaterials.of([getattr(prim, "material", None) for prim in scene.primitives], owner, albedo)
    eye = -dirs[hit]
    lamp = {}
    for direction in DIRECTIONS:
        cosine, dist2, ldir, lit = seen[direction]
        irradiance = cosine * falloff(scene, reference, dist2) * lit
        diffuse = mats.diffuse * (irradiance * oren_nayar(n, ldir, eye, cosine, mats.roughness) + scene.ambient)[:, None]
        specular = ggx(n, ldir, eye, mats.gloss, mats.specular) * irradiance[:, None]
        lamp[direction] = diffuse + specular
        if rig.bounce > 0:
            lamp[direction] += rig.bounce * mats.diffuse * bounce_light(scene, lights[direction], reference, p, n)
    fill = np.zeros_like(p)
    if any(rig.sky):
        fill = (mats.diffuse + mats.specular) * np.asarray(rig.sky) * sky_visibility(scene.primitives, start, n)[:, None]
    return compose_world(dirs, hit, lamp, fill, scene.look or Look(), rig.sky, shape)
