"""Model variants, the residual ablation, and ImageNet initialisation from the torch cache only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from relight.model import MBNet, MBNetConfig
from relight.weights.pretrained import imagenet_state


def test_residual_ablation_changes_only_the_output_rule() -> None:
    torch.manual_seed(0)
    resid = MBNet(MBNetConfig.narrow()).eval()
    plain = MBNet(MBNetConfig.narrow(residual=False)).eval()
    plain.load_state_dict(resid.state_dict())
    rgb, depth = torch.rand(2, 3, 64, 96), torch.rand(2, 1, 64, 96)
    with torch.no_grad():
        head = torch.relu(plain(rgb, depth))
        out = resid(rgb, depth)
    assert out.shape == (2, 3, 64, 96)
    # With zeroed head weights the residual model is the identity (on [0, 1] input) and the plain one is black.
    for m in (resid, plain):
        torch.nn.init.zeros_(m.head.weight)
        torch.nn.init.zeros_(m.head.bias)
    with torch.no_grad():
        assert torch.equal(resid(rgb, depth), rgb)
        assert torch.equal(plain(rgb, depth), torch.zeros_like(rgb))
    assert head.min() >= 0


@pytest.mark.parametrize("backbone,params", [("resnet18", 32_168_067), ("resnet34", None)])
def test_torchvision_backbones_build(backbone: str, params: int | None) -> None:
    model = MBNet(MBNetConfig(backbone=backbone))
    if params is not None:
        assert sum(p.numel() for p in model.parameters()) == params
    assert model.rgb_encoder.channels == (64, 64, 128, 256, 512)


def test_imagenet_init_reads_the_torch_cache_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    model = MBNet(MBNetConfig(backbone="resnet18"))
    with pytest.raises(FileNotFoundError, match=r"resnet18-f37072fd.pth: ImageNet weights for resnet18 not found; download https://\S+ to that path"):
        imagenet_state("resnet18")
    torch.manual_seed(3)
    reference = torchvision.models.resnet18()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(reference.state_dict(), tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    depth_stem_before = model.depth_encoder.conv1.weight.clone()
    model.init_from_imagenet(imagenet_state("resnet18"))
    assert torch.equal(model.rgb_encoder.layer3[1].conv2.weight, reference.layer3[1].conv2.weight)
    assert torch.equal(model.rgb_encoder.conv1.weight, reference.conv1.weight)
    assert torch.equal(model.depth_encoder.layer4[0].bn1.running_var, reference.layer4[0].bn1.running_var)
    assert torch.equal(model.depth_encoder.conv1.weight, depth_stem_before)  # 1-channel stem stays fresh


def test_resnet50_prefers_the_file_the_authors_initialised_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision before 0.13 cached resnet50-19c8e357.pth, newer releases resnet50-0676ba61.pth: the
    authors' file is read when the cache holds it, the current one otherwise."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    with pytest.raises(FileNotFoundError, match=r"resnet50-0676ba61.pth: ImageNet weights for resnet50 not found"):
        imagenet_state("resnet50")
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save({"conv1.weight": torch.ones(1), "fc.weight": torch.ones(1)}, folder / "resnet50-0676ba61.pth")
    assert torch.equal(imagenet_state("resnet50")["conv1.weight"], torch.ones(1))
    torch.save({"conv1.weight": torch.zeros(1), "fc.weight": torch.zeros(1)}, folder / "resnet50-19c8e357.pth")
    state = imagenet_state("resnet50")
    assert torch.equal(state["conv1.weight"], torch.zeros(1))
    assert "fc.weight" not in state


def test_narrow_has_no_imagenet_weights() -> None:
    with pytest.raises(ValueError, match="no ImageNet weights"):
        imagenet_state("narrow")


def test_imagenet_weights_of_another_backbone_are_refused() -> None:
    other = {k: v for k, v in torchvision.models.resnet34().state_dict().items() if not k.startswith("fc.")}
    with pytest.raises(ValueError, match="these ImageNet weights do not fit a resnet18 encoder: missing .*, unexpected layer1.2"):
        MBNet(MBNetConfig(backbone="resnet18")).init_from_imagenet(other)
