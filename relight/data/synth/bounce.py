"""The ray caster's one-bounce light: the lamp's light reflected once off the scene, from virtual lights.

A cheap approximation, and an honest one about what it leaves out. Rays leave the lamp in a fixed set
of downward and sideways directions (:data:`BOUNCE_RINGS`); where each first lands, a small diffuse
patch lit by the lamp (it sees the lamp, by construction) becomes a virtual light carrying the flux of
its ray's share of solid angle, coloured by its albedo. Each point then gathers from every virtual light
by the two cosines and the inverse square of the distance, clamped near the patch (no spikes), **with no
occlusion** between a virtual light and the point (no shadows in the bounce), no bounce of the sky fill,
and no second bounce. Directions come in mirrored pairs, summed pair by pair, so a mirrored scene's bounce
is the mirrored bounce.
"""

from __future__ import annotations

import numpy as np

from relight.data.synth.camera import falloff
from relight.data.synth.shapes import SynthScene, dot, first_hit
from relight.data.synth.textures import PHOTO

#: The directions virtual lights are cast in: rings of (elevation in degrees, count) below the lamp.
BOUNCE_RINGS = ((-12.0, 6), (-40.0, 6), (-72.0, 4))


def ring_directions(rings: tuple[tuple[float, int], ...], upward: bool) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions on rings of (elevation, count) and the solid angle each stands for: the band
    between the midpoints of neighbouring rings (to the horizon and the zenith, or the nadir, at the
    ends), shared by its ring's directions. Each ring's azimuths come as mirrored pairs (x, z), (-x, z)."""
    ordered = sorted(rings, key=lambda ring: abs(ring[0]))
    elevations = np.radians([abs(e) for e, _ in ordered])
    edges = np.concatenate([[0.0], (elevations[1:] + elevations[:-1]) / 2, [np.pi / 2]])
    directions, weights = [], []
    for (elevation, count), low, high in zip(ordered, edges[:-1], edges[1:]):
        band = 2 * np.pi * (np.sin(high) - np.sin(low)) / count
        e = np.radians(elevation)
        for j in range(count // 2):
            azimuth = (j + 0.5) * 2 * np.pi / count
            x, z = np.cos(e) * np.sin(azimuth), np.cos(e) * np.cos(azimuth)
            y = np.sin(abs(e)) if upward else -np.sin(abs(e))
            directions += [(x, y, z), (-x, y, z)]
            weights += [band, band]
    return np.asarray(directions), np.asarray(weights)


def _patch_albedo(scene: SynthScene, index: int, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The diffuse albedo of primitive ``index`` at one point (none for a metal)."""
    prim = scene.primitives[index]
    material = getattr(prim, "material", None)
    if material is not None and material.metal:
        return np.zeros(3)
    normal = prim.local_normal(n[None]) if prim.texture.kind == PHOTO else None
    return prim.texture.albedo(prim.local(p[None]), normal)[0]


def bounce_light(scene: SynthScene, light: np.ndarray, reference: float, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The irradiance (RGB, in the lamp's units) that one bounce of the lamp at ``light`` brings to points
    ``p`` with normals ``n``; the renderer multiplies it by their diffuse albedo."""
    directions, weights = ring_directions(BOUNCE_RINGS, upward=False)
    origin = np.broadcast_to(light, directions.shape)
    t, index, normal = first_hit(scene.primitives, origin, directions)
    total = np.zeros((len(p), 3))
    for k in range(0, len(directions), 2):  # mirrored pairs summed first
        pair = np.zeros((len(p), 3))
        for j in (k, k + 1):
            if index[j] < 0:
                continue
            d = directions[j]
            patch = light + t[j] * d
            patch_n = normal[j] if np.dot(normal[j], d) < 0 else -normal[j]
            flux = weights[j] * t[j] ** 2 * float(falloff(scene, reference, np.array([t[j] ** 2]))[0])
            albedo = _patch_albedo(scene, int(index[j]), patch, patch_n)
            to_patch = patch - p
            r2 = dot(to_patch, to_patch)
            r = np.sqrt(r2)
            cos_in = np.maximum(dot(n, to_patch) / r, 0.0)
            cos_out = np.maximum(-dot(to_patch, np.broadcast_to(patch_n, to_patch.shape)) / r, 0.0)
            spread = np.maximum(r2, weights[j] * t[j] ** 2)
            pair = pair + (flux * cos_in * cos_out / (np.pi * spread))[:, None] * albedo
        total = total + pair
    return total
