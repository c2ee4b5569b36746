"""MBNet's building blocks, one small module each (described in docs/training.md, "The network").

Module names are ours; :mod:`relight.model.authors` maps them to the authors' checkpoint keys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv(cin: int, cout: int, k: int, dilation: int = 1) -> nn.Conv2d:
    """``Conv(i, o, k, d)`` of the spec: 'same' padding, with bias."""
    return nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation)


class CBR(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> ReLU, 'same' padding."""

    def __init__(self, cin: int, cout: int, k: int = 3) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class DenseLayer(nn.Module):
    """A 1x1 squeeze, four densely connected CBRs, and a CBR that fuses the input with the last one."""

    def __init__(self, cin: int, cout: int, down_factor: int = 4, depth: int = 4) -> None:
        super().__init__()
        mid = cout // down_factor
        self.down = conv(cin, mid, 1)
        self.blocks = nn.ModuleList(CBR(mid * (i + 1), mid, 3) for i in range(depth))
        self.fuse = CBR(cin + mid, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.down(x)
        outs: list[torch.Tensor] = []
        for block in self.blocks:
            outs.append(block(torch.cat(outs + [z], dim=1)))
        return self.fuse(torch.cat([x, outs[-1]], dim=1))


class DenseTransLayer(nn.Module):
    """Fuses RGB and depth features of one scale into ``cout`` guide channels."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.pre = CBR(cin, cin, 3)
        self.dense = DenseLayer(cin, cin, down_factor=max(1, cin // cout))
        self.post = CBR(cin, cout, 3)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        f = self.pre(rgb + depth)
        return self.post(self.dense(f) + f)


def dynamic_dilated_conv(x: torch.Tensor, kernels: torch.Tensor, dilation: int) -> torch.Tensor:
    """Per-pixel, per-channel 3x3 dilated convolution with kernels ``N x C*9 x H x W``.

    Computed as nine shifted multiply-adds over a zero-padded view, so the 9x unfolded copy of ``x``
    that ``nn.Unfold`` would build is never materialised; autograd handles it as ordinary tensor ops.
    Tap ``t = 3*row + col`` over offsets (-d, 0, +d), the layout of ``nn.Unfold(3, dilation=d, padding=d)``.
    """
    n, c, h, w = x.shape
    kernels = kernels.view(n, c, 9, h, w)
    padded = F.pad(x, (dilation, dilation, dilation, dilation))

    def tap(t: int) -> torch.Tensor:
        row, col = divmod(t, 3)
        return padded[:, :, row * dilation : row * dilation + h, col * dilation : col * dilation + w]

    # In-place accumulation is autograd-safe here: no backward formula needs the running sum.
    out = tap(0) * kernels[:, :, 0]
    for t in range(1, 9):
        out.addcmul_(tap(t), kernels[:, :, t])
    return out


def dynamic_dilated_conv_unfold(x: torch.Tensor, kernels: torch.Tensor, dilation: int) -> torch.Tensor:
    """The authors' formulation (``nn.Unfold`` then a weighted sum), kept as the numerical reference."""
    n, c, h, w = x.shape
    patches = F.unfold(x, 3, dilation=dilation, padding=dilation).view(n, c, 9, h, w)
    return (patches * kernels.view(n, c, 9, h, w)).sum(dim=2)


#: The two formulations of the dynamic convolution, by the name :func:`use_dynamic_conv` takes.
DYNAMIC_CONVS = {"shift": dynamic_dilated_conv, "unfold": dynamic_dilated_conv_unfold}


def use_dynamic_conv(model: nn.Module, impl: str) -> nn.Module:
    """Switch every dynamic dilated branch of ``model`` to ``"shift"`` (fast) or ``"unfold"`` (the reference)."""
    if impl not in DYNAMIC_CONVS:
        raise ValueError(f"unknown dynamic convolution {impl!r}; choose one of {', '.join(DYNAMIC_CONVS)}")
    for module in model.modules():
        if isinstance(module, DynamicDilatedBranch):
            module.impl = impl
    return model


class DynamicDilatedBranch(nn.Module):
    """A kernel-generation unit (KGU) predicting per-pixel kernels from the guide, and their application."""

    #: Which entry of :data:`DYNAMIC_CONVS` runs; both give the same values and gradients.
    impl = "shift"

    def __init__(self, channels: int, guide_channels: int, dilation: int) -> None:
        super().__init__()
        self.dilation = dilation
        self.kgu = nn.Sequential(
            conv(guide_channels, guide_channels, 3),
            DenseLayer(guide_channels, guide_channels, down_factor=4),
            conv(guide_channels, channels * 9, 1),
        )
        self.out = conv(channels, channels, 3)

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        return self.out(DYNAMIC_CONVS[self.impl](x, self.kgu(guide), self.dilation))


class DDPM(nn.Module):
    """Dynamic dilated pyramid module: three guided branches (dilations 1, 3, 5) plus the identity."""

    dilations = (1, 3, 5)

    def __init__(self, channels: int = 64, guide_channels: int = 64) -> None:
        super().__init__()
        inner = channels // 4
        self.reduce = conv(channels, inner, 1)
        self.branches = nn.ModuleList(DynamicDilatedBranch(inner, guide_channels, d) for d in self.dilations)
        self.fuse = CBR(inner * (len(self.dilations) + 1), channels, 3)

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.fuse(torch.cat([x] + [branch(x, guide) for branch in self.branches], dim=1))
