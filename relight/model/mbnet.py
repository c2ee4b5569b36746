"""MBNet: two ResNet encoders (RGB and depth), dense fusion at /8, /16, /32, and a DDPM decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from relight.model.backbone import ResNetEncoder, load_imagenet_weights
from relight.model.blocks import CBR, DDPM, DenseTransLayer, conv
from relight.model.config import MBNetConfig

#: MBNet downsamples five times, so inputs must be a multiple of this (the Relighter pads to it).
STRIDE = 32


def _add(coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
    return fine + F.interpolate(coarse, size=fine.shape[-2:], mode="bilinear", align_corners=False)


class MBNet(nn.Module):
    """Multi-modal Bifurcated Network (Yang et al., CVPRW 2021) for depth-guided relighting.

    ``forward(rgb, depth)`` takes ``N x 3 x H x W`` RGB in [0, 1] and ``N x 1 x H x W`` depth in [0, 1]
    (H, W multiples of 32) and returns the relit ``N x 3 x H x W`` image, unclamped above.
    """

    def __init__(self, config: MBNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or MBNetConfig()
        self.rgb_encoder = ResNetEncoder(config, in_channels=3)
        self.depth_encoder = ResNetEncoder(config, in_channels=1)
        ch = self.rgb_encoder.channels
        dec = config.decoder_channels
        self.fuse8 = DenseTransLayer(ch[2], dec)
        self.fuse16 = DenseTransLayer(ch[3], dec)
        self.fuse32 = DenseTransLayer(ch[4], dec)
        self.lat2, self.lat4, self.lat8, self.lat16, self.lat32 = (conv(c, dec, 1) for c in ch)
        self.up32, self.up16, self.up8, self.up4 = (CBR(dec, dec, 3) for _ in range(4))
        self.up2 = CBR(dec, dec // 2, 3)
        self.up1 = CBR(dec // 2, dec // 2, 3)
        self.ddpm32, self.ddpm16, self.ddpm8 = (DDPM(dec, dec) for _ in range(3))
        self.head = conv(dec // 2, 3, 1)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        r2, r4, r8, r16, r32 = self.rgb_encoder(rgb)
        _, _, d8, d16, d32 = self.depth_encoder(depth)
        g8, g16, g32 = self.fuse8(r8, d8), self.fuse16(r16, d16), self.fuse32(r32, d32)
        o = self.up32(self.lat32(r32))
        o = self.up16(_add(self.ddpm32(o, g32), self.lat16(r16)))
        o = self.up8(_add(self.ddpm16(o, g16), self.lat8(r8)))
        o = self.up4(_add(self.ddpm8(o, g8), self.lat4(r4)))
        o = self.up2(_add(o, self.lat2(r2)))
        o = self.up1(F.interpolate(o, scale_factor=2, mode="bilinear", align_corners=True))
        residual = self.head(o)
        return F.relu(rgb + residual) if self.config.residual else F.relu(residual)

    def init_from_imagenet(self) -> None:
        """Initialise both encoders from torchvision's ImageNet weights (the depth stem stays fresh)."""
        load_imagenet_weights(self.rgb_encoder, self.config.backbone)
        load_imagenet_weights(self.depth_encoder, self.config.backbone)
