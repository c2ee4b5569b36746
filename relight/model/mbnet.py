"""MBNet: two ResNet encoders (RGB and depth), dense fusion at /8, /16, /32, and a DDPM decoder.

With ``MBNetConfig.conditioning`` other than ``none`` the light is an input too (:mod:`relight.model.condition`);
with ``MBNetConfig.hints`` other than ``none`` the depth encoder also reads geometry computed from the
depth (:mod:`relight.model.hints`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from relight.model.backbone import ResNetEncoder, load_imagenet_weights
from relight.lighting import LIGHT_FEATURES
from relight.model.blocks import CBR, DDPM, DenseTransLayer, conv
from relight.model.condition import (PLANES_KEY, ConditioningError, FiLM, check_light, modulate, one_to_one_config, reset_planes_identity,
                                     with_planes)
from relight.model.config import MBNetConfig
from relight.model.hints import GeometryHints

#: The depth encoder's stem, whose input channels after the first are the hints'.
DEPTH_STEM_KEY = "depth_encoder.conv1.weight"


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


def _like_layout(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` in ``like``'s memory format (channels-last where the optimised inference path passes it so)."""
    channels_last = like.stride(1) == 1 and like.shape[1] > 1
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _like(x: torch.Tensor, n: int) -> torch.Tensor:
    """An empty tensor like ``x`` (dtype, device, memory format) but of ``n`` images."""
    channels_last = x.stride(1) == 1 and x.shape[1] > 1
    return x.new_empty((n, *x.shape[1:])).contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


class MBNet(nn.Module):
    """Multi-modal Bifurcated Network (Yang et al., CVPRW 2021) for depth-guided relighting.

    ``forward(rgb, depth)`` takes ``N x 3 x H x W`` RGB in [0, 1] and ``N x 1 x H x W`` depth in [0, 1]
    (H, W multiples of 32) and returns the relit ``N x 3 x H x W`` image, unclamped above. With a
    ``margin`` the inputs are reflected by it on every side first, and the output cropped back.

    A conditioned model (any-to-any) also takes ``light``, the ``N x LIGHT_FEATURES`` rows of
    :func:`relight.lighting.encode_lights`, and refuses to run without; a one-to-one model refuses one.
    One image (N = 1) with ``T`` light rows gives its ``T`` relit versions; with FiLM the encoders and the
    fusion then run once for all ``T``.
    """

    #: Rows of the full-resolution output computed at a time when no gradients are needed (None: all at
    #: once, the plain formulation). The optimised inference path sets it to bound peak memory.
    tail_rows: int | None = None

    def __init__(self, config: MBNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or MBNetConfig()
        planes = config.conditioning == "planes"
        self.rgb_encoder = ResNetEncoder(config, in_channels=3 + LIGHT_FEATURES if planes else 3)
        if planes:
            reset_planes_identity(self.rgb_encoder.conv1)
        self.depth_encoder = ResNetEncoder(config, in_channels=config.depth_channels)
        self.geometry = None if config.hints == "none" else GeometryHints(config.hints, config.hint_fov_deg, config.hint_pitch_deg)
        ch = self.rgb_encoder.channels
        dec = config.decoder_channels
        self.fuse8 = DenseTransLayer(ch[2], dec)
        self.fuse16 = DenseTransLayer(ch[3], dec)
        self.fuse32 = DenseTransLayer(ch[4], dec)
        self.lat2, self.lat4, self.lat8, self.lat16, self.lat32 = (conv(c, dec, 1) for c in ch)
        if config.depth_skips:
            self.depth_lat2, self.depth_lat4 = (conv(c, dec, 1) for c in self.depth_encoder.channels[:2])
        self.up32, self.up16, self.up8, self.up4 = (CBR(dec, dec, 3) for _ in range(4))
        self.up2 = CBR(dec, dec // 2, 3)
        self.up1 = CBR(dec // 2, dec // 2, 3)
        self.ddpm32, self.ddpm16, self.ddpm8 = (DDPM(dec, dec) for _ in range(3))
        self.head = conv(dec // 2, 3, 1)
        self.condition = FiLM(dec) if config.conditioning == "film" else None

    @classmethod
    @torch.no_grad()
    def from_one_to_one(cls, config: MBNetConfig, one_to_one: Mapping[str, torch.Tensor] | nn.Module) -> MBNet:
        """A conditioned MBNet of ``config`` holding a one-to-one model's weights, its conditioning the identity.

        ``one_to_one`` is the one-to-one model (or its ``state_dict``) of the same backbone and widths; every
        tensor of it is copied (for ``planes``, into the RGB channels of the stem; where ``config`` has more
        hints than it, into the leading channels of the depth stem, the others zero; depth skips it lacks
        start at zero), so the result gives that model's outputs for every light until trained. Refused
        when the state does not fit.
        """
        if not config.any_to_any:
            raise ConditioningError(f"from_one_to_one needs a conditioned config (film or planes), not {config.describe()}")
        state = one_to_one.state_dict() if isinstance(one_to_one, nn.Module) else dict(one_to_one)
        if any(key.startswith("condition.") for key in state):
            raise ConditioningError("these weights are already conditioned (film); from_one_to_one takes a one-to-one model's")
        model = cls(config)
        ours = model.state_dict()
        base = one_to_one_config(config).describe()
        # FiLM, and depth skips the one-to-one model lacks, start as zero (their outputs add nothing).
        fresh = ("condition.",) if any(k.startswith("depth_lat") for k in state) else ("condition.", "depth_lat")
        missing = sorted(k for k in ours if k not in state and not k.startswith(fresh))
        extra = sorted(k for k in state if k not in ours)
        if missing or extra:
            raise ConditioningError(
                f"the one-to-one weights do not fit {base} ({len(missing)} missing, {len(extra)} unexpected, "
                f"e.g. {(missing + extra)[0]})"
            )
        for key, tensor in state.items():
            target = ours[key]
            if key == PLANES_KEY and config.conditioning == "planes":  # the RGB channels of the stem
                target = target[:, :3]
            if key == DEPTH_STEM_KEY and tensor.shape[1] < target.shape[1]:  # fewer hints: the leading channels
                target.zero_()
                target = target[:, : tensor.shape[1]]
            if tensor.shape != target.shape:
                raise ConditioningError(f"the one-to-one weights do not fit {base}: {key} has shape {tuple(tensor.shape)}, expected {tuple(target.shape)}")
            target.copy_(tensor)
        if config.conditioning == "planes":
            reset_planes_identity(model.rgb_encoder.conv1)
        else:
            model.condition.reset_identity()
        for key in ours:
            if key.startswith("depth_lat") and key not in state:
                ours[key].zero_()
        return model

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        check_light(self.config, light, rgb.shape[0])
        # The hints see the image as it is; the margin then reflects every input alike.
        depth = depth if self.geometry is None else _like_layout(self.geometry(depth, light), rgb)
        margin = self.config.margin
        if not margin:
            return self._relight(rgb, depth, light)
        rgb, depth = (_like_layout(F.pad(x, (margin,) * 4, mode="reflect"), rgb) for x in (rgb, depth))
        out = self._relight(rgb, depth, light)
        return out[..., margin : out.shape[-2] - margin, margin : out.shape[-1] - margin]

    def _relight(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None) -> torch.Tensor:
        """The network itself, on the depth stream's input (the depth, and its hints if any)."""
        film = self.condition(light) if self.condition is not None else {}
        # Each scale's fusion runs where the decoder needs it and every feature is dropped once used, so
        # little is alive at once: at 1024 x 1024 the encoders' outputs alone hold about 250 MB.
        d2, d4, d8, d16, d32 = self.depth_encoder(depth)
        r2, r4, r8, r16, r32 = self.rgb_encoder(rgb if self.config.conditioning != "planes" else with_planes(rgb, light))
        skip4 = self.lat4(r4)
        skip2 = self.lat2(r2)
        if self.config.depth_skips:
            skip4 = skip4 + self.depth_lat4(d4)
            skip2 = skip2 + self.depth_lat2(d2)
        del r4, r2, d4, d2
        o = modulate(self.up32(self.lat32(r32)), film.get("up32"))
        guide = modulate(self.fuse32(r32, d32), film.get("guide32"))
        o = modulate(self.up16(_add(self.ddpm32(o, guide), self.lat16(r16))), film.get("up16"))
        del r32, d32
        guide = modulate(self.fuse16(r16, d16), film.get("guide16"))
        o = modulate(self.up8(_add(self.ddpm16(o, guide), self.lat8(r8))), film.get("up8"))
        del r16, d16
        guide = modulate(self.fuse8(r8, d8), film.get("guide8"))
        o = modulate(self.up4(_add(self.ddpm8(o, guide), skip4)), film.get("up4"))
        del r8, d8, skip4, guide
        o = modulate(self.up2(_add(o, skip2)), film.get("up2"))
        del skip2
        if self.tail_rows is None or torch.is_grad_enabled():
            return self._tail(F.interpolate(o, scale_factor=2, mode="bilinear", align_corners=True), rgb)
        # The full-resolution end in bands of rows, each with a one-row halo for the 3x3 convolution: the
        # same values without two full-resolution 32-channel tensors (268 MB at 1024 x 1024).
        out = torch.empty_like(rgb) if o.shape[0] == rgb.shape[0] else _like(rgb, o.shape[0])
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

    def init_from_imagenet(self, state: dict[str, torch.Tensor]) -> None:
        """Initialise both encoders from torchvision's ImageNet weights for this backbone
        (:func:`relight.weights.pretrained.imagenet_state`): the depth stem stays fresh; with light
        planes, the RGB stem takes ImageNet's weights on its RGB channels and none on the planes."""
        load_imagenet_weights(self.rgb_encoder, self.config.backbone, state)
        load_imagenet_weights(self.depth_encoder, self.config.backbone, state)
        if self.config.conditioning == "planes":
            with torch.no_grad():
                self.rgb_encoder.conv1.weight[:, :3].copy_(state["conv1.weight"])
            reset_planes_identity(self.rgb_encoder.conv1)
