"""Triangle meshes of the scene's objects, for the rasterising renderer.

Each object is tessellated in its own local frame (the coordinates its texture reads), then placed in
the world by the same arithmetic as its mirror image, so that a mirrored object's mesh is exactly the
x-negated mesh of the original (vertex for vertex, triangle for triangle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relight.data.synth.shapes import Box, Capsule, Cone, Plane, Primitive, Sphere
from relight.data.synth.solids import Ellipsoid, Solid, Terrain, polyhedron

#: The most segments around each round object (at 240 pixels and up; fewer for smaller images, down to
#: 12), and half as many rings from its bottom to its top.
SEGMENTS = 40
#: Quads per box face edge (a finer grid keeps the shadow map's linear depth close to the faces), and
#: the longest a quad may be on a larger box (a wall) before its faces get more.
BOX_GRID = 4
BOX_CELL = 0.5
#: Subdivisions of each triangle of a polyhedron's faces along each edge.
SOLID_GRID = 3
#: The longest edge of a terrain grid's cells over its smallest bump's radius, and the most cells per side.
TERRAIN_CELL = 0.2
TERRAIN_GRID = 96


@dataclass(frozen=True)
class Mesh:
    """World positions, normals and local (texture) coordinates per vertex, triangles as vertex indices,
    the index of the primitive each triangle belongs to, and the normals in the local frame."""

    positions: np.ndarray
    normals: np.ndarray
    local: np.ndarray
    triangles: np.ndarray
    owner: np.ndarray
    local_normals: np.ndarray


def _grid_triangles(rows: int, cols: int, offset: int) -> np.ndarray:
    """Two triangles per cell of a (rows + 1) x (cols + 1) vertex grid stored row by row."""
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    a = (r * (cols + 1) + c).reshape(-1) + offset
    b, d = a + 1, a + cols + 1
    return np.concatenate([np.stack([a, b, d + 1], 1), np.stack([a, d + 1, d], 1)])


def segments_for(size: int) -> int:
    """Segments around a round object in a ``size``-pixel image: a sixth of the size, 12 to SEGMENTS."""
    return int(np.clip(size // 6, 12, SEGMENTS))


def _revolved(profile: tuple[np.ndarray, ...], segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and normals of a surface of revolution about the vertical axis, from its profile
    (radius, height and the normal's radial and vertical parts per profile point), ``segments + 1`` around."""
    radius, height, normal_r, normal_y = profile
    phi = 2 * np.pi * np.arange(segments + 1) / segments
    cos, sin = np.cos(phi)[None, :], np.sin(phi)[None, :]
    q = np.stack([radius[:, None] * cos, np.broadcast_to(height[:, None], (len(height), segments + 1)), radius[:, None] * sin], -1)
    n = np.stack([normal_r[:, None] * cos, np.broadcast_to(normal_y[:, None], q.shape[:2]), normal_r[:, None] * sin], -1)
    return q.reshape(-1, 3), n.reshape(-1, 3)


def _round_profile(prim: Primitive, rings: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The profile, bottom to top, of a round object in its local frame (origin on its axis at y = 0,
    except a sphere's, at its centre)."""
    theta = np.pi * np.arange(rings + 1)[::-1] / rings  # from the bottom pole to the top one
    if isinstance(prim, Sphere):
        return prim.radius * np.sin(theta), prim.radius * np.cos(theta), np.sin(theta), np.cos(theta)
    if isinstance(prim, Capsule):
        half = rings // 2
        theta = np.concatenate([theta[: half + 1], theta[half:]])  # the equator twice: the cylinder between
        lift = np.where(np.arange(len(theta)) <= half, prim.radius, prim.radius + prim.length)
        return prim.radius * np.sin(theta), lift + prim.radius * np.cos(theta), np.sin(theta), np.cos(theta)
    if isinstance(prim, Cone):
        f = np.arange(rings + 1) / rings
        slant = np.hypot(prim.height, prim.radius)
        return (prim.radius * (1 - f), prim.height * f, np.full_like(f, prim.height / slant), np.full_like(f, prim.radius / slant))
    f = np.arange(rings + 1) / rings  # a cylinder: its side, then its top cap as a ring shrinking to the axis
    side = (np.full_like(f, prim.radius), prim.height * f, np.ones_like(f), np.zeros_like(f))
    cap = (prim.radius * f[::-1], np.full_like(f, prim.height), np.zeros_like(f), np.ones_like(f))
    return tuple(np.concatenate([s, c]) for s, c in zip(side, cap))


def _box_faces(box: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local vertices, normals and triangles of a box's six faces, each a grid of BOX_GRID quads a side,
    or more where a side is longer than BOX_GRID * BOX_CELL."""
    half = np.asarray(box.half)
    cells = [max(BOX_GRID, int(np.ceil(2 * h / BOX_CELL))) for h in box.half]
    qs, ns, tris = [], [], []
    for axis in range(3):
        others = [k for k in range(3) if k != axis]
        rows, cols = cells[others[0]], cells[others[1]]
        a, b = (m.reshape(-1) for m in np.meshgrid(np.linspace(-1.0, 1.0, rows + 1), np.linspace(-1.0, 1.0, cols + 1), indexing="ij"))
        for sign in (-1.0, 1.0):
            face = np.zeros((len(a), 3))
            face[:, axis], face[:, others[0]], face[:, others[1]] = sign, a, b
            normal = np.zeros_like(face)
            normal[:, axis] = sign
            tris.append(_grid_triangles(rows, cols, sum(len(q) for q in qs)))
            qs.append(face * half)
            ns.append(normal)
    return np.concatenate(qs), np.concatenate(ns), np.concatenate(tris)


def _solid_faces(solid: Solid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local vertices, normals (flat, per face) and triangles of a polyhedron: each face a fan of
    triangles, each split into SOLID_GRID^2 smaller ones."""
    points, faces = polyhedron(solid.kind, solid.radii)
    points = points * np.asarray(solid.half)
    normals, _ = solid.planes()
    i, j = (m.reshape(-1) for m in np.meshgrid(np.arange(SOLID_GRID + 1), np.arange(SOLID_GRID + 1), indexing="ij"))
    inside = i + j <= SOLID_GRID
    i, j = i[inside], j[inside]
    index = {(a, b): k for k, (a, b) in enumerate(zip(i, j))}
    small = [(index[a, b], index[a + 1, b], index[a, b + 1]) for a, b in zip(i, j) if a + b < SOLID_GRID]
    small += [(index[a + 1, b], index[a + 1, b + 1], index[a, b + 1]) for a, b in zip(i, j) if a + b < SOLID_GRID - 1]
    small_tris = np.asarray(small)
    qs, ns, tris = [], [], []
    for face, normal in zip(faces, normals):
        for k in range(1, len(face) - 1):
            a, b, c = points[face[0]], points[face[k]], points[face[k + 1]]
            grid = a + np.outer(i / SOLID_GRID, b - a) + np.outer(j / SOLID_GRID, c - a)
            tris.append(small_tris + sum(len(q) for q in qs))
            qs.append(grid)
            ns.append(np.broadcast_to(normal, grid.shape))
    return np.concatenate(qs), np.concatenate(ns), np.concatenate(tris)


def _ellipsoid_surface(ellipsoid: Ellipsoid, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local vertices, normals and triangles of an ellipsoid: a unit sphere's, stretched."""
    rings = max(segments // 2, 2)
    theta = np.pi * np.arange(rings + 1)[::-1] / rings
    q, n = _revolved((np.sin(theta), np.cos(theta), np.sin(theta), np.cos(theta)), segments)
    radii = np.asarray(ellipsoid.radii)
    n = n / radii
    n /= np.maximum(np.sqrt(np.sum(n * n, axis=1)), 1e-12)[:, None]
    return q * radii, n, _grid_triangles(rings, segments, 0)


def _terrain_surface(terrain: Terrain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local vertices, normals and triangles of a terrain: a grid over its box, fine enough for its
    smallest bump, in the reflected frame (so a mirrored terrain's grid is the same grid reflected)."""
    bumps = [(cx * terrain.handed, cz, rx, rz, h) for cx, cz, rx, rz, h in terrain.bumps]
    local = Terrain(tuple(bumps), terrain.texture)
    low, high = local.box()
    step = TERRAIN_CELL * min(min(rx, rz) for _, _, rx, rz, _ in bumps)
    cols, rows = (int(np.clip(np.ceil((high[k] - low[k]) / step), 8, TERRAIN_GRID)) for k in (0, 2))
    z, x = (m.reshape(-1) for m in np.meshgrid(np.linspace(low[2], high[2], rows + 1), np.linspace(low[0], high[0], cols + 1), indexing="ij"))
    gx, gz = local.gradient(x, z)
    n = np.stack([-gx, np.ones(len(x)), -gz], axis=1)
    n /= np.sqrt(np.sum(n * n, axis=1))[:, None]
    return np.stack([x, local.heights(x, z), z], axis=1), n, _grid_triangles(rows, cols, 0)


def _placed(prim: Primitive, q: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World positions and normals of local points: x is reflected for a mirrored (left-handed) object."""
    handed = np.array([prim.handed, 1.0, 1.0])
    if isinstance(prim, Box):
        return np.asarray(prim.center) + prim.to_world(q * handed), prim.to_world(n * handed)
    if isinstance(prim, (Solid, Ellipsoid)):
        return np.asarray(prim.center) + prim.world(q), prim.world(n)
    if isinstance(prim, Sphere):
        return np.asarray(prim.center) + q * handed, n * handed
    if isinstance(prim, Terrain):
        return q * handed, n * handed
    cx, cz = prim.center
    return np.array([cx, prim.base, cz]) + q * handed, n * handed


def _surface(prim: Primitive, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local vertices, normals and triangles of one object."""
    if isinstance(prim, Box):
        return _box_faces(prim)
    if isinstance(prim, Solid):
        return _solid_faces(prim)
    if isinstance(prim, Ellipsoid):
        return _ellipsoid_surface(prim, segments)
    if isinstance(prim, Terrain):
        return _terrain_surface(prim)
    profile = _round_profile(prim, max(segments // 2, 2))
    q, n = _revolved(profile, segments)
    return q, n, _grid_triangles(len(profile[0]) - 1, segments, 0)


def scene_mesh(primitives: tuple[Primitive, ...], segments: int = SEGMENTS) -> Mesh:
    """One mesh of every object, ``segments`` around the round ones (planes are not tessellated: the
    rasteriser draws them per pixel)."""
    parts: list[tuple[np.ndarray, ...]] = []
    count = 0
    for index, prim in enumerate(primitives):
        if isinstance(prim, Plane):
            continue
        q, n, tris = _surface(prim, segments)
        p, world_n = _placed(prim, q, n)
        parts.append((p, world_n, q, tris + count, np.full(len(tris), index), n))
        count += len(p)
    if not parts:
        empty = np.zeros((0, 3))
        return Mesh(empty, empty, empty, np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64), empty)
    return Mesh(*(np.concatenate(column) for column in zip(*parts)))
