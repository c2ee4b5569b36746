"""Materials of world scenes: Lambert, Oren-Nayar, glossy and rough specular, metals.

Shading is in the units the renderers share: a white Lambertian surface under irradiance ``E`` (which
holds the cosine of incidence) shows ``E``. A specular lobe adds ``pi * f_s * E`` (``f_s`` the BRDF), so
that a white diffuse surface and a perfect mirror's lobe carry the same energy. The ray caster uses a
GGX microfacet lobe (:func:`ggx`), the rasteriser a normalised Blinn-Phong lobe of matching width
(:func:`blinn_phong`): two renderings of the same material description.

A primitive whose ``material`` is None is shaded as each renderer shades classic scenes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The material kinds a world scene draws from.
MATERIAL_KINDS = ("lambert", "oren-nayar", "glossy", "rough", "metal")


@dataclass(frozen=True)
class Material:
    """How a surface reflects: a diffuse part (Oren-Nayar of ``roughness`` radians, Lambert at 0) and a
    specular lobe of reflectance ``specular`` at normal incidence and microfacet roughness ``gloss``
    (GGX alpha: small is a sharp highlight, large a broad sheen). A metal (``metal``) has no diffuse part
    and a lobe tinted by its albedo."""

    kind: str = "lambert"
    roughness: float = 0.0
    specular: float = 0.0
    gloss: float = 0.5
    metal: bool = False


def random_material(rng: np.random.Generator, kind: str) -> Material:
    """A material of ``kind`` (:data:`MATERIAL_KINDS`) with its parameters drawn from ``rng``."""
    if kind == "lambert":
        return Material(kind)
    if kind == "oren-nayar":
        return Material(kind, roughness=float(rng.uniform(0.2, 0.6)))
    if kind == "glossy":
        return Material(kind, roughness=float(rng.uniform(0.0, 0.2)), specular=float(rng.uniform(0.04, 0.12)),
                        gloss=float(rng.uniform(0.06, 0.2)))
    if kind == "rough":
        return Material(kind, roughness=float(rng.uniform(0.1, 0.4)), specular=float(rng.uniform(0.03, 0.08)),
                        gloss=float(rng.uniform(0.3, 0.6)))
    return Material(kind, specular=1.0, gloss=float(rng.uniform(0.08, 0.45)), metal=True)


@dataclass(frozen=True)
class PixelMaterials:
    """Per visible point: the diffuse albedo (none for metals), Oren-Nayar roughness, the specular
    lobe's colour (reflectance at normal incidence) and its GGX alpha."""

    diffuse: np.ndarray
    roughness: np.ndarray
    specular: np.ndarray
    gloss: np.ndarray

    @classmethod
    def of(cls, materials: list[Material | None], owner: np.ndarray, albedo: np.ndarray) -> PixelMaterials:
        """The arrays for points owned by primitive ``owner`` (an index into ``materials``) with ``albedo``."""
        n = len(owner)
        diffuse, specular = albedo.copy(), np.zeros((n, 3))
        roughness, gloss = np.zeros(n), np.full(n, 0.5)
        for index, material in enumerate(materials):
            mine = owner == index
            if material is None or not mine.any():
                continue
            roughness[mine], gloss[mine] = material.roughness, material.gloss
            if material.metal:
                specular[mine], diffuse[mine] = albedo[mine] * material.specular, 0.0
            else:
                specular[mine] = material.specular
        return cls(diffuse, roughness, specular, gloss)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def oren_nayar(n: np.ndarray, light: np.ndarray, view: np.ndarray, cos_i: np.ndarray, roughness: float | np.ndarray) -> np.ndarray:
    """The Oren-Nayar factor by which a rough surface's reflection differs from Lambert's (the
    qualitative model; 1 where ``roughness`` is 0)."""
    s2 = roughness**2
    a, b = 1 - 0.5 * s2 / (s2 + 0.33), 0.45 * s2 / (s2 + 0.09)
    cos_r = np.clip(_dot(n, view), 1e-6, 1.0)
    lt, vt = light - n * cos_i[:, None], view - n * cos_r[:, None]
    norms = np.sqrt(_dot(lt, lt) * _dot(vt, vt))
    cos_phi = np.where(norms > 1e-12, _dot(lt, vt) / np.maximum(norms, 1e-12), 0.0)
    ci = np.clip(cos_i, 1e-6, 1.0)
    sin_i, sin_r = np.sqrt(1 - ci * ci), np.sqrt(1 - cos_r * cos_r)
    sin_alpha = np.maximum(sin_i, sin_r)
    tan_beta = np.minimum(sin_i / ci, sin_r / cos_r)
    return a + b * np.maximum(cos_phi, 0.0) * sin_alpha * tan_beta


def _schlick(f0: np.ndarray, cos_h: np.ndarray) -> np.ndarray:
    return f0 + (1 - f0) * ((1 - np.clip(cos_h, 0.0, 1.0)) ** 5)[:, None]


def ggx(n: np.ndarray, light: np.ndarray, view: np.ndarray, alpha: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """``pi`` times the GGX microfacet BRDF (it multiplies the irradiance, which holds the cosine of
    incidence), with Schlick's Fresnel and the separable Smith masking term; RGB per point."""
    halfway = light + view
    halfway /= np.sqrt(np.maximum(_dot(halfway, halfway), 1e-24))[:, None]
    cos_i, cos_o = np.clip(_dot(n, light), 1e-6, 1.0), np.clip(_dot(n, view), 1e-6, 1.0)
    cos_h = np.clip(_dot(n, halfway), 0.0, 1.0)
    a2 = np.maximum(alpha, 0.02) ** 2
    d = a2 / (np.pi * (cos_h * cos_h * (a2 - 1) + 1) ** 2)

    def smith(c: np.ndarray) -> np.ndarray:
        return 2 * c / (c + np.sqrt(a2 + (1 - a2) * c * c))

    lobe = np.pi * d * smith(cos_i) * smith(cos_o) / (4 * cos_i * cos_o)
    return _schlick(f0, _dot(light, halfway)) * lobe[:, None]


def blinn_phong(n: np.ndarray, light: np.ndarray, view: np.ndarray, alpha: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """The rasteriser's lobe: normalised Blinn-Phong with the exponent that matches GGX's ``alpha``
    (``2 / alpha^2 - 2``), with Schlick's Fresnel; ``pi`` times the BRDF, as :func:`ggx`."""
    halfway = light + view
    halfway /= np.sqrt(np.maximum(_dot(halfway, halfway), 1e-24))[:, None]
    exponent = 2 / np.maximum(alpha, 0.02) ** 2 - 2
    lobe = (exponent + 8) / 8 * np.maximum(_dot(n, halfway), 0.0) ** exponent
    return _schlick(f0, _dot(light, halfway)) * lobe[:, None]
