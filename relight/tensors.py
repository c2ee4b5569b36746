"""Arrays to tensors, resizing (plain, and guided by depth) and padding to the network's stride, shared by
inference, training and the data loaders (below all of them, so that none imports another for them)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from relight.device import torch_version
from relight.model.config import STRIDE


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of ``N x C x H x W``; on the CPU for MPS before torch 2.7, which lacks the kernel."""
    if x.device.type == "mps" and torch_version() < (2, 7):
        return resize(x.cpu(), size).to(x.device)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


#: Depth-guided upsampling (:func:`guided_resize`): the spread of its spatial weights, in low-resolution
#: pixels, and of its depth weights, as a fraction of the depth (a step of a few per cent is an edge).
GUIDE_SPACE = 0.6
GUIDE_DEPTH = 0.03


def guided_resize(x: torch.Tensor, depth_small: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """``x`` (``N x C x h x w``, its depth ``depth_small``) brought up to the size of ``depth``, so that values
    do not cross depth edges: a plain :func:`resize` spreads them over as many pixels as the scale factor
    (halos round objects). Near a depth edge (where the 3 x 3 low-resolution depths around a pixel differ
    by more than twice :data:`GUIDE_DEPTH`) a pixel takes a joint bilateral mean of those 9 pixels, weighted
    by their distance and by how far their depth is from its own; elsewhere the plain resize, which the
    mean would equal but for its spread. Only the pixels near an edge are computed twice."""
    h, w = x.shape[-2:]
    height, width = depth.shape[-2:]
    out = resize(x, (height, width))
    if out.shape[0] != depth.shape[0]:
        out = out.expand(max(out.shape[0], depth.shape[0]), -1, -1, -1).clone()
    ys = (torch.arange(height, device=x.device, dtype=torch.float32) + 0.5) * (h / height) - 0.5
    xs = (torch.arange(width, device=x.device, dtype=torch.float32) + 0.5) * (w / width) - 0.5
    near_y, near_x = ys.round().clamp(0, h - 1).long(), xs.round().clamp(0, w - 1).long()
    spread = F.max_pool2d(depth_small, 3, 1, 1) + F.max_pool2d(-depth_small, 3, 1, 1)
    edgy = (spread > 2 * GUIDE_DEPTH * depth_small.clamp(min=1e-3)).any(dim=0)[0]  # h x w, any image of the batch
    rows, cols = edgy[near_y][:, near_x].nonzero(as_tuple=True)
    if not len(rows):
        return out
    guide = depth[:, 0, rows, cols]  # N x K
    total = torch.zeros((out.shape[0], x.shape[1], len(rows)), device=x.device, dtype=x.dtype)
    weights = torch.zeros((out.shape[0], 1, len(rows)), device=x.device, dtype=x.dtype)
    for dy in (-1, 0, 1):
        qy = (near_y[rows] + dy).clamp(0, h - 1)
        for dx in (-1, 0, 1):
            qx = (near_x[cols] + dx).clamp(0, w - 1)
            space = torch.exp(-((ys[rows] - qy) ** 2 + (xs[cols] - qx) ** 2) / (2 * GUIDE_SPACE**2))
            apart = (guide - depth_small[:, 0, qy, qx]) / (GUIDE_DEPTH * guide.clamp(min=1e-3))
            weight = (space * (torch.exp(-0.5 * apart**2) + 1e-6))[:, None]
            total += weight * x[:, :, qy, qx]
            weights += weight
    out[:, :, rows, cols] = total / weights
    return out


def image_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``H x W x C`` float image (RGB, or depth as one channel) -> ``1 x C x H x W`` float32, sharing memory where it can."""
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]


def depth_tensor(depth: np.ndarray) -> torch.Tensor:
    """``H x W`` depth -> ``1 x 1 x H x W`` float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))[None, None]


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right of ``x`` to a multiple of ``stride``; returns the original size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


__all__ = ["depth_tensor", "guided_resize", "image_tensor", "pad_to_stride", "resize"]
