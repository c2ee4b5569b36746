"""Device and precision rules that a CPU can check: which precision each GPU gets, what each device
refuses, how running out of memory is recognised and reported, and the benchmark's largest-batch search."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmark_scripts import load_benchmark
from relight.errors import RelightError
from relight.device import check_precision, cuda_precision, cudnn_autotune, is_out_of_memory
from relight.errors import DeviceOutOfMemory
from relight.inference import Relighter
from relight.model import MBNet, MBNetConfig


#: What each backend raises when it runs out of memory.
OUT_OF_MEMORY = {
    "cuda": torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    "mps": RuntimeError("MPS backend out of memory (MPS allocated: 17.5 GB, other allocations: 1.2 GB, max allowed: 18.1 GB)"),
    "cpu": RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried to allocate 68719476736 bytes"),
}


class RunsOutAbove(MBNet):
    """A narrow MBNet that raises a backend's out-of-memory error for batches larger than ``most``."""

    def __init__(self, config: MBNetConfig, most: int, error: BaseException) -> None:
        super().__init__(config)
        self.most, self.error = most, error

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        if rgb.shape[0] > self.most:
            raise self.error
        return super().forward(rgb, depth)


def test_cuda_precision_is_bf16_from_ampere_and_fp16_before() -> None:
    assert cuda_precision((7, 0)) == "fp16"  # V100
    assert cuda_precision((7, 5)) == "fp16"  # T4, RTX 20xx
    assert cuda_precision((8, 0)) == "bf16"  # A100
    assert cuda_precision((9, 0)) == "bf16"  # H100
    assert cuda_precision((9, 4), rocm=True) == "bf16"


@pytest.mark.parametrize(
    ("device", "precision", "version", "refusal"),
    [
        ("cpu", "fp16", "2.14.1", "fp16 is not supported on the CPU"),
        ("cpu", "fp8", "2.14.1", "unknown precision 'fp8'"),
        ("mps", "fp16", "2.4.1", "fp16 on MPS needs torch 2.5 or newer (this is 2.4.1)"),
        ("mps", "bf16", "2.5.1", "bf16 on MPS needs torch 2.6 or newer"),
        ("mps", "fp16", "2.5.0", None),
        ("mps", "bf16", "2.6.0+cpu", None),
        ("mps", "fp32", "2.4.0", None),
        ("cpu", "bf16", "2.4.0", None),
        ("cuda", "fp16", "2.4.0", None),
    ],
)
def test_check_precision_refuses_what_the_device_cannot_run(
    device: str, precision: str, version: str, refusal: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch, "__version__", version)
    if refusal is None:
        check_precision(torch.device(device), precision)
    else:
        with pytest.raises(RelightError, match=refusal.replace("(", r"\(").replace(")", r"\)")):
            check_precision(torch.device(device), precision)


def test_out_of_memory_is_recognised_on_every_backend_and_nothing_else() -> None:
    assert all(is_out_of_memory(error) for error in OUT_OF_MEMORY.values())
    assert not is_out_of_memory(RuntimeError("Given groups=1, weight of size [8, 3, 3, 3], expected input to have 3 channels"))
    assert not is_out_of_memory(ValueError("out of memory"))


@pytest.mark.parametrize("backend", sorted(OUT_OF_MEMORY))
def test_relighter_reports_each_backends_out_of_memory_in_one_line(tiny_config, backend: str) -> None:
    """The command line names its flags; a Python caller reads the same facts in Python terms."""
    from relight.cli._errors import cli_words

    relighter = Relighter(RunsOutAbove(tiny_config, 0, OUT_OF_MEMORY[backend]), "cpu", precision="fp32")
    with pytest.raises(DeviceOutOfMemory) as err:
        relighter.relight_tensor(torch.rand(2, 3, 32, 48), torch.rand(2, 1, 32, 48))
    assert err.value.render(cli_words) == "out of memory on cpu for 2 image(s) of 32x48; try a smaller --batch-size or a smaller --size"
    assert str(err.value) == "out of memory on cpu for 2 image(s) of 32x48; try a smaller batch_size or a smaller Relighter(size)"
    assert [s.name for s in err.value.lower] == ["batch_size", "size"]
    assert isinstance(err.value, MemoryError)
    sized = Relighter(RunsOutAbove(tiny_config, 0, OUT_OF_MEMORY[backend]), "cpu", precision="fp32", size=(64, 96))
    with pytest.raises(DeviceOutOfMemory) as err:
        sized.relight_tensor(torch.rand(1, 3, 32, 48), torch.rand(1, 1, 32, 48))
    assert err.value.render(cli_words) == "out of memory on cpu for 1 image(s) of 32x48 (run at 64x96); try a smaller --size"


def test_out_of_memory_under_compile_is_reported_and_keeps_compile(tiny_config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Running out of memory is the batch's problem, not the compiler's: compile stays on for the next one."""
    model = RunsOutAbove(tiny_config, 1, OUT_OF_MEMORY["cuda"])
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: module)
    warnings: list[str] = []
    relighter = Relighter(model, "cpu", precision="fp32", compile=True, warn=warnings.append)
    with pytest.raises(DeviceOutOfMemory, match="out of memory on cpu for 2 image"):
        relighter.relight_tensor(torch.rand(2, 3, 32, 32), torch.rand(2, 1, 32, 32))
    assert relighter.compiled
    assert not warnings
    assert relighter.relight_tensor(torch.rand(1, 3, 32, 32), torch.rand(1, 1, 32, 32)).shape == (1, 3, 32, 32)


def test_inference_weights_need_no_gradients_and_the_callers_model_keeps_them(tiny_config) -> None:
    """Without gradients autocast keeps no low-precision copy of the weights through the pass."""
    model = MBNet(tiny_config)
    relighter = Relighter(model, "cpu", precision="fp32", backend="torch")
    assert not any(p.requires_grad for p in relighter.model.parameters())
    assert all(p.requires_grad for p in model.parameters())


def test_cudnn_autotunes_only_inside_many_image_work_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """One image (relight run) skips cuDNN's tuning; a folder, an evaluation or a benchmark turns it on
    for its duration only. The flag is plain state, so a CPU can watch it."""
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    with cudnn_autotune(torch.device("cuda")):
        assert torch.backends.cudnn.benchmark is True
    assert torch.backends.cudnn.benchmark is False
    with pytest.raises(KeyError), cudnn_autotune(torch.device("cuda:0")):
        raise KeyError("restored on errors too")
    assert torch.backends.cudnn.benchmark is False
    with cudnn_autotune(torch.device("cpu")):
        assert torch.backends.cudnn.benchmark is False


@pytest.mark.parametrize(("most", "limit", "found"), [(5, 64, 5), (0, 64, 0), (64, 16, 16), (1, 64, 1)])
def test_largest_batch_search_reports_instead_of_crashing(tiny_config, most: int, limit: int, found: int) -> None:
    bench = load_benchmark("inference")
    relighter = Relighter(RunsOutAbove(tiny_config, most, OUT_OF_MEMORY["cuda"]), "cpu", precision="fp32")
    assert bench.max_batch_that_fits(relighter, size=32, limit=limit) == found


def test_compile_on_cpu_keeps_the_cuda_toolkit_probe_quiet(tmp_path: Path) -> None:
    """With a CUDA toolkit installed but no GPU, torch logs "No CUDA runtime is found" when Inductor
    imports its extension module; a CPU run with --compile should not print that."""
    code = ("from relight.inference import Relighter\n"
            "from relight.model import MBNet, MBNetConfig\n"
            "Relighter(MBNet(MBNetConfig.narrow(width=8, decoder_channels=16)), 'cpu', compile=True)\n"
            "import torch.utils.cpp_extension\n")
    env = {**os.environ, "CUDA_HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "No CUDA runtime" not in done.stderr


def test_size_and_device_refusals_name_their_setting_in_python_terms() -> None:
    """``str()`` speaks to a Python caller; the command line words the same setting as its flag."""
    from relight.cli._errors import cli_words
    from relight.errors import InvalidSetting
    from relight.device import select_device
    from relight.inference.scale import parse_size

    with pytest.raises(InvalidSetting) as err:
        parse_size("7x")
    assert str(err.value) == "Relighter(size='7x'): expected N or HxW, e.g. 1024 or 768x1024"
    assert err.value.render(cli_words) == "--size '7x': expected N or HxW, e.g. 1024 or 768x1024"
    with pytest.raises(InvalidSetting) as err:
        parse_size("8", name="crop", owner="TrainConfig")
    assert str(err.value) == "TrainConfig(crop='8'): expected N or HxW with each side at least 32"
    with pytest.raises(InvalidSetting) as err:
        select_device("abacus")
    assert err.value.setting.name == "device"
    assert str(err.value).startswith("unknown device 'abacus'")
