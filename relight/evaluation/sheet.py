"""Pictures of results, drawn with Pillow: contact sheets of relit versions and the any-to-any gain grid.

A contact sheet is a grid of images with a label band above the columns and one left of the rows, in
Pillow's default font: :func:`light_sheet` lays out one image relit to many lights (rows temperatures,
columns directions: 5 x 8 for ``--to all``), :func:`grid_sheet` any grid (the demo's scenes x targets).
:func:`heat_map` draws a table of numbers as coloured cells with the numbers written in (``relight eval
--any-to-any --plot``). Sheets are ``uint8`` ``H x W x 3`` arrays; :func:`write_picture` writes one
atomically. :class:`SheetLayout` says where each part lies, so a test (or a caller) can find it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from relight.lighting import DIRECTIONS, TEMPERATURES, Light

#: Pixels between cells and around the grid.
PAD = 4
#: Height of the band of column labels.
LABEL_HEIGHT = 18
#: The longest side a sheet cell gives an image (larger images are scaled down, never up).
MAX_CELL = 160
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
EMPTY = (224, 224, 224)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def _text_width(text: str) -> int:
    left, _, right, _ = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=_font())
    return int(math.ceil(right - left))


@dataclass(frozen=True)
class SheetLayout:
    """Where the parts of a sheet lie: ``rows`` x ``cols`` cells of ``cell`` (height, width) pixels, a
    label band ``left`` pixels wide beside the rows and ``top`` pixels high above the columns, cells
    :data:`PAD` apart."""

    rows: int
    cols: int
    cell: tuple[int, int]
    left: int
    top: int

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the whole sheet."""
        h, w = self.cell
        return self.top + self.rows * (h + PAD) + PAD, self.left + self.cols * (w + PAD) + PAD

    def origin(self, row: int, col: int) -> tuple[int, int]:
        """(top, left) of a cell."""
        h, w = self.cell
        return self.top + PAD + row * (h + PAD), self.left + PAD + col * (w + PAD)


def layout(rows: int, cols: int, cell: tuple[int, int], row_labels: Sequence[str], title: bool = False) -> SheetLayout:
    """The layout for a grid whose rows carry ``row_labels``; with ``title``, a second band above for it."""
    left = max((_text_width(label) for label in row_labels), default=0) + 2 * PAD
    return SheetLayout(rows, cols, cell, left, LABEL_HEIGHT * (2 if title else 1))


def _as_uint8(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    return np.rint(np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0) * 255).astype(np.uint8)


def _tile(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to ``size`` (height, width) as ``uint8`` RGB: a float image is scaled channel by
    channel before it is quantised, so a full-resolution result costs no full-resolution copies."""
    array = np.asarray(image)[..., :3]
    height, width = size
    if array.shape[:2] == (height, width) or array.dtype == np.uint8:
        tile = Image.fromarray(_as_uint8(array))
        return np.asarray(tile if tile.size == (width, height) else tile.resize((width, height), Image.Resampling.LANCZOS))
    channels = [Image.fromarray(np.ascontiguousarray(array[..., c], dtype=np.float32), "F").resize(
        (width, height), Image.Resampling.LANCZOS, reducing_gap=3.0) for c in range(3)]
    return _as_uint8(np.stack([np.asarray(channel) for channel in channels], axis=2))


def cell_size(shape: tuple[int, ...], largest: int = MAX_CELL) -> tuple[int, int]:
    """The (height, width) a cell gives an image of ``shape``: the image's, scaled down to ``largest`` pixels
    on its longer side, its aspect kept."""
    h, w = int(shape[0]), int(shape[1])
    scale = min(1.0, largest / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


class GridSheet:
    """A labelled contact sheet filled one cell at a time: ``len(row_labels)`` x ``len(col_labels)`` cells
    of ``cell`` (height, width) pixels, grey until an image is placed. Each image is scaled to its cell as
    it is placed, so the sheet holds cells, never the images it was given (a caller can let each go)."""

    def __init__(self, row_labels: Sequence[str], col_labels: Sequence[str], cell: tuple[int, int]) -> None:
        self.layout = layout(len(row_labels), len(col_labels), cell, row_labels)
        height, width = self.layout.size
        self.canvas = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(self.canvas)
        for row in range(len(row_labels)):
            for col in range(len(col_labels)):
                top, left = self.layout.origin(row, col)
                draw.rectangle([left, top, left + cell[1] - 1, top + cell[0] - 1], fill=EMPTY)
        _labels(draw, self.layout, row_labels, col_labels)

    def place(self, row: int, col: int, image: np.ndarray) -> None:
        """``image`` (``H x W x 3``, float in [0, 1] or uint8) scaled to the cell at ``row``, ``col``."""
        top, left = self.layout.origin(row, col)
        self.canvas.paste(Image.fromarray(_tile(image, self.layout.cell)), (left, top))

    def picture(self) -> np.ndarray:
        """The sheet as a ``uint8`` ``H x W x 3`` array."""
        return np.asarray(self.canvas)


def grid_sheet(cells: Mapping[tuple[int, int], np.ndarray], row_labels: Sequence[str], col_labels: Sequence[str],
               largest: int = MAX_CELL) -> np.ndarray:
    """A labelled contact sheet: ``cells[(row, col)]`` (``H x W x 3``, float in [0, 1] or uint8) in a
    ``len(row_labels)`` x ``len(col_labels)`` grid; cells not given are left grey. Every image is fitted to
    the first one's cell size."""
    if not cells:
        raise ValueError("a contact sheet needs at least one image")
    sheet = GridSheet(row_labels, col_labels, cell_size(next(iter(cells.values())).shape, largest))
    for (row, col), image in cells.items():
        sheet.place(row, col, image)
    return sheet.picture()


def _labels(draw: ImageDraw.ImageDraw, where: SheetLayout, row_labels: Sequence[str], col_labels: Sequence[str]) -> None:
    """Column labels centred above their cells, row labels left of theirs."""
    h, w = where.cell
    font = _font()
    for col, label in enumerate(col_labels):
        _, left = where.origin(0, col)
        draw.text((left + w / 2, where.top - LABEL_HEIGHT / 2), label, fill=INK, font=font, anchor="mm")
    for row, label in enumerate(row_labels):
        top, _ = where.origin(row, 0)
        draw.text((PAD, top + h / 2), label, fill=INK, font=font, anchor="lm")


class LightSheet(GridSheet):
    """One image relit to several lights as a sheet filled light by light (:class:`GridSheet`): rows the
    temperatures, columns the directions of ``lights`` (in VIDIT's order: 5 x 8 for all 40), cells fitted
    to an image of ``size`` (height, width)."""

    def __init__(self, lights: Sequence[Light], size: tuple[int, int], largest: int = MAX_CELL) -> None:
        self.temperatures = [t for t in TEMPERATURES if any(light.temperature == t for light in lights)]
        self.directions = [d for d in DIRECTIONS if any(light.direction == d for light in lights)]
        super().__init__([f"{t} K" for t in self.temperatures], self.directions, cell_size(size, largest))

    def place_light(self, light: Light, image: np.ndarray) -> None:
        """``image``, relit to ``light``, in that light's cell."""
        self.place(self.temperatures.index(light.temperature), self.directions.index(light.direction), image)


def light_sheet(images: Mapping[Light, np.ndarray], largest: int = MAX_CELL) -> np.ndarray:
    """One image relit to several lights as a sheet: rows the temperatures, columns the directions (those
    among ``images``, in VIDIT's order: 5 x 8 for all 40), each cell at its light; missing ones grey."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    sheet = LightSheet(list(images), next(iter(images.values())).shape[:2], largest)
    for light, image in images.items():
        sheet.place_light(light, image)
    return sheet.picture()


def _colour(value: float, limit: float) -> tuple[int, int, int]:
    """Green for gains, red for losses, white for none, fully saturated at ``limit``."""
    share = max(-1.0, min(1.0, value / limit)) if limit > 0 else 0.0
    fade = int(round(255 * (1 - abs(share) * 0.75)))
    return (fade, 255, fade) if share >= 0 else (255, fade, fade)


def heat_map(values: Sequence[Sequence[float | None]], row_labels: Sequence[str], col_labels: Sequence[str],
             title: str, cell: tuple[int, int] = (24, 44)) -> np.ndarray:
    """``values[row][col]`` as coloured cells with the number written in (``+1.2``; ``-`` where None),
    under ``title``; colours run from red (loss) through white to green (gain)."""
    finite = [abs(v) for row in values for v in row if v is not None and math.isfinite(v)]
    limit = max(finite, default=0.0)
    where = layout(len(row_labels), len(col_labels), cell, row_labels, title=True)
    height, width = where.size
    width = max(width, _text_width(title) + 2 * PAD)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = _font()
    for row, line in enumerate(values):
        for col, value in enumerate(line):
            top, left = where.origin(row, col)
            known = value is not None and math.isfinite(value)
            fill = _colour(value, limit) if known else EMPTY  # type: ignore[arg-type]
            draw.rectangle([left, top, left + cell[1] - 1, top + cell[0] - 1], fill=fill)
            draw.text((left + cell[1] / 2, top + cell[0] / 2), f"{value:+.1f}" if known else "-", fill=INK, font=font, anchor="mm")
    draw.text((PAD, LABEL_HEIGHT / 2), title, fill=INK, font=font, anchor="lm")
    _labels(draw, where, row_labels, col_labels)
    return np.asarray(canvas)


def write_picture(path: str | os.PathLike[str], picture: np.ndarray) -> Path:
    """Write a sheet or heat map atomically (8-bit, any image type :func:`relight.io.write_image` writes)."""
    from relight.io import write_image

    return write_image(path, picture, bit_depth=8)


__all__ = ["LABEL_HEIGHT", "MAX_CELL", "PAD", "GridSheet", "LightSheet", "SheetLayout", "cell_size", "grid_sheet", "heat_map", "layout",
           "light_sheet", "write_picture"]
