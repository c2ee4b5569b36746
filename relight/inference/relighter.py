"""Running a trained MBNet: padding to the network's stride, the backend, the scale it runs at.

:class:`Relighter` is what ``relight run``, ``relight batch``, ``relight eval`` and Python callers use.
The network runs on the backend :mod:`relight.inference.backend` chooses: ONNX Runtime on an export of
the model (:mod:`relight.inference.export`), or torch's optimised path of :func:`prepare_for_inference`
(BatchNorm folded, channels-last, the shift-based dynamic convolution, ``torch.inference_mode``,
autocast on CUDA, optionally ``torch.compile``); ``optimize=False`` runs the authors' formulation in
torch as it is, for benchmarks and tests. Everything around the network call is the same on both.

``mirror_average=True`` also relights the image mirrored left to right to the mirrored lights (east and
west swapped), mirrors that result back and averages the two, at twice the time. A model trained with
mirrored examples should give the same answer both ways; where it does not, the two disagree by chance
more than by design, and their mean is closer to the truth. The mirrored lights must be ones the model
gives: any light for an any-to-any model, and for a one-to-one model only a pair the mirror leaves as it is.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from relight.device import autocast, bf16_runs_on, check_precision, default_precision, is_out_of_memory, select_device
from relight.errors import DeviceOutOfMemory, InvalidSetting, Part, RelightError, RelightWarning, Setting, first_line
from relight.io.images import to_unit
from relight.lighting import Illumination, Light, LightLike, encode_lights, mirror_rows
from relight.model import MBNet
from relight.model.blocks import use_dynamic_conv
from relight.model.checkpoint import LoadedModel
from relight.model.provenance import trained_at
from relight.model.fold import fold_batchnorm
from relight.inference.backend import Choice, OnnxNetwork, choose
from relight.inference.export import (ExportedModel, ExportError, cache_path, cached_export, cached_model, export_key, model_name,
                                     optimized_path, read_exported)
from relight.inference.scale import DEFAULT_UPSCALE, RunScale, StageCallback, check_upscale, run_scale, scale_factor
from relight.weights.registry import ModelEntry, any_to_any_models
from relight.tensors import depth_tensor, guided_resize, image_tensor, pad_to_stride, resize

#: Rows of the full-resolution output the optimised path computes at a time (see ``MBNet.tail_rows``).
TAIL_ROWS = 64
#: The most pixels one pass of :meth:`Relighter.relight_each` runs the network on, its lights together.
GROUP_RUN_PIXELS = 8 * 1024 * 1024


@dataclass(frozen=True)
class _Run:
    """One pass of the network: its outputs at run scale (``small``), the inputs (RGB and depth) at run
    scale and at full ``size``; ``scaled_down``: whether the network ran smaller than ``size`` (the outputs
    are brought back)."""

    small: torch.Tensor
    scaled: torch.Tensor
    full: torch.Tensor
    depth: torch.Tensor
    full_depth: torch.Tensor
    size: tuple[int, int]
    scaled_down: bool

    @property
    def count(self) -> int:
        return self.small.shape[0]

    def output(self, i: int, upscale: str) -> torch.Tensor:
        """Output ``i`` at full resolution: resized (``result``), or its change brought up guided by the
        depth (so that it does not spread across depth edges) and added to the full-resolution input
        (``change``), so that the photo keeps its own detail."""
        out = self.small[i : i + 1]
        if not self.scaled_down:
            return out
        if upscale == "result":
            return resize(out, self.size)
        j = slice(i, i + 1) if self.scaled.shape[0] > 1 else slice(0, 1)  # one image relit to several lights: one input for all
        change = guided_resize(out - self.scaled[j], self.depth[j], self.full_depth[j])
        return change.add_(self.full[j]).clamp_(min=0)


def prepare_for_inference(model: MBNet, device: torch.device, optimize: bool = True) -> MBNet:
    """Put ``model`` in eval mode on ``device``, changing it **in place**, and return it.

    ``optimize=True`` turns gradients off, folds BatchNorm into the convolutions, switches the dynamic
    convolution to the shift-based form, stores weights channels-last and computes the full-resolution
    end in bands of :data:`TAIL_ROWS` rows: the same function with fewer passes over memory and fewer
    bytes alive at once. ``optimize=False`` gives the reference: the authors' unfold formulation,
    contiguous weights, BatchNorm as it is.
    """
    model.eval()
    if not optimize:
        model.tail_rows = None
        use_dynamic_conv(model, "unfold")
        return model.to(device, memory_format=torch.contiguous_format)
    model.requires_grad_(False)  # else autocast keeps a low-precision copy of every weight through the pass
    # Channels-last copies before folding writes: weights read from a checkpoint are mapped from its
    # file, and folding them where they lie faults in a private copy of every page (the paper model's
    # 613 MB, a third of the preparation); the copies are fresh memory, folded where they lie.
    model = model.to(memory_format=torch.channels_last)
    fold_batchnorm(model, inplace=True)
    use_dynamic_conv(model, "shift")
    model.tail_rows = TAIL_ROWS
    return model.to(device)


def _import_cpp_extension_quietly() -> None:
    """Import ``torch.utils.cpp_extension`` (Inductor does, when it compiles) with its logger muted.

    On import it looks for a CUDA toolkit, and where it finds one (an ``nvcc`` on the PATH, or
    ``CUDA_HOME``) but no GPU it logs "No CUDA runtime is found": noise in a CPU or MPS run.
    """
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        importlib.import_module("torch.utils.cpp_extension")
    finally:
        logger.setLevel(level)


def _compile(model: MBNet, device: torch.device) -> Callable[..., torch.Tensor]:
    """``torch.compile`` of ``model``: freezing on the CPU lets Inductor treat the weights as constants
    (oneDNN prepacks them and fuses conv + ReLU), at no extra peak memory."""
    if device.type != "cuda":
        _import_cpp_extension_quietly()
    return torch.compile(model, dynamic=False, options={"freezing": True} if device.type == "cpu" else None)


class Relighter:
    """A model placed on a device with a precision, turning (image, depth) pairs into relit images.

    ``backend`` (``auto``, ``torch``, ``onnxruntime``: :mod:`relight.inference.backend`) says what runs the
    network, :attr:`choice` what was chosen and why. On ONNX Runtime the model's export is made once into
    relight's cache (``stages`` is told how it goes); one that does not export runs on torch under
    ``auto``, ``warn`` told so. An :class:`~relight.inference.export.ExportedModel` runs on ONNX Runtime.

    On torch the model is prepared by :func:`prepare_for_inference` on a copy (the caller's, a training
    run's say, keeps its BatchNorm); ``inplace=True`` prepares it in place, with no second copy of the
    weights (:meth:`from_weights` does). ``compile=True`` runs it through ``torch.compile``; where that
    fails, ``warn`` is told once and the eager model runs.

    The network runs at the model's own scale (:mod:`relight.inference.scale`): an image larger than the model's
    training size is scaled down to about its pixel count, and the result brought back by ``upscale``
    (``"change"`` or ``"result"``). ``size`` overrides it (``N``: the longer side, aspect ratio kept;
    ``(height, width)``: exactly that), ``native=True`` runs at each image's own size. ``stages`` is told
    each stage of a relight (scaling, relighting, bringing back), for a caller to show.
    ``mirror_average=True`` also relights the mirror image to the mirrored lights and averages the two
    (the module docstring says why).
    """

    def __init__(
        self,
        model: MBNet | LoadedModel | ExportedModel,
        device: str | torch.device | None = None,
        *,
        backend: str | None = None,
        precision: str | None = None,
        size: tuple[int, int] | int | None = None,
        optimize: bool = True,
        compile: bool = False,
        inplace: bool = False,
        warn: Callable[[str | RelightWarning], None] | None = None,
        native: bool = False,
        upscale: str = DEFAULT_UPSCALE,
        stages: StageCallback | None = None,
        mirror_average: bool = False,
    ) -> None:
        loaded = model if isinstance(model, (LoadedModel, ExportedModel)) else LoadedModel(model)
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.precision = precision or default_precision(self.device)
        check_precision(self.device, self.precision)
        if self.device.type == "cuda" and self.device.index is not None:
            torch.cuda.set_device(self.device)  # else pinned memory and cuDNN also set up a context on GPU 0
        #: How the run size follows from each image's (:class:`relight.inference.scale.RunScale`).
        #: The (height, width) the model was trained at, as its checkpoint records it (None: not recorded).
        self.trained_at = trained_at(loaded.provenance)
        self.scale: RunScale = run_scale(size, native, self.trained_at)
        self.upscale = check_upscale(upscale)
        self.stages = stages
        self._warn = warn or (lambda message: warnings.warn(message, RuntimeWarning, stacklevel=3))
        #: What runs the network, and why (:func:`relight.inference.backend.choose`).
        self.choice: Choice = _choose(loaded, backend, self.device, self.precision, compile, optimize)
        #: What the model does to the light, as its checkpoint records it (one-to-one pair, or any-to-any).
        self.illumination = Illumination.recorded(loaded.config.any_to_any, loaded.provenance)
        #: Whether each relight is averaged with its mirror image's (the module docstring says why); a caller may
        #: change it between relights, which check the mirrored lights each time.
        self.mirror_average = mirror_average
        if mirror_average and not self.illumination.any_to_any:
            self.lights()  # a one-to-one pair the mirror changes is refused here, before any work
        self._compiled: Callable[..., torch.Tensor] | None = None
        self._scale_told = False
        self.model: MBNet | None = None  # the torch network; None on ONNX Runtime, where .network runs it
        self.network: OnnxNetwork | None = _onnx_network(self, loaded, inplace)
        if self.network is not None:
            return
        net = loaded.model if inplace else copy.deepcopy(loaded.model)
        self.model = prepare_for_inference(net, self.device, optimize)
        self.loaded: LoadedModel | ExportedModel = LoadedModel(self.model, loaded.provenance, loaded.source, loaded.file, loaded.sha256)
        self._memory_format = torch.channels_last if optimize else torch.contiguous_format
        if compile:
            try:
                self._compiled = _compile(self.model, self.device)
            except Exception as exc:  # noqa: BLE001 - unsupported platform or Python: run eager
                self._compile_failed(exc)

    @classmethod
    def from_weights(cls, weights: str | os.PathLike[str], **kwargs: object) -> "Relighter":
        """Load weights by name, path or ``hf://`` address (:func:`relight.weights.load_weights`; on ONNX Runtime
        their cached export, if any, without them: :func:`_cached_for`), or an ONNX file relight exported."""
        from relight.weights import load_located, locate_weights

        kwargs.setdefault("inplace", True)
        if Path(weights).suffix.lower() == ".onnx":
            return cls(read_exported(weights), **kwargs)  # type: ignore[arg-type]
        path, entry = locate_weights(weights, warn=kwargs.get("warn"))  # type: ignore[arg-type]
        return cls(_cached_for(weights, path, entry, kwargs) or load_located(weights, path, entry), **kwargs)  # type: ignore[arg-type]

    def run_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) the network runs at for an image of ``size`` (see :attr:`scale`; outputs
        are brought back to ``size``)."""
        return self.scale.size_for(size)

    def scale_warning(self, size: tuple[int, int]) -> RelightWarning | None:
        """The warning for an image of ``size`` when the network would run far from its training scale
        (:func:`relight.inference.scale.scale_factor`): by how much, and which setting brings it back."""
        return _scale_warning(self, size)

    def _stage(self, text: str) -> None:
        if self.stages is not None:
            self.stages(text)

    @property
    def backend(self) -> str:
        """``torch`` or ``onnxruntime``: what runs the network."""
        return self.choice.backend

    @property
    def compiled(self) -> bool:
        """Whether ``torch.compile`` is in use (false when not asked for, or after it failed)."""
        return self._compiled is not None

    def _compile_failed(self, exc: Exception) -> None:
        self._warn(f"torch.compile is not available here ({type(exc).__name__}: {first_line(exc)[:200]}); running eager instead")
        self._compiled = None

    def _forward(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        inputs = (rgb, depth) if light is None else (rgb, depth, light)
        if self.network is not None:
            return self.network(*inputs)
        if self._compiled is not None:
            try:
                return self._compiled(*inputs)
            except Exception as exc:  # noqa: BLE001 - a compiler failure: eager below gives the same result or the real error
                if is_out_of_memory(exc) or isinstance(exc, RelightError):
                    raise
                self._compile_failed(exc)
        return self.model(*inputs)

    @torch.inference_mode()
    def relight_tensor(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        """``N x 3 x H x W`` RGB and ``N x 1 x H x W`` depth (any device) -> float32 on the model's device.

        An any-to-any model also takes ``light``, the ``N x LIGHT_FEATURES`` rows of
        :func:`relight.lighting.encode_lights` (or ``T`` rows for one image: its ``T`` relit versions).
        Host tensors in pinned memory are copied to CUDA without blocking, so the device never waits on them.
        An output that is not finite (damaged weights, or fp16 overflowing) is refused, never returned.
        """
        with self._memory_told(rgb, light):
            run = self._run(rgb, depth, light)
            if not run.scaled_down:
                return run.small
            out = torch.empty((run.count, 3, *run.size), device=run.small.device)
            for i in range(run.count):  # one at a time: the full-resolution temporaries are one image's
                out[i : i + 1] = run.output(i, self.upscale)
            return out

    @torch.inference_mode()
    def relight_rows(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
        """Like :meth:`relight_tensor`, but each output (``1 x 3 x H x W``) as it is brought back to full
        resolution, so that a caller writing each one holds one full-resolution result at a time."""
        with self._memory_told(rgb, light):
            run = self._run(rgb, depth, light)
        for i in range(run.count):  # no name holds a row while the caller has it: it goes when the caller lets go
            with self._memory_told(rgb[:1], None):
                yield run.output(i, self.upscale)

    @contextlib.contextmanager
    def _memory_told(self, rgb: torch.Tensor, light: torch.Tensor | None) -> Iterator[None]:
        """The device running out of memory, as the error that names the settings that would use less."""
        try:
            yield
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            count = max(rgb.shape[0], 0 if light is None else light.shape[0])
            raise _out_of_memory(self, count, (rgb.shape[-2], rgb.shape[-1])) from None

    def _run(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> _Run:
        """The network's pass at its run scale; what :meth:`_Run.output` needs to make each output full size."""
        # Only to CUDA: a non-blocking copy to MPS from a non-contiguous host tensor can corrupt it.
        copy_async = self.device.type == "cuda"
        rgb = rgb.to(self.device, torch.float32, non_blocking=copy_async)
        depth = depth.to(self.device, torch.float32, non_blocking=copy_async)
        if light is not None:
            light = light.to(self.device, torch.float32, non_blocking=copy_async)
        h, w = rgb.shape[-2:]
        run = self.run_size((h, w))
        if not self._scale_told and (far := self.scale_warning((h, w))) is not None:
            self._scale_told = True
            self._warn(far)
        full, full_depth = rgb, depth
        if run != (h, w):
            self._stage(f"scaling {h}x{w} to {run[0]}x{run[1]}")
            rgb, depth = resize(rgb, run), resize(depth, run)
        self._stage(f"relighting at {run[0]}x{run[1]}{', and its mirror image' if self.mirror_average else ''}")
        out = _network_pass(self, rgb, depth, light)
        if self.mirror_average:
            mirrored = _network_pass(self, rgb.flip(-1), depth.flip(-1), None if light is None else mirror_rows(light))
            out = out.add_(mirrored.flip(-1)).mul_(0.5)
        scaled_down = out.shape[-2:] != (h, w)
        if scaled_down:
            self._stage(f"bringing the {self.upscale} back to {h}x{w}")
        return _Run(out, rgb, full, depth, full_depth, (h, w), scaled_down)

    def lights(self, to: LightLike | None = None, source: LightLike | None = None) -> tuple[Light | None, Light | None]:
        """The (target, source) a relight with these arguments applies, checked against the model (see
        :meth:`relight`); a one-to-one model's refusal says where the any-to-any models are. With
        :attr:`mirror_average` the mirrored lights must be ones the model gives too."""
        return _resolved(self.illumination, to, source, self.mirror_average)

    def mapping(self, to: LightLike | None = None, source: LightLike | None = None) -> str:
        """The mapping a relight with these arguments applies, for a run to say: ``6500-N -> 2500-W``, or
        ``? -> 2500-W`` when the source is not given (an any-to-any model then reads it from the image)."""
        target, lit = self.lights(to, source)
        return f"{lit or '?'} -> {target or '?'}"

    def relight(self, rgb: np.ndarray, depth: np.ndarray, to: LightLike | None = None,
                source: LightLike | None = None) -> np.ndarray:
        """``H x W x 3`` RGB and ``H x W`` depth -> ``H x W x 3`` float32 relit RGB.

        ``to`` is the light to relight to (a :class:`~relight.lighting.Light` or text such as ``"2500-W"``)
        and ``source`` the light of the input, if known. A one-to-one model applies its own pair (``to``
        may name its target, nothing else); an any-to-any model needs ``to`` unless its checkpoint records
        a default target, and without ``source`` reads the input's light from the image.
        Float arrays are taken as they are (RGB in [0, 1]); integer ones (uint8, uint16) are scaled by
        their type's range, as the file readers do. The depth must have the image's size
        (:func:`relight.io.resize_depth` makes it so).
        """
        return self.relight_many(rgb, depth, [to], source)[0]

    def relight_many(self, rgb: np.ndarray, depth: np.ndarray, to: Sequence[LightLike | None],
                     source: LightLike | None = None, group: int = 8) -> list[np.ndarray]:
        """One image relit to each light of ``to`` (see :meth:`relight`), ``group`` lights per pass; with
        FiLM conditioning the encoders run once per pass for all of its lights. Each result is kept:
        :meth:`relight_each` gives them one at a time instead."""
        return list(self.relight_each(rgb, depth, to, source, group))

    def relight_each(self, rgb: np.ndarray, depth: np.ndarray, to: Sequence[LightLike | None],
                     source: LightLike | None = None, group: int = 8) -> Iterator[np.ndarray]:
        """:meth:`relight_many` one result at a time, in the order of ``to``: a caller that writes each and
        lets it go holds one full-resolution result, however many lights. A pass takes at most ``group``
        lights, and fewer when the network runs on many pixels (:data:`GROUP_RUN_PIXELS` in all)."""
        resolved = [self.lights(target, source) for target in to]
        rgb_t, depth_t = checked_tensors(rgb, depth)
        if not self.illumination.any_to_any:
            out = self.relight_tensor(rgb_t, depth_t)[0].permute(1, 2, 0).cpu().numpy()
            for _ in resolved:
                yield out
            return
        height, width = self.run_size(rgb_t.shape[-2:])
        group = max(1, min(group, GROUP_RUN_PIXELS // max(1, height * width)))
        for start in range(0, len(resolved), group):
            chunk = resolved[start : start + group]
            light = encode_lights([t for t, _ in chunk], [s for _, s in chunk])  # type: ignore[misc]
            rows = self.relight_rows(rgb_t, depth_t, light)
            for _ in chunk:
                yield next(rows)[0].permute(1, 2, 0).cpu().numpy()


def _network_pass(relighter: Relighter, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None) -> torch.Tensor:
    """One pass of ``relighter``'s network on run-scale inputs: padded to the network's stride, the output
    cropped back, float32 and checked finite."""
    h, w = rgb.shape[-2:]
    rgb_p, _ = pad_to_stride(rgb)
    depth_p, _ = pad_to_stride(depth)
    rgb_p = rgb_p.contiguous(memory_format=relighter._memory_format)
    depth_p = depth_p.contiguous(memory_format=relighter._memory_format)
    with autocast(relighter.device, relighter.precision if relighter.network is None else "fp32"):
        out = relighter._forward(rgb_p, depth_p, light)
    out = out[..., :h, :w].float()
    if not bool(torch.isfinite(out).all()):
        raise _not_finite(relighter.precision, relighter.loaded.source or relighter.loaded.config.describe())
    return out


def _resolved(illumination: Illumination, to: LightLike | None, source: LightLike | None, mirrored: bool) -> tuple[Light | None, Light | None]:
    """:meth:`Relighter.lights`, out of the class to keep it short."""
    try:
        target, lit = illumination.resolve(to, source)
    except InvalidSetting as exc:
        if exc.facts.get("pair") is None:
            raise
        raise InvalidSetting(exc.setting, *exc.parts, *any_to_any_models(), pair=exc.facts["pair"]) from None
    if mirrored:
        _check_mirrored(illumination, target, lit)
    return target, lit


def check_lights(illumination: Illumination, targets: Sequence[LightLike | None], source: LightLike | None, mirrored: bool = False) -> None:
    """Each of ``targets`` (None: the model's own) from ``source`` checked against ``illumination``, and with
    ``mirrored`` its mirror image too, as :meth:`Relighter.lights` checks it: for a check before loading."""
    for target in targets:
        _resolved(illumination, target, source, mirrored)


def _check_mirrored(illumination: Illumination, target: Light | None, lit: Light | None) -> None:
    """Refuse ``mirror_average`` where the model does not give the mirror image of (``lit`` -> ``target``):
    a one-to-one pair that the mirror changes (6500-N -> 4500-E becomes 6500-N -> 4500-W), one whose
    target is not recorded, or a target outside an any-to-any model's list."""
    setting = Setting("mirror_average", True, owner="Relighter")
    mirrored = f"{lit.mirrored() if lit else '?'} -> {target.mirrored() if target else '?'}"
    if target is None:
        raise InvalidSetting(setting, setting, f": the model does not record the light it relights to, so its mirror image "
                             f"({mirrored}) cannot be checked", *any_to_any_models())
    try:
        illumination.resolve(target.mirrored(), lit.mirrored() if lit else None)
    except InvalidSetting:
        raise InvalidSetting(setting, setting, f": the mirror image of {lit or '?'} -> {target} is {mirrored}, which this "
                             f"model ({illumination.describe()}) does not give", *any_to_any_models()) from None


def _scale_warning(relighter: Relighter, size: tuple[int, int]) -> RelightWarning | None:
    """:meth:`Relighter.scale_warning`, out of the class to keep it short."""
    run = relighter.run_size(size)
    factor = scale_factor(run, relighter.trained_at)
    if factor is None or relighter.trained_at is None:
        return None
    how = f"{factor:.1f} times" if factor > 1 else f"1/{1 / factor:.1f} of"
    parts: list[Part] = [f"the network runs at {run[0]}x{run[1]}, {how} the scale it was trained at "
                         f"({relighter.trained_at[0]}x{relighter.trained_at[1]}) on a side: outside its training scale it relights "
                         "little or wrongly"]
    if relighter.scale.pixels is None and relighter.scale.fixed is None and relighter.scale.longer is None:
        parts += ["; without ", Setting("native", True, owner="Relighter"), " it runs at its training scale"]
    elif relighter.scale.pixels is None:
        parts += ["; without ", Setting("size", owner="Relighter"), " it runs at its training scale"]
    else:
        parts += ["; the image is smaller than that and is not scaled up unless asked: ",
                  Setting("size", max(relighter.trained_at), owner="Relighter"), " runs it there"]
    return RelightWarning(*parts)


def _choose(loaded: LoadedModel | ExportedModel, backend: str | None, device: torch.device, precision: str, compile: bool,
            optimize: bool) -> Choice:
    """:func:`choose` for ``loaded``: a cached export stands for its weights (and is only given where those
    run on ONNX Runtime); a file given to run runs there or is refused."""
    exported = isinstance(loaded, ExportedModel)
    choice = choose(backend, device, precision, compile=compile, optimize=optimize, exported=exported and not loaded.cached)
    if exported and choice.backend != "onnxruntime":
        choice = choose(backend, device, precision, compile=compile, optimize=optimize, exported=True)
    return choice


def _cached_for(spec: str | os.PathLike[str], path: Path, entry: ModelEntry | None, kwargs: dict[str, object]) -> ExportedModel | None:
    """For :meth:`Relighter.from_weights`: the weights at ``path``'s export from relight's cache, where the
    settings in ``kwargs`` run them on ONNX Runtime and one is there, so that neither the weights nor the
    torch network is loaded; else None. ``device`` and ``precision`` in ``kwargs`` are settled here."""
    from relight.weights.load import located_sha256, located_source

    device = kwargs.get("device")
    kwargs["device"] = device = device if isinstance(device, torch.device) else select_device(device)  # type: ignore[arg-type]
    kwargs["precision"] = precision = kwargs.get("precision") or default_precision(device)
    choice = choose(kwargs.get("backend"), device, precision, compile=bool(kwargs.get("compile")),  # type: ignore[arg-type]
                    optimize=bool(kwargs.get("optimize", True)))
    if choice.backend != "onnxruntime":
        return None
    cached = cached_model(located_sha256(path, entry), precision, located_source(spec, path, entry))  # type: ignore[arg-type]
    if cached is None or (entry is not None and cached.config != entry.config):
        return None  # loading says what is wrong with weights that disagree with their entry
    return cached


def _onnx_network(relighter: Relighter, loaded: LoadedModel | ExportedModel, inplace: bool) -> OnnxNetwork | None:
    """The ONNX Runtime network ``relighter`` runs (its ``loaded`` becomes the export), or None on torch."""
    exported, reused = (loaded, True) if isinstance(loaded, ExportedModel) else (None, False)
    if exported is None and relighter.choice.backend == "onnxruntime":
        exported, reused = _exported(relighter, loaded, inplace) or (None, False)
    if exported is None:
        return None
    relighter.loaded = exported
    relighter._memory_format = torch.contiguous_format
    # ONNX Runtime's optimised graph is kept from the second run of a cached export on (a model exported
    # and run once does not pay for writing it), on the CPU, whose instruction set it is laid out for.
    keep = exported.cached and reused and relighter.device.type == "cpu"
    return OnnxNetwork(exported.path, relighter.device, optimized=optimized_path(exported.path) if keep else None)


def _exported(relighter: Relighter, loaded: LoadedModel, inplace: bool) -> tuple[ExportedModel, bool] | None:
    """For ``relighter``: ``loaded``'s export from the cache (made now, from a copy unless ``inplace``, if need be),
    and whether it was there before; None, said once, where it does not export and ``auto`` chose ONNX
    Runtime, so that torch runs it."""
    sha256 = export_key(loaded, relighter.precision)
    there = cache_path(sha256, relighter.precision).is_file()
    if not inplace and not there:  # exporting folds BatchNorm in place
        loaded = LoadedModel(copy.deepcopy(loaded.model), loaded.provenance, loaded.source, loaded.file, loaded.sha256)
    try:
        path = cached_export(loaded, relighter.precision, stage=relighter._stage, sha256=sha256)
    except ExportError as exc:
        if relighter.choice.reason == "asked for":
            raise
        relighter._warn(f"running on torch: this model does not export to ONNX ({first_line(exc)})")
        relighter.choice = Choice("torch", "auto: the model does not export to ONNX")
        return None
    return ExportedModel(path, loaded.config, loaded.provenance, model_name(loaded), sha256, relighter.precision, loaded.source, cached=True), there


def _out_of_memory(relighter: Relighter, count: int, size: tuple[int, int]) -> DeviceOutOfMemory:
    """The error for ``count`` images of ``size`` not fitting, naming the settings that would use less."""
    lower = [Setting("size", owner="Relighter")]
    if count > 1:
        lower.insert(0, Setting("batch_size"))
    if relighter.precision == "fp32" and relighter.device.type != "cpu" and bf16_runs_on(relighter.device):
        lower.append(Setting("precision", "bf16", owner="Relighter"))
    hints: list[Part] = []
    for setting in lower:  # "a smaller --batch-size or a smaller --size or --precision bf16"
        if hints:
            hints.append(" or ")
        hints += [setting] if setting.has_value else ["a smaller ", setting]
    run = relighter.run_size(size)
    at = f" (run at {run[0]}x{run[1]})" if run != size else ""
    return DeviceOutOfMemory(
        f"out of memory on {relighter.device} for {count} image(s) of {size[0]}x{size[1]}{at}; try ", *hints, lower=lower,
        count=count, size=size,
    )


def _not_finite(precision: str, source: str) -> RelightError:
    """The refusal of an output holding NaN or infinities: fp16 overflowing, or weights that make them."""
    if precision == "fp16":
        return RelightError("the network overflowed fp16 (its output holds inf or NaN); use ",
                            Setting("precision", "bf16", owner="Relighter"), " or fp32")
    return RelightError(f"{source}: the network's output holds NaN or infinite values; these weights cannot be used")


def checked_tensors(rgb: np.ndarray, depth: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``H x W x 3`` RGB and ``H x W`` depth arrays, checked, as the network's ``1 x C x H x W`` inputs."""
    rgb, depth = np.asarray(rgb), np.asarray(depth)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise RelightError(f"rgb must be an H x W x 3 array, not one of shape {rgb.shape}")
    if depth.shape != rgb.shape[:2]:
        raise RelightError(f"depth has shape {depth.shape} but the image is {rgb.shape[0]}x{rgb.shape[1]}; "
                           "resize it with relight.io.resize_depth")
    if rgb.size == 0:
        raise RelightError(f"rgb has no pixels (shape {rgb.shape})")
    for name, array in (("rgb", rgb), ("depth", depth)):
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise RelightError(f"{name} holds {int((~np.isfinite(array)).sum())} NaN or infinite values")
    return image_tensor(to_unit(rgb)), depth_tensor(to_unit(depth))
