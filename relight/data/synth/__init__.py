"""Synthetic scenes in the VIDIT any-to-any format, for tests, demos and training without the real data.

Two generators draw scenes. The classic one (:mod:`~relight.data.synth.scene`: relight 0.x's scenes,
byte for byte) puts a ground plane (and sometimes a back wall) with random objects (spheres, boxes,
cylinders, cones, capsules), each with its own albedo texture, before a pinhole camera looking north
(+z) and down; east (+x) is to the camera's right. As in VIDIT, a light sits on a horizontal ring above
the point the central ray hits, at the 8 compass directions, in 5 black-body colour temperatures. The
world generator (:mod:`~relight.data.synth.world`, the default) randomises far more: the light rig,
the camera (roll and aspect too), terrain, walls and rooms, crowds and thin objects, off-screen
occluders, materials, photographic textures, the camera's image pipeline and the depth a user has.

The modules: :mod:`~relight.data.synth.families` (which generator, and sub-ranges),
:mod:`~relight.data.synth.scene` and :mod:`~relight.data.synth.world` (the two generators' ranges; a
world scene drawn by :mod:`~relight.data.synth.worldscene`, its geometry by :mod:`~relight.data.synth.layout`), :mod:`~relight.data.synth.shapes` and
:mod:`~relight.data.synth.solids` (geometry and ray queries), :mod:`~relight.data.synth.camera` (the
camera, light ring and depth conventions both renderers share), :mod:`~relight.data.synth.render` (the
ray caster, with :mod:`~relight.data.synth.bounce`), :mod:`~relight.data.synth.raster` (the second
renderer, for held-out scenes, over :mod:`~relight.data.synth.mesh` and
:mod:`~relight.data.synth.zbuffer`), :mod:`~relight.data.synth.materials`,
:mod:`~relight.data.synth.textures` and :mod:`~relight.data.synth.photos`,
:mod:`~relight.data.synth.colour` and :mod:`~relight.data.synth.pipeline` (light to 8-bit images),
:mod:`~relight.data.synth.estimates` (depth as users have it), :mod:`~relight.data.synth.settings` and
:mod:`~relight.data.synth.dataset` (writing folders, and shadow masks).

Both renderers are exact under mirroring: rendering :meth:`SynthScene.mirrored` gives the horizontal
flip of the original with E and W swapped, which is what the paper's mirror trick assumes. In world
scenes that holds for the light; the camera's noise and JPEG are drawn per image and do not mirror.
"""

from relight.data.synth.camera import COMPASS, FAR, RING_HEIGHT, RING_RADIUS, central_hit, image_shape, light_positions
from relight.data.synth.colour import EXPOSURE, LIGHT_RGB, blackbody_rgb, srgb_decode, srgb_encode, to_uint8
from relight.data.synth.dataset import MASKS, MAX_SIZE, RENDERERS, check_dataset_options, generate_scene, masks_folder, write_dataset
from relight.data.synth.families import DEFAULT_FAMILY, FAMILIES, parse_vary, random_scene, scene_ranges
from relight.data.synth.materials import MATERIAL_KINDS, Material
from relight.data.synth.raster import raster_scene
from relight.data.synth.render import light_samples, render_scene
from relight.data.synth.scene import FULL, SceneRanges, scene_seed
from relight.data.synth.settings import ESTIMATE_KINDS, DepthEstimate, LightRig, Look
from relight.data.synth.shapes import AMBIENT, SHAPES, Box, Capsule, Cone, Cylinder, Plane, Sphere, SynthScene
from relight.data.synth.solids import Ellipsoid, Solid, Terrain
from relight.data.synth.textures import PHOTO, TEXTURE_KINDS, Texture, value_noise
from relight.data.synth.world import WORLD, WORLD_FAMILIES, WorldRanges
from relight.data.synth.worldscene import world_scene

__all__ = [
    "AMBIENT",
    "COMPASS",
    "DEFAULT_FAMILY",
    "ESTIMATE_KINDS",
    "EXPOSURE",
    "FAMILIES",
    "FAR",
    "FULL",
    "LIGHT_RGB",
    "MASKS",
    "MATERIAL_KINDS",
    "MAX_SIZE",
    "PHOTO",
    "RENDERERS",
    "RING_HEIGHT",
    "RING_RADIUS",
    "SHAPES",
    "TEXTURE_KINDS",
    "WORLD",
    "WORLD_FAMILIES",
    "Box",
    "Capsule",
    "Cone",
    "Cylinder",
    "DepthEstimate",
    "Ellipsoid",
    "LightRig",
    "Look",
    "Material",
    "Plane",
    "SceneRanges",
    "Solid",
    "Sphere",
    "SynthScene",
    "Terrain",
    "Texture",
    "WorldRanges",
    "blackbody_rgb",
    "central_hit",
    "check_dataset_options",
    "generate_scene",
    "image_shape",
    "light_positions",
    "light_samples",
    "masks_folder",
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
    "world_scene",
    "write_dataset",
]
