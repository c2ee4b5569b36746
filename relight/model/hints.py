"""Geometry hints for the depth stream: normals from depth, and screen-space shadows towards the lights.

The depth map already holds what moves shadows; these hints hand the network what a renderer would
compute from it, as extra input channels of the depth encoder (``MBNetConfig.hints``):

* ``normals``: the surface normal of every pixel in the camera frame (x right, y up, z forward; a
  surface facing the camera has z < 0), from the depth map unprojected into 3-D points;
* ``normals+shadows``: also, for the target light and for the source light where the light vector
  tells it (zero where it does not), whether the light reaches the pixel's point: 1 where a point of the
  depth map lies between it and the light (in shadow), 0 where it is lit. The light is found by the
  lights' convention (:mod:`relight.data.synth.camera`): camera looking north (+z), east (+x) to its
  right, the light on a ring above the point the central ray hits, at the compass direction the light
  vector's (sin, cos) of azimuth give. Photographs are taken to follow the same convention.
* ``normals+shadows+shading``: also, for the same two lights, the diffuse (Lambertian) shading a point
  light there gives each pixel's surface: the cosine between its normal and the way to the light, over
  the squared distance. It is the light's broad shape over the image (which side brightens, how fast it
  falls off), which the network otherwise works out from the normals and the light vector; the ratio of
  the target's shading to the source's is the classical relighting of a diffuse scene.

The geometry it cannot read from a depth map is assumed, and stored in the model's config:
``hint_fov_deg``, the camera's field of view across the image's width (square pixels), and
``hint_pitch_deg``, how far the camera looks down. Depth is relight's convention (distance from the
camera, normalised), so the hints do not depend on its scale, and the pixel spacing follows the image
size: the hints are the same at every resolution the network runs at.

Everything is plain tensor arithmetic and ``grid_sample`` on the input's device, with no Python
decision on tensor values, so the hints are computed inside the network's forward and export with it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from relight.model.config import HINTS, LIGHT_HINTS

#: The light ring, as fractions of the distance to the central hit: the synthetic rig's
#: (``RING_RADIUS`` and ``RING_HEIGHT`` of :mod:`relight.data.synth.camera`; a test checks they agree).
RING_RADIUS = 0.55
RING_HEIGHT = 0.5
#: Steps of the march from a point towards its light, spaced quadratically: dense near the point, where
#: the occluders of its own scene are, and sparse towards the light.
MARCH_STEPS = 24
#: A point of the depth map occludes a step of the march when it is nearer the camera than the step by
#: more than ``BIAS`` (no self-shadowing from the depth map's own slope) and by less than ``THICKNESS``
#: (objects are taken to be this deep, so a step passing behind an object is not shadowed by it), both
#: as fractions of the step's distance from the camera. The depth map is read at the nearest pixel:
#: interpolating across an object's silhouette invents depths between it and what lies behind it.
#: These values agree best with the ray caster's own shadows (benchmarks/hints.py measures it).
BIAS = 0.005
THICKNESS = 0.15
#: The march starts this far (a fraction of the point's distance) off the surface, along its normal.
LIFT = 0.01
#: Shading is in units of a surface at the central hit's distance from the light, facing it; it is capped
#: here, so that a surface right beside the light does not swamp the channel.
SHADING_CAP = 4.0


def pixel_rays(height: int, width: int, fov_deg: float, device: torch.device) -> torch.Tensor:
    """``1 x 3 x H x W`` unit view rays of the pixel centres in the camera frame (x right, y up, z forward),
    the field of view ``fov_deg`` across the width."""
    tan_half = math.tan(math.radians(fov_deg) / 2)
    scale = tan_half / (width / 2)  # the tangent of one pixel's step, the same along both axes
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5 - width / 2) * scale
    ys = (height / 2 - 0.5 - torch.arange(height, device=device, dtype=torch.float32)) * scale
    x = xs.view(1, 1, 1, width).expand(1, 1, height, width)
    y = ys.view(1, 1, height, 1).expand(1, 1, height, width)
    rays = torch.cat([x, y, torch.ones_like(x)], dim=1)
    return rays / rays.norm(dim=1, keepdim=True)


def unproject(depth: torch.Tensor, fov_deg: float) -> torch.Tensor:
    """``N x 1 x H x W`` depth (distance from the camera) -> ``N x 3 x H x W`` points in the camera frame."""
    return depth * pixel_rays(depth.shape[-2], depth.shape[-1], fov_deg, depth.device)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The cross product along dimension 1, written out (ONNX has no cross operator)."""
    ax, ay, az = a.unbind(1)
    bx, by, bz = b.unbind(1)
    return torch.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim=1)


def normals_from_points(points: torch.Tensor) -> torch.Tensor:
    """``N x 3 x H x W`` unit normals of a grid of points: the cross product of its central differences
    (one-sided at the borders), facing the camera (a fronto-parallel plane gives (0, 0, -1))."""
    padded = F.pad(points, (1, 1, 1, 1), mode="replicate")
    right = padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]
    down = padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]
    return F.normalize(_cross(right, down), dim=1, eps=1e-12)


def centre_distance(depth: torch.Tensor) -> torch.Tensor:
    """``N x 1 x 1 x 1``: the depth where the central ray hits (the mean of the one to four centre pixels)."""
    h, w = depth.shape[-2:]
    return depth[:, :, (h - 1) // 2 : h // 2 + 1, (w - 1) // 2 : w // 2 + 1].mean(dim=(2, 3), keepdim=True)


def light_positions(centre: torch.Tensor, sin_cos: torch.Tensor, pitch_deg: float) -> torch.Tensor:
    """``N x 3 x 1 x 1`` light positions in the camera frame: on the ring above the central hit (at
    distance ``centre``, ``N x 1 x 1 x 1``), in the direction whose azimuth has ``sin_cos`` (``N x 2``:
    east and north components), for a camera looking ``pitch_deg`` below the horizon."""
    pitch = math.radians(pitch_deg)
    up = torch.tensor([0.0, math.cos(pitch), -math.sin(pitch)], device=centre.device)
    north = torch.tensor([0.0, math.sin(pitch), math.cos(pitch)], device=centre.device)
    east = torch.tensor([1.0, 0.0, 0.0], device=centre.device)
    forward = torch.tensor([0.0, 0.0, 1.0], device=centre.device)
    offset = RING_RADIUS * (sin_cos[:, :1] * east + sin_cos[:, 1:2] * north) + RING_HEIGHT * up + forward
    return offset.view(-1, 3, 1, 1) * centre


def screen_space_shadows(depth: torch.Tensor, points: torch.Tensor, normals: torch.Tensor, lights: torch.Tensor,
                         fov_deg: float) -> torch.Tensor:
    """``N x 1 x H x W``: 1 where the depth map blocks the way from a pixel's point to its light, else 0.

    ``depth``, ``points`` and ``normals`` are of one image (N = 1) or of N; ``lights`` ``N x 3 x 1 x 1``.
    The march takes :data:`MARCH_STEPS` steps from the point (lifted off its surface) to the light; each
    step is projected into the image, and the depth at the nearest pixel occludes it when it is nearer
    the camera than the step, by more than :data:`BIAS` and less than :data:`THICKNESS` of the step's
    distance. Steps behind the camera or outside the image block nothing (the depth map does not see there).
    """
    h, w = depth.shape[-2:]
    start = points + normals * (LIFT * depth)  # lifted off the surface, on the camera's side
    towards = lights - start  # N x 3 x H x W, as many as the images or the lights: the march's batch
    flat = depth.flatten(1).expand(towards.shape[0], -1)  # shapes read from tensors stay free in an ONNX export
    (sx, sy, sz), (tx, ty, tz) = start.unbind(1), towards.unbind(1)
    # A step's squared distance from the camera, |start + f towards|^2, from three dot products.
    ss, st, tt = (start * start).sum(1), (start * towards).sum(1), (towards * towards).sum(1)
    # Pixel columns and rows of x / z and y / z: the focal length in pixels, about the image's centre.
    focal = (w / 2) / math.tan(math.radians(fov_deg) / 2)
    blocked = torch.zeros_like(tz, dtype=torch.bool)
    for k in range(1, MARCH_STEPS + 1):
        f = (k / MARCH_STEPS) ** 2
        z = sz + f * tz
        ahead = z > 1e-6
        inverse = focal / torch.where(ahead, z, torch.ones_like(z))
        column = torch.floor((sx + f * tx) * inverse + w / 2)
        row = torch.floor(h / 2 - (sy + f * ty) * inverse)
        inside = ahead & (column >= 0) & (column <= w - 1) & (row >= 0) & (row <= h - 1)
        index = (row.clamp(0, h - 1) * w + column.clamp(0, w - 1)).long()
        seen = torch.gather(flat, 1, index.flatten(1)).view_as(z)
        distance = torch.sqrt((ss + f * (2 * st + f * tt)).clamp(min=0))
        nearer = distance - seen
        blocked = blocked | (inside & (nearer > BIAS * distance) & (nearer < THICKNESS * distance))
    return blocked.unsqueeze(1).to(depth.dtype)


def lambert_shading(points: torch.Tensor, normals: torch.Tensor, lights: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``N x 1 x H x W``: the diffuse light each pixel's surface gets from a point light, ignoring shadows.

    The cosine between the normal and the way to the light (0 for a surface turned away), over the squared
    distance to the light in units of ``centre`` (the central hit's distance, ``N x 1 x 1 x 1``), so that
    the shading does not depend on the depth map's scale; capped at :data:`SHADING_CAP`.
    """
    towards = lights - points
    squared = (towards * towards).sum(1, keepdim=True).clamp(min=1e-12)
    cosine = ((normals * towards).sum(1, keepdim=True) / torch.sqrt(squared)).clamp(min=0)
    return (cosine * (centre * centre) / squared).clamp(max=SHADING_CAP)


class GeometryHints(nn.Module):
    """The depth stream's input: depth and its hints (``MBNetConfig.hints``), batched like the lights.

    ``forward(depth, light)`` takes ``N x 1 x H x W`` depth and, for shadows, the ``N x LIGHT_FEATURES``
    light rows (or T rows for one image) and returns ``N x (1 + extra) x H x W``: the depth, its normals,
    then the target's and the source's shadow (the source's zero where the row withholds it), then their
    shading alike. Normals are computed once per image; shadows and shading once per light. It has no weights.
    """

    def __init__(self, hints: str, fov_deg: float, pitch_deg: float) -> None:
        super().__init__()
        if hints not in HINTS or hints == "none":
            raise ValueError(f"GeometryHints takes {' or '.join(HINTS[1:])}, not {hints!r}")
        self.hints, self.fov_deg, self.pitch_deg = hints, fov_deg, pitch_deg

    def forward(self, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        depth32 = depth.float()
        points = unproject(depth32, self.fov_deg)
        normals = normals_from_points(points)
        planes = [depth32, normals]
        if self.hints in LIGHT_HINTS:
            assert light is not None, f"{self.hints} hints need the light rows"
            light = light.float()
            centre = centre_distance(depth32)
            # The target's light, then the source's, whose planes are zero where the row withholds it. One
            # image and T lights, or N of each: broadcasting, which an ONNX export keeps free of N and T.
            known = light[:, 6].view(-1, 1, 1, 1)
            lights = [light_positions(centre, light[:, columns], self.pitch_deg) for columns in (slice(0, 2), slice(3, 5))]
            target, source = (screen_space_shadows(depth32, points, normals, at, self.fov_deg) for at in lights)
            planes += [target, source * known]
            if self.hints == "normals+shadows+shading":
                target, source = (lambert_shading(points, normals, at, centre) for at in lights)
                planes += [target, source * known]
            planes = [p.expand(target.shape[0], -1, -1, -1) for p in planes]
        return torch.cat(planes, dim=1).to(depth.dtype)


__all__ = ["GeometryHints", "centre_distance", "lambert_shading", "light_positions", "normals_from_points", "pixel_rays",
           "screen_space_shadows", "unproject"]
