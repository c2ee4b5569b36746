"""The second renderer, for held-out scenes: a z-buffer rasteriser of tessellated objects.

It shares only the conventions with the ray caster (:mod:`~relight.data.synth.camera`: camera, light
ring, depth normalisation; the output format; black-body colours), not its code path: objects are
meshes (:mod:`~relight.data.synth.mesh`) drawn with perspective-correct interpolation of positions,
smooth normals and texture coordinates; shadows come from one omnidirectional shadow map per light (a
stereographic projection of the directions below 30 degrees of elevation from the light), filtered by
percentage-closer soft shadows (a blocker search, then a filter as wide as the penumbra the light's
size gives); shading is Oren-Nayar diffuse with Blinn-Phong highlights and a hemispherical ambient;
textures are its own smooth, band-limited patterns (:func:`pattern`) of the same descriptions.

Every step is exact under mirroring (pixel and texel centres are integer numerators over the size,
edge functions and lookups negate exactly), so a mirrored scene renders as the flipped image.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from relight.data.synth.camera import (
    camera_basis, camera_right, camera_rays, central_hit, falloff, image_shape, light_positions, normalised_depth, reference_irradiance,
    shadow_mask,
)
from relight.data.synth.colour import compose_images
from relight.data.synth.estimates import estimate_depth
from relight.data.synth.materials import PixelMaterials, blinn_phong, oren_nayar
from relight.data.synth.mesh import Mesh, scene_mesh, segments_for
from relight.data.synth.pipeline import compose_world
from relight.data.synth.settings import Look
from relight.data.synth.shapes import Plane, SynthScene, dot
from relight.data.synth.textures import PHOTO, Texture
from relight.data.synth.zbuffer import ShadowMap, facing, rasterise
from relight.data.vidit import DIRECTIONS
from relight.errors import RelightError

#: Shadow-map texels per image pixel along each side (odd map sizes keep a texel centred on the nadir).
MAP_SCALE = 2
#: Oren-Nayar roughness (radians) and the highlights' exponent of classic scenes.
ROUGHNESS = 0.35
SHININESS = 40.0

# --------------------------------------------------------------------------- textures


def _sines(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 7])
    directions = rng.normal(size=(5, 3))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(0.8, 2.2, (5, 1)), rng.uniform(0, 2 * np.pi, 5)


def _sine_noise(p: np.ndarray, seed: int) -> np.ndarray:
    """Band-limited noise in [0, 1]: five plane waves of hashed directions, frequencies and phases."""
    directions, phases = _sines(seed)
    return 0.5 + 0.5 * np.mean(np.sin(2 * np.pi * p @ directions.T + phases), axis=1) * 1.6


def pattern(texture: Texture, q: np.ndarray, normal: np.ndarray | None = None) -> np.ndarray:
    """The rasteriser's albedo for ``texture`` at local points ``q`` (with local ``normal``, for a
    photo): the same kinds, colours and scales as the ray caster's, drawn as smooth patterns (soft-edged
    checks and stripes, wave noise), photographs read halved."""
    a, b = np.asarray(texture.color_a), np.asarray(texture.color_b)
    p, axis = q / texture.scale, np.asarray(texture.axis)
    kind = texture.kind
    if kind == PHOTO:
        drift = np.clip(_sine_noise(p / 4, texture.seed), 0, 1)
        return np.clip((a + (b - a) * drift[:, None]) * texture.photo(q, normal, level=1), 0.0, 0.95)
    if kind == "plain":
        mix = np.zeros(len(q))
    elif kind == "checker":
        mix = 0.5 + 0.5 * np.tanh(6 * np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1] + 0.5) * np.sin(np.pi * p[:, 2]))
    elif kind == "stripes":
        mix = 0.5 + 0.5 * np.tanh(4 * np.sin(np.pi * (p @ axis)))
    elif kind == "noise":
        mix = np.clip(_sine_noise(p, texture.seed), 0, 1)
    elif kind == "dots":
        mix = (np.cos(2 * np.pi * p[:, 0]) * np.cos(2 * np.pi * p[:, 1]) * np.cos(2 * np.pi * p[:, 2]) > 0.35).astype(float)
    elif kind == "rings":
        mix = 0.5 + 0.5 * np.cos(3 * np.pi * np.hypot(p[:, 0], p[:, 2]))
    elif kind == "marble":
        mix = 0.5 + 0.5 * np.sin(2 * np.pi * (p @ axis) + 4 * _sine_noise(p * 0.7, texture.seed))
    else:
        raise RelightError(f"unknown texture kind {kind!r}")
    return a + (b - a) * mix[:, None]


# --------------------------------------------------------------------------- shading


@dataclass(frozen=True)
class Surfaces:
    """What each pixel sees (``hit``), and for the pixels that see a surface: position, normal, albedo,
    classic highlight strength, owner (primitive index), distance; the mesh and the camera rays."""

    hit: np.ndarray
    p: np.ndarray
    n: np.ndarray
    albedo: np.ndarray
    gloss: np.ndarray
    owner: np.ndarray
    distance: np.ndarray
    mesh: Mesh
    dirs: np.ndarray


def _surfaces(scene: SynthScene, size: int | tuple[int, int]) -> Surfaces:
    """The z-buffer of the objects' meshes and, per pixel, the ground and walls where nearer."""
    origin, forward, up = camera_basis(scene)
    half = np.tan(np.radians(scene.fov_deg) / 2)
    mesh = scene_mesh(scene.primitives, segments_for(min(image_shape(size))))
    rel = mesh.positions - origin
    zc = dot(rel, np.broadcast_to(forward, rel.shape))
    keep = (zc[mesh.triangles] > 0.05).all(1) & (facing(mesh, origin) < 0)
    tris = mesh.triangles[keep]
    u = dot(rel, np.broadcast_to(camera_right(scene), rel.shape)) / (zc * half)
    v = dot(rel, np.broadcast_to(up, rel.shape)) / (zc * half)
    tri, z_obj, weights = rasterise(u[tris], v[tris], zc[tris], size, perspective=True)
    _, dirs = camera_rays(scene, size)
    plane_t, plane_i = np.full(len(dirs), np.inf), np.full(len(dirs), -1)
    for i, prim in enumerate(scene.primitives):
        if isinstance(prim, Plane):
            t = (prim.offset - origin[prim.axis]) / dirs[:, prim.axis]
            closer = (t > 0) & (t < plane_t)
            plane_t, plane_i = np.where(closer, t, plane_t), np.where(closer, i, plane_i)
    along = dot(dirs, np.broadcast_to(forward, dirs.shape))
    on_plane = (plane_i >= 0) & (plane_t * along < z_obj)
    on_object = (tri >= 0) & ~on_plane
    hit = on_plane | on_object
    corners = tris[tri[on_object]]
    p, n, q, ln = (np.zeros((len(dirs), 3)) for _ in range(4))
    w = weights[on_object]
    for array, values in ((p, mesh.positions), (n, mesh.normals), (q, mesh.local), (ln, mesh.local_normals)):
        array[on_object] = sum(w[:, k, None] * values[corners[:, k]] for k in range(3))
    p[on_plane] = origin + plane_t[on_plane, None] * dirs[on_plane]
    owner = np.full(len(dirs), -1)
    owner[on_object] = mesh.owner[keep][tri[on_object]]
    owner[on_plane] = plane_i[on_plane]
    albedo, gloss = np.zeros((len(dirs), 3)), np.zeros(len(dirs))
    for i, prim in enumerate(scene.primitives):
        mine = owner == i
        if not mine.any():
            continue
        if isinstance(prim, Plane):
            n[mine, prim.axis] = 1.0 if prim.axis == 1 else -1.0
            q[mine] = prim.local(p[mine])
            ln[mine] = prim.local_normal(n[mine])
        albedo[mine] = pattern(prim.texture, q[mine], ln[mine] if prim.texture.kind == PHOTO else None)
        gloss[mine] = 0.03 if isinstance(prim, Plane) else 0.05 + 0.3 * (prim.texture.seed % 1000) / 1000
    n[hit] /= np.sqrt(dot(n[hit], n[hit]))[:, None]
    distance = np.where(hit, np.sqrt(dot(p - origin, p - origin)), np.inf)
    return Surfaces(hit, p, n, albedo, gloss, owner, distance, mesh, dirs)


def raster_scene(scene: SynthScene, size: int | tuple[int, int]) -> dict[str, object]:
    """All 40 settings of ``scene`` at ``size`` (square, or (height, width)), rasterised; the same
    outputs as :func:`~relight.data.synth.render_scene`."""
    if min(image_shape(size)) < 2:
        raise RelightError(f"image size {size} is too small; use at least 2 pixels")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _raster(scene, size)


def _shadow_maps(scene: SynthScene, mesh: Mesh, lights: dict[str, np.ndarray], size: int | tuple[int, int]) -> dict[str, ShadowMap]:
    side = MAP_SCALE * max(image_shape(size))
    return {d: ShadowMap(mesh, lights[d], side + 1 - side % 2) for d in DIRECTIONS}


def _lamp(shadow_map: ShadowMap, light: np.ndarray, p: np.ndarray, n: np.ndarray, radius: float) -> tuple[np.ndarray, ...]:
    """Per point: the cosine of incidence, the squared distance to ``light``, its direction, and the
    share of the light the shadow map says the point sees (0 where it faces away)."""
    to_light = light - p
    dist2 = dot(to_light, to_light)
    ldir = to_light / np.sqrt(dist2)[:, None]
    cos_i = np.maximum(dot(n, ldir), 0.0)
    lit = cos_i > 0
    seen = np.zeros(len(p))
    seen[lit] = shadow_map.lit(p[lit], cos_i[lit], radius)
    return cos_i, dist2, ldir, seen


def _raster(scene: SynthScene, size: int | tuple[int, int]) -> dict[str, object]:
    s = _surfaces(scene, size)
    centre, central = central_hit(scene)
    lights = light_positions(scene, (centre, central))
    reference = reference_irradiance(scene, central)
    hit, shape = s.hit, image_shape(size)
    p, n, view, albedo, gloss = s.p[hit], s.n[hit], -s.dirs[hit], s.albedo[hit], s.gloss[hit]
    n = np.where((dot(n, view) < 0)[:, None], -n, n)
    maps = _shadow_maps(scene, s.mesh, lights, size)
    if scene.rig is not None:
        return _raster_world(scene, s, (p, n, view), (centre, central, lights, reference), maps, shape)
    ambient = scene.ambient * (0.8 + 0.2 * n[:, 1])
    diffuse, highlight, masks = {}, {}, {}
    for direction in DIRECTIONS:
        cos_i, dist2, ldir, seen = _lamp(maps[direction], lights[direction], p, n, scene.light_size * central)
        lit = cos_i > 0
        irradiance = cos_i * reference / dist2 * seen
        halfway = ldir + view
        halfway /= np.sqrt(dot(halfway, halfway))[:, None]
        diffuse[direction] = irradiance * oren_nayar(n, ldir, view, cos_i, ROUGHNESS)
        highlight[direction] = gloss * np.maximum(dot(n, halfway), 0.0) ** SHININESS * reference / dist2 * seen * lit
        masks[direction] = shadow_mask(hit, seen, shape)
    shades = {d: albedo * (ambient + diffuse[d])[:, None] + highlight[d][:, None] for d in DIRECTIONS}
    images = compose_images(s.dirs, hit, shades, shape)
    return {"images": images, "depth": normalised_depth(s.distance, hit, central, size), "masks": masks}


def _ground_albedo(scene: SynthScene) -> np.ndarray:
    """The ground's mean albedo (its texture's two colours averaged), for the bounce off it."""
    ground = next((prim for prim in scene.primitives if isinstance(prim, Plane) and prim.axis == 1), None)
    if ground is None:
        return np.full(3, 0.3)
    return (np.asarray(ground.texture.color_a) + np.asarray(ground.texture.color_b)) / 2


def _raster_world(scene: SynthScene, s: Surfaces, frame: tuple[np.ndarray, ...], ring: tuple, maps: dict[str, ShadowMap],
                  shape: tuple[int, int]) -> dict[str, object]:
    """A world scene: materials, the rig's falloff, its sky fill (hemispherical, unoccluded) and a ground
    bounce (the lamp's light off the ground at the ring's centre, arriving from below, unoccluded), then
    the camera's pipeline and the depth estimate."""
    p, n, view = frame
    centre, central, lights, reference = ring
    rig, hit = scene.rig, s.hit
    mats = PixelMaterials.of([getattr(prim, "material", None) for prim in scene.primitives], s.owner[hit], s.albedo[hit])
    up_share, down_share = (1 + n[:, 1]) / 2, (1 - n[:, 1]) / 2
    ground = _ground_albedo(scene)
    lamp, masks = {}, {}
    for direction in DIRECTIONS:
        cos_i, dist2, ldir, seen = _lamp(maps[direction], lights[direction], p, n, scene.light_size * central)
        irradiance = cos_i * falloff(scene, reference, dist2) * seen
        diffuse = mats.diffuse * (irradiance * oren_nayar(n, ldir, view, cos_i, mats.roughness) + scene.ambient * up_share)[:, None]
        specular = blinn_phong(n, ldir, view, mats.gloss, mats.specular) * irradiance[:, None]
        below = lights[direction] - centre
        below2 = float(np.dot(below, below))
        ground_irradiance = below[1] / np.sqrt(below2) * float(falloff(scene, reference, np.array([below2]))[0])
        bounce = rig.bounce * ground_irradiance * down_share[:, None] * ground
        lamp[direction] = diffuse + specular + mats.diffuse * bounce
        masks[direction] = shadow_mask(hit, seen, shape)
    fill = (mats.diffuse + mats.specular) * np.asarray(rig.sky) * up_share[:, None]
    images = compose_world(s.dirs, hit, lamp, fill, scene.look or Look(), rig.sky, shape)
    exact = normalised_depth(s.distance, hit, central, shape)
    depth = exact if scene.estimate is None else estimate_depth(s.distance.reshape(shape), exact, central, scene.estimate)
    return {"images": images, "depth": depth, "masks": masks}
