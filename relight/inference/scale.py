"""The scale the network runs at, and the way its result comes back to the photo's resolution.

A network sees the world at the scale it was trained at: the bundled model learnt shadows and shading
from 128 x 128 scenes, and run on a 1024 x 1024 photo it barely relights. So every checkpoint records
its training size (``trained_at`` in its provenance, :func:`relight.model.provenance.trained_at`) and by default the photo is
scaled *down* (never up) to about that many pixels, aspect ratio kept and sides rounded to the stride;
the result is then brought back to full resolution (:data:`UPSCALES`). ``size`` or ``native`` override.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from relight.errors import InvalidSetting, Setting
from relight.io.images import MAX_PIXELS
from relight.model.config import STRIDE

#: How a result run at a lower scale comes back: ``change`` brings up the change the network made (output
#: minus its input at run scale), guided by the photo's depth so that it does not cross depth edges
#: (:func:`relight.tensors.guided_resize`), and adds it to the full-resolution photo, which keeps the
#: photo's own detail; ``result`` resizes the network's output itself. ``change`` measured better
#: (benchmarks/scale.py).
UPSCALES = ("change", "result")
DEFAULT_UPSCALE = "change"

#: Told the stage a run has reached (``"relighting at 128x128"``); the command line draws it.
StageCallback = Callable[[str], None]


def _to_stride(side: float, limit: int) -> int:
    """``side`` rounded to a multiple of the stride, at least one stride, and no more than ``limit``."""
    return min(limit, max(STRIDE, round(side / STRIDE) * STRIDE))


def scaled_to_pixels(size: tuple[int, int], pixels: int) -> tuple[int, int]:
    """``size`` scaled down (never up) to about ``pixels`` pixels, aspect ratio kept, sides rounded to the stride."""
    h, w = size
    if h * w <= pixels:
        return h, w
    factor = math.sqrt(pixels / (h * w))
    return _to_stride(h * factor, h), _to_stride(w * factor, w)


def scaled_to_longer(size: tuple[int, int], longer: int) -> tuple[int, int]:
    """``size`` scaled (up or down) so that its longer side is ``longer``, aspect ratio kept."""
    h, w = size
    factor = longer / max(h, w)
    return max(1, round(h * factor)), max(1, round(w * factor))


@dataclass(frozen=True)
class RunScale:
    """How the size the network runs at follows from an image's: a fixed ``(height, width)``, a
    ``longer`` side, about the model's training ``pixels`` (never up), or the image's own (all None)."""

    fixed: tuple[int, int] | None = None
    longer: int | None = None
    pixels: int | None = None

    def size_for(self, size: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) the network runs at for an image of ``size``."""
        size = (int(size[0]), int(size[1]))
        if self.fixed is not None:
            return self.fixed
        if self.longer is not None:
            return scaled_to_longer(size, self.longer)
        if self.pixels is not None:
            return scaled_to_pixels(size, self.pixels)
        return size

    def describe(self) -> str:
        """A few words for a run to say how it chose its size."""
        if self.fixed is not None:
            return f"the size asked for, {self.fixed[0]}x{self.fixed[1]}"
        if self.longer is not None:
            return f"{self.longer} pixels on the longer side, as asked"
        if self.pixels is not None:
            return f"the model's training scale, about {self.pixels:,} pixels"
        return "the image's own resolution"


#: How many times larger or smaller (on a side) than its training scale a network runs before a run says
#: it is outside what the network learnt.
FAR_FROM_TRAINING = 2.0


def scale_factor(run: tuple[int, int], trained: tuple[int, int] | None) -> float | None:
    """How many times its training scale (on a side, by pixel count) a network runs at ``run``, when that
    is :data:`FAR_FROM_TRAINING` or more either way; None when it is near, or the training size unknown."""
    if trained is None:
        return None
    factor = math.sqrt(run[0] * run[1] / (trained[0] * trained[1]))
    return factor if max(factor, 1 / factor) >= FAR_FROM_TRAINING else None


def run_scale(size: tuple[int, int] | int | None, native: bool, trained: tuple[int, int] | None) -> RunScale:
    """The :class:`RunScale` of a Relighter's ``size`` and ``native`` settings for a model ``trained`` at
    that size (None: unknown, so the image's own size unless ``size`` says otherwise)."""
    if native and size is not None:
        shown = "x".join(map(str, size)) if isinstance(size, tuple) else str(size)
        flag = Setting("native", True, owner="Relighter")
        raise InvalidSetting(flag, flag, " and ", Setting("size", size, owner="Relighter", shown=shown),
                             " contradict each other; give one")
    if native:
        return RunScale()
    if isinstance(size, int) and not isinstance(size, bool):
        if size < 1:
            raise InvalidSetting(Setting("size", size, owner="Relighter"), f"size must be at least one pixel, not {size}")
        return RunScale(longer=size)
    if size is not None:
        if len(size) != 2 or min(size) < 1:
            raise InvalidSetting(Setting("size", size, owner="Relighter"),
                                 f"size must be (height, width) of at least one pixel each, not {size}")
        return RunScale(fixed=(int(size[0]), int(size[1])))
    return RunScale(pixels=trained[0] * trained[1]) if trained is not None else RunScale()


def check_upscale(upscale: str) -> str:
    """``upscale`` if it is one of :data:`UPSCALES`, else a refusal naming them."""
    if upscale not in UPSCALES:
        setting = Setting("upscale", upscale, owner="Relighter", shown=upscale)
        raise InvalidSetting(setting, setting, f": expected {' or '.join(UPSCALES)}")
    return upscale


def parse_size(text: str | None, name: str = "size", owner: str | None = "Relighter") -> tuple[int, int] | None:
    """``"512"`` -> (512, 512); ``"768x1024"`` -> (768, 1024) as height x width.

    A refusal names the setting ``name`` of ``owner`` the text was given for (``size`` of a Relighter;
    ``crop`` of a TrainConfig, say).
    """
    if not text:
        return None
    setting = Setting(name, text, owner=owner, shown=repr(text))
    try:
        dims = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        raise InvalidSetting(setting, setting, ": expected N or HxW, e.g. 1024 or 768x1024") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < STRIDE:
        raise InvalidSetting(setting, setting, f": expected N or HxW with each side at least {STRIDE}")
    if dims[0] * dims[1] > MAX_PIXELS:
        side = math.isqrt(MAX_PIXELS)
        raise InvalidSetting(setting, setting, f": at most {MAX_PIXELS:,} pixels ({side}x{side}), as for input images")
    return dims[0], dims[1]



def parse_run_size(text: str | None) -> tuple[int, int] | int | None:
    """A run size as text: ``"512"`` -> 512 (the longer side, aspect ratio kept); ``"768x1024"`` ->
    (768, 1024) as height x width; refusals as :func:`parse_size` words them."""
    dims = parse_size(text)
    if dims is None or text is None:
        return None
    return dims if "x" in text.lower() else dims[0]


__all__ = [
    "DEFAULT_UPSCALE", "FAR_FROM_TRAINING", "RunScale", "StageCallback", "UPSCALES", "check_upscale", "parse_run_size", "parse_size",
    "run_scale", "scale_factor", "scaled_to_longer", "scaled_to_pixels",
]
