"""The rasteriser's z-buffer and shadow maps: the nearest triangle per pixel, and per light the distances
to the objects in every direction below the light's horizon (and a little above).

Every step is exact under mirroring: pixel and texel centres are integer numerators over the size,
edge functions and lookups negate exactly.
"""

from __future__ import annotations

import numpy as np

from relight.data.synth.camera import image_shape
from relight.data.synth.mesh import Mesh
from relight.data.synth.shapes import dot

#: Highest light elevation (its sine) the shadow maps cover, and their half-width in map units.
MAP_TOP = 0.5
MAP_EXTENT = float(np.sqrt(1 - MAP_TOP**2) / (1 - MAP_TOP)) * 1.02
#: Candidate (pixel, triangle) pairs rasterised at once.
CHUNK = 1 << 21


def rasterise(u: np.ndarray, v: np.ndarray, depth: np.ndarray, size: int | tuple[int, int],
              perspective: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest triangle at each pixel centre of a grid of ``size`` (square, or (height, width)) over
    [-1, 1] across its width and the same scale down its height.

    ``u``, ``v`` (T x 3) are the triangles' corners (u rightwards, v upwards); ``depth`` (T x 3) orders
    them, interpolated as 1/depth where ``perspective``. Returns per pixel (row-major, top row first)
    the triangle (-1 for none), its depth (inf) and the interpolation weights of its corners.
    """
    shape = image_shape(size)
    lo_col, hi_col = _span(u.min(1), u.max(1), shape, rows=False)
    lo_row, hi_row = _span(v.max(1), v.min(1), shape, rows=True)
    wanted = (lo_col <= hi_col) & (lo_row <= hi_row)
    ids = np.nonzero(wanted)[0]
    counts = (hi_col - lo_col + 1)[ids] * (hi_row - lo_row + 1)[ids]
    bounds = np.searchsorted(np.cumsum(counts), np.arange(1, int(counts.sum()) // CHUNK + 2) * CHUNK)
    found = []
    for group in np.split(np.arange(len(ids)), np.unique(np.minimum(bounds, len(ids)))[:-1] + 1):
        if len(group):
            found.append(_covered(ids[group], counts[group], lo_col, hi_col, lo_row, u, v, depth, shape, perspective))
    pixel, z, tri, weights = (np.concatenate(column) for column in zip(*found)) if found else (
        np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 3)))
    order = np.lexsort((tri, z, pixel))
    first = order[np.r_[True, pixel[order][1:] != pixel[order][:-1]]] if len(order) else order
    pixels = shape[0] * shape[1]
    out_tri = np.full(pixels, -1)
    out_z = np.full(pixels, np.inf)
    out_w = np.zeros((pixels, 3))
    out_tri[pixel[first]], out_z[pixel[first]], out_w[pixel[first]] = tri[first], z[first], weights[first]
    return out_tri, out_z, out_w


def _span(low: np.ndarray, high: np.ndarray, shape: tuple[int, int], rows: bool) -> tuple[np.ndarray, np.ndarray]:
    """The pixel indices whose centres may lie between ``low`` and ``high``, one pixel of margin each side
    (the edge functions decide); rows count downwards from the top."""
    height, width = shape
    size = height if rows else width

    def index(x: np.ndarray) -> np.ndarray:
        return ((-x if rows else x) * width + size - 1) / 2
    with np.errstate(invalid="ignore", over="ignore"):
        first = np.clip(np.floor(index(low)) - 1, -1, size)
        last = np.clip(np.ceil(index(high)) + 1, -1, size)
    first, last = np.maximum(first, 0).astype(np.int64), np.minimum(last, size - 1).astype(np.int64)
    return first, last


def _covered(ids, counts, lo_col, hi_col, lo_row, u, v, depth, shape, perspective):
    height, size = shape
    tri = np.repeat(ids, counts)
    offset = np.arange(len(tri)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = (hi_col - lo_col + 1)[tri]
    col, row = lo_col[tri] + offset % width, lo_row[tri] + offset // width
    pu, pv = (2.0 * col + 1.0 - size) / size, (height - 2.0 * row - 1.0) / size
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
