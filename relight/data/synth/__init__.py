"""Synthetic scenes in the VIDIT any-to-any format, for tests, demos and training without the real data.

Each scene is a ground plane (and sometimes a back wall) with random objects (spheres, boxes, cylinders,
cones, capsules), each with its own albedo texture, seen by a pinhole camera looking north (+z) and
down; east (+x) is to the camera's right. As in VIDIT, a light sits on a horizontal ring above the
point the central ray hits, at the 8 compass directions, in 5 black-body colour temperatures.

The modules: :mod:`~relight.data.synth.scene` (random parameters, their ranges and families),
:mod:`~relight.data.synth.shapes` (geometry and ray queries), :mod:`~relight.data.synth.camera` (the
camera, light ring and depth conventions both renderers share), :mod:`~relight.data.synth.render`
(the ray caster), :mod:`~relight.data.synth.raster` (the second renderer, for held-out scenes),
:mod:`~relight.data.synth.textures`, :mod:`~relight.data.synth.colour` and
:mod:`~relight.data.synth.dataset` (writing folders).

Both renderers are exact under mirroring: rendering :meth:`SynthScene.mirrored` gives the horizontal
flip of the original with E and W swapped, which is what the paper's mirror trick assumes.
"""

from relight.data.synth.camera import COMPASS, FAR, RING_HEIGHT, RING_RADIUS, central_hit, light_positions
from relight.data.synth.colour import EXPOSURE, LIGHT_RGB, blackbody_rgb, srgb_decode, srgb_encode, to_uint8
from relight.data.synth.dataset import MAX_SIZE, RENDERERS, check_dataset_options, generate_scene, write_dataset
from relight.data.synth.raster import raster_scene
from relight.data.synth.render import light_samples, render_scene
from relight.data.synth.scene import DEFAULT_FAMILY, FAMILIES, FULL, SceneRanges, parse_vary, random_scene, scene_ranges, scene_seed
from relight.data.synth.shapes import AMBIENT, SHAPES, Box, Capsule, Cone, Cylinder, Plane, Sphere, SynthScene
from relight.data.synth.textures import TEXTURE_KINDS, Texture, value_noise

__all__ = [
    "AMBIENT",
    "COMPASS",
    "DEFAULT_FAMILY",
    "EXPOSURE",
    "FAMILIES",
    "FAR",
    "FULL",
    "LIGHT_RGB",
    "MAX_SIZE",
    "RENDERERS",
    "RING_HEIGHT",
    "RING_RADIUS",
    "SHAPES",
    "TEXTURE_KINDS",
    "Box",
    "Capsule",
    "Cone",
    "Cylinder",
    "Plane",
    "SceneRanges",
    "Sphere",
    "SynthScene",
    "Texture",
    "blackbody_rgb",
    "central_hit",
    "check_dataset_options",
    "generate_scene",
    "light_positions",
    "light_samples",
    "parse_vary",
    "random_scene",
    "raster_scene",
    "render_scene",
    "scene_ranges",
    "scene_seed",
    "srgb_decode",
    "srgb_encode",
    "to_uint8",
    "value_noise",
    "write_dataset",
]
