"""ResNet encoders in torchvision's layout, split into MBNet's five stages (/2, /4, /8, /16, /32).

The module names (``conv1``, ``bn1``, ``layer1`` ... ``layer4``, and inside each block ``conv1`` ...
``bn3``, ``downsample``) are torchvision's, so ImageNet weights from torchvision's weights API load into
the RGB encoder as they are. The blocks are built here rather than taken from torchvision: importing
torchvision costs more than a second (it pulls in ``torch._dynamo``), which ``relight run`` on one image
would pay for nothing; only fetching ImageNet weights (:mod:`relight.weights.pretrained`) needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relight.errors import RelightError, listed
from relight.model.config import MBNetConfig


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34): torchvision's module names, order and arithmetic.

    Submodules are created in torchvision's order, so a seeded model draws the same initial weights.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, as torchvision's "ResNet V1.5"), 1x1 expand by 4, and a shortcut (ResNet-50)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


class ImageNetMismatch(RelightError, ValueError):
    """ImageNet weights that do not fit the encoder they are loaded into: ``backbone`` names it."""


@dataclass(frozen=True)
class BackboneSpec:
    block: type[BasicBlock | Bottleneck]
    layers: tuple[int, int, int, int]
    torchvision_weights: str | None  # name of the torchvision weights enum that fits, if any
    #: cache files read before ``torchvision_weights``' own when present (see :func:`torch_cache_file`)
    preferred_files: tuple[str, ...] = ()


BACKBONE_SPECS: dict[str, BackboneSpec] = {
    # The authors initialised from resnet50-19c8e357.pth, the file torchvision before 0.13 downloaded;
    # newer releases download resnet50-0676ba61.pth for IMAGENET1K_V1. A cache holding the first uses it.
    "resnet50": BackboneSpec(Bottleneck, (3, 4, 6, 3), "ResNet50_Weights.IMAGENET1K_V1", ("resnet50-19c8e357.pth",)),
    "resnet34": BackboneSpec(BasicBlock, (3, 4, 6, 3), "ResNet34_Weights.IMAGENET1K_V1"),
    "resnet18": BackboneSpec(BasicBlock, (2, 2, 2, 2), "ResNet18_Weights.IMAGENET1K_V1"),
    "narrow": BackboneSpec(BasicBlock, (1, 1, 1, 1), None),
}


class ResNetEncoder(nn.Module):
    """A torchvision-layout ResNet without its classifier that returns the features of all five stages."""

    def __init__(self, config: MBNetConfig, in_channels: int = 3) -> None:
        super().__init__()
        spec = BACKBONE_SPECS[config.backbone]
        width = config.width
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self._inplanes = width
        stages = [self._make_layer(spec.block, width * 2**i, n, 1 if i == 0 else 2) for i, n in enumerate(spec.layers)]
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        expansion = spec.block.expansion
        self.channels: tuple[int, ...] = (width,) + tuple(width * 2**i * expansion for i in range(4))
        for m in self.modules():
            # Built on the meta device (to load a checkpoint into), weights hold no values to draw; and
            # torch's normal_ for meta tensors imports torch._dynamo, a large part of a one-image run.
            if isinstance(m, nn.Conv2d) and not m.weight.is_meta:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int) -> nn.Sequential:
        expansion = block.expansion
        downsample = None
        if stride != 1 or self._inplanes != planes * expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self._inplanes, planes * expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * expansion),
            )
        layers = [block(self._inplanes, planes, stride, downsample)]
        self._inplanes = planes * expansion
        layers += [block(self._inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f2 = self.relu(self.bn1(self.conv1(x)))
        f4 = self.layer1(self.maxpool(f2))
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        f32 = self.layer4(f16)
        return [f2, f4, f8, f16, f32]


def load_imagenet_weights(encoder: ResNetEncoder, backbone: str, state: dict[str, torch.Tensor]) -> None:
    """Initialise ``encoder`` from ``state``, torchvision's ImageNet weights for ``backbone`` (without the
    classifier; :func:`relight.weights.pretrained.imagenet_state` reads them). A stem of another channel
    count (the depth encoder's, 1 channel) stays freshly initialised."""
    state = dict(state)
    if encoder.conv1.weight.shape[1] != state["conv1.weight"].shape[1]:
        state.pop("conv1.weight")
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"conv1.weight"}:
        problem = f"missing {listed(missing) or 'none'}, unexpected {listed(unexpected) or 'none'}"
        raise ImageNetMismatch(f"these ImageNet weights do not fit a {backbone} encoder: {problem}", backbone=backbone)
