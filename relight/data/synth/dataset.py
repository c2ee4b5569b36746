"""Writing synthetic data sets: folders in the VIDIT any-to-any layout, checked before anything is written."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from relight.data.synth.raster import raster_scene
from relight.data.synth.render import render_scene
from relight.data.synth.scene import SceneRanges, random_scene, scene_seed
from relight.data.synth.shapes import SynthScene
from relight.errors import InvalidSetting
from relight.errors import Setting as Param  # beside relight.data.vidit's Setting, an illumination
from relight.io.depth import write_depth_npy
from relight.io.images import image_size, write_image
from relight.errors import OutputFileError

#: The largest image side :func:`write_dataset` renders: a scene took 0.55 GB and 7 s at 1024 x 1024
#: (measured on 2 cores), so 2048 takes about 2 GB; past that a typo would run the machine out of memory.
MAX_SIZE = 2048
#: The renderers by name: ``ray`` (exact ray casting, Lambertian) and ``raster`` (a z-buffer of
#: tessellated shapes with shadow maps, Oren-Nayar and Blinn-Phong shading, its own textures).
RENDERERS: dict[str, Callable[[SynthScene, int], dict[str, object]]] = {"ray": render_scene, "raster": raster_scene}


def generate_scene(seed: int, size: int, ranges: SceneRanges | None = None, renderer: str = "ray") -> dict[str, object]:
    """Render the random scene of ``seed`` at ``size`` px: ``{"images": {Setting: uint8 HxWx3}, "depth": HxW}``."""
    return RENDERERS[renderer](random_scene(seed, ranges), size)


def check_dataset_options(
    out: str | os.PathLike[str], scenes: int, size: int, start_index: int, seed: int = 0, renderer: str = "ray"
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
    size_setting = Param("size", size, owner="write_dataset")
    if not 8 <= size <= MAX_SIZE:
        raise InvalidSetting(size_setting, size_setting, f": use 8 to {MAX_SIZE} pixels (VIDIT's images are 1024x1024)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputFileError(out, "exists and is not a folder")
    earlier = next(out.glob("Image*_*_*.png"), None) if out.is_dir() else None
    height, width = image_size(earlier) if earlier is not None else (size, size)
    if (height, width) != (size, size):
        raise InvalidSetting(size_setting, f"{out}: holds {width}x{height} scenes ({earlier.name}); ", size_setting,
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


def write_dataset(
    out: str | os.PathLike[str],
    scenes: int,
    size: int,
    seed: int = 0,
    start_index: int = 0,
    on_scene: Callable[[int], None] | None = None,
    ranges: SceneRanges | None = None,
    renderer: str = "ray",
) -> list[Path]:
    """Write ``scenes`` scenes in the any-to-any layout: ``ImageNNN_TEMP_DIR.png`` (RGBA) and ``ImageNNN.npy``.

    Scene ``i`` depends only on (``seed``, ``i``, ``ranges``, ``renderer``), so sets made in pieces with
    ``start_index`` agree with one made at once. ``ranges`` (:func:`~relight.data.synth.scene_ranges`)
    defaults to the default family's. Returns the files written; ``on_scene(index)`` is called after each scene.
    """
    out = check_dataset_options(out, scenes, size, start_index, seed, renderer)
    written = []
    alpha = np.ones((size, size), dtype=np.float32)
    for index in range(start_index, start_index + scenes):
        rendered = generate_scene(scene_seed(seed, index), size, ranges, renderer)
        stem = f"Image{index:03d}"
        for setting, pixels in rendered["images"].items():
            path = out / f"{stem}_{setting.file_tag}.png"
            written.append(write_image(path, pixels.astype(np.float32) / 255.0, alpha, 8))
        written.append(write_depth_npy(out / f"{stem}.npy", rendered["depth"], vidit=True))
        if on_scene is not None:
            on_scene(index)
    return written
