"""MBNet's training loss: 1.0 * Charbonnier + 1.1 * (-SSIM) + 0.1 * L1 between VGG-19 conv3_3 features.

The weights are the paper's (section 3.4). The SSIM term is :func:`relight.evaluation.metrics.ssim`, the same
function that scores validation, so the number optimised is the number reported. The perceptual
term needs ImageNet VGG-19 weights from the torch cache (fetched there on first use, :mod:`relight.weights.pretrained`);
when they cannot be had the loss refuses to be built rather than quietly training a different objective.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from relight.errors import InvalidSetting, Setting
from relight.evaluation.metrics import ssim
from relight.weights.pretrained import load_cached_state_dict, missing_cached, torch_cache_file

VGG19_WEIGHTS = "VGG19_Weights.IMAGENET1K_V1"
#: ``vgg19.features[:15]`` ends with conv3_3 (module 14), before its ReLU; see :class:`VGGPerceptualLoss`.
VGG19_CONV3_3_END = 15
_VGG_WHAT = "ImageNet VGG-19 weights (for the perceptual loss)"
_VGG_ELSE = ("or train with ", Setting("perceptual_weight", 0, owner="TrainConfig"))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """mean(sqrt((pred - target)^2 + eps^2)): L1 that stays smooth at zero error."""
    return torch.sqrt((pred - target).pow(2) + eps * eps).mean()


def ssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-SSIM averaged over the batch (the paper minimises negative SSIM, not 1 - SSIM; the gradient is the same)."""
    return -ssim(pred, target).mean()


class VGGPerceptualLoss(nn.Module):
    """L1 between ImageNet VGG-19 conv3_3 responses (``features[:15]``) of prediction and target.

    The paper's words are "conv3_3 features", so the term is taken at the convolution itself, before
    its ReLU (much perceptual-loss code takes relu3_3 instead; that would also drop differences in the
    negative responses). Inputs in [0, 1] are normalised with ImageNet's mean and std first. The
    weights are frozen and read from the torch cache (``vgg19-dcbb9e9d.pth``, ``weights_only=True``).
    """

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        state = load_cached_state_dict(VGG19_WEIGHTS, _VGG_WHAT, _VGG_ELSE)
        features = make_layers(cfgs["E"])[:VGG19_CONV3_3_END]
        try:
            features.load_state_dict({k: state[f"features.{k}"] for k in features.state_dict()})
        except (KeyError, RuntimeError) as exc:
            path, url = torch_cache_file(VGG19_WEIGHTS)
            reason = f"no {exc}" if isinstance(exc, KeyError) else str(exc).strip().splitlines()[-1].strip()
            raise missing_cached(path, url, f"do not fit VGG-19 ({reason})", _VGG_WHAT, _VGG_ELSE) from None
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """conv3_3 responses of an ``N x 3 x H x W`` batch in [0, 1]."""
        return self.features((x - self.mean) / self.std)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target_features = self.embed(target)
        return F.l1_loss(self.embed(pred), target_features)


class RelightLoss(nn.Module):
    """The weighted sum of Charbonnier, -SSIM and VGG-19 perceptual L1, as MBNet was trained.

    ``forward`` returns ``(total, components)`` where ``components`` holds each unweighted term,
    detached, for logging. A perceptual weight of 0 drops the VGG term (and its weights) entirely;
    any other weight requires the VGG-19 weights and raises :class:`~relight.errors.MissingWeightsError` without them.
    """

    def __init__(
        self, charbonnier_weight: float = 1.0, ssim_weight: float = 1.1, perceptual_weight: float = 0.1, eps: float = 1e-3
    ) -> None:
        super().__init__()
        for name, value in (("charbonnier", charbonnier_weight), ("ssim", ssim_weight), ("perceptual", perceptual_weight)):
            if not value >= 0:
                setting = Setting(f"{name}_weight", owner="RelightLoss")
                raise InvalidSetting(setting, setting, f" must be 0 or more, not {value}", value=value)
        if not eps > 0:
            raise InvalidSetting(Setting("eps", eps, owner="RelightLoss"), f"Charbonnier eps must be positive, not {eps}")
        self.charbonnier_weight = charbonnier_weight
        self.ssim_weight = ssim_weight
        self.perceptual_weight = perceptual_weight
        self.eps = eps
        self.perceptual = VGGPerceptualLoss() if perceptual_weight else None

    def describe(self) -> str:
        """The loss as a formula, for logs and checkpoint provenance."""
        terms = [f"{self.charbonnier_weight:g}*Charbonnier(eps={self.eps:g})", f"{self.ssim_weight:g}*(-SSIM)"]
        if self.perceptual is not None:
            terms.append(f"{self.perceptual_weight:g}*L1(VGG19 conv3_3)")
        return " + ".join(terms)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        components = {"charbonnier": charbonnier(pred, target, self.eps), "ssim": ssim_loss(pred, target)}
        total = self.charbonnier_weight * components["charbonnier"] + self.ssim_weight * components["ssim"]
        if self.perceptual is not None:
            components["perceptual"] = self.perceptual(pred, target)
            total = total + self.perceptual_weight * components["perceptual"]
        return total, {name: value.detach() for name, value in components.items()}


__all__ = ["RelightLoss", "VGGPerceptualLoss", "charbonnier", "ssim_loss"]
