"""What a world scene sets beyond its geometry: the light rig, the camera's image pipeline and the depth estimate.

A classic scene leaves them unset (None on :class:`~relight.data.synth.shapes.SynthScene`) and renders as
relight's first generator did: a point or disc lamp with inverse-square falloff on VIDIT's ring, a small
ambient term, the plain sRGB curve, perfect depth.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LightRig:
    """The lamp and the light around it.

    ``radius`` and ``height`` place the ring (over the distance from the camera to the central hit; the
    light's elevation seen from the ring's centre is ``atan(height / radius)``); ``falloff`` is the power
    of distance the lamp's irradiance falls with (2: inverse square, as a small lamp; 0: none, as the
    sun); ``sky`` is the radiance of a sky (or room) fill in linear RGB, relative to the lamp at the ring
    centre and not tinted by the lamp's colour temperature; ``bounce`` scales each renderer's one-bounce
    estimate of the lamp's light reflected off the scene (0: none, 1: the estimate as it is).
    """

    radius: float = 0.55
    height: float = 0.5
    falloff: float = 2.0
    sky: tuple[float, float, float] = (0.0, 0.0, 0.0)
    bounce: float = 0.0


@dataclass(frozen=True)
class Look:
    """The camera's image pipeline, the same for the 40 images of a scene (one camera, one setting).

    ``exposure`` multiplies linear light, ``white_balance`` scales each channel (the camera's white
    balance error), ``tone`` blends the sRGB curve towards a filmic shoulder (0: sRGB alone),
    ``gamma`` bends the result, ``noise`` is the sensor's read noise (standard deviation in linear light;
    shot noise grows with the signal at the same scale), ``jpeg`` the JPEG quality each image goes
    through (0: none). ``seed`` draws each image's own noise.
    """

    exposure: float = 1.0
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    tone: float = 0.0
    gamma: float = 1.0
    noise: float = 0.0
    jpeg: int = 0
    seed: int = 0


#: The depth a user may hold: VIDIT's normalised depth, distances in metres, or inverse depth.
ESTIMATE_KINDS = ("normalised", "metric", "disparity")


@dataclass(frozen=True)
class DepthEstimate:
    """Depth as a user has it, not the renderer's perfect z: of ``kind`` (:data:`ESTIMATE_KINDS`), with
    noise (``noise``: relative error of each value), holes (``holes``: the share of pixels with no
    value) and blur (``blur``: the Gaussian's standard deviation over the image width). ``seed`` draws
    the noise and holes."""

    kind: str = "normalised"
    noise: float = 0.0
    holes: float = 0.0
    blur: float = 0.0
    seed: int = 0
