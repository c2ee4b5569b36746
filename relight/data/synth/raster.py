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

from relight.data.synth.camera import camera_basis, camera_rays, central_hit, light_positions, normalised_depth, reference_irradiance
from relight.data.synth.colour import compose_images
from relight.data.synth.mesh import Mesh, scene_mesh, segments_for
from relight.data.synth.shapes import Plane, SynthScene, dot
from relight.data.synth.textures import Texture
from relight.data.vidit import DIRECTIONS
from relight.errors import RelightError

#: Shadow-map texels per image pixel along each side (odd map sizes keep a texel centred on the nadir).
MAP_SCALE = 2
#: Highest light elevation (its sine) the shadow maps cover, and their half-width in map units.
MAP_TOP = 0.5
MAP_EXTENT = float(np.sqrt(1 - MAP_TOP**2) / (1 - MAP_TOP)) * 1.02
#: Oren-Nayar roughness (radians) and the highlights' exponent.
ROUGHNESS = 0.35
SHININESS = 40.0
#: Candidate (pixel, triangle) pairs rasterised at once.
CHUNK = 1 << 21


def rasterise(u: np.ndarray, v: np.ndarray, depth: np.ndarray, size: int, perspective: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest triangle at each pixel centre of a ``size`` x ``size`` grid over [-1, 1]^2.

    ``u``, ``v`` (T x 3) are the triangles' corners (u rightwards, v upwards); ``depth`` (T x 3) orders
    them, interpolated as 1/depth where ``perspective``. Returns per pixel (row-major, top row first)
    the triangle (-1 for none), its depth (inf) and the interpolation weights of its corners.
    """
    lo_col, hi_col = _span(u.min(1), u.max(1), size, rows=False)
    lo_row, hi_row = _span(v.max(1), v.min(1), size, rows=True)
    wanted = (lo_col <= hi_col) & (lo_row <= hi_row)
    ids = np.nonzero(wanted)[0]
    counts = (hi_col - lo_col + 1)[ids] * (hi_row - lo_row + 1)[ids]
    bounds = np.searchsorted(np.cumsum(counts), np.arange(1, int(counts.sum()) // CHUNK + 2) * CHUNK)
    found = []
    for group in np.split(np.arange(len(ids)), np.unique(np.minimum(bounds, len(ids)))[:-1] + 1):
        if len(group):
            found.append(_covered(ids[group], counts[group], lo_col, hi_col, lo_row, u, v, depth, size, perspective))
    pixel, z, tri, weights = (np.concatenate(column) for column in zip(*found)) if found else (
        np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 3)))
    order = np.lexsort((tri, z, pixel))
    first = order[np.r_[True, pixel[order][1:] != pixel[order][:-1]]] if len(order) else order
    out_tri = np.full(size * size, -1)
    out_z = np.full(size * size, np.inf)
    out_w = np.zeros((size * size, 3))
    out_tri[pixel[first]], out_z[pixel[first]], out_w[pixel[first]] = tri[first], z[first], weights[first]
    return out_tri, out_z, out_w


def _span(low: np.ndarray, high: np.ndarray, size: int, rows: bool) -> tuple[np.ndarray, np.ndarray]:
    """The pixel indices whose centres may lie between ``low`` and ``high``, one pixel of margin each side
    (the edge functions decide); rows count downwards from v = 1."""
    def index(x: np.ndarray) -> np.ndarray:
        return ((-x if rows else x) * size + size - 1) / 2
    with np.errstate(invalid="ignore", over="ignore"):
        first = np.clip(np.floor(index(low)) - 1, -1, size)
        last = np.clip(np.ceil(index(high)) + 1, -1, size)
    first, last = np.maximum(first, 0).astype(np.int64), np.minimum(last, size - 1).astype(np.int64)
    return first, last


def _covered(ids, counts, lo_col, hi_col, lo_row, u, v, depth, size, perspective):
    tri = np.repeat(ids, counts)
    offset = np.arange(len(tri)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = (hi_col - lo_col + 1)[tri]
    col, row = lo_col[tri] + offset % width, lo_row[tri] + offset // width
    pu, pv = (2.0 * col + 1.0 - size) / size, (size - 2.0 * row - 1.0) / size
    (u0, u1, u2), (v0, v1, v2) = u[tri].T, v[tri].T
    e0 = (u2 - u1) * (pv - v1) - (v2 - v1) * (pu - u1)
    e1 = (u0 - u2) * (pv - v2) - (v0 - v2) * (pu - u2)
    e2 = (u1 - u0) * (pv - v0) - (v1 - v0) * (pu - u0)
    area = e0 + e1 + e2
    inside = (((e0 >= 0) & (e1 >= 0) & (e2 >= 0)) | ((e0 <= 0) & (e1 <= 0) & (e2 <= 0))) & (area != 0)
    w = np.stack([e0, e1, e2], 1)[inside] / area[inside, None]
    d = depth[tri[inside]]
    if perspective:
        q = w / d
        inverse = q.sum(1)
        z, w = 1.0 / inverse, q / inverse[:, None]
    else:
        z = (w * d).sum(1)
    return row[inside] * size + col[inside], z, tri[inside], w


# --------------------------------------------------------------------------- textures


def _sines(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 7])
    directions = rng.normal(size=(5, 3))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(0.8, 2.2, (5, 1)), rng.uniform(0, 2 * np.pi, 5)


def _sine_noise(p: np.ndarray, seed: int) -> np.ndarray:
    """Band-limited noise in [0, 1]: five plane waves of hashed directions, frequencies and phases."""
    directions, phases = _sines(seed)
    return 0.5 + 0.5 * np.mean(np.sin(2 * np.pi * p @ directions.T + phases), axis=1) * 1.6


def pattern(texture: Texture, q: np.ndarray) -> np.ndarray:
    """The rasteriser's albedo for ``texture`` at local points ``q``: the same kinds, colours and scales
    as the ray caster's, drawn as smooth patterns (soft-edged checks and stripes, wave noise)."""
    a, b = np.asarray(texture.color_a), np.asarray(texture.color_b)
    p, axis = q / texture.scale, np.asarray(texture.axis)
    kind = texture.kind
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


# --------------------------------------------------------------------------- shadow maps


def facing(mesh: Mesh, eye: np.ndarray) -> np.ndarray:
    """Per triangle, its mean vertex normal dotted with the direction from ``eye``: > 0 for a face
    turned away from ``eye``."""
    corners = mesh.triangles
    normal = mesh.normals[corners].sum(1)
    centre = mesh.positions[corners].sum(1) / 3
    return dot(normal, centre - eye)


def _stereographic(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distance, map coordinates (u, v in [-1, 1]) and unit direction's height of offsets from a light."""
    r = np.sqrt(dot(d, d))
    up = d[:, 1] / r
    return r, d[:, 0] / r / (1 - up) / MAP_EXTENT, d[:, 2] / r / (1 - up) / MAP_EXTENT, up


class ShadowMap:
    """Distances from one light to the objects, in each direction below MAP_TOP of elevation.

    Each texel holds the midpoint between the nearest face turned towards the light and the nearest
    turned away (midpoint shadow mapping): a lit face never shadows itself, and a point just under an
    object is still behind that midpoint.
    """

    def __init__(self, mesh: Mesh, light: np.ndarray, size: int) -> None:
        self.light, self.size = light, size
        self.texel = 2 * MAP_EXTENT / size
        r, u, v, up = _stereographic(mesh.positions - light)
        below = (up[mesh.triangles] <= MAP_TOP).all(1)
        away = facing(mesh, light) > 0
        nearest = []
        for side in (below & ~away, below & away):
            tris = mesh.triangles[side]
            hit, depth, _ = rasterise(u[tris], v[tris], r[tris], size, perspective=False)
            nearest.append(np.where(hit >= 0, depth, np.inf).reshape(size, size))
        front, back = nearest
        depth = np.where(np.isfinite(front) & np.isfinite(back), (front + back) / 2, np.minimum(front, back))
        self.bordered = np.pad(depth, 1, constant_values=np.inf).reshape(-1)  # flat, with a border of inf

    def lit(self, p: np.ndarray, cosine: np.ndarray, radius: float) -> np.ndarray:
        """The fraction of a light of ``radius`` that each point sees: a blocker search, then a filter
        as wide as the penumbra the average blocker gives (percentage-closer soft shadows)."""
        r, u, v, up = _stereographic(p - self.light)
        per_angle = 1 / (1 - up) / MAP_EXTENT * self.size / 2  # texels per radian near that direction
        # A slope-scaled bias: a face at a grazing angle to the light changes depth fast across the taps.
        slope = np.sqrt(np.maximum(1 - cosine * cosine, 0.0)) / np.maximum(cosine, 0.1)
        limit = r * (1 - 0.002 - np.minimum(2.0 * slope / per_angle, 0.1))
        x, y = u * self.size / 2, -v * self.size / 2  # texel units from the map's centre texel
        blocked, blocker = np.zeros(len(p)), np.zeros(len(p))
        search = np.maximum(radius / r * per_angle, 1.0)
        for b in (-1.0, 0.0, 1.0):  # the middle tap, then a mirrored pair summed first
            row = _nearest(y + b * search)
            for cols in ((x,), (x + search, x - search)):
                found = [self._texels(_nearest(c), row) for c in cols]
                near = [f < limit for f in found]
                blocked = blocked + sum(near)
                blocker = blocker + sum(np.where(n, f, 0.0) for n, f in zip(near, found))
        # Only points with a blocker near them are filtered; the others see the whole light.
        seen = np.ones(len(p))
        some = np.nonzero((blocked > 0) & (up <= MAP_TOP))[0]
        x, y, r, limit, per_angle = x[some], y[some], r[some], limit[some], per_angle[some]
        mean_blocker = blocker[some] / blocked[some]
        step = np.maximum(radius * (r - mean_blocker) / np.maximum(mean_blocker, 1e-6) / r * per_angle / 2, 0.5)
        shadowed = np.zeros(len(some))
        for a in (0.5, 1.5):  # taps in mirrored pairs (a, b) and (-a, b), each pair summed first
            for b in (-1.5, -0.5, 0.5, 1.5):
                yb = y + b * step
                shadowed += self._filtered(x + a * step, yb, limit) + self._filtered(x - a * step, yb, limit)
        seen[some] = 1.0 - shadowed / 16
        return seen

    def _texels(self, col: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Depths at texel offsets from the centre texel, inf outside the map (read from its border)."""
        side = self.size + 2
        centre = (self.size - 1) // 2 + 1
        c = np.clip(col.astype(np.int64) + centre, 0, side - 1)
        r = np.clip(row.astype(np.int64) + centre, 0, side - 1)
        return self.bordered[r * side + c]

    def _filtered(self, x: np.ndarray, y: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """The share of the four texels around (x, y) nearer than ``limit``, weighted bilinearly."""
        (x0, x1, fx), (y0, y1, fy) = _between(x), _between(y)
        total = np.zeros(len(x))
        for col, wx in ((x0, 1 - fx), (x1, fx)):
            for row, wy in ((y0, 1 - fy), (y1, fy)):
                total += wx * wy * (self._texels(col, row) < limit)
        return total


def _nearest(x: np.ndarray) -> np.ndarray:
    """The nearest texel offset, exactly odd in ``x`` (so a mirrored point reads the mirrored texel)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _between(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texel offsets either side of ``x`` and the weight of the farther from zero, computed on
    ``|x|`` so that ``-x`` gives the mirrored texels with the same weights."""
    a = np.abs(x)
    whole = np.floor(a)
    sign = np.where(x < 0, -1.0, 1.0)
    return sign * whole, sign * (whole + 1), a - whole


# --------------------------------------------------------------------------- shading


def _oren_nayar(n: np.ndarray, light: np.ndarray, view: np.ndarray, cos_i: np.ndarray) -> np.ndarray:
    """The Oren-Nayar factor by which a rough surface's reflection differs from Lambert's (qualitative model)."""
    s2 = ROUGHNESS**2
    a, b = 1 - 0.5 * s2 / (s2 + 0.33), 0.45 * s2 / (s2 + 0.09)
    cos_r = np.clip(dot(n, view), 1e-6, 1.0)
    lt, vt = light - n * cos_i[:, None], view - n * cos_r[:, None]
    norms = np.sqrt(dot(lt, lt) * dot(vt, vt))
    cos_phi = np.where(norms > 1e-12, dot(lt, vt) / np.maximum(norms, 1e-12), 0.0)
    ci = np.clip(cos_i, 1e-6, 1.0)
    sin_i, sin_r = np.sqrt(1 - ci * ci), np.sqrt(1 - cos_r * cos_r)
    sin_alpha = np.maximum(sin_i, sin_r)
    tan_beta = np.minimum(sin_i / ci, sin_r / cos_r)
    return a + b * np.maximum(cos_phi, 0.0) * sin_alpha * tan_beta


def _surfaces(scene: SynthScene, size: int) -> tuple[np.ndarray, ...]:
    """Per pixel: whether it sees a surface, and where it does its position, normal, albedo,
    highlight strength and distance from the camera."""
    origin, forward, up = camera_basis(scene)
    half = np.tan(np.radians(scene.fov_deg) / 2)
    mesh = scene_mesh(scene.primitives, segments_for(size))
    rel = mesh.positions - origin
    zc = dot(rel, np.broadcast_to(forward, rel.shape))
    keep = (zc[mesh.triangles] > 0.05).all(1) & (facing(mesh, origin) < 0)
    tris = mesh.triangles[keep]
    u = mesh.positions[:, 0] / (zc * half)
    v = dot(rel, np.broadcast_to(up, rel.shape)) / (zc * half)
    tri, z_obj, weights = rasterise(u[tris], v[tris], zc[tris], size, perspective=True)
    _, dirs = camera_rays(scene, size)
    # Planes, per pixel: the ground and a wall, where nearer than the objects.
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
    p, n, q = np.zeros((len(dirs), 3)), np.zeros((len(dirs), 3)), np.zeros((len(dirs), 3))
    w = weights[on_object]
    for array, values in ((p, mesh.positions), (n, mesh.normals), (q, mesh.local)):
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
        albedo[mine] = pattern(prim.texture, q[mine])
        gloss[mine] = 0.03 if isinstance(prim, Plane) else 0.05 + 0.3 * (prim.texture.seed % 1000) / 1000
    n[hit] /= np.sqrt(dot(n[hit], n[hit]))[:, None]
    distance = np.where(hit, np.sqrt(dot(p - origin, p - origin)), np.inf)
    return hit, p, n, albedo, gloss, distance, mesh, dirs


def raster_scene(scene: SynthScene, size: int) -> dict[str, object]:
    """All 40 settings of ``scene`` at ``size`` x ``size``, rasterised; the same outputs as
    :func:`~relight.data.synth.render_scene`."""
    if size < 2:
        raise RelightError(f"image size {size} is too small; use at least 2 pixels")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _raster(scene, size)


def _raster(scene: SynthScene, size: int) -> dict[str, object]:
    hit, p, n, albedo, gloss, distance, mesh, dirs = _surfaces(scene, size)
    centre, central = central_hit(scene)
    lights = light_positions(scene, (centre, central))
    reference = reference_irradiance(scene, central)
    p, n, view, albedo, gloss = p[hit], n[hit], -dirs[hit], albedo[hit], gloss[hit]
    n = np.where((dot(n, view) < 0)[:, None], -n, n)
    ambient = scene.ambient * (0.8 + 0.2 * n[:, 1])
    diffuse, highlight = {}, {}
    for direction in DIRECTIONS:
        to_light = lights[direction] - p
        dist2 = dot(to_light, to_light)
        ldir = to_light / np.sqrt(dist2)[:, None]
        cos_i = np.maximum(dot(n, ldir), 0.0)
        facing = cos_i > 0
        seen = np.zeros(len(p))
        shadow_map = ShadowMap(mesh, lights[direction], MAP_SCALE * size + 1 - (MAP_SCALE * size) % 2)
        seen[facing] = shadow_map.lit(p[facing], cos_i[facing], scene.light_size * central)
        irradiance = cos_i * reference / dist2 * seen
        halfway = ldir + view
        halfway /= np.sqrt(dot(halfway, halfway))[:, None]
        diffuse[direction] = irradiance * _oren_nayar(n, ldir, view, cos_i)
        highlight[direction] = gloss * np.maximum(dot(n, halfway), 0.0) ** SHININESS * reference / dist2 * seen * facing
    shades = {d: albedo * (ambient + diffuse[d])[:, None] + highlight[d][:, None] for d in DIRECTIONS}
    images = compose_images(dirs, hit, shades, size)
    return {"images": images, "depth": normalised_depth(distance, hit, central, size)}
