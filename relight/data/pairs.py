"""Pairing images with their depth maps by file stem, as ``relight batch`` and ``relight eval`` need."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from relight.errors import RelightError
from relight.io import DEPTH_EXTENSIONS, IMAGE_EXTENSIONS

#: Any-to-any VIDIT names: scene, colour temperature, light direction (``Image000_4500_E``).
VIDIT_NAME = re.compile(r"^(?P<scene>.+?)_(?P<temp>\d{4})_(?P<dir>N|NE|E|SE|S|SW|W|NW)$")


@dataclass(frozen=True)
class InferencePair:
    """One image to relight, its depth map (``None`` when none was found), and its output stem."""

    stem: str
    image: Path
    depth: Path | None


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
        raise RelightError(f"{folder}: not a folder")
    lookup_dir = Path(depth_dir) if depth_dir is not None else folder
    if not lookup_dir.is_dir():
        raise RelightError(f"{lookup_dir}: depth folder does not exist")
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


def shard(items: list, spec: str | None) -> list:
    """The K-th of N interleaved slices (``"K/N"``, K from 1), so N machines can share one folder."""
    if not spec:
        return items
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise RelightError(f"--shard {spec!r}: expected K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise RelightError(f"--shard {spec!r}: K must be between 1 and N")
    return items[k - 1 :: n]
