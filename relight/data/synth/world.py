"""The world's ranges: domain randomisation far beyond the classic generator's, and its families.

:class:`WorldRanges` holds one range (or list of choices) per parameter: the camera (height, pitch, field
of view, roll), the light rig (ring radius and elevation, lamp size and falloff, sky fill, ambient,
bounce), the geometry (layout: open ground, terrain, walls, a corner, a room; how many objects, their
size, their shapes, off-screen occluders), materials, textures (procedural and photographs), the camera's
image pipeline (exposure, white balance, tone, gamma, noise, JPEG) and the depth estimate (kind, noise,
holes, blur). :data:`WORLD_FAMILIES` split some of them into train/test pairs.
:mod:`~relight.data.synth.worldscene` draws a scene from them.

Every parameter is drawn from a generator of its own, seeded by (scene seed, parameter), so narrowing one
parameter's range changes that parameter's draw and what is built from it, and nothing else: the
camera, rig, pipeline and depth estimate of a scene do not move when its geometry's ranges change, and
the reverse (the geometry is placed around where the camera looks, so the camera's height and pitch
move it, and rooms and occluders fit around the light ring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from relight.data.synth.draws import RangesBase
from relight.data.synth.materials import MATERIAL_KINDS
from relight.data.synth.settings import ESTIMATE_KINDS
from relight.data.synth.shapes import SynthScene
from relight.data.synth.textures import PHOTO, TEXTURE_KINDS

#: The layouts of a world scene's ground and walls.
LAYOUTS = ("open", "terrain", "walls", "corner", "room")
#: The object shapes of world scenes: the classic five, an ellipsoid, four polyhedra, and two thin ones.
WORLD_SHAPES = ("sphere", "box", "cylinder", "cone", "capsule", "ellipsoid", "wedge", "pyramid", "prism", "rock", "pole", "panel")
WORLD_TEXTURES = TEXTURE_KINDS + (PHOTO,)


@dataclass(frozen=True)
class WorldRanges(RangesBase):
    """The range each world-scene parameter is drawn from (uniformly; counts inclusive), or the choices.

    Camera: ``camera_height`` (m), ``pitch`` (degrees below the horizon), ``fov`` (degrees across the
    width), ``roll`` (its size in degrees, either way). Rig: ``light_radius`` (the ring's radius over the
    distance to the central hit), ``light_elevation`` (degrees, seen from the ring's centre),
    ``light_size`` (the lamp's radius over that distance, 0 a point), ``falloff`` (power of distance),
    ``sky`` (the sky fill's strength, relative to the lamp at the ring centre), ``ambient`` (lamp-coloured
    fill), ``bounce`` (scale on one bounce). Geometry: ``objects``, ``object_size`` (footprint radius, m),
    ``occluders`` (off-screen shadow casters), ``layouts``, ``shapes``, ``materials``, ``textures``.
    Camera pipeline: ``exposure`` (stops), ``white_balance`` (spread of the channel gains, in stops),
    ``tone`` (contrast curve, negative flattens), ``gamma``, ``noise`` (read noise, linear), ``jpeg``
    (quality; 100 for none). Depth: ``depth_kinds``, ``depth_noise``, ``depth_holes`` (share of pixels),
    ``depth_blur`` (Gaussian over the image width).
    """

    camera_height: tuple[float, float] = (0.4, 3.0)
    pitch: tuple[float, float] = (5.0, 40.0)
    fov: tuple[float, float] = (35.0, 85.0)
    roll: tuple[float, float] = (0.0, 20.0)
    light_radius: tuple[float, float] = (0.25, 1.0)
    light_elevation: tuple[float, float] = (15.0, 70.0)
    light_size: tuple[float, float] = (0.0, 0.2)
    falloff: tuple[float, float] = (0.0, 2.0)
    sky: tuple[float, float] = (0.0, 0.5)
    ambient: tuple[float, float] = (0.0, 0.08)
    bounce: tuple[float, float] = (0.0, 1.0)
    objects: tuple[int, int] = (1, 30)
    object_size: tuple[float, float] = (0.1, 0.9)
    occluders: tuple[int, int] = (0, 3)
    exposure: tuple[float, float] = (-1.0, 1.0)
    white_balance: tuple[float, float] = (0.0, 0.2)
    tone: tuple[float, float] = (-0.5, 0.8)
    gamma: tuple[float, float] = (0.8, 1.25)
    noise: tuple[float, float] = (0.0, 0.02)
    jpeg: tuple[float, float] = (30.0, 100.0)
    depth_noise: tuple[float, float] = (0.0, 0.05)
    depth_holes: tuple[float, float] = (0.0, 0.08)
    depth_blur: tuple[float, float] = (0.0, 0.01)
    layouts: tuple[str, ...] = LAYOUTS
    shapes: tuple[str, ...] = WORLD_SHAPES
    materials: tuple[str, ...] = MATERIAL_KINDS
    textures: tuple[str, ...] = WORLD_TEXTURES
    depth_kinds: tuple[str, ...] = ESTIMATE_KINDS

    GENERATOR: ClassVar[str] = "world"
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "layouts": LAYOUTS, "shapes": WORLD_SHAPES, "materials": MATERIAL_KINDS, "textures": WORLD_TEXTURES, "depth_kinds": ESTIMATE_KINDS,
    }
    INTEGERS: ClassVar[tuple[str, ...]] = ("objects", "occluders")

    def contains(self, scene: SynthScene) -> bool:
        """Whether the camera, rig, pipeline and depth estimate of ``scene`` could have been drawn from these ranges."""
        rig, look, estimate = scene.rig, scene.look, scene.estimate
        if rig is None or look is None or estimate is None:
            return False
        values = {
            "camera_height": scene.camera_height, "pitch": scene.pitch_deg, "fov": scene.fov_deg, "roll": abs(scene.roll_deg),
            "light_radius": rig.radius, "light_elevation": float(np.degrees(np.arctan2(rig.height, rig.radius))),
            "light_size": scene.light_size, "falloff": rig.falloff, "sky": max(rig.sky), "ambient": scene.ambient, "bounce": rig.bounce,
            "exposure": float(np.log2(look.exposure)), "tone": look.tone, "gamma": look.gamma, "noise": look.noise,
            "depth_noise": estimate.noise, "depth_holes": estimate.holes, "depth_blur": estimate.blur,
        }
        quality = 100.0 if look.jpeg == 0 else float(look.jpeg)
        return (all(getattr(self, k)[0] - 1e-9 <= v <= getattr(self, k)[1] + 1e-9 for k, v in values.items())
                and self.jpeg[0] - 0.5 <= quality <= self.jpeg[1] + 0.5 and estimate.kind in self.depth_kinds)


WORLD = WorldRanges()
_PROCEDURAL = tuple(kind for kind in WORLD_TEXTURES if kind != PHOTO)

#: Named sub-ranges of the world: each pair splits one part of it in two, to train on one and test on the other.
WORLD_FAMILIES: dict[str, dict[str, object]] = {
    "world": {},
    "outdoor": {"layouts": ("open", "terrain")},
    "indoor": {"layouts": ("walls", "corner", "room")},
    "narrow-view": {"fov": (35.0, 55.0)},
    "wide-view": {"fov": (55.0, 85.0)},
    "level": {"roll": (0.0, 4.0)},
    "tilted": {"roll": (4.0, 20.0)},
    "low-lamps": {"light_elevation": (15.0, 40.0)},
    "high-lamps": {"light_elevation": (40.0, 70.0)},
    "sharp-shadows": {"light_size": (0.0, 0.06)},
    "soft-shadows": {"light_size": (0.06, 0.2)},
    "sparse": {"objects": (1, 8)},
    "crowded": {"objects": (9, 30)},
    "matte": {"materials": ("lambert", "oren-nayar")},
    "shiny": {"materials": ("glossy", "rough", "metal")},
    "patterned": {"textures": _PROCEDURAL},
    "photographic": {"textures": (PHOTO,)},
    "clean-camera": {"noise": (0.0, 0.004), "jpeg": (85.0, 100.0)},
    "rough-camera": {"noise": (0.004, 0.02), "jpeg": (30.0, 85.0)},
    "exact-depth": {"depth_noise": (0.0, 0.01), "depth_holes": (0.0, 0.01), "depth_blur": (0.0, 0.002)},
    "rough-depth": {"depth_noise": (0.01, 0.05), "depth_holes": (0.01, 0.08), "depth_blur": (0.002, 0.01)},
}
