"""Writing synthetic data sets: folders in the VIDIT any-to-any layout, checked before anything is written.

With ``masks``, each light direction's shadow mask goes into the folder ``masks/`` inside the data folder
(beside the images; no reader takes it for images): ``masks/ImageNNN_DIR.png``, 8-bit grey, 255 where the
light of that direction (any colour temperature) does not reach a surface, 0 where all of it does, the
share hidden in penumbrae.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from relight.data.synth.camera import image_shape
from relight.data.synth.families import Ranges, random_scene
from relight.data.synth.raster import raster_scene
from relight.data.synth.render import render_scene
from relight.data.synth.scene import scene_seed
from relight.data.synth.shapes import SynthScene
from relight.errors import InvalidSetting, OutputFileError
from relight.errors import Setting as Param  # beside relight.data.vidit's Setting, an illumination
from relight.io.depth import write_depth_npy
from relight.io.images import image_size, write_image
from relight.io.output import atomic_output

#: The largest image side :func:`write_dataset` renders: a scene took 0.55 GB and 7 s at 1024 x 1024
#: (measured on 2 cores), so 2048 takes about 2 GB; past that a typo would run the machine out of memory.
MAX_SIZE = 2048
#: The renderers by name: ``ray`` (exact ray casting, Lambertian) and ``raster`` (a z-buffer of
#: tessellated shapes with shadow maps, Oren-Nayar and Blinn-Phong shading, its own textures).
RENDERERS: dict[str, Callable[[SynthScene, int | tuple[int, int]], dict[str, object]]] = {"ray": render_scene, "raster": raster_scene}
#: The folder inside a data folder that holds its shadow masks.
MASKS = "masks"


def generate_scene(seed: int, size: int | tuple[int, int], ranges: Ranges | None = None, renderer: str = "ray") -> dict[str, object]:
    """Render the random scene of ``seed`` at ``size`` (square, or (height, width)): ``{"images": {Setting:
    uint8 HxWx3}, "depth": HxW, "masks": {direction: uint8 HxW}}``."""
    height, width = image_shape(size)
    return RENDERERS[renderer](random_scene(seed, ranges, aspect=width / height), size)


def parse_image_size(text: str | int) -> int | tuple[int, int]:
    """``"256"`` -> 256 (square); ``"192x256"`` -> (192, 256) as height x width; a square ``"64x64"`` -> 64."""
    if isinstance(text, int):
        return text
    setting = Param("size", text, owner="write_dataset", shown=str(text))
    try:
        sides = tuple(int(part) for part in str(text).lower().split("x"))
    except ValueError:
        raise InvalidSetting(setting, setting, ": expected N or HxW, e.g. 256 or 192x256") from None
    if len(sides) not in (1, 2):
        raise InvalidSetting(setting, setting, ": expected N or HxW, e.g. 256 or 192x256")
    return sides[0] if len(sides) == 1 or sides[0] == sides[1] else (sides[0], sides[1])


def masks_folder(out: str | os.PathLike[str]) -> Path:
    """Where the shadow masks of the data folder ``out`` go: ``masks/`` in it."""
    return Path(out) / MASKS


def check_dataset_options(
    out: str | os.PathLike[str], scenes: int, size: int | tuple[int, int], start_index: int, seed: int = 0, renderer: str = "ray"
) -> Path:
    """Refuse impossible requests before anything is written (or a progress bar is shown)."""
    for name, value, lowest, problem in (("scenes", scenes, 1, "need at least one scene"),
                                         ("start_index", start_index, 0, "must be 0 or more"), ("seed", seed, 0, "must be 0 or more")):
        if value < lowest:
            setting = Param(name, value, owner="write_dataset")
            raise InvalidSetting(setting, setting, f": {problem}")
    if renderer not in RENDERERS:
        setting = Param("renderer", renderer, owner="write_dataset", shown=renderer)
        raise InvalidSetting(setting, setting, f": unknown renderer; use one of {', '.join(RENDERERS)}")
    shape = image_shape(size)
    size_setting = Param("size", size, owner="write_dataset", shown=str(size) if isinstance(size, (int, np.integer)) else _shown(shape))
    if not all(8 <= side <= MAX_SIZE for side in shape):
        raise InvalidSetting(size_setting, size_setting, f": use 8 to {MAX_SIZE} pixels a side (VIDIT's images are 1024x1024)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputFileError(out, "exists and is not a folder")
    earlier = next(out.glob("Image*_*_*.png"), None) if out.is_dir() else None
    held = image_size(earlier) if earlier is not None else shape
    if held != shape:
        raise InvalidSetting(size_setting, f"{out}: holds {_shown(held)} scenes ({earlier.name}); ", size_setting,
                             " would mix two sizes in one data set: choose another folder", path=out)
    present = sorted(int(m["index"]) for p in (out.glob("Image*.npy") if out.is_dir() else ())
                     if (m := re.fullmatch(r"Image(?P<index>\d+)", p.stem)))
    clash = [i for i in present if start_index <= i < start_index + scenes]
    if clash:
        after = Param("start_index", present[-1] + 1, owner="write_dataset")
        raise InvalidSetting(Param("start_index", start_index, owner="write_dataset"),
                             f"{out}: already holds scene Image{clash[0]:03d} ({len(clash)} of the {scenes} asked for); "
                             "add scenes after it with ", after, ", or choose another folder", path=out)
    return out


def _shown(shape: tuple[int, int]) -> str:
    """A size as ``HxW``."""
    return f"{shape[0]}x{shape[1]}"


def write_dataset(
    out: str | os.PathLike[str],
    scenes: int,
    size: int | tuple[int, int],
    seed: int = 0,
    start_index: int = 0,
    on_scene: Callable[[int], None] | None = None,
    ranges: Ranges | None = None,
    renderer: str = "ray",
    masks: bool = False,
) -> list[Path]:
    """Write ``scenes`` scenes in the any-to-any layout: ``ImageNNN_TEMP_DIR.png`` (RGBA) and ``ImageNNN.npy``,
    ``size`` pixels (square) or (height, width); with ``masks``, the shadow masks in :func:`masks_folder`.

    Scene ``i`` depends only on (``seed``, ``i``, ``ranges``, ``renderer``, the aspect of ``size``), so
    sets made in pieces with ``start_index`` agree with one made at once. ``ranges``
    (:func:`~relight.data.synth.scene_ranges`) defaults to the default family's. Returns the files
    written; ``on_scene(index)`` is called after each scene.
    """
    out = check_dataset_options(out, scenes, size, start_index, seed, renderer)
    written = []
    alpha = np.ones(image_shape(size), dtype=np.float32)
    for index in range(start_index, start_index + scenes):
        rendered = generate_scene(scene_seed(seed, index), size, ranges, renderer)
        stem = f"Image{index:03d}"
        for setting, pixels in rendered["images"].items():
            path = out / f"{stem}_{setting.file_tag}.png"
            written.append(write_image(path, pixels.astype(np.float32) / 255.0, alpha, 8))
        written.append(write_depth_npy(out / f"{stem}.npy", rendered["depth"], vidit=True))
        if masks:
            written += [_write_mask(masks_folder(out) / f"{stem}_{direction}.png", mask) for direction, mask in rendered["masks"].items()]
        if on_scene is not None:
            on_scene(index)
    return written


def _write_mask(path: Path, mask: np.ndarray) -> Path:
    """One 8-bit grey shadow mask, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        Image.fromarray(mask).save(tmp, format="PNG")
    return path
