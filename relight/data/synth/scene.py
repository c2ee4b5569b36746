"""The classic generator's random scenes: every parameter drawn from a range, and its families of sub-ranges.

:class:`SceneRanges` holds one range per scene parameter; :data:`FULL` is the widest. A *family* picks
a sub-range of one or more parameters (``low-camera``, ``soft-light``, ...), so that generalisation can
be measured by holding out whole families: train on one, test on its complement. ``classic`` is the
generator of relight 0.x (same draws, byte-identical scenes for a seed). The world generator
(:mod:`~relight.data.synth.world`) draws far wider scenes; :mod:`~relight.data.synth.families` chooses
between the two by family.

Scene ``seed`` draws its geometry from one generator in a fixed order and its light (distance, size,
ambient) from a second one, so a family that narrows one parameter changes only what that parameter
touches, and the ``classic`` ranges reproduce the earlier scenes draw for draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from relight.data.synth.camera import RING_RADIUS
from relight.data.synth.colour import srgb_decode
from relight.data.synth.draws import RangesBase
from relight.data.synth.shapes import SHAPES, Box, Capsule, Cone, Cylinder, Plane, Primitive, Sphere, SynthScene
from relight.data.synth.textures import TEXTURE_KINDS, TEXTURE_WEIGHTS, Texture


@dataclass(frozen=True)
class SceneRanges(RangesBase):
    """The range each random-scene parameter is drawn from (uniformly; ``objects`` is inclusive).

    ``camera_height`` in metres, ``pitch`` in degrees below the horizon, ``objects`` how many objects
    are placed (fewer where they do not fit), ``light_distance`` the light ring's scale,
    ``light_size`` the disc light's radius over the ring centre's distance (0: a point light),
    ``ambient`` the ambient level, ``shapes`` and ``textures`` the kinds to choose from.
    """

    camera_height: tuple[float, float] = (0.6, 2.4)
    pitch: tuple[float, float] = (8.0, 30.0)
    objects: tuple[int, int] = (1, 12)
    light_distance: tuple[float, float] = (0.7, 1.5)
    light_size: tuple[float, float] = (0.0, 0.15)
    ambient: tuple[float, float] = (0.02, 0.2)
    shapes: tuple[str, ...] = SHAPES
    textures: tuple[str, ...] = TEXTURE_KINDS

    GENERATOR: ClassVar[str] = "classic"
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"shapes": SHAPES, "textures": TEXTURE_KINDS}
    INTEGERS: ClassVar[tuple[str, ...]] = ("objects",)

    def contains(self, scene: SynthScene) -> bool:
        """Whether ``scene`` could have been drawn from these ranges (for checks and tests)."""
        numeric = {"camera_height": scene.camera_height, "pitch": scene.pitch_deg, "light_distance": scene.light_distance,
                   "light_size": scene.light_size, "ambient": scene.ambient}
        objects = [p for p in scene.primitives if not isinstance(p, Plane)]
        return (all(getattr(self, k)[0] <= v <= getattr(self, k)[1] for k, v in numeric.items())
                and len(objects) <= self.objects[1]
                and all(type(p).__name__.lower() in self.shapes and p.texture.kind in self.textures for p in objects))


#: The widest ranges; families and ``vary`` choose sub-ranges of these.
FULL = SceneRanges()
_CLASSIC_SHAPES, _CLASSIC_TEXTURES = ("sphere", "box", "cylinder"), ("checker", "stripes", "noise", "plain")

#: Named sub-ranges. Each pair after ``classic`` splits one parameter's full range in two.
CLASSIC_FAMILIES: dict[str, dict[str, object]] = {
    "wide": {},
    "classic": {"camera_height": (1.1, 1.7), "pitch": (12.0, 20.0), "objects": (3, 7), "light_distance": (1.0, 1.0),
                "light_size": (0.0, 0.0), "ambient": (0.07, 0.07), "shapes": _CLASSIC_SHAPES, "textures": _CLASSIC_TEXTURES},
    "low-camera": {"camera_height": (0.6, 1.4)},
    "high-camera": {"camera_height": (1.4, 2.4)},
    "low-pitch": {"pitch": (8.0, 18.0)},
    "high-pitch": {"pitch": (18.0, 30.0)},
    "few-objects": {"objects": (1, 5)},
    "many-objects": {"objects": (6, 12)},
    "near-light": {"light_distance": (0.7, 1.0)},
    "far-light": {"light_distance": (1.0, 1.5)},
    "hard-light": {"light_size": (0.0, 0.04)},
    "soft-light": {"light_size": (0.04, 0.15)},
    "dim-ambient": {"ambient": (0.02, 0.08)},
    "bright-ambient": {"ambient": (0.08, 0.2)},
    "classic-shapes": {"shapes": _CLASSIC_SHAPES},
    "other-shapes": {"shapes": ("cone", "capsule")},
    "classic-textures": {"textures": _CLASSIC_TEXTURES},
    "other-textures": {"textures": ("dots", "rings", "marble")},
}
def random_color(rng: np.random.Generator, muted: bool = False) -> np.ndarray:
    """A pleasant albedo: random hue, moderate saturation (low if ``muted``), mid to high value; linear RGB."""
    hue, sat, val = rng.uniform(0, 1), rng.uniform(0.05, 0.3) if muted else rng.uniform(0.2, 0.75), rng.uniform(0.45, 0.95)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6.0) % 6.0
    rgb = val - val * sat * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return srgb_decode(rgb)


def _random_texture(rng: np.random.Generator, kinds: tuple[str, ...], size_hint: float, muted: bool = False) -> Texture:
    """Objects get any colours; the ground and wall (``muted``) get greyish tones of one hue, as backdrops."""
    weights = np.array([TEXTURE_WEIGHTS[k] for k in kinds])
    kind = rng.choice(list(kinds), p=weights / weights.sum())
    a = random_color(rng, muted)
    b = a * rng.uniform(0.3, 0.7) if muted or rng.random() < 0.6 else random_color(rng)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    return Texture(
        str(kind), tuple(a), tuple(b), float(size_hint * rng.uniform(0.25, 0.6)), tuple(axis),
        int(rng.integers(0, 2**31)),
    )


def _random_object(rng: np.random.Generator, kind: str, x: float, z: float, r: float, texture: Texture) -> Primitive:
    """One object of ``kind`` standing on the ground at (x, z) within footprint radius ``r``."""
    if kind == "sphere":
        lift = float(rng.uniform(0.2, 0.7)) if rng.random() < 0.3 else 0.0
        return Sphere((x, r + lift, z), r, texture)
    if kind == "box":
        hx, hz = r * rng.uniform(0.6, 1.0), r * rng.uniform(0.6, 1.0)
        hy = float(rng.uniform(0.25, 0.9))
        yaw = float(rng.uniform(0.0, np.pi / 2))
        return Box((x, hy, z), (float(hx), hy, float(hz)), float(np.cos(yaw)), float(np.sin(yaw)), texture)
    if kind == "cylinder":
        return Cylinder((x, z), r * 0.8, float(rng.uniform(0.5, 1.8)), texture)
    if kind == "cone":
        return Cone((x, z), r * 0.9, float(rng.uniform(0.6, 2.0)), texture)
    return Capsule((x, z), r * 0.6, float(rng.uniform(0.2, 1.4)), texture)


def classic_scene(seed: int, ranges: SceneRanges) -> SynthScene:
    """A random scene of the classic generator from ``seed`` within ``ranges``: ground, maybe a back wall,
    and objects, one of them near the image centre."""
    rng = np.random.default_rng(seed)
    light = np.random.default_rng([seed, 1])
    light_distance, light_size, ambient = (float(light.uniform(*getattr(ranges, k))) for k in ("light_distance", "light_size", "ambient"))
    camera_height = float(rng.uniform(*ranges.camera_height))
    pitch = float(rng.uniform(*ranges.pitch))
    fov = 55.0
    ground_z = camera_height / np.tan(np.radians(pitch))
    prims: list[Primitive] = [Plane(1, 0.0, _random_texture(rng, ranges.textures, 3.0, muted=True))]
    # A wall stays well behind the north light (which is RING_RADIUS * distance beyond the central hit).
    wall_z = float(ground_z * (1.1 + RING_RADIUS * light_distance) + rng.uniform(1.5, 5.0)) if rng.random() < 0.5 else None
    if wall_z is not None:
        prims.append(Plane(2, wall_z, _random_texture(rng, ranges.textures, 3.0, muted=True)))
    z_max = (wall_z - 0.8) if wall_z is not None else ground_z + 5.0
    footprints: list[tuple[float, float, float]] = []
    count = int(rng.integers(ranges.objects[0], ranges.objects[1] + 1))
    for k in range(count):
        for _ in range(40):
            if k == 0:
                z = float(ground_z + rng.uniform(-0.6, 0.8))
                x = float(rng.uniform(-0.4, 0.4))
            else:
                z = float(rng.uniform(2.2, z_max))
                reach = 0.85 * z * np.tan(np.radians(fov / 2))
                x = float(rng.uniform(-reach, reach))
            kind = str(rng.choice(list(ranges.shapes)))
            r = float(rng.uniform(0.35, 0.9))
            if all((x - fx) ** 2 + (z - fz) ** 2 > (r + fr + 0.1) ** 2 for fx, fz, fr in footprints):
                break
        else:
            continue
        footprints.append((x, z, r))
        prims.append(_random_object(rng, kind, x, z, r, _random_texture(rng, ranges.textures, r * 2)))
    return SynthScene(tuple(prims), camera_height, pitch, fov, name=f"seed {seed}",
                      ambient=ambient, light_size=light_size, light_distance=light_distance)


def scene_seed(seed: int, index: int) -> int:
    """The seed of scene ``index`` in a data set made with ``seed``: independent of where generation starts."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])

