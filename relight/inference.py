"""Running a trained MBNet: device and precision choice, padding to the network's stride, resizing.

:class:`Relighter` is what ``relight run``, ``relight batch``, ``relight eval`` and Python callers use.
By default it runs the optimised path of :func:`prepare_for_inference` (BatchNorm folded, channels-last,
the shift-based dynamic convolution, ``torch.inference_mode``, autocast on CUDA, optionally
``torch.compile``); ``optimize=False`` runs the authors' formulation as it is, for benchmarks and tests.
"""

from __future__ import annotations

import contextlib
import copy
import os
import warnings
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from relight.errors import RelightError, first_line
from relight.model import STRIDE, MBNet
from relight.model.blocks import use_dynamic_conv
from relight.model.checkpoint import LoadedModel
from relight.model.fastconv import use_fast_convs
from relight.model.fold import fold_batchnorm

#: Rows of the full-resolution output the optimised path computes at a time (see ``MBNet.tail_rows``).
TAIL_ROWS = 64

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
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise RelightError(f"unknown device {name!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RelightError(f"device {name!r} requested but CUDA is not available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RelightError(f"device {name!r} requested but MPS is not available here")
    return device


def default_precision(device: torch.device) -> str:
    """bf16 autocast on CUDA cards that support it, fp16 on older ones, fp32 everywhere else."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[object]:
    """Mixed precision for ``precision`` (fp16 or bf16 autocast) on ``device``; nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"512"`` -> (512, 512); ``"768x1024"`` -> (768, 1024) as height x width."""
    if not text:
        return None
    parts = text.lower().split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise RelightError(f"--size {text!r}: expected N or HxW, e.g. 1024 or 768x1024") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < STRIDE:
        raise RelightError(f"--size {text!r}: expected N or HxW with each side at least {STRIDE}")
    return dims[0], dims[1]


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right of ``x`` to a multiple of ``stride``; returns the original size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def prepare_for_inference(model: MBNet, device: torch.device, optimize: bool = True) -> MBNet:
    """Put ``model`` in eval mode on ``device``, changing it **in place**, and return it.

    ``optimize=True`` folds BatchNorm into the convolutions, switches the dynamic convolution to the
    shift-based form, stores weights channels-last, computes the full-resolution end in bands of
    :data:`TAIL_ROWS` rows, and on the CPU runs the fusion layers' 3x3 convolutions as Winograd or GEMM
    (:mod:`relight.model.fastconv`; on CUDA, cuDNN autotuning picks its own algorithms): the same
    function with fewer FLOPs, passes over memory and bytes alive at once. ``optimize=False`` gives the
    reference: the authors' unfold formulation, contiguous weights, BatchNorm as it is.
    """
    model.eval()
    if not optimize:
        model.tail_rows = None
        use_dynamic_conv(model, "unfold")
        return model.to(device, memory_format=torch.contiguous_format)
    fold_batchnorm(model, inplace=True)
    use_dynamic_conv(model, "shift")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes within a run: let cuDNN pick its fastest kernels
    model.tail_rows = TAIL_ROWS
    model = model.to(device, memory_format=torch.channels_last)
    if device.type == "cpu":
        # The fusion layers hold 120 of the paper model's 228 GFLOPs at 512 x 512, in 3x3 convolutions of
        # 512 to 2112 channels. The encoders' are smaller: Winograd gained them about 1 % of the time
        # for 46 MB more weights.
        for fusion in (model.fuse8, model.fuse16, model.fuse32):
            use_fast_convs(fusion)
    return model


class Relighter:
    """A model placed on a device with a precision, turning (image, depth) pairs into relit images.

    The model is prepared by :func:`prepare_for_inference` on a copy, so the caller's model (a training
    run's, say) keeps its BatchNorm layers; ``inplace=True`` prepares the model itself instead, which
    avoids a second copy of the weights (:meth:`from_weights` does this, since it owns what it loaded).
    ``compile=True`` runs the network through ``torch.compile``; where that fails, ``warn`` is told once
    and the eager model runs instead.
    """

    def __init__(
        self,
        model: MBNet | LoadedModel,
        device: str | torch.device | None = None,
        precision: str | None = None,
        size: tuple[int, int] | None = None,
        optimize: bool = True,
        compile: bool = False,
        inplace: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        loaded = model if isinstance(model, LoadedModel) else LoadedModel(model)
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.precision = precision or default_precision(self.device)
        if self.precision not in PRECISIONS:
            raise RelightError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if self.precision == "fp16" and self.device.type == "cpu":
            raise RelightError("fp16 is not supported on the CPU; use fp32 or bf16")
        self.size = size
        self._warn = warn or (lambda message: warnings.warn(message, RuntimeWarning, stacklevel=3))
        net = loaded.model if inplace else copy.deepcopy(loaded.model)
        self.model = prepare_for_inference(net, self.device, optimize)
        self.loaded = LoadedModel(self.model, loaded.provenance, loaded.source)
        self._memory_format = torch.channels_last if optimize else torch.contiguous_format
        self._compiled: Callable[..., torch.Tensor] | None = None
        if compile:
            # Freezing lets Inductor treat the weights as constants: oneDNN prepacks them and fuses
            # conv + ReLU on the CPU (measured about 5% faster there, at no extra peak memory).
            options = {"freezing": True} if self.device.type == "cpu" else None
            try:
                self._compiled = torch.compile(self.model, dynamic=False, options=options)
            except Exception as exc:  # noqa: BLE001 - unsupported platform or Python: run eager
                self._compile_failed(exc)

    @classmethod
    def from_weights(cls, weights: str | os.PathLike[str], **kwargs: object) -> "Relighter":
        """Load weights by name, path or ``hf://`` address (see :func:`relight.weights.load_weights`)."""
        from relight.weights import load_weights

        kwargs.setdefault("inplace", True)
        return cls(load_weights(weights), **kwargs)  # type: ignore[arg-type]

    @property
    def compiled(self) -> bool:
        """Whether ``torch.compile`` is in use (false when not asked for, or after it failed)."""
        return self._compiled is not None

    def _compile_failed(self, exc: Exception) -> None:
        self._warn(f"torch.compile is not available here ({type(exc).__name__}: {first_line(exc)[:200]}); running eager instead")
        self._compiled = None

    def _forward(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        if self._compiled is not None:
            try:
                return self._compiled(rgb, depth)
            except Exception as exc:  # noqa: BLE001 - a compiler failure: eager below gives the same result or the real error
                self._compile_failed(exc)
        return self.model(rgb, depth)

    @torch.inference_mode()
    def relight_tensor(self, rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """``N x 3 x H x W`` RGB and ``N x 1 x H x W`` depth (any device) -> float32 on the model's device.

        Host tensors in pinned memory are copied without blocking, so a CUDA device never waits on them.
        """
        rgb = rgb.to(self.device, torch.float32, non_blocking=True)
        depth = depth.to(self.device, torch.float32, non_blocking=True)
        h, w = rgb.shape[-2:]
        if self.size is not None and (h, w) != self.size:
            rgb = F.interpolate(rgb, size=self.size, mode="bilinear", align_corners=False, antialias=True)
            depth = F.interpolate(depth, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        rgb_p, (hh, ww) = pad_to_stride(rgb)
        depth_p, _ = pad_to_stride(depth)
        rgb_p = rgb_p.contiguous(memory_format=self._memory_format)
        depth_p = depth_p.contiguous(memory_format=self._memory_format)
        try:
            with autocast(self.device, self.precision):
                out = self._forward(rgb_p, depth_p)
        except torch.cuda.OutOfMemoryError:  # the type every device backend raises since torch 2.5
            raise RelightError(
                f"out of memory on {self.device} for {rgb.shape[0]} image(s) of {h}x{w}; "
                "try a smaller --batch-size, --size, or --precision bf16"
            ) from None
        out = out[..., :hh, :ww].float()
        if out.shape[-2:] != (h, w):
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        return out

    def relight(self, rgb: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """``H x W x 3`` float RGB in [0, 1] and ``H x W`` depth -> ``H x W x 3`` float32 relit RGB."""
        out = self.relight_tensor(image_tensor(rgb), depth_tensor(depth))
        return out[0].permute(1, 2, 0).cpu().numpy()


def image_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``H x W x C`` float image (RGB, or depth as one channel) -> ``1 x C x H x W`` float32, sharing memory where it can."""
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]


def depth_tensor(depth: np.ndarray) -> torch.Tensor:
    """``H x W`` depth -> ``1 x 1 x H x W`` float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))[None, None]
