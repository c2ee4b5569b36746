"""Where and how precisely torch runs: the device, its precision, autocast, and running out of memory.

Inference, training, scoring and depth estimation all choose a device and a precision; this module is
that one choice, below all of them, so none of them imports another to get it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from relight.errors import InvalidSetting, RelightError, Setting


def torch_version() -> tuple[int, int]:
    """The running torch's (major, minor), for features newer than the oldest torch relight supports."""
    major, minor = torch.__version__.split(".")[:2]
    return int(major), int(minor)


PRECISIONS = ("fp32", "fp16", "bf16")
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def select_device(name: str | None = None) -> torch.device:
    """``None``/``"auto"`` picks cuda, then mps, then cpu; anything else is checked to exist."""
    if name in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    setting = Setting("device", name, owner="Relighter", shown=repr(name))
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidSetting(setting, f"unknown device {name!r}; use cuda, cuda:N, mps or cpu") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidSetting(setting, f"device {name!r} requested but CUDA is not available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InvalidSetting(setting, f"device {name!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidSetting(setting, f"device {name!r} requested but MPS is not available here")
    return device


def cuda_precision(capability: tuple[int, int], rocm: bool = False) -> str:
    """bf16 from compute capability 8.0 (Ampere) on, and on ROCm; fp16 on older cards.

    Older cards have no bf16 convolutions in cuDNN, though ``torch.cuda.is_bf16_supported()`` says
    yes there (it counts emulation).
    """
    return "bf16" if rocm or capability >= (8, 0) else "fp16"


def default_precision(device: torch.device) -> str:
    """Autocast on CUDA (see :func:`cuda_precision`), fp32 everywhere else."""
    if device.type == "cuda":
        return cuda_precision(torch.cuda.get_device_capability(device), rocm=torch.version.hip is not None)
    return "fp32"


#: The first torch whose autocast runs each precision on MPS (older ones raise, or quietly run fp32).
MPS_AUTOCAST = {"fp16": (2, 5), "bf16": (2, 6)}


def check_precision(device: torch.device, precision: str) -> None:
    """Refuse a precision ``device`` cannot run here, rather than let autocast fail mid-run or quietly use fp32."""
    setting = Setting("precision", precision, owner="Relighter", shown=precision)
    if precision not in PRECISIONS:
        raise InvalidSetting(setting, f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type == "cpu":
        raise InvalidSetting(setting, "fp16 is not supported on the CPU; use fp32 or bf16")
    if device.type == "mps" and precision in MPS_AUTOCAST and torch_version() < MPS_AUTOCAST[precision]:
        major, minor = MPS_AUTOCAST[precision]
        raise InvalidSetting(setting, f"{precision} on MPS needs torch {major}.{minor} or newer (this is {torch.__version__}); use fp32")


def bf16_runs_on(device: torch.device) -> bool:
    try:
        check_precision(device, "bf16")
    except RelightError:
        return False
    return True


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a device running out of memory: CUDA raises ``OutOfMemoryError``, MPS and the
    CPU allocator a plain ``RuntimeError`` that says so."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in ("out of memory", "can't allocate memory"))


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[object]:
    """Mixed precision for ``precision`` (fp16 or bf16 autocast) on ``device``; nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


@contextlib.contextmanager
def cudnn_autotune(device: torch.device) -> Iterator[None]:
    """On CUDA, let cuDNN time its algorithms for each new input size and keep the fastest, then put the
    setting back. Worth it where many images of one size follow (a folder, an evaluation, a benchmark);
    for a single image the tuning would cost more than it saves, so ``relight run`` does without."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


__all__ = [
    "MPS_AUTOCAST", "PRECISIONS", "autocast", "bf16_runs_on", "check_precision", "cuda_precision", "cudnn_autotune",
    "default_precision", "is_out_of_memory", "select_device", "torch_version",
]
