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
#: What the depth stream is given besides the depth (:mod:`relight.model.hints`): nothing (the paper),
#: normals from depth, normals and screen-space shadows towards the lights, or those and the diffuse shading
#: of each light. Each design's channels start with the previous one's.
HINTS = ("none", "normals", "normals+shadows", "normals+shadows+shading")
#: The designs whose hints depend on the lights, so that only a conditioned network can take them.
LIGHT_HINTS = ("normals+shadows", "normals+shadows+shading")
#: The camera the hints assume where a depth map cannot tell: the field of view across the image's width
#: (the synthetic scenes' own), and how far it looks below the horizon (the middle of their range).
HINT_FOV_DEG = 55.0
HINT_PITCH_DEG = 19.0
#: Channels each design adds after the depth: the normal's 3 components; the target's and the source's
#: shadow; the target's and the source's shading.
HINT_CHANNELS = {"none": 0, "normals": 3, "normals+shadows": 5, "normals+shadows+shading": 7}
#: The margins the network may reflect its input by on every side (``MBNetConfig.margin``): none (the
#: paper), or half a stride, which keeps a stride-aligned input aligned and is under the smallest side.
MARGINS = (0, STRIDE // 2)
#: The fields that describe the hints: a config without hints leaves them out (as it leaves out a margin
#: of 0 and depth skips off), so that it reads as it did before they existed.
HINT_FIELDS = ("hints", "hint_fov_deg", "hint_pitch_deg")


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
    ``hints`` gives the depth encoder more than the depth (:data:`HINTS`): ``normals`` from depth, and
    ``normals+shadows`` also screen-space shadows towards the target and the source light (any-to-any
    models only: the lights are their input), computed inside the network with the camera assumed by
    ``hint_fov_deg`` (field of view across the width) and ``hint_pitch_deg`` (looking down).
    ``depth_skips`` adds the depth encoder's 1/2 and 1/4 features to the decoder's skip connections
    (the paper's reads depth at 1/8 and coarser only, so a change cannot follow a depth edge closer than
    that: halos round objects). ``margin`` reflects the input by that many pixels on every side before the network runs, and crops
    them from its output (:data:`MARGINS`): the image's border pixels are then inside the network's
    receptive field, where its zero-padded convolutions would otherwise meet them and tint them.
    Checkpoints written before a field existed read as its default: ``none`` and 0, the paper's network.
    """

    backbone: str = "resnet50"
    width: int = 64
    decoder_channels: int = 64
    residual: bool = True
    conditioning: str = "none"
    hints: str = "none"
    hint_fov_deg: float = HINT_FOV_DEG
    hint_pitch_deg: float = HINT_PITCH_DEG
    margin: int = 0
    depth_skips: bool = False

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.backbone != "narrow" and self.width != 64:
            raise ValueError(f"backbone {self.backbone} has a fixed width of 64 (got {self.width})")
        if self.width < 4 or self.decoder_channels < 8 or self.decoder_channels % 8:
            raise ValueError("width must be >= 4 and decoder_channels a multiple of 8")
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(f"unknown conditioning {self.conditioning!r}; choose one of {', '.join(CONDITIONINGS)}")
        if self.hints not in HINTS:
            raise ValueError(f"unknown hints {self.hints!r}; choose one of {', '.join(HINTS)}")
        if self.hints in LIGHT_HINTS and not self.any_to_any:
            raise ValueError(f"{self.hints} hints need the lights as an input: a conditioned (film or planes) network")
        if self.margin not in MARGINS:
            raise ValueError(f"margin must be one of {', '.join(map(str, MARGINS))}, not {self.margin}")
        if not 0 < self.hint_fov_deg < 180 or not -90 < self.hint_pitch_deg < 90:
            raise ValueError(f"hint_fov_deg must be in (0, 180) and hint_pitch_deg in (-90, 90), not "
                             f"{self.hint_fov_deg} and {self.hint_pitch_deg}")

    @classmethod
    def paper(cls) -> "MBNetConfig":
        return cls()

    @classmethod
    def narrow(
        cls, width: int = 16, decoder_channels: int = 32, residual: bool = True, conditioning: str = "none",
        hints: str = "none", margin: int = 0, depth_skips: bool = False,
    ) -> "MBNetConfig":
        return cls(backbone="narrow", width=width, decoder_channels=decoder_channels, residual=residual,
                   conditioning=conditioning, hints=hints, margin=margin, depth_skips=depth_skips)

    @property
    def any_to_any(self) -> bool:
        """Whether the network takes the light as an input (one model, any target) or maps one pair."""
        return self.conditioning != "none"

    @property
    def depth_channels(self) -> int:
        """Channels the depth encoder's stem takes: the depth, then the hints'."""
        return 1 + HINT_CHANNELS[self.hints]

    def to_json(self) -> str:
        fields_ = asdict(self)
        if self.hints == "none":
            fields_ = {k: v for k, v in fields_.items() if k not in HINT_FIELDS}
        for name in ("margin", "depth_skips"):
            if not fields_[name]:
                del fields_[name]
        return json.dumps(fields_, sort_keys=True)

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
        """A short human label, e.g. ``resnet50`` or ``narrow-w16-d32``, plus ``-noresid`` for the ablation,
        the conditioning of an any-to-any model (``resnet50-film``), the hints (``narrow-w16-d32-film-normals``),
        depth skips (``-ds``) and the margin (``-m16``)."""
        label = self.backbone if self.backbone != "narrow" else f"narrow-w{self.width}-d{self.decoder_channels}"
        label = label if self.residual else f"{label}-noresid"
        label = f"{label}-{self.conditioning}" if self.any_to_any else label
        label = label if self.hints == "none" else f"{label}-{self.hints}"
        label = f"{label}-ds" if self.depth_skips else label
        return f"{label}-m{self.margin}" if self.margin else label
