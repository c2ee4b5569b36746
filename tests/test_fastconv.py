"""Winograd and GEMM-lowered convolutions, and the banded full-resolution tail, equal what they replace.

Checked in float64, where both algorithms agree with ``nn.Conv2d`` to rounding (about 1e-15), so any
mistake in a transform, a tile index or a padding edge shows up. Timings live in benchmarks/.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from relight.model import MBNet, fastconv
from relight.model.fastconv import GemmConv2d, WinogradConv2d, use_fast_convs
from relight.model.mbnet import _upsample2_rows


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _conv(cin: int, cout: int, bias: bool = True, seed: int = 0) -> nn.Conv2d:
    torch.manual_seed(seed)
    return nn.Conv2d(cin, cout, 3, padding=1, bias=bias).double().eval()


# (channels in, out, height, width, batch, bias, tiles per step): odd sizes, batches, steps that leave a
# short last one, a single row or column.
WINOGRAD_CASES = [
    (256, 256, 8, 8, 1, True, 128),
    (256, 260, 7, 9, 2, False, 128),
    (300, 256, 13, 10, 3, True, 10),
    (256, 256, 1, 5, 1, True, 1),
    (256, 256, 6, 1, 2, True, 2),
]


@pytest.mark.parametrize(("cin", "cout", "h", "w", "n", "bias", "step"), WINOGRAD_CASES)
def test_winograd_equals_conv2d(cin: int, cout: int, h: int, w: int, n: int, bias: bool, step: int,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastconv, "TILES_PER_STEP", step)
    conv = _conv(cin, cout, bias)
    wino = WinogradConv2d(conv)
    x = torch.randn(n, cin, h, w, dtype=torch.float64)
    expected = conv(x)
    with torch.inference_mode():
        for inp in (x, x.contiguous(memory_format=torch.channels_last)):
            got = wino(inp)
            assert got.shape == expected.shape
            assert (got - expected).abs().max() < 1e-12
    # The functional form (what torch.compile traces, and what runs with autograd on) gives the same
    # values and passes the input's gradient through.
    monkeypatch.setattr(fastconv, "TRACED_TILES_PER_STEP", step)
    x.requires_grad_(True)
    got, expected = wino(x), conv(x)
    assert (got - expected).abs().max() < 1e-12
    (grad,) = torch.autograd.grad(got.square().sum(), x)
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), x)
    assert (grad - expected_grad).abs().max() < 1e-10


@pytest.mark.parametrize(("h", "w", "n", "bias", "step"), [(16, 16, 1, True, 256), (7, 9, 2, False, 20), (5, 3, 3, True, 1)])
def test_gemm_lowering_equals_conv2d(h: int, w: int, n: int, bias: bool, step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastconv, "GEMM_STEP_PIXELS", step)
    conv = _conv(64, 48, bias)
    gemm = GemmConv2d(64, 48, 3, padding=1, bias=bias).double()
    gemm.load_state_dict(conv.state_dict())
    x = torch.randn(n, 64, h, w, dtype=torch.float64)
    with torch.inference_mode():
        expected = conv(x)
        for inp in (x, x.contiguous(memory_format=torch.channels_last)):
            assert (gemm(inp) - expected).abs().max() < 1e-12


def test_gemm_lowering_leaves_large_maps_and_autograd_to_the_direct_convolution(monkeypatch: pytest.MonkeyPatch) -> None:
    gemm = GemmConv2d(8, 8, 3, padding=1).double()
    x = torch.randn(1, 8, 6, 6, dtype=torch.float64, requires_grad=True)
    gemm(x).sum().backward()  # the lowered steps write into their output, which autograd cannot follow
    assert x.grad is not None
    monkeypatch.setattr(fastconv, "GEMM_MAX_PIXELS", 35)
    calls: list[int] = []
    monkeypatch.setattr(torch, "addmm", lambda *a, **k: calls.append(1))
    with torch.inference_mode():
        assert gemm(x.detach()).shape == (1, 8, 6, 6)
    assert calls == []


def test_use_fast_convs_picks_each_algorithm_by_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    small = nn.Conv2d(64, 64, 3, padding=1)  # too few channels: Winograd's transforms cost more than they save
    strided = nn.Conv2d(256, 256, 3, stride=2, padding=1)
    winograd = nn.Conv2d(256, 256, 3, padding=1)
    large = nn.Conv2d(256, 512, 3, padding=1)
    model = nn.Sequential(small, strided, nn.Sequential(winograd, large)).eval()
    monkeypatch.setattr(fastconv, "WINOGRAD_MAX_BYTES", 256 * 256 * 16 * 4)
    use_fast_convs(model)
    assert model[0] is small
    assert model[1] is strided
    assert isinstance(model[2][0], WinogradConv2d)
    assert model[2][0].weight.shape == (16, 256, 256)
    assert isinstance(model[2][1], GemmConv2d)
    assert model[2][1].weight is large.weight  # lowered, not copied
    assert not list(model[2][0].parameters())  # the original weights are gone, not kept alongside


def test_use_fast_convs_refuses_a_model_in_training_mode() -> None:
    with pytest.raises(ValueError, match="inference"):
        use_fast_convs(nn.Sequential(nn.Conv2d(256, 256, 3, padding=1)))


def test_compiled_fast_convs_match_eager() -> None:
    """torch.compile (with freezing, as ``relight run --compile`` on the CPU) traces the functional
    Winograd form; Inductor rejected the eager form's strided writes into its output."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1)).eval()
    x = torch.randn(1, 256, 8, 6)
    with torch.inference_mode():
        expected = model(x)
    gemm = GemmConv2d(256, 256, 3, padding=1).eval()
    gemm.load_state_dict(model[2].state_dict())
    model[0], model[2] = WinogradConv2d(model[0]), gemm
    compiled = torch.compile(model, dynamic=False, options={"freezing": True})
    with torch.inference_mode():
        got = compiled(x)
    assert (got - expected).abs().max() < 1e-4


@pytest.mark.parametrize(("h", "w"), [(1, 1), (2, 3), (7, 5), (33, 20)])
def test_upsampled_rows_equal_the_whole_interpolation(h: int, w: int) -> None:
    x = torch.randn(2, 4, h, w, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    full = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    for first, last in [(0, 2 * h), (0, 1), (max(0, h - 3), min(2 * h, h + 4)), (2 * h - 1, 2 * h)]:
        band = _upsample2_rows(x, first, last)
        assert band.shape == (2, 4, last - first, 2 * w)
        assert (band - full[:, :, first:last]).abs().max() < 1e-12


@pytest.mark.parametrize("rows", [1, 7, 64])
def test_banded_tail_equals_the_plain_forward(tiny_config, rows: int) -> None:
    torch.manual_seed(0)
    model = MBNet(tiny_config).double().eval()
    rgb, depth = torch.rand(2, 3, 96, 64, dtype=torch.float64), torch.rand(2, 1, 96, 64, dtype=torch.float64)
    with torch.no_grad():
        expected = model(rgb, depth)
        model.tail_rows = rows
        got = model(rgb, depth)
    assert (got - expected).abs().max() < 1e-12
    # With gradients (training) the plain formulation runs whatever tail_rows says.
    model(rgb, depth).sum().backward()
    assert model.up1[0].weight.grad is not None
