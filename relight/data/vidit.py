"""VIDIT lighting settings, folder layouts, and the (input, depth, target) pairs that training and evaluation use.

Four layouts are read (described in docs/data.md, "Layouts"):

* **any-to-any**: ``Image000_6500_N.png`` ... with one ``Image000.npy`` depth per scene; pairs are built for a
  chosen source -> target setting, optionally with the paper's extra data (section 3.3, generalised):
  inputs lit from the two *neighbouring* source directions, and *mirrored* pairs, i.e. horizontally flipped
  images at the mirrored directions, which are valid new examples because a flip swaps east and west;
* **one-to-one**: ``ROOT/input/X.png`` + ``X.npy`` and ``ROOT/target/X.png`` (NTIRE 2021 track 1 train);
* **validation**: ``X.png`` + ``X.npy`` side by side, ground truth in a given folder or the sibling ``ROOT_gt``;
* **generic**: ``<stem>.png`` + depth of the same stem, beside the image or in a parallel depth folder; no target.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relight.data.pairs import VIDIT_NAME, find_inference_pairs, list_images
from relight.errors import RelightError
from relight.io.images import IMAGE_EXTENSIONS
from relight.lighting import DEFAULT_SOURCE, DEFAULT_TARGET, DIRECTIONS, TEMPERATURES, Light, mirror, neighbours

ANY_TO_ANY = "any-to-any"
ONE_TO_ONE = "one-to-one"
VALIDATION = "validation"
GENERIC = "generic"
LAYOUTS = (ANY_TO_ANY, ONE_TO_ONE, VALIDATION, GENERIC)

#: The light type moved to :mod:`relight.lighting`; ``Setting`` stays importable here under its old name.
Setting = Light


@dataclass(frozen=True)
class TrainPair:
    """One example: the input image, its depth, the target (``None`` for inference-only data).

    ``flip`` asks the loader to flip all three horizontally (mirrored pairs); ``origin`` says in words
    where the pair comes from ("direct", "neighbour NE", "mirror").
    """

    name: str
    scene: str
    input: Path
    depth: Path
    target: Path | None
    flip: bool = False
    origin: str = "direct"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "scene": self.scene,
            "input": str(self.input),
            "depth": str(self.depth),
            "target": None if self.target is None else str(self.target),
            "flip": self.flip,
            "origin": self.origin,
        }


class LeftOut(str):
    """One line saying what the pairing left out and why, which also knows the ``name`` (scene or image
    stem) it concerns, so that a report can list it without parsing the line."""

    name: str

    def __new__(cls, name: str, line: str) -> "LeftOut":
        made = super().__new__(cls, line)
        made.name = name
        return made


@dataclass
class PairSet:
    """The pairs found in a data folder, with what was left out and why."""

    root: Path
    layout: str
    pairs: list[TrainPair]
    skipped: list[LeftOut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "layout": self.layout,
            "pairs": [p.to_dict() for p in self.pairs],
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }


@dataclass
class Scene:
    """The files of one any-to-any scene: its depth and one image per available setting."""

    name: str
    depth: Path | None
    images: dict[Setting, Path] = field(default_factory=dict)


def _sibling_gt(root: Path) -> Path | None:
    candidate = root.resolve().parent / f"{root.resolve().name}_gt"
    return candidate if candidate.is_dir() else None


def detect_layout(root: str | os.PathLike[str], gt_dir: str | os.PathLike[str] | None = None) -> str:
    """Which of :data:`LAYOUTS` ``root`` holds, judged from its folder structure and file names."""
    root = Path(root)
    if not root.is_dir():
        raise RelightError(f"{root}: not a folder" if root.exists() else f"{root}: no such folder")
    if (root / "input").is_dir():
        return ONE_TO_ONE
    images = list_images(root)
    if any(VIDIT_NAME.match(p.stem) for p in images):
        return ANY_TO_ANY
    if not images:
        raise RelightError(
            f"{root}: no images found (expected Image000_6500_N.png-style files, input/ + target/ folders, "
            "or <stem>.png with a depth file of the same stem)"
        )
    if gt_dir is not None or _sibling_gt(root) is not None:
        return VALIDATION
    return GENERIC


def scan_any_to_any(
    root: str | os.PathLike[str], depth_dir: str | os.PathLike[str] | None = None
) -> tuple[dict[str, Scene], list[LeftOut]]:
    """Group ``Image000_6500_N.png``-style files by scene; returns the scenes (sorted) and files ignored."""
    ignored: list[LeftOut] = []
    scenes: dict[str, Scene] = {}
    for item in find_inference_pairs(root, depth_dir):
        match = VIDIT_NAME.match(item.stem)
        if match is None:
            ignored.append(LeftOut(item.stem, f"{item.image}: not an any-to-any name (SCENE_TEMP_DIR), ignored"))
            continue
        try:
            setting = Setting(int(match["temp"]), match["dir"])
        except RelightError as exc:
            ignored.append(LeftOut(item.stem, f"{item.image}: {exc}, ignored"))
            continue
        scene = scenes.setdefault(match["scene"], Scene(match["scene"], item.depth))
        if setting in scene.images:
            ignored.append(LeftOut(item.stem, f"{item.image}: a second image for {match['scene']} {setting}, ignored"))
            continue
        scene.images[setting] = item.image
    return dict(sorted(scenes.items())), ignored


def build_pairs(
    scenes: dict[str, Scene],
    source: Setting = DEFAULT_SOURCE,
    target: Setting = DEFAULT_TARGET,
    use_neighbours: bool = True,
    use_mirror: bool = True,
) -> tuple[list[TrainPair], list[LeftOut]]:
    """Pairs for ``source -> target`` from any-to-any scenes, plus the extra data that is switched on.

    Per scene, in this order: the direct pair; with ``use_neighbours``, the inputs lit from the two
    directions next to the source (same temperature) with the same target; with ``use_mirror``,
    flip(image at the mirrored source) -> flip(image at the mirrored target), depth flipped too.
    A pair whose files are missing is left out and reported (second value).
    """
    pairs: list[TrainPair] = []
    skipped: list[LeftOut] = []
    for name, scene in scenes.items():
        if scene.depth is None:
            skipped.append(LeftOut(name, f"{name}: no depth file ({name}.npy), scene left out"))
            continue
        wanted: list[tuple[Setting, Setting, bool, str]] = [(source, target, False, "direct")]
        if use_neighbours:
            wanted += [(Setting(source.temperature, d), target, False, f"neighbour {d}") for d in neighbours(source.direction)]
        if use_mirror:
            wanted.append((source.mirrored(), target.mirrored(), True, "mirror"))
        for src, tgt, flip, origin in wanted:
            missing = [str(s) for s in (src, tgt) if s not in scene.images]
            if missing:
                skipped.append(LeftOut(name, f"{name}: no {' or '.join(missing)} image, {origin} pair left out"))
                continue
            label = name if origin == "direct" else f"{name}+{origin.replace(' ', '-')}"
            pairs.append(TrainPair(label, name, scene.images[src], scene.depth, scene.images[tgt], flip, origin))
    return pairs, skipped


def _find_image(folder: Path, stem: str) -> Path | None:
    return next((p for ext in IMAGE_EXTENSIONS if (p := folder / f"{stem}{ext}").is_file()), None)


def _stem_pairs(
    folder: Path, depth_dir: Path | None, gt_dir: Path | None, skipped: list[LeftOut]
) -> list[TrainPair]:
    """Image + same-stem depth (+ same-stem ground truth when ``gt_dir`` is given)."""
    pairs = []
    for item in find_inference_pairs(folder, depth_dir):
        if item.depth is None:
            skipped.append(LeftOut(item.stem, f"{item.image}: no depth file with stem {item.stem!r}, left out"))
            continue
        target = None
        if gt_dir is not None:
            target = _find_image(gt_dir, item.stem)
            if target is None:
                skipped.append(LeftOut(item.stem, f"{item.image}: no ground truth {item.stem}.png in {gt_dir}, left out"))
                continue
        pairs.append(TrainPair(item.stem, item.stem, item.image, item.depth, target))
    return pairs


def load_pairs(
    data: str | os.PathLike[str],
    source: Setting = DEFAULT_SOURCE,
    target: Setting = DEFAULT_TARGET,
    use_neighbours: bool = True,
    use_mirror: bool = True,
    gt_dir: str | os.PathLike[str] | None = None,
    depth_dir: str | os.PathLike[str] | None = None,
) -> PairSet:
    """Detect the layout of ``data`` and list its pairs; the one entry point for train, eval and ``data pairs``.

    ``source``/``target`` and the extra-data switches only apply to any-to-any data: the other layouts
    fix their settings in the files (a note says so when extra data was asked for).
    """
    root = Path(data)
    layout = detect_layout(root, gt_dir)
    skipped: list[LeftOut] = []
    notes: list[str] = []
    if layout == ANY_TO_ANY:
        scenes, ignored = scan_any_to_any(root, depth_dir)
        pairs, skipped = build_pairs(scenes, source, target, use_neighbours, use_mirror)
        skipped = ignored + skipped
        notes.append(f"{len(scenes)} scenes, {source} -> {target}")
        return PairSet(root, layout, pairs, skipped, notes)
    if use_neighbours or use_mirror:
        notes.append(f"{layout} data holds fixed input/target pairs: neighbour and mirror pairs need any-to-any data")
    if layout == ONE_TO_ONE:
        target_dir = root / "target"
        if not target_dir.is_dir():
            raise RelightError(f"{root}: has input/ but no target/ folder")
        pairs = _stem_pairs(root / "input", Path(depth_dir) if depth_dir else None, target_dir, skipped)
    else:
        gt = Path(gt_dir) if gt_dir is not None else _sibling_gt(root)
        if gt is not None and not gt.is_dir():
            raise RelightError(f"{gt}: ground-truth folder does not exist")
        pairs = _stem_pairs(root, Path(depth_dir) if depth_dir else None, gt, skipped)
        if gt is not None:
            notes.append(f"ground truth from {gt}")
    return PairSet(root, layout, pairs, skipped, notes)


def held_out_scenes(names: Sequence[str], val: int | float | Sequence[str], seed: int = 0) -> set[str]:
    """The scenes of ``names`` held out for validation: ``val`` is a number of scenes, a fraction of
    them (0 < f < 1), or the scene names themselves; which depends only on ``seed`` and the names."""
    names = sorted(set(names))
    if isinstance(val, (str, bytes)):
        raise RelightError(f"validation scenes {val!r}: give a count, a fraction or a list of scene names")
    if isinstance(val, Sequence):
        held = set(val)
        unknown = sorted(held - set(names))
        if unknown:
            raise RelightError(f"validation scenes not in the data: {', '.join(unknown)}")
    else:
        if isinstance(val, float) and 0 < val < 1:
            count = max(1, round(val * len(names)))
        elif isinstance(val, int) and not isinstance(val, bool) and val >= 0:
            count = val
        else:
            raise RelightError(f"validation split {val!r}: expected a scene count >= 0 or a fraction between 0 and 1")
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        held = set(shuffled[:count])
    if names and len(held) >= len(names):
        raise RelightError(f"validation split takes all {len(names)} scenes; nothing is left to train on")
    return held


def split_scenes(
    pairs: Sequence[TrainPair],
    val: int | float | Sequence[str],
    seed: int = 0,
    val_direct_only: bool = True,
) -> tuple[list[TrainPair], list[TrainPair]]:
    """Split pairs into (train, validation) by scene (:func:`held_out_scenes`), so no held-out scene
    leaks into training. Validation keeps only the direct pairs by default: it should score the task
    itself, not the augmentations.
    """
    held = held_out_scenes([p.scene for p in pairs], val, seed)
    train = [p for p in pairs if p.scene not in held]
    val_pairs = [p for p in pairs if p.scene in held and (p.origin == "direct" or not val_direct_only)]
    return train, val_pairs


__all__ = [
    "ANY_TO_ANY",
    "DEFAULT_SOURCE",
    "DEFAULT_TARGET",
    "DIRECTIONS",
    "GENERIC",
    "LAYOUTS",
    "ONE_TO_ONE",
    "TEMPERATURES",
    "VALIDATION",
    "LeftOut",
    "PairSet",
    "Scene",
    "Setting",
    "TrainPair",
    "build_pairs",
    "detect_layout",
    "held_out_scenes",
    "load_pairs",
    "mirror",
    "neighbours",
    "scan_any_to_any",
    "split_scenes",
]
