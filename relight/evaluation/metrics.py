"""The relighting challenges' image metrics: PSNR, SSIM, LPIPS (AlexNet, v0.1) and MPS, in torch.

Every metric takes ``N x 3 x H x W`` float tensors in [0, 1] on any device and returns one value per
image (shape ``N``), so evaluation runs on the GPU next to the model instead of round-tripping to
numpy. SSIM reproduces scikit-image's Gaussian SSIM exactly (it is what the NTIRE/AIM scoring used)
and is differentiable, so the training loss uses the very same function. LPIPS is the ``lpips``
package itself, fed AlexNet's ImageNet weights from the user's torch cache, where relight fetches them
on first use (:mod:`relight.weights.pretrained`; never through the lpips package or torchvision).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from relight.errors import MissingWeightsError
from relight.weights.pretrained import load_cached_state_dict, missing_cached, torch_cache_file

#: scikit-image's Gaussian SSIM: sigma 1.5 truncated at 3.5 sigma, an 11 x 11 window (Wang et al. 2004).
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
SSIM_WINDOW = 2 * SSIM_RADIUS + 1
SSIM_K1, SSIM_K2 = 0.01, 0.03

ALEXNET_WEIGHTS = "AlexNet_Weights.IMAGENET1K_V1"
_ALEXNET_WHAT = "AlexNet ImageNet weights (for LPIPS)"


class LPIPSUnavailable(MissingWeightsError):
    """LPIPS cannot be computed here; ``str()`` says why and how to fix it."""


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.ndim != 4 or pred.shape != target.shape:
        raise ValueError(f"expected two N x C x H x W tensors of one shape, got {tuple(pred.shape)} and {tuple(target.shape)}")


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image; ``inf`` for identical images."""
    _check_pair(pred, target)
    mse = (pred.float() - target.float()).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(data_range**2 / mse)


def _gaussian_taps(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """scipy.ndimage's 1-D Gaussian kernel for sigma 1.5, truncate 3.5 (11 taps, sums to 1)."""
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return (taps / taps.sum()).to(device=device, dtype=dtype)


def ssim(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM per image, equal to ``skimage.metrics.structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1)``; differentiable.

    scikit-image filters with mode 'reflect' and then drops the ``SSIM_RADIUS`` pixels of each border,
    which are exactly the ones the padding touched, so a 'valid' convolution gives the same numbers.
    Computed in float32 (or float64) with autocast off, because ``E[x^2] - E[x]^2`` loses everything in
    half precision.
    """
    _check_pair(pred, target)
    if min(pred.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} pixels, got {tuple(pred.shape[-2:])}")
    dtype = torch.float64 if pred.dtype == torch.float64 else torch.float32
    with torch.autocast(pred.device.type, enabled=False):
        x, y = pred.to(dtype), target.to(dtype)
        channels = x.shape[1]
        stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)
        taps = _gaussian_taps(dtype, x.device)
        groups = stack.shape[1]
        stack = F.conv2d(stack, taps.view(1, 1, 1, -1).expand(groups, 1, 1, SSIM_WINDOW), groups=groups)
        stack = F.conv2d(stack, taps.view(1, 1, -1, 1).expand(groups, 1, SSIM_WINDOW, 1), groups=groups)
        mu_x, mu_y, xx, yy, xy = stack.split(channels, dim=1)
        var_x = xx - mu_x * mu_x
        var_y = yy - mu_y * mu_y
        cov = xy - mu_x * mu_y
        c1 = (SSIM_K1 * data_range) ** 2
        c2 = (SSIM_K2 * data_range) ** 2
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
        return ssim_map.mean(dim=(1, 2, 3))


class LPIPS(nn.Module):
    """``lpips.LPIPS(net='alex', version='0.1')`` with AlexNet's ImageNet weights from the torch cache.

    The lpips package would download AlexNet through torchvision; here its trunk starts random and
    is filled from ``alexnet-owt-7be5be79.pth`` in the cache (``weights_only=True``; fetched there first
    by :func:`relight.weights.pretrained.load_cached_state_dict`), and the linear
    layers come from the file shipped inside the package. Raises :class:`LPIPSUnavailable` when the
    AlexNet file is missing (offline, or not fetched) or unreadable.
    """

    def __init__(self) -> None:
        super().__init__()
        state = load_cached_state_dict(ALEXNET_WEIGHTS, _ALEXNET_WHAT, error=LPIPSUnavailable)
        import lpips

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(pretrained|weight enum).*", category=UserWarning)
            model = lpips.LPIPS(net="alex", version="0.1", pretrained=False, pnet_rand=True, verbose=False)
        trunk = {}
        for slice_name, block in model.net.named_children():
            for index, layer in block.named_children():
                for param in layer.state_dict():
                    trunk[f"{slice_name}.{index}.{param}"] = state.get(f"features.{index}.{param}")
        path, url = torch_cache_file(ALEXNET_WEIGHTS)
        absent = sorted(k for k, v in trunk.items() if v is None)
        if absent:
            raise missing_cached(path, url, f"are not an AlexNet state dict (no {absent[0]})", _ALEXNET_WHAT, error=LPIPSUnavailable)
        try:
            model.net.load_state_dict(trunk)
        except RuntimeError as exc:
            problem = f"do not fit AlexNet ({str(exc).strip().splitlines()[-1].strip()})"
            raise missing_cached(path, url, problem, _ALEXNET_WHAT, error=LPIPSUnavailable) from None
        lin_path = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
        lin = torch.load(lin_path, map_location="cpu", weights_only=True)
        model.load_state_dict(lin, strict=False)  # the lins.N keys alias linN, as in lpips itself
        self.model = model.eval().requires_grad_(False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per image for inputs in [0, 1] (lower is closer)."""
        _check_pair(pred, target)
        return self.model(pred.float(), target.float(), normalize=True).flatten()


def mean_perceptual_score(ssim_value: torch.Tensor | float, lpips_value: torch.Tensor | float) -> torch.Tensor | float:
    """MPS = 0.5 * (SSIM + 1 - LPIPS), the NTIRE 2021 relighting ranking metric (higher is better)."""
    return 0.5 * (ssim_value + 1.0 - lpips_value)


__all__ = [
    "ALEXNET_WEIGHTS",
    "LPIPS",
    "LPIPSUnavailable",
    "mean_perceptual_score",
    "psnr",
    "ssim",
]
