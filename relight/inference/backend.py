"""Which engine runs the network, decided in one place: torch, or ONNX Runtime on an export of the model.

``auto`` (the default, unless :data:`ENVIRONMENT` names another) picks ONNX Runtime on the CPU, where
it is faster than relight's torch path (``benchmarks/backends.py``, docs/performance.md), when it is
installed and the settings are ones it runs (fp32, no ``torch.compile``, the optimised path); on CUDA
it follows :data:`CUDA_MEASURED`, the backend ``benchmarks/device_check.sh`` measured faster there
(torch until a measurement is recorded); on MPS it is torch. A model that does not export runs on
torch instead, and the run says so once (:func:`relight.inference.export.cached_export` remembers it).
:class:`Choice` says what was chosen and why.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relight.errors import InvalidEnvironment, InvalidSetting, OutputFileError, RelightError, Setting, first_line
from relight.io.output import atomic_output

#: The values ``backend`` takes.
BACKENDS = ("auto", "torch", "onnxruntime")
#: What a refusal of any other value says, whether a setting or :data:`ENVIRONMENT` gave it.
_UNKNOWN = f": unknown backend; use {', '.join(BACKENDS)}"
#: The environment variable that gives the backend where a call names none: a user pins one for every
#: command and the page at once (``torch`` for weights run once, which ``onnxruntime`` would first export).
ENVIRONMENT = "RELIGHT_BACKEND"
#: The backend ``auto`` picks on CUDA: the one ``benchmarks/device_check.sh`` measured faster on a CUDA
#: card (its ``backends-cuda.json``; docs/performance.md, CUDA). None while no measurement is recorded:
#: then torch, the path whose CUDA behaviour the tests check.
CUDA_MEASURED: str | None = None


def check_backend(name: str | None) -> str:
    """``name`` checked (None is ``auto``)."""
    name = name or "auto"
    if name not in BACKENDS:
        setting = Setting("backend", name, owner="Relighter", shown=name)
        raise InvalidSetting(setting, setting, _UNKNOWN)
    return name


def default_backend() -> tuple[str, str | None]:
    """The backend a call that names none runs: :data:`ENVIRONMENT`'s, checked, else ``auto``; and the
    variable, where it gave one (for the reason a run prints)."""
    value = os.environ.get(ENVIRONMENT, "")
    if not value:
        return "auto", None
    if value not in BACKENDS:
        raise InvalidEnvironment(f"{ENVIRONMENT}={value!r}{_UNKNOWN}", name=ENVIRONMENT, value=value)
    return value, ENVIRONMENT


def onnxruntime_installed() -> bool:
    """Whether the ``onnxruntime`` package is importable (it is a dependency; a trimmed install may lack it)."""
    return importlib.util.find_spec("onnxruntime") is not None


@dataclass(frozen=True)
class Choice:
    """The backend a model runs on, and why, in a few words for a run to say."""

    backend: str
    reason: str

    def describe(self) -> str:
        return f"{self.backend} ({self.reason})"


def _refused(backend: str, reason: str, given_by: str | None) -> RelightError:
    """The refusal of ``backend``, naming what asked for it: the setting, or the environment variable."""
    if given_by:
        return InvalidEnvironment(f"{given_by}={backend}{reason}", name=given_by, value=backend)
    setting = Setting("backend", backend, owner="Relighter")
    return InvalidSetting(setting, setting, reason)


def choose(requested: str | None, device: torch.device, precision: str, *, compile: bool = False, optimize: bool = True,
           exported: bool = False) -> Choice:
    """The backend for these settings (before the model is exported: one that does not export falls back
    later). ``onnxruntime`` asked for where it cannot run is refused; ``auto`` picks as the module says.
    An ``exported`` model (an ONNX file) has no torch network: it runs on ONNX Runtime or not at all.
    ``requested`` None is :func:`default_backend`'s."""
    if requested is None:
        requested, given_by = default_backend()
    else:
        requested, given_by = check_backend(requested), None
    asked = f"asked for by {given_by}" if given_by else "asked for"
    if exported and requested == "torch":
        raise _refused("torch", ": an exported ONNX file runs on onnxruntime only; give the weights it was exported from to run on torch",
                       given_by)
    if requested == "torch":
        return Choice("torch", asked)
    problem = None
    if not onnxruntime_installed():
        problem = "needs the onnxruntime package (pip install onnxruntime)"
    elif compile:
        problem = "does not take torch.compile"
    elif not optimize:
        problem = "runs the optimised network only (the reference is torch's)"
    elif device.type not in ("cpu", "cuda"):
        problem = f"runs on the CPU or CUDA, not {device.type}"
    elif precision not in ("fp32", "fp16") or (precision == "fp16" and device.type == "cpu"):
        problem = f"runs fp32 (and fp16 on CUDA), not {precision} on {device.type}"
    if requested == "onnxruntime" or exported:
        if problem:
            raise _refused("onnxruntime", f": the onnxruntime backend {problem}", given_by if requested == "onnxruntime" else None)
        return Choice("onnxruntime", asked if requested == "onnxruntime" else "an exported file")
    if problem:
        return Choice("torch", f"auto: onnxruntime {problem}")
    if device.type == "cpu":
        return Choice("onnxruntime", "auto: faster on the CPU")
    if CUDA_MEASURED == "onnxruntime":
        return Choice("onnxruntime", "auto: measured faster on CUDA")
    return Choice("torch", "auto: on CUDA until ONNX Runtime is measured faster there")


def providers(device: torch.device) -> list[str | tuple[str, dict[str, str]]]:
    """ONNX Runtime's execution providers for ``device``: CUDA's on its card (then the CPU's for what
    CUDA lacks), else the CPU's. ``RELIGHT_ORT_PROVIDER=tensorrt`` puts TensorRT's first (it builds an
    engine per input shape, so it is for measuring on one size: ``benchmarks/device_check.sh``)."""
    if device.type != "cuda":
        return ["CPUExecutionProvider"]
    index = str(device.index or 0)
    chosen: list[str | tuple[str, dict[str, str]]] = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    if os.environ.get("RELIGHT_ORT_PROVIDER") == "tensorrt":
        chosen.insert(0, ("TensorrtExecutionProvider", {"device_id": index}))
    return chosen


class OnnxNetwork:
    """An exported network in an ONNX Runtime session: called like the torch network, tensors in and out.

    ONNX Runtime fixes a session's intra-op threads when it is made, so each call runs on a session of
    as many threads as torch has on the calling thread (``threads`` fixes the count instead), made on
    first need: ``relight batch``'s stream threads, which set one torch thread each, share a
    single-threaded session, and a large group run alone on every thread gets a session of its own
    (:mod:`relight.inference.batch`). Calls from several threads at once are safe.
    """

    def __init__(self, path: str | os.PathLike[str], device: torch.device, threads: int | None = None,
                 optimized: Path | None = None) -> None:
        self.path = Path(path)
        self.device = device
        self.threads = threads
        #: Where ONNX Runtime's optimised graph of ``path`` is kept (:func:`relight.inference.export.optimized_path`):
        #: the first session that finds none writes it, later ones (other processes too) load it instead of
        #: optimising again.
        self.optimized = optimized
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()

    def session(self, threads: int | None = None) -> Any:
        """The ``onnxruntime.InferenceSession`` of ``threads`` intra-op threads (default: as the class says)."""
        count = threads or self.threads or torch.get_num_threads()
        with self._lock:
            if count not in self._sessions:
                self._sessions[count] = self._open(count)
            return self._sessions[count]

    def _open(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # its warnings are about its own graph rewrites
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if self.optimized is None:
            return self._session(self.path, options)
        if self.optimized.is_file():
            try:
                return self._session(self.optimized, options)
            except RelightError:
                pass  # damaged: optimised from the export again, and replaced
        try:
            with atomic_output(self.optimized) as tmp:
                options.optimized_model_filepath = str(tmp)
                session = self._session(self.path, options)
            return session
        except OutputFileError:  # it cannot be kept: later sessions optimise again
            options.optimized_model_filepath = ""
            return self._session(self.path, options)

    def _session(self, path: Path, options: Any) -> Any:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(str(path), options, providers=providers(self.device))
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own error types
            raise RelightError(f"{self.path}: ONNX Runtime cannot load it ({first_line(exc)[:300]})") from None

    def __call__(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        feed = {"rgb": _array(rgb), "depth": _array(depth)}
        if light is not None:
            feed["light"] = _array(light)
        session = self.session()
        try:
            (out,) = session.run(None, feed)
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's errors, out of memory among them
            if "bad_alloc" in str(exc) or "Failed to allocate" in str(exc):
                raise RuntimeError(f"out of memory: {first_line(exc)}") from None  # as torch words it: Relighter reports it
            raise
        # On the inputs' device, and channels-last as torch's optimised path gives it (H x W x 3 arrays of
        # the result are contiguous).
        return torch.from_numpy(out).contiguous(memory_format=torch.channels_last).to(rgb.device)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())


__all__ = ["BACKENDS", "CUDA_MEASURED", "ENVIRONMENT", "Choice", "OnnxNetwork", "check_backend", "choose", "default_backend", "onnxruntime_installed", "providers"]
