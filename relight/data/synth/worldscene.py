"""A world scene drawn from the world's ranges (:mod:`~relight.data.synth.world`): its camera, light rig,
camera pipeline and depth estimate here, each parameter from a stream of its own, then its geometry
around them (:mod:`~relight.data.synth.layout`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from relight.data.synth.draws import draw, stream
from relight.data.synth.layout import build_geometry
from relight.data.synth.settings import DepthEstimate, LightRig, Look
from relight.data.synth.shapes import SynthScene
from relight.data.synth.world import WORLD, WorldRanges

#: Sky colours before scaling (linear RGB): a blue sky, an overcast one, a warm interior.
SKY_COLOURS = ((0.55, 0.7, 1.0), (1.0, 1.0, 1.0), (1.0, 0.85, 0.65))


def _rig(seed: int, ranges: WorldRanges) -> LightRig:
    radius = draw(seed, ranges, "light_radius")
    height = radius * float(np.tan(np.radians(draw(seed, ranges, "light_elevation"))))
    colours = stream(seed, "sky colour")
    weights = colours.dirichlet(np.ones(len(SKY_COLOURS)))
    colour = weights @ np.asarray(SKY_COLOURS)
    colour = colour / (0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2])
    sky = tuple(float(c) for c in colour * draw(seed, ranges, "sky"))
    return LightRig(radius, height, draw(seed, ranges, "falloff"), sky, draw(seed, ranges, "bounce"))  # type: ignore[arg-type]


def _look(seed: int, ranges: WorldRanges) -> Look:
    spread = draw(seed, ranges, "white_balance")
    gains = 2.0 ** (stream(seed, "white_balance channels").standard_normal(3) * spread)
    gains = gains / (0.2126 * gains[0] + 0.7152 * gains[1] + 0.0722 * gains[2])
    quality = int(round(draw(seed, ranges, "jpeg")))
    return Look(2.0 ** draw(seed, ranges, "exposure"), tuple(float(g) for g in gains), draw(seed, ranges, "tone"),  # type: ignore[arg-type]
                draw(seed, ranges, "gamma"), draw(seed, ranges, "noise"), 0 if quality >= 100 else quality,
                int(stream(seed, "noise seed").integers(0, 2**31)))


def _estimate(seed: int, ranges: WorldRanges) -> DepthEstimate:
    kind = str(stream(seed, "depth_kinds").choice(list(ranges.depth_kinds)))
    return DepthEstimate(kind, draw(seed, ranges, "depth_noise"), draw(seed, ranges, "depth_holes"), draw(seed, ranges, "depth_blur"),
                         int(stream(seed, "depth seed").integers(0, 2**31)))


def world_scene(seed: int, ranges: WorldRanges | None = None, aspect: float = 1.0) -> SynthScene:
    """The world scene of ``seed`` within ``ranges`` (the full world's if None), for images ``aspect``
    (width over height) wide: the camera, rig, pipeline and depth estimate, then the geometry around them."""
    ranges = ranges or WORLD
    roll = draw(seed, ranges, "roll") * (1.0 if stream(seed, "roll side").random() < 0.5 else -1.0)
    camera = SynthScene((), draw(seed, ranges, "camera_height"), draw(seed, ranges, "pitch"), draw(seed, ranges, "fov"),
                        name=f"world seed {seed}", ambient=draw(seed, ranges, "ambient"), light_size=draw(seed, ranges, "light_size"),
                        roll_deg=roll, rig=_rig(seed, ranges), look=_look(seed, ranges), estimate=_estimate(seed, ranges))
    return replace(camera, primitives=build_geometry(seed, ranges, camera, aspect))
