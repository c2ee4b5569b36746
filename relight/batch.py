"""Relighting a folder: decode ahead and encode behind in worker threads while the model runs.

Outputs that already exist are skipped (so an interrupted batch resumes), a bad pair is reported and
skipped, and the rest go on. Every output is written atomically.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from relight.data.pairs import InferencePair
from relight.errors import RelightError
from relight.inference import Relighter
from relight.io import LoadedImage, read_depth, read_image, resize_depth, write_image


@dataclass
class BatchSummary:
    """What a batch did: outputs written, outputs already present, and failures with their reasons."""

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class _Decoded:
    pair: InferencePair
    image: LoadedImage
    depth: np.ndarray
    warnings: list[str]


def load_pair(pair: InferencePair) -> _Decoded:
    """Read an image and its depth, resizing the depth to the image (with a warning) when they differ."""
    if pair.depth is None:
        raise RelightError(f"{pair.image}: no depth file with stem {pair.stem!r} found")
    image = read_image(pair.image)
    depth = read_depth(pair.depth)
    warnings = [f"{pair.image}: {note}" for note in image.notes]
    if depth.shape != image.size:
        warnings.append(
            f"{pair.depth}: depth is {depth.shape[0]}x{depth.shape[1]}, image is {image.size[0]}x{image.size[1]}; resized"
        )
        depth = resize_depth(depth, image.size)
    return _Decoded(pair, image, depth, warnings)


def _prefetch(fn: Callable[[InferencePair], _Decoded], items: Iterable[InferencePair], pool: ThreadPoolExecutor,
              depth: int) -> Iterator[tuple[InferencePair, Future[_Decoded]]]:
    """Like ``pool.map`` but with at most ``depth`` items decoded ahead, so memory stays bounded."""
    queue: deque[tuple[InferencePair, Future[_Decoded]]] = deque()
    for item in items:
        queue.append((item, pool.submit(fn, item)))
        if len(queue) > depth:
            yield queue.popleft()
    while queue:
        yield queue.popleft()


def run_batch(
    relighter: Relighter,
    pairs: list[InferencePair],
    out_dir: Path,
    ext: str = ".png",
    bit_depth: int = 8,
    overwrite: bool = False,
    workers: int = 2,
    on_item: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Relight ``pairs`` into ``out_dir/<stem><ext>``; ``on_item`` is called once per pair (progress)."""
    start = time.perf_counter()
    summary = BatchSummary()
    todo = []
    for pair in pairs:
        target = out_dir / f"{pair.stem}{ext}"
        if target.exists() and not overwrite:
            summary.skipped.append(target)
            if on_item:
                on_item("skipped")
        else:
            todo.append(pair)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="relight-io") as pool:
        writes: list[tuple[Path, Future[Path]]] = []
        for pair, future in _prefetch(load_pair, todo, pool, depth=2 * max(1, workers)):
            target = out_dir / f"{pair.stem}{ext}"
            try:
                item = future.result()
                for warning in item.warnings:
                    if on_warning:
                        on_warning(warning)
                out = relighter.relight(item.image.rgb, item.depth)
                writes.append((target, pool.submit(write_image, target, out, item.image.alpha, bit_depth)))
            except RelightError as exc:
                summary.failed.append((pair.image, str(exc)))
            if on_item:
                on_item("done")
        for target, write in writes:
            try:
                summary.done.append(write.result())
            except RelightError as exc:
                summary.failed.append((target, str(exc)))
    summary.seconds = time.perf_counter() - start
    return summary
