"""How the light enters a conditioned (any-to-any) MBNet, and how one starts from a one-to-one model.

The light vector is :func:`relight.lighting.encode_lights`' ``(N, LIGHT_FEATURES)`` rows. Two designs
(``MBNetConfig.conditioning``):

* ``film``: :class:`FiLM`, a small MLP embedding of the light vector whose last layer gives a per-channel
  scale and shift for each of :data:`FILM_SITES`: the three DDPM guides (so the predicted dynamic
  kernels depend on the light) and the outputs of the decoder's upsampling stages;
* ``planes``: the light vector as :data:`LIGHT_FEATURES` constant planes after the RGB channels at the
  RGB encoder's input (its stem convolution takes ``3 + LIGHT_FEATURES`` channels).

Both start as the identity on the one-to-one network (FiLM's last layer zero: scale 1, shift 0; zero stem
weights on the light planes), so :meth:`relight.model.MBNet.from_one_to_one` gives exactly the one-to-one model's outputs
for every light, and training then learns what the lights change.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from relight.errors import InvalidSetting, RelightError, Setting
from relight.lighting import LIGHT_FEATURES
from relight.model.config import LIGHT_HINTS, MBNetConfig

#: Where FiLM modulates, and each site's channels as a multiple of ``decoder_channels``: guides of the
#: DDPMs at /32, /16, /8, then the decoder's stages after each upsampling CBR.
FILM_SITES: dict[str, float] = {
    "guide32": 1, "guide16": 1, "guide8": 1, "up32": 1, "up16": 1, "up8": 1, "up4": 1, "up2": 0.5,
}
#: Width of FiLM's light embedding.
FILM_HIDDEN = 64
#: The RGB stem's light-plane weights: input channels after the first three.
PLANES_KEY = "rgb_encoder.conv1.weight"


class ConditioningError(RelightError, ValueError):
    """A one-to-one state that does not fit the conditioned network asked for (another backbone, say)."""


def light_setting() -> Setting:
    """The ``light`` argument of ``MBNet.forward``, the setting its refusals concern."""
    return Setting("light", owner="MBNet.forward")


def check_light(config: MBNetConfig, light: torch.Tensor | None, images: int) -> None:
    """Refuse a light for a one-to-one network, none for a conditioned one, or rows that do not fit."""
    if not config.any_to_any:
        if light is not None:
            raise InvalidSetting(light_setting(), f"this MBNet ({config.describe()}) is one-to-one: it takes no light")
        return
    if light is None:
        raise InvalidSetting(
            light_setting(), f"this MBNet is conditioned ({config.conditioning}): pass light, the rows of "
            "relight.lighting.encode_lights(targets, sources)",
        )
    if light.ndim != 2 or light.shape[1] != LIGHT_FEATURES or (light.shape[0] != images and images != 1):
        raise InvalidSetting(
            light_setting(), f"light has shape {tuple(light.shape)}; expected ({images}, {LIGHT_FEATURES}) for {images} "
            f"image(s), or (T, {LIGHT_FEATURES}) for one image relit to T lights",
        )


class FiLM(nn.Module):
    """Light vector -> per-site ``(scale, shift)``, each ``N x C x 1 x 1``; the identity until trained."""

    def __init__(self, decoder_channels: int, hidden: int = FILM_HIDDEN) -> None:
        super().__init__()
        self.channels = {site: int(decoder_channels * share) for site, share in FILM_SITES.items()}
        self.embed = nn.Sequential(nn.Linear(LIGHT_FEATURES, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.out = nn.Linear(hidden, 2 * sum(self.channels.values()))
        self.reset_identity()

    @torch.no_grad()
    def reset_identity(self) -> None:
        """Zero the last layer, so every scale is 1 and every shift 0 whatever the light (the embedding keeps
        its random weights, through which the first gradients reach that layer)."""
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, light: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        values = self.out(self.embed(light))
        n = values.shape[0]
        sites: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        start = 0
        for site, c in self.channels.items():
            scale, shift = values[:, start : start + 2 * c].view(n, 2, c, 1, 1).unbind(1)
            sites[site] = (scale + 1.0, shift)
            start += 2 * c
        return sites


def modulate(x: torch.Tensor, film: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """``x * scale + shift`` (``x`` of one image is broadcast to the lights' count); ``x`` itself without FiLM."""
    if film is None:
        return x
    scale, shift = film
    return torch.addcmul(shift.to(x.dtype), x, scale.to(x.dtype))


def with_planes(rgb: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
    """RGB with the light vector appended as constant planes (one image is repeated for T lights)."""
    n = light.shape[0]  # check_light allows rgb of one image or of as many as the lights: either way, this many (and a trace keeps it a shape)
    planes = light.to(rgb.dtype)[:, :, None, None].expand(n, -1, *rgb.shape[-2:])
    out = torch.cat([rgb.expand(n, -1, -1, -1), planes], dim=1)
    channels_last = rgb.stride(1) == 1 and rgb.shape[1] > 1  # as the optimised inference path passes it
    return out.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


@torch.no_grad()
def reset_planes_identity(stem: nn.Conv2d) -> None:
    """Zero the stem's weights on the light planes: the RGB encoder sees the light, but ignores it at first."""
    stem.weight[:, 3:].zero_()


def one_to_one_config(config: MBNetConfig) -> MBNetConfig:
    """The one-to-one network a conditioned ``config`` shares its weights with: its hints without those
    that need the lights (one with fewer hints fits too: the leading channels of the depth stem)."""
    return replace(config, conditioning="none", hints="normals" if config.hints in LIGHT_HINTS else config.hints)


__all__ = [
    "FILM_SITES",
    "ConditioningError",
    "FiLM",
    "PLANES_KEY",
    "check_light",
    "modulate",
    "one_to_one_config",
    "with_planes",
]
