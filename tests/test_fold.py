"""BatchNorm folding, one convolution at a time: torch's arithmetic, written into the convolution's own weight."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from relight.model.fold import fold_conv_bn


def _bn(channels: int, affine: bool) -> nn.BatchNorm2d:
    torch.manual_seed(channels)
    bn = nn.BatchNorm2d(channels, affine=affine).eval()
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    if affine:
        nn.init.uniform_(bn.weight, 0.5, 1.5)
        nn.init.uniform_(bn.bias, -0.5, 0.5)
    return bn


@pytest.mark.parametrize(("bias", "affine"), [(False, True), (True, True), (True, False)])
def test_folded_conv_equals_conv_then_batchnorm_and_keeps_its_weight_tensor(bias: bool, affine: bool) -> None:
    conv, bn = nn.Conv2d(3, 6, 3, padding=1, bias=bias), _bn(6, affine)
    x = torch.rand(2, 3, 9, 7)
    with torch.no_grad():
        expected = bn(conv(x))
    weight = conv.weight
    fold_conv_bn(conv, bn)
    assert conv.weight is weight, "the weight is rescaled where it is, not replaced"
    assert conv.bias is not None
    assert conv.bias.requires_grad == weight.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(conv(x), expected, atol=1e-6, rtol=1e-5)


def test_a_batchnorm_without_running_statistics_is_refused() -> None:
    with pytest.raises(ValueError, match="running statistics"):
        fold_conv_bn(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, track_running_stats=False))
