"""Pairing images with their depth maps by file stem, as ``relight batch`` and ``relight eval`` need,
and reading a pair into memory (:func:`load_pair`), as every command does: the one data module that
run, batch, train and eval share."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relight.errors import InputFileError, RelightError, RelightWarning
from relight.io.depth import DEPTH_EXTENSIONS, load_depth, resize_depth
from relight.io.images import IMAGE_EXTENSIONS, LoadedImage, check_input_file, read_image

#: Any-to-any VIDIT names: scene, colour temperature, light direction (``Image000_4500_E``).
VIDIT_NAME = re.compile(r"^(?P<scene>.+?)_(?P<temp>\d{4})_(?P<dir>N|NE|E|SE|S|SW|W|NW)$")


@dataclass(frozen=True)
class InferencePair:
    """One image to relight, its depth map (``None`` when none was found), and its output stem."""

    stem: str
    image: Path
    depth: Path | None


@dataclass
class DecodedPair:
    """A pair read into memory: the image, its depth (at the image's size), warnings for the user, and
    whether the depth was estimated from the photo (it had no depth file)."""

    pair: InferencePair
    image: LoadedImage
    depth: np.ndarray
    warnings: list[str | RelightWarning]
    estimated: bool = False


def check_pair(pair: InferencePair) -> None:
    """Refuse, before anything slow (a depth model, the Hub, a network), an image or depth file that is
    not there, is not a regular file, is empty, or is of a type relight does not read."""
    for path, types in ((pair.image, IMAGE_EXTENSIONS), (pair.depth, DEPTH_EXTENSIONS)):
        if path is None:
            continue
        check_input_file(path)
        if path.suffix.lower() not in types:
            raise InputFileError(path, f"unsupported {'image' if types is IMAGE_EXTENSIONS else 'depth'} type "
                                       f"{path.suffix or '(none)'}; use one of {', '.join(types)}")


def load_pair(pair: InferencePair, depth_kind: str = "auto", estimate: Callable[[np.ndarray], np.ndarray] | None = None) -> DecodedPair:
    """Read an image and its depth (its values taken as ``depth_kind`` says, :func:`relight.io.depth.to_normalised`),
    resizing the depth to the image (with a warning) when they differ; depth outside the [0, 1] the
    network was trained on is warned about too. A pair without a depth file gets ``estimate(rgb)``
    (a :class:`relight.depth.estimation.DepthEstimator`), or is refused when there is none. A path
    that is not a regular file is refused before anything opens it."""
    if pair.depth is None and estimate is None:
        check_pair(pair)
        raise InputFileError(pair.image, f"no depth file with stem {pair.stem!r} found")
    check_pair(pair)
    image = read_image(pair.image)
    warnings: list[str | RelightWarning] = [f"{pair.image}: {note}" for note in image.notes]
    if pair.depth is None:
        try:
            return DecodedPair(pair, image, estimate(image.rgb), warnings, estimated=True)
        except RelightError as exc:
            raise InputFileError(pair.image, "no depth map, and depth cannot be estimated: ", *exc.parts) from None
    found = load_depth(pair.depth, depth_kind)
    if found.holes:
        warnings.append(f"{pair.depth}: {found.holes_note()}")
    depth = found.depth
    low, high = float(depth.min()), float(depth.max())
    if found.note:
        warnings.append(RelightWarning(f"{pair.depth}: ", *found.note))
    elif low < 0 or high > 1:
        warnings.append(f"{pair.depth}: depth runs from {low:.4g} to {high:.4g}, outside the [0, 1] the network was trained "
                        "on (VIDIT's normalized_depth); scale it to [0, 1] for results like the paper's")
    if depth.shape != image.size:
        warnings.append(
            f"{pair.depth}: depth is {depth.shape[0]}x{depth.shape[1]}, image is {image.size[0]}x{image.size[1]}; resized"
        )
        depth = resize_depth(depth, image.size)
    return DecodedPair(pair, image, depth, warnings)


def _depth_candidates(stem: str) -> list[str]:
    match = VIDIT_NAME.match(stem)
    return [stem, match["scene"]] if match else [stem]


def list_images(folder: Path) -> list[Path]:
    """The images of ``folder`` by name (by extension, hidden files left out), sorted: every such entry,
    a folder, FIFO or broken symlink too, so that the caller reports it (:func:`relight.io.images.unreadable`) instead of
    passing over it in silence."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))


def find_inference_pairs(folder: str | Path, depth_dir: str | Path | None = None) -> list[InferencePair]:
    """Images in ``folder`` (sorted) with the depth file of the same stem.

    Depth is looked up in ``depth_dir`` (any depth format, PNG included) or else beside the image
    (``.npy``/``.npz``, since a PNG there is an image). Any-to-any names (``Image000_6500_N.png``) also
    find the scene's depth (``Image000.npy``). Pairs without depth are returned with ``depth=None`` so
    the caller can report them. A depth entry that is there but not a readable file (a FIFO, a broken
    symlink) is still its image's depth, for :func:`load_pair` to refuse by name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(folder, "not a folder")
    lookup_dir = Path(depth_dir) if depth_dir is not None else folder
    if not lookup_dir.is_dir():
        raise InputFileError(lookup_dir, f"depth folder {'is a file, not a folder' if lookup_dir.exists() else 'does not exist'}")
    suffixes = DEPTH_EXTENSIONS if depth_dir is not None else (".npy", ".npz")
    pairs = []
    for image in list_images(folder):
        depth = next(
            (
                candidate
                for stem in _depth_candidates(image.stem)
                for suffix in suffixes
                if os.path.lexists(candidate := lookup_dir / f"{stem}{suffix}") and candidate != image
            ),
            None,
        )
        pairs.append(InferencePair(image.stem, image, depth))
    return pairs
