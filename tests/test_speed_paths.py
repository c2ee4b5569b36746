"""The optimised inference path computes the same function as the reference one.

BatchNorm folding, the shift-based dynamic convolution, channels-last, the banded full-resolution end,
bf16 autocast, the torch.compile fallback and batched folder processing are each checked against the
plain formulation they replace (ONNX Runtime against torch: tests/test_onnx.py).
Timings are never asserted here (benchmarks/ measures them side by side).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from relight.inference.batch import BatchOptions, run_batch
from relight.io import OutputOptions
from relight.cli._errors import cli_words
from relight.data.pairs import find_inference_pairs
from relight.errors import RelightError
from relight.inference import Relighter
from relight.model import MBNet, MBNetConfig
from relight.model.blocks import DynamicDilatedBranch, dynamic_dilated_conv, dynamic_dilated_conv_unfold
from relight.model.fold import fold_batchnorm
from relight.weights import load_weights

#: bf16 autocast keeps 8 mantissa bits; on these small inputs the output moves by a few 1e-3 at most.
BF16_TOLERANCE = 3e-2


def _randomise_batchnorm(model: nn.Module, seed: int = 1) -> nn.Module:
    """Non-trivial running statistics and affine terms, so folding has something to get wrong."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            n = bn.num_features
            bn.running_mean.copy_((torch.rand(n, generator=g) - 0.5) * 0.4)
            bn.running_var.copy_(0.5 + torch.rand(n, generator=g))
            bn.weight.copy_(0.5 + torch.rand(n, generator=g))
            bn.bias.copy_((torch.rand(n, generator=g) - 0.5) * 0.2)
    return model.eval()


def _batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def _inputs(n: int = 1, h: int = 64, w: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, h, w, generator=g), torch.rand(n, 1, h, w, generator=g)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def narrow(tiny_config) -> MBNet:
    torch.manual_seed(0)
    return _randomise_batchnorm(MBNet(tiny_config))


@pytest.mark.parametrize("backbone", ["narrow", "resnet50"])
def test_folding_batchnorm_keeps_the_output(backbone: str, narrow: MBNet) -> None:
    model = narrow if backbone == "narrow" else _randomise_batchnorm(MBNet(MBNetConfig.paper()))
    before = _batchnorms(model)
    folded = fold_batchnorm(model)
    assert _batchnorms(folded) == 0
    assert _batchnorms(model) == before  # the default works on a copy
    rgb, depth = _inputs()
    with torch.inference_mode():
        expected, got = model(rgb, depth), folded(rgb, depth)
    assert (expected - rgb).abs().max() > 0.05  # the network does change the image
    assert torch.allclose(got, expected, rtol=0, atol=1e-5)


def test_folding_in_place_changes_the_model_itself(tiny_config) -> None:
    model = _randomise_batchnorm(MBNet(tiny_config))
    folded = fold_batchnorm(model, inplace=True)
    assert folded is model
    assert _batchnorms(model) == 0


def test_folding_refuses_a_model_in_training_mode(tiny_config) -> None:
    model = MBNet(tiny_config).train()
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(model)


@pytest.mark.parametrize(("h", "w", "dilation"), [(9, 11, 1), (12, 8, 3), (7, 6, 5), (3, 4, 5)])
def test_shift_dynamic_conv_equals_unfold_in_values_and_gradients(h: int, w: int, dilation: int) -> None:
    g = torch.Generator().manual_seed(h * w + dilation)
    x = torch.randn(2, 4, h, w, generator=g, dtype=torch.float64)
    kernels = torch.randn(2, 4 * 9, h, w, generator=g, dtype=torch.float64)
    grad_out = torch.randn(2, 4, h, w, generator=g, dtype=torch.float64)
    results = []
    for fn in (dynamic_dilated_conv_unfold, dynamic_dilated_conv):
        xs, ks = x.clone().requires_grad_(), kernels.clone().requires_grad_()
        out = fn(xs, ks, dilation)
        out.backward(grad_out)
        results.append((out.detach(), xs.grad, ks.grad))
    for reference, fast in zip(*results):
        assert torch.allclose(fast, reference, rtol=0, atol=1e-12)


def test_shift_dynamic_conv_accepts_channels_last() -> None:
    x, kernels = torch.randn(1, 16, 20, 24), torch.randn(1, 144, 20, 24)
    cl = torch.channels_last
    got = dynamic_dilated_conv(x.contiguous(memory_format=cl), kernels.contiguous(memory_format=cl), 3)
    assert torch.allclose(got, dynamic_dilated_conv_unfold(x, kernels, 3), atol=1e-5)


@pytest.mark.parametrize(("h", "w"), [(64, 64), (40, 56)])
def test_optimised_relighter_matches_the_reference_in_fp32(narrow: MBNet, h: int, w: int) -> None:
    rgb, depth = _inputs(2, h, w)
    reference = Relighter(narrow, "cpu", precision="fp32", optimize=False)
    fast = Relighter(narrow, "cpu", precision="fp32", backend="torch")
    assert {m.impl for m in reference.model.modules() if isinstance(m, DynamicDilatedBranch)} == {"unfold"}
    assert _batchnorms(fast.model) == 0
    assert fast.model.head.weight.is_contiguous(memory_format=torch.channels_last)
    assert _batchnorms(narrow) > 0  # the caller's model is left as it was
    expected, got = reference.relight_tensor(rgb, depth), fast.relight_tensor(rgb, depth)
    assert got.shape == expected.shape == (2, 3, h, w)
    assert (got - expected).abs().max() <= 1e-4


def test_optimised_paper_model_matches_the_reference_in_fp32() -> None:
    """The paper network, with 96 rows: the full-resolution tail in two bands."""
    torch.manual_seed(0)
    paper = _randomise_batchnorm(MBNet(MBNetConfig.paper()))
    rgb, depth = _inputs(1, 96, 64)
    expected = Relighter(paper, "cpu", precision="fp32", optimize=False).relight_tensor(rgb, depth)
    fast = Relighter(paper, "cpu", precision="fp32", inplace=True, backend="torch")
    assert fast.model.tail_rows < 96
    got = fast.relight_tensor(rgb, depth)
    assert (got - expected).abs().max() <= 1e-4
    bf16 = Relighter(fast.model, "cpu", precision="bf16", inplace=True).relight_tensor(rgb, depth)
    assert 0 < (bf16 - expected).abs().max() <= BF16_TOLERANCE


def test_bf16_autocast_on_cpu_stays_within_tolerance(narrow: MBNet) -> None:
    rgb, depth = _inputs(1, 32, 32)
    expected = Relighter(narrow, "cpu", precision="fp32", optimize=False).relight_tensor(rgb, depth)
    got = Relighter(narrow, "cpu", precision="bf16").relight_tensor(rgb, depth)
    assert got.dtype == torch.float32
    diff = (got - expected).abs().max().item()
    assert 0 < diff <= BF16_TOLERANCE  # non-zero: bf16 really ran


def test_compile_failure_warns_once_and_runs_eager(narrow: MBNet, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}

    def broken_compiled(*args: object) -> torch.Tensor:
        calls["n"] += 1
        raise RuntimeError("backend compiler failed\nlong traceback follows")

    monkeypatch.setattr(torch, "compile", lambda model, **kwargs: broken_compiled)
    warnings: list[str] = []
    relighter = Relighter(narrow, "cpu", precision="fp32", compile=True, warn=warnings.append)
    assert relighter.compiled
    rgb, depth = _inputs(1, 32, 32)
    expected = Relighter(narrow, "cpu", precision="fp32", backend="torch").relight_tensor(rgb, depth)
    for _ in range(2):
        assert torch.allclose(relighter.relight_tensor(rgb, depth), expected, atol=1e-6)
    assert calls["n"] == 1
    assert not relighter.compiled
    assert len(warnings) == 1
    assert "backend compiler failed" in warnings[0]
    assert "\n" not in warnings[0]


def _write_folder(folder, sizes: list[tuple[int, int]]) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
        np.save(folder / f"img{i}.npy", rng.random((h, w), dtype=np.float32))


def test_batch_size_two_writes_the_same_outputs_as_one(tmp_path, narrow_checkpoint) -> None:
    folder = tmp_path / "in"
    _write_folder(folder, [(64, 64), (64, 64), (64, 64), (48, 80), (48, 80), (64, 64)])
    (folder / "img2.npy").write_bytes(b"not a depth file")  # a bad pair in the middle of a batch
    pairs = find_inference_pairs(folder)
    relighter = Relighter(load_weights(narrow_checkpoint), "cpu")
    results = {}
    for batch_size in (1, 2):
        seen: list[str] = []
        summary = run_batch(relighter, pairs, tmp_path / f"b{batch_size}", output=OutputOptions(".npy"), options=BatchOptions(batch_size=batch_size),
                            on_item=seen.append)
        assert len(seen) == len(pairs)
        assert [p.name for p, _ in summary.failed] == ["img2.png"]
        assert "img2.npy" in summary.failed[0][1]
        results[batch_size] = {p.name: np.load(p) for p in summary.done}
    assert sorted(results[1]) == sorted(results[2]) == [f"img{i}.npy" for i in (0, 1, 3, 4, 5)]
    for name, single in results[1].items():
        assert single.shape == results[2][name].shape
        assert np.abs(single - results[2][name]).max() <= 1e-6


def test_auto_batch_size_fills_the_pixel_budget() -> None:
    from relight.inference.batch import GROUP_PIXELS, MAX_AUTO_BATCH, auto_batch_size

    assert GROUP_PIXELS == 512 * 512
    assert MAX_AUTO_BATCH == 8
    assert auto_batch_size(256, 256) == 4
    assert auto_batch_size(300, 400) == 2
    assert auto_batch_size(512, 512) == auto_batch_size(1024, 1024) == auto_batch_size(600, 500) == 1
    assert auto_batch_size(64, 64) == auto_batch_size(1, 1) == 8


def test_batch_groups_images_by_default_and_writes_the_same_outputs(tmp_path, narrow_checkpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --batch-size, runs of one size go through the network in groups of auto_batch_size; a
    size change or the end of the folder closes a group. The outputs are those of one at a time."""
    import relight.inference.batch

    folder = tmp_path / "in"
    _write_folder(folder, [(48, 80)] * 3 + [(64, 64)] * 7)
    pairs = find_inference_pairs(folder)
    relighter = Relighter(load_weights(narrow_checkpoint), "cpu")
    single = run_batch(relighter, pairs, tmp_path / "one", output=OutputOptions(".npy"), options=BatchOptions(batch_size=1))
    groups: list[tuple[int, int, int]] = []

    def record_groups(of: Relighter) -> None:
        relight_tensor = of.relight_tensor

        def recorded(rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
            groups.append((rgb.shape[0], *rgb.shape[-2:]))
            return relight_tensor(rgb, depth, light)

        monkeypatch.setattr(of, "relight_tensor", recorded)

    record_groups(relighter)
    monkeypatch.setattr(relight.inference.batch, "GROUP_PIXELS", 2 * 48 * 80)  # two 48x80 images, one 64x64
    summary = run_batch(relighter, pairs, tmp_path / "budget", output=OutputOptions(".npy"))
    assert groups == [(2, 48, 80), (1, 48, 80)] + [(1, 64, 64)] * 7
    monkeypatch.setattr(relight.inference.batch, "GROUP_PIXELS", 512 * 512)
    monkeypatch.setattr(relight.inference.batch, "MAX_AUTO_BATCH", 4)
    groups.clear()
    run_batch(relighter, pairs, tmp_path / "capped", output=OutputOptions(".npy"))
    assert groups == [(3, 48, 80), (4, 64, 64), (3, 64, 64)]
    sized = Relighter(load_weights(narrow_checkpoint), "cpu", size=(32, 32))  # the budget counts the network's pixels
    record_groups(sized)
    monkeypatch.setattr(relight.inference.batch, "GROUP_PIXELS", 2 * 32 * 32)
    groups.clear()
    run_batch(sized, pairs, tmp_path / "sized", output=OutputOptions(".npy"))
    assert groups == [(2, 48, 80), (1, 48, 80), (2, 64, 64), (2, 64, 64), (2, 64, 64), (1, 64, 64)]
    assert len(summary.done) == len(single.done) == 10
    for path in single.done:
        for name in ("budget", "capped"):
            assert np.abs(np.load(path) - np.load(tmp_path / name / path.name)).max() <= 1e-6


def test_two_streams_write_the_same_outputs_and_large_groups_run_alone(
    tmp_path, narrow_checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Auto streams on two threads: small groups go to two stream threads of one torch thread each, a
    group over GROUP_PIXELS runs on the calling thread with both, and the setting is restored."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import relight.inference.batch

    folder = tmp_path / "in"
    _write_folder(folder, [(64, 64), (48, 80), (48, 80), (64, 64), (48, 80), (48, 80)])
    (folder / "img2.npy").write_bytes(b"not a depth file")
    pairs = find_inference_pairs(folder)
    relighter = Relighter(load_weights(narrow_checkpoint), "cpu")
    single = run_batch(relighter, pairs, tmp_path / "one", output=OutputOptions(".npy"), options=BatchOptions(streams=1))
    calls: list[tuple[str, int, int]] = []
    relight_tensor = relighter.relight_tensor

    def recorded(rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        calls.append((threading.current_thread().name, rgb.shape[-2] * rgb.shape[-1], torch.get_num_threads()))
        return relight_tensor(rgb, depth, light)

    monkeypatch.setattr(relighter, "relight_tensor", recorded)
    monkeypatch.setattr(relight.inference.batch, "GROUP_PIXELS", 48 * 80)
    torch.set_num_threads(2)
    try:
        assert relight.inference.batch.plan_streams(relighter) == 2
        seen: list[str] = []
        summary = run_batch(relighter, pairs, tmp_path / "two", output=OutputOptions(".npy"), on_item=seen.append)
        with ThreadPoolExecutor(1) as fresh:  # a new thread starts from the process-wide setting: restored
            threads = fresh.submit(torch.get_num_threads).result()
            assert threads == 2
    finally:
        torch.set_num_threads(1)
    assert len(seen) == len(pairs)
    assert [p.name for p, _ in summary.failed] == ["img2.png"]
    assert {(name.split("_")[0], pixels, threads) for name, pixels, threads in calls} == {
        ("MainThread", 64 * 64, 2), ("relight-net", 48 * 80, 1)}
    assert sorted(p.name for p in summary.done) == sorted(p.name for p in single.done)
    for path in single.done:
        assert np.abs(np.load(path) - np.load(tmp_path / "two" / path.name)).max() <= 1e-6


def test_stream_count_follows_device_threads_and_compile(narrow: MBNet) -> None:
    from relight.inference.batch import plan_streams

    eager = Relighter(narrow, "cpu", backend="torch")
    assert plan_streams(eager) == 1  # this module runs torch on one thread
    assert plan_streams(eager, 3) == 3
    with pytest.raises(RelightError) as err:
        plan_streams(eager, 0)
    assert err.value.render(cli_words).startswith("--streams must be at least 1")
    torch.set_num_threads(2)
    try:
        assert plan_streams(eager) == 2
        assert plan_streams(Relighter(narrow, "cpu", compile=True)) == 1  # compiles lazily: nothing is built here
    finally:
        torch.set_num_threads(1)


def test_cli_batch_streams_option(cli, tmp_path, narrow_checkpoint) -> None:
    folder = tmp_path / "in"
    _write_folder(folder, [(64, 64)] * 3)
    out = tmp_path / "out"
    code, stdout, _ = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu",
                               "--streams", "2", "--ext", ".npy"])
    assert code == 0
    assert sorted(p.name for p in out.glob("*.npy")) == ["img0.npy", "img1.npy", "img2.npy"]
    assert re.search(r"│\s+3\s+│\s+0\s+│\s+0\s+│", stdout)
    code, _, stderr = cli(["batch", str(folder), "--streams", "0"])
    assert code != 0
    assert "--streams" in stderr


def test_cli_batch_with_batch_size_resumes_and_reports_like_batch_size_one(
    cli, tmp_path, narrow_checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    _write_folder(folder, [(64, 64)] * 3 + [(40, 56)])
    (folder / "img3.npy").unlink()  # no depth for this one
    threads: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    outputs = {}
    for batch_size in ("1", "2"):
        out = tmp_path / f"out{batch_size}"
        code, stdout, stderr = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu",
             "--batch-size", batch_size, "--threads", batch_size])
        assert code == 1
        assert "img3" in stderr
        assert "no depth map" in stderr
        outputs[batch_size] = {p.name: np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))}
        (out / "img0.png").unlink()
        code, stdout, _ = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu",
             "--batch-size", batch_size])
        assert code == 1
        assert "img0.png" in {p.name for p in out.glob("*.png")}
        assert re.search(r"│\s+1\s+│\s+2\s+│\s+1\s+│", stdout)  # relit 1, already there 2, failed 1
    assert threads == [1, 2]  # --threads reached torch; the resumed runs left it alone
    assert sorted(outputs["1"]) == sorted(outputs["2"]) == ["img0.png", "img1.png", "img2.png"]
    for name, single in outputs["1"].items():  # 8-bit files: float rounding may move a rare pixel by one level
        diff = np.abs(single.astype(int) - outputs["2"][name].astype(int))
        assert diff.max() <= 1
        assert (diff > 0).mean() < 1e-3


def test_cli_compile_falls_back_with_one_warning(
    cli, sample_pair, tmp_path, narrow_checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(model: object, **kwargs: object) -> object:
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", unsupported)
    image, depth = sample_pair
    out = tmp_path / "out.png"
    code, _, stderr = cli(["run", str(image), str(depth), "-o", str(out), "-w", str(narrow_checkpoint),
                               "--device", "cpu", "--compile"])
    assert code == 0
    assert out.is_file()
    assert stderr.count("torch.compile is not available here") == 1
    assert "Traceback" not in stderr


@pytest.mark.parametrize("name", ["batch_size", "streams", "workers"])
def test_batch_options_refuse_counts_below_one(name: str) -> None:
    with pytest.raises(RelightError) as err:
        BatchOptions(**{name: 0})
    assert err.value.render(cli_words) == f"--{name.replace('_', '-')} must be at least 1, not 0"
    assert str(err.value) == f"{name} must be at least 1, not 0"
    assert err.value.setting.python() == f"BatchOptions({name}=0)"
