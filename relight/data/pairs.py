"""Pairing images with their depth maps by file stem, as ``relight batch`` and ``relight eval`` need,
and reading a pair into memory (:func:`load_pair`), as every command does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relight.errors import InvalidSetting, Setting
from relight.io.depth import DEPTH_EXTENSIONS, read_depth, resize_depth
from relight.io.images import IMAGE_EXTENSIONS, InputError, LoadedImage, read_image
from relight.io.output import OutputError

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
    """A pair read into memory: the image, its depth (at the image's size), and warnings for the user."""

    pair: InferencePair
    image: LoadedImage
    depth: np.ndarray
    warnings: list[str]


def load_pair(pair: InferencePair) -> DecodedPair:
    """Read an image and its depth, resizing the depth to the image (with a warning) when they differ;
    depth outside the [0, 1] the network was trained on is warned about too."""
    if pair.depth is None:
        raise InputError(pair.image, f"no depth file with stem {pair.stem!r} found")
    image = read_image(pair.image)
    depth = read_depth(pair.depth)
    warnings = [f"{pair.image}: {note}" for note in image.notes]
    low, high = float(depth.min()), float(depth.max())
    if low < 0 or high > 1:
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
    """The image files of ``folder`` (by extension, hidden files left out), sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )


def find_inference_pairs(folder: str | Path, depth_dir: str | Path | None = None) -> list[InferencePair]:
    """Images in ``folder`` (sorted) with the depth file of the same stem.

    Depth is looked up in ``depth_dir`` (any depth format, PNG included) or else beside the image
    (``.npy``/``.npz``, since a PNG there is an image). Any-to-any names (``Image000_6500_N.png``) also
    find the scene's depth (``Image000.npy``). Pairs without depth are returned with ``depth=None`` so
    the caller can report them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    lookup_dir = Path(depth_dir) if depth_dir is not None else folder
    if not lookup_dir.is_dir():
        raise InputError(lookup_dir, f"depth folder {'is a file, not a folder' if lookup_dir.exists() else 'does not exist'}")
    suffixes = DEPTH_EXTENSIONS if depth_dir is not None else (".npy", ".npz")
    pairs = []
    for image in list_images(folder):
        depth = next(
            (
                candidate
                for stem in _depth_candidates(image.stem)
                for suffix in suffixes
                if (candidate := lookup_dir / f"{stem}{suffix}").is_file() and candidate != image
            ),
            None,
        )
        pairs.append(InferencePair(image.stem, image, depth))
    return pairs


def refuse_replacing_inputs(outputs: Iterable[Path], inputs: Iterable[Path | None], instead: str) -> None:
    """Refuse, before any work, an output that would land on one of the inputs (``-o`` naming the photo,
    an output folder set to the data folder): the input would be lost. ``instead`` says what to change."""
    originals = {path.resolve(): path for path in inputs if path is not None}
    for output in outputs:
        original = originals.get(Path(output).resolve())
        if original is not None:
            raise OutputError(output, f"would replace the input {original}; {instead}")


def shard(items: list, spec: str | None) -> list:
    """The K-th of N interleaved slices (``"K/N"``, K from 1), so N machines can share one folder."""
    if not spec:
        return items
    setting = Setting("shard", spec, shown=repr(spec))
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise InvalidSetting(setting, setting, ": expected K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise InvalidSetting(setting, setting, ": K must be between 1 and N")
    return items[k - 1 :: n]
