"""The description of an MBNet variant: small, serialisable, and stored inside every checkpoint."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

#: MBNet downsamples five times, so its inputs are a multiple of this (inference pads them to it).
STRIDE = 32
BACKBONES = ("resnet50", "resnet34", "resnet18", "narrow")
#: How the light enters the network: not at all (the paper's one-to-one MBNet), or see :mod:`relight.model.condition`.
CONDITIONINGS = ("none", "film", "planes")


@dataclass(frozen=True)
class MBNetConfig:
    """Which MBNet to build.

    ``backbone`` picks the two encoders: ``resnet50`` is the paper's network (and the only layout the
    authors' checkpoint fits), ``resnet34``/``resnet18`` are torchvision's smaller ResNets, and
    ``narrow`` is a one-block-per-stage ResNet whose base ``width`` is free, small enough to train on a
    CPU. ``decoder_channels`` is the width of the fusion and decoder path (64 in the paper).
    ``residual`` selects ``relu(rgb + head)`` (the paper) or ``relu(head)`` (its ablation).
    ``conditioning`` makes the target (and optionally source) light an input of the network, so one
    model relights to any of VIDIT's 40 lights: ``none`` is the paper's one-to-one network, exactly;
    ``film`` modulates the decoder and DDPM guides by per-channel scale and shift from a small embedding
    of the light vector; ``planes`` adds the light vector as constant input planes of the RGB encoder.
    Checkpoints written before the field existed read as ``none``.
    """

    backbone: str = "resnet50"
    width: int = 64
    decoder_channels: int = 64
    residual: bool = True
    conditioning: str = "none"

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.backbone != "narrow" and self.width != 64:
            raise ValueError(f"backbone {self.backbone} has a fixed width of 64 (got {self.width})")
        if self.width < 4 or self.decoder_channels < 8 or self.decoder_channels % 8:
            raise ValueError("width must be >= 4 and decoder_channels a multiple of 8")
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(f"unknown conditioning {self.conditioning!r}; choose one of {', '.join(CONDITIONINGS)}")

    @classmethod
    def paper(cls) -> "MBNetConfig":
        return cls()

    @classmethod
    def narrow(
        cls, width: int = 16, decoder_channels: int = 32, residual: bool = True, conditioning: str = "none"
    ) -> "MBNetConfig":
        return cls(backbone="narrow", width=width, decoder_channels=decoder_channels, residual=residual,
                   conditioning=conditioning)

    @property
    def any_to_any(self) -> bool:
        """Whether the network takes the light as an input (one model, any target) or maps one pair."""
        return self.conditioning != "none"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MBNetConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown MBNet config fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "MBNetConfig":
        return cls.from_dict(json.loads(text))

    def describe(self) -> str:
        """A short human label, e.g. ``resnet50`` or ``narrow-w16-d32``, plus ``-noresid`` for the ablation
        and the conditioning of an any-to-any model (``resnet50-film``)."""
        label = self.backbone if self.backbone != "narrow" else f"narrow-w{self.width}-d{self.decoder_channels}"
        label = label if self.residual else f"{label}-noresid"
        return f"{label}-{self.conditioning}" if self.any_to_any else label
