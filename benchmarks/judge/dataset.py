"""Writing the judge's scenes in relight's any-to-any layout, with shadow masks.

A folder gets, per scene ``ImageNNN``: the 40 images ``ImageNNN_TEMP_DIR.png`` (8-bit sRGB), VIDIT's
pickled-dict depth ``ImageNNN.npy``, and in ``masks/`` one mask per direction, ``masks/ImageNNN_DIR.png``
(8-bit grey: the share of that direction's light a surface does not get, 255 in full shadow or turned away
from it, 0 where fully lit or on the sky), the layout and meaning relight's own generator writes too
(``relight synth --masks``, ISSUE22); and the judge's own cast-shadow masks, ``masks/ImageNNN_DIR_cast.png``
(the same share, on the surfaces that face the light only: :mod:`judge.render`). Scene ``I`` depends only
on (seed, I) and the size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from judge.grammar import random_scene
from judge.render import render
from relight.io import atomic_output, write_depth_npy, write_image

#: The sizes the judge renders (a 1024 x 1024 scene takes about 16 times a 256 one).
SIZES = (8, 1024)


def mask_path(folder: Path, stem: str, direction: str, cast: bool = False) -> Path:
    """Where the shadow mask (``cast``: the cast-shadow mask) of ``direction`` for scene ``stem`` lies in a data folder."""
    return folder / "masks" / f"{stem}_{direction}{'_cast' if cast else ''}.png"


def read_mask(folder: Path, stem: str, direction: str, cast: bool = False) -> np.ndarray | None:
    """Where ``direction``'s light is more than half hidden (``cast``: by another surface, on surfaces that
    face it), as a bool array; None where the folder holds no such mask."""
    path = mask_path(folder, stem, direction, cast)
    return np.asarray(Image.open(path).convert("L")) > 127 if path.is_file() else None


def write_mask(path: Path, mask: np.ndarray) -> Path:
    with atomic_output(path) as tmp:
        Image.fromarray(mask.astype(np.uint8), mode="L").save(tmp, format="PNG")
    return path


def check_request(out: Path, scenes: int, size: int, seed: int, start_index: int) -> None:
    """Refuse what cannot be done before anything is written: one line naming the setting or the folder."""
    for name, value, lowest in (("scenes", scenes, 1), ("seed", seed, 0), ("start_index", start_index, 0)):
        if value < lowest:
            raise ValueError(f"{name} {value}: must be at least {lowest}")
    if not SIZES[0] <= size <= SIZES[1]:
        raise ValueError(f"size {size}: use {SIZES[0]} to {SIZES[1]} pixels")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    present = {int(m[1]) for p in (out.glob("Image*.npy") if out.is_dir() else ()) if (m := re.fullmatch(r"Image(\d+)", p.stem))}
    clash = sorted(present & set(range(start_index, start_index + scenes)))
    if clash:
        raise ValueError(f"{out}: already holds scene Image{clash[0]:03d}; choose another folder or start index")


def write_judge_dataset(out: str | os.PathLike[str], scenes: int, size: int, seed: int, start_index: int = 0,
                        on_scene: Callable[[int], None] | None = None) -> list[Path]:
    """Render and write scenes ``start_index`` .. ``start_index + scenes - 1`` of ``seed``; returns the files."""
    out = Path(out)
    check_request(out, scenes, size, seed, start_index)
    written: list[Path] = []
    for index in range(start_index, start_index + scenes):
        rendered = render(random_scene(seed, index), size)
        stem = f"Image{index:03d}"
        for direction, mask in rendered["masks"].items():  # type: ignore[union-attr]
            written.append(write_mask(mask_path(out, stem, direction), mask))
        for direction, mask in rendered["cast_masks"].items():  # type: ignore[union-attr]
            written.append(write_mask(mask_path(out, stem, direction, cast=True), mask))
        for light, pixels in rendered["images"].items():  # type: ignore[union-attr]
            written.append(write_image(out / f"{stem}_{light.file_tag}.png", pixels, None, 8))
        written.append(write_depth_npy(out / f"{stem}.npy", rendered["depth"], vidit=True))  # type: ignore[arg-type]
        if on_scene is not None:
            on_scene(index)
    return written
