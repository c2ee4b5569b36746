"""Depth from the photo: a monocular depth model for photos that come without a depth map.

The model (Depth Anything V2 Small by default, Apache-2.0) runs through transformers'
``AutoModelForDepthEstimation`` and ``AutoImageProcessor``, the optional extra ``relight[depth]``; its
files come from :mod:`relight.depth.registry`. The model's relative inverse depth (disparity) becomes
relight's convention, VIDIT's normalised depth (:func:`relight.io.depth.to_normalised`: near small, far
large, in [0, 1]).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from relight.depth.registry import DepthModelFiles, give_depth, locate_depth_model
from relight.errors import RelightError, first_line
from relight.io.depth import to_normalised
from relight.weights.errors import WeightsRefused
from relight.weights.hub import ByteProgress

if TYPE_CHECKING:
    import torch

#: Model types whose output relight knows how to read: the relative ones give disparity.
_MODEL_TYPES = {"depth_anything": "disparity", "dpt": "disparity", "zoedepth": "metric"}


class MissingDependency(RelightError, ImportError):
    """An optional package relight needs for this (``package``) is not installed."""


def _transformers(load: bool = True) -> Any:
    """transformers, imported (``load``) or only looked for (its import takes seconds)."""
    try:
        if not load:
            if importlib.util.find_spec("transformers") is None:
                raise ImportError("transformers")
            return None
        import transformers
    except ImportError:
        raise MissingDependency(
            "depth estimation needs the optional package transformers: install relight[depth] "
            "(pip install 'relight[depth]'), or ", give_depth(), package="transformers",
        ) from None
    return transformers


def _output_kind(config: Any, files: DepthModelFiles) -> str:
    """What the model in ``files`` outputs: the registry says, else its config (relative ones: disparity)."""
    if files.output is not None:
        return files.output
    kind = _MODEL_TYPES.get(getattr(config, "model_type", ""))
    if kind is None:
        raise WeightsRefused(f"{files.folder}: a {getattr(config, 'model_type', 'unknown')} model; relight reads the "
                             f"output of {', '.join(sorted(_MODEL_TYPES))} depth models", path=files.folder)
    return "metric" if getattr(config, "depth_estimation_type", "relative") == "metric" else kind


class DepthEstimator:
    """A monocular depth model in memory: a photo in, depth in relight's convention out, at the photo's size.

    Calls are serialised (batch decodes in several threads; one model forward at a time is enough).
    """

    def __init__(self, model: Any, processor: Any, output: str, files: DepthModelFiles, device: torch.device) -> None:
        self.model, self.processor, self.output, self.files, self.device = model, processor, output, files, device
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str | os.PathLike[str] | None = None, *, device: str | None = None, fetch: bool = True,
             progress: ByteProgress | None = None) -> DepthEstimator:
        """Find (:func:`locate_depth_model`) and load a depth model onto ``device`` (default: the best there is);
        a model that cannot be had is said before torch and transformers are imported (seconds)."""
        _transformers(load=False)  # before a download that could not be used
        files = locate_depth_model(spec, fetch=fetch, progress=progress)
        from relight.device import select_device

        transformers = _transformers()
        place = select_device(device)
        logging, bars = transformers.utils.logging, transformers.utils.logging.is_progress_bar_enabled()
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()  # its loading report and bars would bury relight's one line
        logging.disable_progress_bar()
        try:
            model = transformers.AutoModelForDepthEstimation.from_pretrained(files.folder, local_files_only=True)
            processor = transformers.AutoImageProcessor.from_pretrained(files.folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise WeightsRefused(f"{files.label}: transformers cannot load it ({first_line(exc)})", path=files.folder) from None
        finally:
            logging.set_verbosity(verbosity)
            if bars:
                logging.enable_progress_bar()
        return cls(model.to(place).eval(), processor, _output_kind(model.config, files), files, place)

    @property
    def label(self) -> str:
        return self.files.label

    def raw(self, rgb: np.ndarray) -> np.ndarray:
        """The model's own output (disparity or distances) for ``rgb`` (``H x W x 3`` in [0, 1]), at its size."""
        import torch

        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise RelightError(f"rgb must be an H x W x 3 array, not one of shape {tuple(rgb.shape)}")
        pixels = np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
        with self._lock, torch.inference_mode():
            inputs = self.processor(images=pixels, return_tensors="pt")
            predicted = self.model(pixel_values=inputs["pixel_values"].to(self.device)).predicted_depth
            full = torch.nn.functional.interpolate(predicted[:, None].float(), size=rgb.shape[:2], mode="bilinear", align_corners=False)
        return full[0, 0].cpu().numpy().astype(np.float64)

    def estimate(self, rgb: np.ndarray) -> np.ndarray:
        """Depth for ``rgb`` in relight's convention (VIDIT's normalised depth), ``H x W`` float32."""
        try:
            return to_normalised(self.raw(rgb), self.output, far_below_zero=True).depth
        except RelightError as exc:
            raise RelightError(f"{self.label}: its estimate cannot be used: ", *exc.parts) from None

    __call__ = estimate


@functools.lru_cache(maxsize=1)
def _shared(spec: str | None, device: str | None) -> DepthEstimator:
    return DepthEstimator.load(spec, device=device)


def estimate_depth(rgb: np.ndarray, model: str | None = None, device: str | None = None) -> np.ndarray:
    """Depth for ``rgb`` (``H x W x 3`` in [0, 1]) in relight's convention, from the depth model
    ``model`` (a registry name or folder; None: the default), loaded once and kept for later calls."""
    return _shared(None if model is None else str(model), device).estimate(rgb)


def unavailable_estimator(error: RelightError) -> Any:
    """A stand-in for a :class:`DepthEstimator` that cannot be had: each call raises ``error`` (so a
    batch reports every image without depth with the reason, and does the others)."""

    def estimate(rgb: np.ndarray) -> np.ndarray:
        raise error

    return estimate


__all__ = ["DepthEstimator", "MissingDependency", "estimate_depth", "unavailable_estimator"]
