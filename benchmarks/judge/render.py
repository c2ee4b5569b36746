"""The judge's renderer: a scene's 40 images, its depth and its 8 shadow masks.

Light model (the judge's own): each of the 8 lights is a sphere of radius ``light_radius * reach``
whose irradiance falls off as 1 / (d^2 + R^2) and is normalised to 1 at the central hit; surfaces are
Lambertian plus GGX microfacet highlights (Smith masking, Schlick Fresnel; metals tint their highlights
and have no diffuse term); shadows are cone-traced soft shadows (:func:`~judge.trace.soft_visibility`);
a sky dome of a fixed bluish colour fills every image alike, weighted by how much the normal faces up
and by ambient occlusion; a filmic shoulder (extended Reinhard) compresses highlights before the sRGB
curve. The light's colour is the black-body colour of its temperature (relight's, so that "2500 K"
means the same colour in both).

A light's shadow mask is, per pixel, the share of the light its surface does not get, as 8-bit grey (as
relight's generator writes it, ISSUE22): 255 where a surface is turned away from the light or sees
none of it, 0 where it sees all of it, the share hidden in penumbrae; 0 on the sky. Its cast-shadow
mask holds the same share only where the surface faces the light (0 where it is turned away): the
shadows other surfaces cast, which travel across a surface as the light moves, unlike the shading of a
surface turned away from it.
"""

from __future__ import annotations

import numpy as np

from judge.scene import COMPASS, JudgeScene
from judge.trace import march, normals, occlusion, soft_visibility
from relight.data.synth import LIGHT_RGB
from relight.lighting import TEMPERATURES, Light

#: Depth is distance over min(farthest hit, FAR * central hit distance), as VIDIT-style data has it.
FAR = 4.0
#: White point of the tone curve, in exposed linear units.
WHITE = 3.0
#: Highest GGX term kept (a tiny roughness on a sharp edge would otherwise give lone white pixels).
SPECULAR_CAP = 6.0


def encode(linear: np.ndarray) -> np.ndarray:
    """Exposed linear light to 8-bit sRGB through the tone curve's shoulder."""
    x = np.maximum(linear, 0.0)
    mapped = np.clip(x * (1.0 + x / WHITE**2) / (1.0 + x), 0.0, 1.0)
    srgb = np.where(mapped <= 0.0031308, 12.92 * mapped, 1.055 * mapped ** (1 / 2.4) - 0.055)
    return np.round(srgb * 255.0).astype(np.uint8)


def sky(dirs: np.ndarray) -> np.ndarray:
    """The background the camera sees where rays escape: hazy at the horizon, deeper blue above."""
    up = np.clip(dirs[:, 1], 0.0, 1.0)[:, None]
    return np.array([0.5, 0.55, 0.62]) * (1 - up) + np.array([0.16, 0.24, 0.42]) * up


def ggx(n: np.ndarray, v: np.ndarray, l: np.ndarray, roughness: np.ndarray) -> np.ndarray:
    """The GGX specular lobe times pi (so that it adds to Lambert's albedo * cos without 1/pi), without
    Fresnel, for unit vectors."""
    h = v + l
    h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    nh = np.clip(np.einsum("ij,ij->i", n, h), 0.0, 1.0)
    nv = np.clip(np.einsum("ij,ij->i", n, v), 1e-4, 1.0)
    nl = np.clip(np.einsum("ij,ij->i", n, l), 1e-4, 1.0)
    a2 = np.maximum(roughness**2, 1e-3) ** 2
    d = a2 / (np.pi * (nh * nh * (a2 - 1.0) + 1.0) ** 2)
    k = (roughness + 1.0) ** 2 / 8.0
    g = nv / (nv * (1 - k) + k) * nl / (nl * (1 - k) + k)
    return np.minimum(np.pi * d * g / (4.0 * nv * nl), SPECULAR_CAP)


def schlick(f0: np.ndarray, v: np.ndarray, l: np.ndarray) -> np.ndarray:
    h = v + l
    h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    vh = np.clip(np.einsum("ij,ij->i", v, h), 0.0, 1.0)[:, None]
    return f0 + (1.0 - f0) * (1.0 - vh) ** 5


def surface(scene: JudgeScene, f: object, p: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diffuse albedo, specular reflectance at normal incidence (N x 3) and roughness per hit point."""
    which = f.material_at(p)  # type: ignore[attr-defined]
    diffuse, f0, rough = np.zeros_like(p), np.zeros_like(p), np.zeros(len(p))
    for index in np.unique(which):
        mine = which == index
        m = scene.materials[index]
        colour = m.albedo(p[mine], n[mine])
        rough[mine] = m.roughness
        if m.metal:
            f0[mine] = colour
        else:
            diffuse[mine], f0[mine] = colour, m.reflectance
    return diffuse, f0, rough


def render(scene: JudgeScene, size: int) -> dict[str, object]:
    """``{"images": {Light: size x size x 3 uint8}, "depth": size x size float32, "masks": {direction: size x size uint8},
    "cast_masks": {direction: size x size uint8}}``."""
    centre, reach = scene.central_hit()
    f = scene.field(margin=0.1 * reach)
    origin, dirs, footprint = scene.rays(size)
    origins = np.broadcast_to(origin, dirs.shape)
    t, hit = march(f, origins, dirs, far=FAR * 3 * reach, footprint=footprint)
    p = origin + t[hit, None] * dirs[hit]
    n = normals(f, p, np.maximum(footprint * t[hit], 1e-4 * reach))
    v = -dirs[hit]  # the field's gradient faces out on both sides of thin shells, so normals are never flipped
    diffuse, f0, rough = surface(scene, f, p, n)
    lift = p + n * np.maximum(2.0 * footprint * t[hit], 2e-4 * reach)[:, None]

    rig = scene.rig
    fill = diffuse * (np.asarray(rig.fill_colour) * rig.fill)[None, :] * ((0.5 + 0.5 * n[:, 1]) * occlusion(f, lift, n, 0.04 * reach))[:, None]
    radius = rig.light_radius * reach
    lights = scene.lights((centre, reach))
    norm = float(np.sum((lights["N"] - centre) ** 2)) + radius**2
    key, masks, cast_masks = {}, {}, {}
    for direction in COMPASS:
        to_light = lights[direction][None, :] - p
        d2 = np.einsum("ij,ij->i", to_light, to_light)
        l = to_light / np.sqrt(d2)[:, None]
        cosine = np.einsum("ij,ij->i", n, l)
        facing = np.nonzero(cosine > 0)[0]
        seen = np.zeros(len(p))
        seen[facing] = soft_visibility(f, lift[facing], lights[direction], radius, reach)
        irradiance = np.maximum(cosine, 0.0) * seen * norm / (d2 + radius**2)
        key[direction] = irradiance[:, None] * (diffuse + schlick(f0, v, l) * ggx(n, v, l, rough)[:, None])
        cast = np.zeros(len(p))
        cast[facing] = 1.0 - seen[facing]
        hidden = np.where(cosine > 0, cast, 1.0)
        masks[direction], cast_masks[direction] = (_grey(share, hit, size) for share in (hidden, cast))

    background = sky(dirs[~hit])
    images = {}
    for temperature in TEMPERATURES:
        colour = LIGHT_RGB[temperature][None, :]
        for direction in COMPASS:
            linear = np.empty_like(dirs)
            linear[hit] = (fill + colour * key[direction]) * rig.exposure
            linear[~hit] = background
            images[Light(temperature, direction)] = encode(linear).reshape(size, size, 3)
    distance = np.where(hit, t, np.inf)
    far = min(float(distance[hit].max()), FAR * reach) if hit.any() else 1.0
    depth = np.where(hit, np.minimum(distance / far, 1.0), 1.0).astype(np.float32).reshape(size, size)
    return {"images": images, "depth": depth, "masks": masks, "cast_masks": cast_masks}


def _grey(share: np.ndarray, hit: np.ndarray, size: int) -> np.ndarray:
    """A per-hit share in [0, 1] as a size x size 8-bit mask, 0 where no surface was hit."""
    mask = np.zeros(size * size, dtype=np.uint8)
    mask[hit] = np.round(share * 255.0).astype(np.uint8)
    return mask.reshape(size, size)
