"""MBNet: two ResNet encoders (RGB and depth), dense fusion at /8, /16, /32, and a DDPM decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from relight.model.backbone import ResNetEncoder, imagenet_state, load_imagenet_weights
from relight.model.blocks import CBR, DDPM, DenseTransLayer, conv
from relight.model.config import MBNetConfig

#: MBNet downsamples five times, so inputs must be a multiple of this (the Relighter pads to it).
STRIDE = 32


def _add(coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
    # In place on the upsampled tensor: its backward needs neither it nor ``fine``.
    return F.interpolate(coarse, size=fine.shape[-2:], mode="bilinear", align_corners=False).add_(fine)


def _upsample2_rows(x: torch.Tensor, first: int, last: int) -> torch.Tensor:
    """Rows ``first .. last`` of ``F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)``.

    Interpolates the needed input rows by hand (align_corners maps output row ``y`` to input row
    ``y * (h - 1) / (2h - 1)``), then the width with ``F.interpolate``, which at an unchanged height
    copies rows exactly. Works in NHWC, so a channels-last ``x`` gives a channels-last band.
    """
    h, w = x.shape[-2:]
    opmath = torch.promote_types(x.dtype, torch.float32)  # as F.interpolate computes positions
    pos = torch.arange(first, last, device=x.device, dtype=opmath) * ((h - 1) / max(1, 2 * h - 1))
    above = pos.long()
    below = (above + 1).clamp(max=h - 1)
    weight = (pos - above).to(x.dtype).view(-1, 1, 1)
    nhwc = x.permute(0, 2, 3, 1)
    rows = torch.lerp(nhwc[:, above], nhwc[:, below], weight).permute(0, 3, 1, 2)
    return F.interpolate(rows, size=(last - first, 2 * w), mode="bilinear", align_corners=True)


class MBNet(nn.Module):
    """Multi-modal Bifurcated Network (Yang et al., CVPRW 2021) for depth-guided relighting.

    ``forward(rgb, depth)`` takes ``N x 3 x H x W`` RGB in [0, 1] and ``N x 1 x H x W`` depth in [0, 1]
    (H, W multiples of 32) and returns the relit ``N x 3 x H x W`` image, unclamped above.
    """

    #: Rows of the full-resolution output computed at a time when no gradients are needed (None: all at
    #: once, the plain formulation). The optimised inference path sets it to bound peak memory.
    tail_rows: int | None = None

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
        # Each scale's fusion runs where the decoder needs it and every feature is dropped once used, so
        # little is alive at once: at 1024 x 1024 the encoders' outputs alone hold about 250 MB.
        d8, d16, d32 = self.depth_encoder(depth)[2:]
        r2, r4, r8, r16, r32 = self.rgb_encoder(rgb)
        skip4 = self.lat4(r4)
        del r4
        skip2 = self.lat2(r2)
        del r2
        o = self.up32(self.lat32(r32))
        o = self.up16(_add(self.ddpm32(o, self.fuse32(r32, d32)), self.lat16(r16)))
        del r32, d32
        o = self.up8(_add(self.ddpm16(o, self.fuse16(r16, d16)), self.lat8(r8)))
        del r16, d16
        o = self.up4(_add(self.ddpm8(o, self.fuse8(r8, d8)), skip4))
        del r8, d8, skip4
        o = self.up2(_add(o, skip2))
        del skip2
        if self.tail_rows is None or torch.is_grad_enabled():
            return self._tail(F.interpolate(o, scale_factor=2, mode="bilinear", align_corners=True), rgb)
        # The full-resolution end in bands of rows, each with a one-row halo for the 3x3 convolution: the
        # same values without two full-resolution 32-channel tensors (268 MB at 1024 x 1024).
        out = torch.empty_like(rgb)
        height = rgb.shape[2]
        for top in range(0, height, self.tail_rows):
            bottom = min(height, top + self.tail_rows)
            first, last = max(0, top - 1), min(height, bottom + 1)
            band = self._tail(_upsample2_rows(o, first, last), rgb[:, :, first:last])
            out[:, :, top:bottom] = band[:, :, top - first : bottom - first]
        return out

    def _tail(self, o: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        residual = self.head(self.up1(o))
        return F.relu(rgb + residual) if self.config.residual else F.relu(residual)

    def init_from_imagenet(self) -> None:
        """Initialise both encoders from torchvision's ImageNet weights (the depth stem stays fresh)."""
        state = imagenet_state(self.config.backbone)  # read once (98 MB for ResNet-50), loaded into both
        load_imagenet_weights(self.rgb_encoder, self.config.backbone, state)
        load_imagenet_weights(self.depth_encoder, self.config.backbone, state)
