"""The CUDA paths on a real card: outputs against the CPU's, pinned batches, the precision picked, the
largest-batch search. CI has no GPU, so these run only where one is present; the device-independent
rules behind them are tested on the CPU in test_devices.py. On a GPU machine:

    python -m pytest -q tests/test_cuda.py tests/test_devices.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark_scripts import load_benchmark
from relight.inference.batch import run_batch
from relight.io import OutputOptions
from relight.data.pairs import find_inference_pairs
from relight.device import cuda_precision, default_precision
from relight.inference import Relighter
from relight.model import MBNet

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")

#: As in test_speed_paths.py: bf16 keeps 8 mantissa bits.
BF16_TOLERANCE = 3e-2


@pytest.fixture(scope="module")
def model(tiny_config) -> MBNet:
    torch.manual_seed(0)
    return MBNet(tiny_config).eval()


def _inputs(n: int = 2, h: int = 64, w: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, h, w, generator=g), torch.rand(n, 1, h, w, generator=g)


def test_default_precision_follows_the_card() -> None:
    device = torch.device("cuda")
    assert default_precision(device) == cuda_precision(torch.cuda.get_device_capability(device), torch.version.hip is not None)


def test_fp32_on_cuda_matches_the_cpu(model: MBNet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # fp32 proper, for the 1e-4 bound
    rgb, depth = _inputs()
    expected = Relighter(model, "cpu", precision="fp32", optimize=False).relight_tensor(rgb, depth)
    got = Relighter(model, "cuda", precision="fp32").relight_tensor(rgb, depth)
    assert got.device.type == "cuda"
    assert got.dtype == torch.float32
    assert (got.cpu() - expected).abs().max().item() <= 1e-4


def test_default_precision_on_cuda_stays_within_tolerance(model: MBNet) -> None:
    rgb, depth = _inputs()
    expected = Relighter(model, "cpu", precision="fp32", optimize=False).relight_tensor(rgb, depth)
    relighter = Relighter(model, "cuda")
    got = relighter.relight_tensor(rgb.pin_memory(), depth.pin_memory())
    assert relighter.precision in ("bf16", "fp16")
    assert got.dtype == torch.float32
    assert (got.cpu() - expected).abs().max().item() <= BF16_TOLERANCE


def test_batch_on_cuda_writes_what_the_cpu_writes(tmp_path: Path, model: MBNet) -> None:
    """Pinned host tensors, grouped forward passes and non-blocking copies give the CPU's outputs."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
        np.save(folder / f"img{i}.npy", rng.random((64, 96), dtype=np.float32))
    pairs = find_inference_pairs(folder)
    cpu = run_batch(Relighter(model, "cpu", precision="fp32"), pairs, tmp_path / "cpu", output=OutputOptions(".npy"))
    gpu = run_batch(Relighter(model, "cuda", precision="fp32"), pairs, tmp_path / "gpu", output=OutputOptions(".npy"))
    assert len(cpu.done) == len(gpu.done) == 5
    assert not gpu.failed
    for path in cpu.done:
        assert np.abs(np.load(path) - np.load(tmp_path / "gpu" / path.name)).max() <= 2e-3  # TF32 allowed here


def test_largest_batch_search_runs_on_the_card(model: MBNet) -> None:
    bench = load_benchmark("inference")
    assert bench.max_batch_that_fits(Relighter(model, "cuda"), size=64, limit=4) == 4
