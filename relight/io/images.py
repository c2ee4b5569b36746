"""Reading and writing images: PNG, JPEG, TIFF and WebP, 8 or 16 bit, grey, RGB, with or without alpha.

Images come back as ``H x W x 3`` float32 RGB in [0, 1], the alpha channel kept aside. A header that
claims more than :data:`MAX_PIXELS` is refused before anything is decoded (decompression bombs). Every
writer goes through :func:`relight.io.output.atomic_output`, so a failed write leaves no partial file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import png
import tifffile
from PIL import Image, UnidentifiedImageError

from relight.errors import InputFileError, Part, first_line
from relight.io.output import OutputError, atomic_output, output_type_problem
from relight.io.pngcodec import decode_png, encode_png

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")

#: Refuse images whose header claims more pixels than this before decoding anything (decompression bombs).
MAX_PIXELS = 1 << 26  # 8192 x 8192


class InputError(InputFileError):
    """A file relight cannot use. ``str(err)`` is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], *parts: Part, **facts: object) -> None:
        super().__init__(Path(path), f"{path}: ", *parts, **facts)


@dataclass
class LoadedImage:
    """An image ready for the network: RGB in [0, 1], the alpha channel kept aside for the output."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.rgb.shape[0], self.rgb.shape[1]


def check_input_file(path: Path) -> None:
    """Refuse a missing, irregular or empty file before any reader opens it."""
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")


def to_unit(array: np.ndarray) -> np.ndarray:
    """Integer pixels to float32 in [0, 1] by their type's range; floats as they are."""
    unit = array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        unit /= float(np.iinfo(array.dtype).max)
    return unit


def _read_png16(data: bytes) -> np.ndarray:
    """16-bit PNGs through pypng, since Pillow reduces 16-bit colour PNGs to 8 bits (and older Pillows
    read 16-bit grey as 32-bit integers)."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    return array.reshape(height, width, info["planes"]).squeeze(-1) if info["planes"] == 1 else array.reshape(
        height, width, info["planes"]
    )


def read_pixels(path: Path) -> np.ndarray:
    """Decode any supported raster into a numpy array of its native type (H x W or H x W x C)."""
    check_input_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                _check_pixels(path, page.shape[1] if len(page.shape) > 1 else 1, page.shape[0])
                return page.asarray()
        data = path.read_bytes()
        if suffix == ".png":  # relight's own PNGs (and others like them) without Pillow: see relight.io.pngcodec
            pixels = decode_png(data, check_size=lambda width, height: _check_pixels(path, width, height))
            if pixels is not None:
                return pixels
        with Image.open(io.BytesIO(data)) as im:
            _check_pixels(path, *im.size)
            grey16 = im.mode == "I;16" and "transparency" not in im.info  # Pillow keeps all 16 bits of these
            if im.format == "PNG" and len(data) > 24 and data[24] == 16 and not grey16:
                return _read_png16(data)
            im.load()
            if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
                im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
            return np.asarray(im)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(path, f"image header claims too many pixels, over the {MAX_PIXELS:,}-pixel limit") from exc
    except (UnidentifiedImageError, tifffile.TiffFileError):
        raise InputError(path, f"not a readable {suffix.lstrip('.').upper() or 'image'} file") from None
    except (OSError, SyntaxError, ValueError, png.Error, EOFError) as exc:
        raise InputError(path, f"corrupt or truncated image ({first_line(exc)})") from exc


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(path, f"image header claims {width} x {height} pixels, over the {MAX_PIXELS:,}-pixel limit")
    if width == 0 or height == 0:
        raise InputError(path, "image has no pixels")


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """An image's (height, width) from its header, without decoding the pixels."""
    path = Path(path)
    check_input_file(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(path, f"not a readable image ({first_line(exc)})") from None
    return height, width


def read_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read PNG/JPEG/TIFF/WebP, 8 or 16 bit, grey, grey+alpha, RGB or RGBA."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise InputError(path, f"unsupported image type {path.suffix or '(none)'}; use one of {', '.join(IMAGE_EXTENSIONS)}")
    pixels = read_pixels(path)
    bit_depth = 16 if pixels.dtype == np.uint16 else 8 if pixels.dtype == np.uint8 else 32
    array = to_unit(pixels)
    notes: list[str] = []
    if array.ndim == 2:
        array = array[..., None]
    channels = array.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = array[..., -1].copy()
        array = array[..., :-1]
    if array.shape[2] == 1:
        notes.append("greyscale image: replicated to RGB")
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] != 3:
        raise InputError(path, f"image has {channels} channels; expected grey, RGB or RGBA")
    if bit_depth == 32:  # integer pixels are in [0, 1] already
        if not np.isfinite(array).all():
            raise InputError(path, "image holds NaN or infinite values")
        array = np.clip(array, 0.0, 1.0)
    return LoadedImage(np.ascontiguousarray(array), alpha, bit_depth, notes)


_SAVE_OPTIONS: dict[str, dict[str, int]] = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


def _clamp(array: np.ndarray, top: float = 1.0) -> np.ndarray:
    """A new float32 array of ``array * top`` clamped to [0, top]: NaN becomes 0 and infinities the
    nearer end, rather than whatever a cast makes of them (``fmax``/``fmin`` pass over NaN). One copy,
    then in place: this runs for every image a batch writes."""
    unit = np.multiply(array, top, dtype=np.float32)
    np.fmax(unit, 0.0, out=unit)
    return np.fmin(unit, top, out=unit)


def _quantise(array: np.ndarray, bit_depth: int) -> np.ndarray:
    top = 65535 if bit_depth == 16 else 255
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    unit = _clamp(array, top)
    return np.rint(unit, out=unit).astype(dtype)


def write_image(
    path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None, bit_depth: int = 8
) -> Path:
    """Write ``H x W x 3`` RGB, with optional ``H x W`` alpha, atomically.

    Floats are taken as [0, 1] and clamped, NaN written as 0 (a black or transparent pixel, never noise
    from casting NaN); integer arrays are scaled by their type's range (:func:`to_unit`), as
    :func:`read_image` reads them. The format follows the extension: PNG and TIFF (8 or 16 bit, alpha
    kept), JPEG and WebP (8 bit, no alpha), and ``.npy`` (float32 ``H x W x 3`` in [0, 1], not quantised).
    A wrong shape is the caller's bug, so it raises a plain ValueError rather than an OutputError.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    problem = output_type_problem(suffix, bit_depth)
    if problem is not None:
        raise OutputError(path, problem)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{path}: write_image needs H x W x 3 RGB, got shape {rgb.shape}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ValueError(f"{path}: write_image needs alpha of shape {rgb.shape[:2]} (H x W of the RGB), got {alpha.shape}")
    if suffix in (".jpg", ".jpeg", ".webp", ".npy"):
        alpha = None
    rgb = to_unit(rgb) if rgb.dtype.kind in "iu" else rgb
    if alpha is not None:
        alpha = to_unit(alpha) if alpha.dtype.kind in "iu" else alpha
    pixels = rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=2)
    with atomic_output(path) as tmp:
        if suffix == ".npy":
            np.save(tmp, _clamp(rgb), allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            tifffile.imwrite(tmp, _quantise(pixels, bit_depth), photometric="rgb", compression="zlib")
        elif suffix == ".png":
            tmp.write_bytes(encode_png(_quantise(pixels, bit_depth)))
        else:
            image = Image.fromarray(_quantise(rgb, 8), mode="RGB")  # JPEG and WebP: alpha was dropped above
            fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}[suffix]
            image.save(tmp, format=fmt, **_SAVE_OPTIONS[fmt])
    return path


__all__ = ["IMAGE_EXTENSIONS", "MAX_PIXELS", "InputError", "LoadedImage", "check_input_file", "image_size", "read_image",
           "read_pixels", "to_unit", "write_image"]
