"""The training loss: Charbonnier, -SSIM and the VGG-19 conv3_3 perceptual term, and their weighting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity
from torchvision.models.vgg import cfgs, make_layers

from relight.cli._errors import cli_words
from relight.errors import InvalidSetting, MissingWeightsError, RelightError
from relight.train.losses import IMAGENET_MEAN, IMAGENET_STD, RelightLoss, VGGPerceptualLoss, charbonnier, ssim_loss

VGG_FILE = "vgg19-dcbb9e9d.pth"


@pytest.fixture(scope="module")
def vgg_state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """A seeded random VGG-19 feature stack in torchvision's key layout (``features.N.weight``)."""
    torch.manual_seed(19)
    return {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    assert Path(torch.hub.get_dir()) == tmp_path / "torch-home" / "hub"
    return tmp_path / "torch-home" / "hub" / "checkpoints"


@pytest.fixture
def vgg_cache(empty_cache: Path, vgg_state: dict[str, torch.Tensor]) -> Path:
    empty_cache.mkdir(parents=True)
    torch.save(vgg_state, empty_cache / VGG_FILE)
    return empty_cache / VGG_FILE


def _conv3_3_by_hand(x: torch.Tensor, state: dict[str, torch.Tensor]) -> torch.Tensor:
    """VGG-19 up to conv3_3 (before its ReLU), written out layer by layer from the state dict."""
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    for index in (0, 2, "pool", 5, 7, "pool", 10, 12, 14):
        if index == "pool":
            x = F.max_pool2d(x, 2)
        else:
            x = F.conv2d(x, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1)
            if index != 14:
                x = F.relu(x)
    return x


def _pair(seed: int = 0, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(2, 3, size, size, generator=g)
    pred = (target + 0.1 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    return pred, target


def test_charbonnier_is_the_mean_of_sqrt_squared_error_plus_eps_squared():
    pred, target = _pair()
    diff = (pred - target).double().numpy()
    for eps in (1e-3, 0.1):
        expected = np.sqrt(diff**2 + eps**2).mean()
        assert float(charbonnier(pred, target, eps)) == pytest.approx(expected, rel=1e-5)
    assert float(charbonnier(target, target)) == pytest.approx(1e-3)


def test_ssim_loss_is_minus_skimage_ssim_averaged_over_the_batch():
    pred, target = _pair(1)
    reference = [
        structural_similarity(p.permute(1, 2, 0).numpy(), t.permute(1, 2, 0).numpy(), gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=1.0, channel_axis=-1)
        for p, t in zip(pred, target)
    ]
    assert float(ssim_loss(pred, target)) == pytest.approx(-np.mean(reference), abs=1e-4)


def test_without_the_perceptual_term_the_loss_needs_no_vgg_and_weights_its_terms(empty_cache):
    loss = RelightLoss(charbonnier_weight=2.0, ssim_weight=0.5, perceptual_weight=0)
    assert loss.perceptual is None
    assert "VGG" not in loss.describe()
    pred, target = _pair(2)
    total, parts = loss(pred, target)
    assert set(parts) == {"charbonnier", "ssim"}
    assert float(parts["charbonnier"]) == pytest.approx(float(charbonnier(pred, target)))
    assert float(parts["ssim"]) == pytest.approx(float(ssim_loss(pred, target)))
    assert float(total) == pytest.approx(2.0 * float(parts["charbonnier"]) + 0.5 * float(parts["ssim"]), rel=1e-6)


def test_missing_vgg_weights_refuse_to_build_the_loss_with_a_way_out(empty_cache):
    with pytest.raises(RelightError) as info:
        RelightLoss()
    message = str(info.value)
    assert "\n" not in message
    assert str(empty_cache / VGG_FILE) in message
    assert f"https://download.pytorch.org/models/{VGG_FILE}" in message
    assert "or train with TrainConfig(perceptual_weight=0)" in message
    assert "--" not in message
    assert isinstance(info.value, MissingWeightsError)
    assert info.value.path == empty_cache / VGG_FILE
    assert info.value.render(cli_words).endswith("; download https://download.pytorch.org/models/"
                                                 f"{VGG_FILE} to that path (or point TORCH_HOME at a cache that holds it), "
                                                 "or train with --perceptual-weight 0")


def test_a_vgg_file_of_the_wrong_shape_is_refused(empty_cache):
    empty_cache.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(1)}, empty_cache / VGG_FILE)
    with pytest.raises(RelightError, match="do not fit VGG-19"):
        VGGPerceptualLoss()


def test_negative_weights_and_eps_are_refused(empty_cache):
    with pytest.raises(InvalidSetting, match=r"^RelightLoss\(ssim_weight\) must be 0 or more, not -1$") as info:
        RelightLoss(ssim_weight=-1, perceptual_weight=0)
    assert info.value.render(cli_words) == "--ssim-weight must be 0 or more, not -1"
    assert isinstance(info.value, ValueError)
    with pytest.raises(RelightError, match="eps"):
        RelightLoss(perceptual_weight=0, eps=0)


def test_perceptual_term_is_l1_of_conv3_3_features_and_only_the_prediction_gets_gradients(vgg_cache, vgg_state):
    loss = RelightLoss()
    assert loss.describe() == "1*Charbonnier(eps=0.001) + 1.1*(-SSIM) + 0.1*L1(VGG19 conv3_3)"
    pred, target = _pair(3)
    pred.requires_grad_(True)
    total, parts = loss(pred, target)
    with torch.no_grad():
        expected = (_conv3_3_by_hand(pred, vgg_state) - _conv3_3_by_hand(target, vgg_state)).abs().mean()
    assert float(parts["perceptual"]) == pytest.approx(float(expected), rel=1e-4)
    weighted = float(parts["charbonnier"]) + 1.1 * float(parts["ssim"]) + 0.1 * float(parts["perceptual"])
    assert float(total.detach()) == pytest.approx(weighted, rel=1e-5)
    assert all(not p.requires_grad for p in loss.parameters())
    total.backward()
    assert pred.grad is not None
    assert pred.grad.abs().sum() > 0


def test_a_few_steps_on_the_full_loss_bring_the_prediction_closer(vgg_cache):
    loss = RelightLoss()
    pred, target = _pair(4, size=24)
    pred = pred.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([pred], lr=0.02)
    first = None
    for _ in range(3):
        optimiser.zero_grad()
        total, parts = loss(pred, target)
        first = first if first is not None else (float(total.detach()), dict(parts))
        total.backward()
        optimiser.step()
    total, parts = loss(pred, target)
    assert float(total.detach()) < first[0]
    assert parts["charbonnier"] < first[1]["charbonnier"]
    assert parts["perceptual"] < first[1]["perceptual"]
