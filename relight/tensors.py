"""Arrays to tensors and tensor resizing, shared by inference and the data loaders (below both, so that
neither imports the other)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def torch_version() -> tuple[int, int]:
    """The running torch's (major, minor), for features newer than the oldest torch relight supports."""
    major, minor = torch.__version__.split(".")[:2]
    return int(major), int(minor)


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


__all__ = ["depth_tensor", "image_tensor", "resize", "torch_version"]
