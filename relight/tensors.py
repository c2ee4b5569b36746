"""Arrays to tensors, resizing and padding to the network's stride, shared by inference, training and
the data loaders (below all of them, so that none imports another for them)."""

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


__all__ = ["depth_tensor", "image_tensor", "pad_to_stride", "resize"]
