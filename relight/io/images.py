"""Reading and writing images: PNG, JPEG, TIFF and WebP, 8 or 16 bit, grey, RGB, with or without alpha.

Images come back as ``H x W x 3`` float32 sRGB in [0, 1] as they display: EXIF orientation applied, a
colour profile converted to sRGB (:mod:`relight.io.colour`), the alpha channel kept aside, and what the
output keeps (profile, EXIF, bit depth) in an :class:`~relight.io.metadata.ImageMeta`. A header that
claims more than :data:`MAX_PIXELS` is refused before anything is decoded (decompression bombs). Every
writer goes through :func:`relight.io.output.atomic_output`, so a failed write leaves no partial file.
"""


from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import png
import tifffile
from PIL import Image, ImageCms, UnidentifiedImageError

from relight.errors import InputFileError, InvalidSetting, Setting, first_line
from relight.io import colour
from relight.io.metadata import (ORIENTATION, ImageMeta, append_tiff_exif, exif_of, extras_of, jpeg_comment, orient, output_exif, png_extras,
                                 png_tag_kinds, png_with_metadata, tiff_options)
from relight.io.output import atomic_output, output_type_problem
from relight.errors import OutputFileError
from relight.io.pngcodec import decode_png, encode_png

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")

#: Refuse images whose header claims more pixels than this before decoding anything (decompression bombs).
MAX_PIXELS = 1 << 26  # 8192 x 8192

#: JPEG and WebP quality when none is given: high enough that the relit photo loses no visible detail.
DEFAULT_QUALITY = 95

_HIGH_DEPTH_TYPES = (".png", ".tif", ".tiff")  # the outputs that hold 16 bits per channel


@dataclass
class LoadedImage:
    """An image ready for the network: sRGB in [0, 1] as it displays, the alpha channel kept aside for the
    output, and ``meta``: what the output keeps of the file (profile, EXIF, bit depth)."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    notes: list[str] = field(default_factory=list)
    meta: ImageMeta = field(default_factory=ImageMeta)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.rgb.shape[0], self.rgb.shape[1]


@dataclass
class _Raw:
    """Decoded pixels as stored, with the tags that say how to show them and the metadata an output keeps."""

    pixels: np.ndarray
    icc: bytes | None = None
    exif: bytes | None = None
    orientation: int = 1
    notes: list[str] = field(default_factory=list)
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    comments: tuple[tuple[str, str], ...] = ()


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe), not a regular file"), (stat.S_ISSOCK, "a socket, not a regular file"),
          (stat.S_ISCHR, "a device, not a regular file"), (stat.S_ISBLK, "a device, not a regular file"))


def unreadable(path: Path) -> str | None:
    """Why ``path`` is not a regular file that can be read (a symlink loop, a dangling symlink, a folder,
    a FIFO, ...), or None. Only ``stat`` looks at it: opening a FIFO would block until a writer came."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"a symlink to {os.readlink(path)}, which does not exist" if path.is_symlink() else "no such file"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop, which leads to no file"
        return None  # no permission and the like: the reader says it in its own words
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    return next((text for test, text in _KINDS if test(info.st_mode)), None)


def check_input_file(path: Path) -> None:
    """Refuse a missing, irregular (:func:`unreadable`) or empty file before any reader opens it."""
    problem = unreadable(path)
    if problem is not None:
        raise InputFileError(path, problem)
    with contextlib.suppress(OSError):  # no permission and the like: the reader says it
        if path.stat().st_size == 0:
            raise InputFileError(path, "file is empty (0 bytes)")


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


def _tags_of(im: Image.Image, raw: _Raw, png: bytes | None = None) -> _Raw:
    """``raw`` with the colour profile, EXIF and orientation of the opened ``im``, and its XMP, resolution and
    comments (a PNG's from its bytes ``png``: :func:`relight.io.metadata.png_extras`)."""
    raw.icc = im.info.get("icc_profile") or None
    if png is None or b"eXIf" in png_tag_kinds(png):  # a PNG's getexif decodes every pixel to look for one
        raw.exif, raw.orientation = exif_of(im)
    if png is None:
        raw.xmp, raw.dpi, raw.comments = extras_of(im, raw.orientation)
    else:
        raw.xmp, raw.dpi, raw.comments, notes = png_extras(png, raw.orientation)
        raw.notes += notes
    return raw


def _read_tiff(path: Path, tags: bool) -> _Raw:
    try:
        return _tiff_pixels(path, tags)
    except (InputFileError, tifffile.TiffFileError):
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile's parser raises whatever a damaged tag table leads to (IndexError, TypeError, ...)
        raise InputFileError(path, f"corrupt or truncated TIFF ({type(exc).__name__}: {first_line(exc)})") from None


def _tiff_pixels(path: Path, tags: bool) -> _Raw:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        if len(page.shape) < 2:
            raise InputFileError(path, f"TIFF page of shape {page.shape}, not an image")
        _check_pixels(path, page.shape[1], page.shape[0])
        raw = _Raw(page.asarray())
        if _has_second_page(tif):
            raw.notes.append("a TIFF of several pages: the first is used")
        if not tags:
            return raw
        icc = page.tags.get(34675)
        raw.icc = bytes(icc.value) if icc is not None else None
        orientation = page.tags.get(ORIENTATION)
        raw.orientation = int(orientation.value) if orientation is not None and 1 <= int(orientation.value) <= 8 else 1
    try:  # the EXIF, XMP and resolution as Pillow reads them, to write them again; Pillow opens most TIFFs' tags, not every TIFF
        with Image.open(path) as im:
            raw.exif = exif_of(im)[0]
            raw.xmp, raw.dpi, _ = extras_of(im, raw.orientation)
    except (UnidentifiedImageError, OSError, ValueError):
        raw.notes.append("EXIF, XMP and resolution not kept (Pillow cannot read this TIFF's tags)")
    return raw


def _has_second_page(tif: tifffile.TiffFile) -> bool:
    """Whether a TIFF holds a second page (only its directory is read: a crafted chain of pages is not walked)."""
    try:
        tif.pages[1]
    except (IndexError, tifffile.TiffFileError, ValueError):
        return False
    return True


def _read_with_pillow(path: Path, data: bytes, tags: bool) -> _Raw:
    with Image.open(io.BytesIO(data)) as im:
        _check_pixels(path, *im.size)
        raw = _tags_of(im, _Raw(np.zeros(0)), data if im.format == "PNG" else None) if tags else _Raw(np.zeros(0))
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            raw.notes.append(f"an animated or multi-page {im.format} of {frames} frames: the first is used")
        grey16 = im.mode == "I;16" and "transparency" not in im.info  # Pillow keeps all 16 bits of these
        if im.format == "PNG" and len(data) > 24 and data[24] == 16 and not grey16:
            raw.pixels = _read_png16(data)
            return raw
        im.load()
        if im.mode == "CMYK" and raw.icc is not None and colour.colour_space(raw.icc) == "CMYK":
            im = ImageCms.profileToProfile(im, io.BytesIO(raw.icc), ImageCms.createProfile("sRGB"), outputMode="RGB")
            raw.icc = None
            raw.notes.append("CMYK image: converted to sRGB through its colour profile, and written in sRGB")
        if im.mode == "1":  # black and white: grey, as a depth map or a photo holds it
            im = im.convert("L")
        if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
        raw.pixels = np.asarray(im)
    return raw


def _read(path: Path, tags: bool) -> _Raw:
    """Decode any supported raster into a numpy array of its native type (H x W or H x W x C), as stored;
    with ``tags``, also its colour profile, EXIF and orientation."""
    check_input_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            return _read_tiff(path, tags)
        data = path.read_bytes()
        if suffix == ".png":  # relight's own PNGs (and others like them) without Pillow: see relight.io.pngcodec
            pixels = decode_png(data, check_size=lambda width, height: _check_pixels(path, width, height))
            if pixels is not None:
                if tags and png_tag_kinds(data):
                    with Image.open(io.BytesIO(data)) as im:
                        return _tags_of(im, _Raw(pixels), data)
                return _Raw(pixels)
        return _read_with_pillow(path, data, tags)
    except InputFileError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputFileError(path, f"image header claims too many pixels, over the {MAX_PIXELS:,}-pixel limit") from exc
    except (UnidentifiedImageError, tifffile.TiffFileError):
        raise InputFileError(path, f"not a readable {suffix.lstrip('.').upper() or 'image'} file") from None
    # zlib.error and struct.error: a damaged deflate stream or tag table inside a TIFF (tifffile passes them on)
    except (OSError, SyntaxError, ValueError, png.Error, EOFError, ImageCms.PyCMSError, zlib.error, struct.error) as exc:
        raise InputFileError(path, f"corrupt or truncated image ({first_line(exc)})") from exc


def read_pixels(path: Path, notes: list[str] | None = None) -> np.ndarray:
    """Decode any supported raster into a numpy array of its native type (H x W or H x W x C), as stored
    (no orientation or colour profile applied: depth maps are read this way); ``notes`` is given what the
    reader has to say (the first of several frames used)."""
    raw = _read(path, tags=False)
    if notes is not None:
        notes.extend(raw.notes)
    return raw.pixels


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InputFileError(path, f"image header claims {width} x {height} pixels, over the {MAX_PIXELS:,}-pixel limit")
    if width == 0 or height == 0:
        raise InputFileError(path, "image has no pixels")


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """An image's (height, width) as it displays (EXIF orientation applied), from its header, without
    decoding the pixels."""
    path = Path(path)
    check_input_file(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            _check_pixels(path, width, height)  # before anything else is read
            # Pillow turns TIFFs upright itself, size included
            turned = im.format != "TIFF" and _header_orientation(im) in (5, 6, 7, 8)
    except InputFileError:
        raise
    except Image.DecompressionBombError:
        raise InputFileError(path, f"image header claims too many pixels, over the {MAX_PIXELS:,}-pixel limit") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputFileError(path, f"not a readable image ({first_line(exc)})") from None
    return (width, height) if turned else (height, width)


def _header_orientation(im: Image.Image) -> int:
    """The EXIF orientation an opened image's header holds. A PNG's ``getexif`` would decode every pixel
    to look for an ``eXIf`` chunk after the image data, so only the chunks before it are read there."""
    if im.format == "PNG":
        exif = Image.Exif()
        if im.info.get("exif"):
            exif.load(im.info["exif"])
        return exif.get(ORIENTATION, 1)
    return im.getexif().get(ORIENTATION, 1)


def _to_srgb(path: Path, rgb: np.ndarray, icc: bytes | None, bit_depth: int, notes: list[str]) -> tuple[np.ndarray, bytes | None]:
    """``rgb`` (floats in [0, 1]) converted from ``icc`` to sRGB, and the profile the output keeps."""
    if icc is None or colour.is_srgb(icc):
        return rgb, icc
    if not colour.is_usable(icc):
        space = colour.colour_space(icc)
        what = "damaged colour profile" if space == "?" else f"{space} colour profile"
        notes.append(f"its {what} does not fit an RGB image: read as sRGB, written untagged")
        return rgb, None
    try:
        if bit_depth == 8:  # exactly the stored bytes, through LittleCMS
            return to_unit(colour.convert(_quantise(rgb, 8), icc, to_srgb=True)), icc
        if colour.needs_8bit(icc):
            notes.append("its colour profile has no matrix and curves: converted to sRGB at 8-bit precision")
        return colour.convert(rgb, icc, to_srgb=True), icc
    except ImageCms.PyCMSError as exc:
        raise InputFileError(path, f"colour profile cannot be applied ({first_line(exc)})") from None


def read_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read PNG/JPEG/TIFF/WebP, 8 or 16 bit, grey, grey+alpha, RGB or RGBA, as it displays (EXIF
    orientation applied) in sRGB (a colour profile converted); ``meta`` keeps what the output needs."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise InputFileError(path, f"unsupported image type {path.suffix or '(none)'}; use one of {', '.join(IMAGE_EXTENSIONS)}")
    raw = _read(path, tags=True)
    pixels = orient(raw.pixels, raw.orientation)
    bit_depth = 16 if pixels.dtype == np.uint16 else 8 if pixels.dtype == np.uint8 else 32
    array = to_unit(pixels)
    notes = [*raw.notes]
    if array.ndim not in (2, 3):
        raise InputFileError(path, f"image of shape {array.shape}; expected height x width, with or without channels")
    if array.ndim == 2:
        array = array[..., None]
    channels = array.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = np.ascontiguousarray(array[..., -1])
        array = array[..., :-1]
    if array.shape[2] == 1:
        notes.append("greyscale image: replicated to RGB")
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] != 3:
        raise InputFileError(path, f"image has {channels} channels; expected grey, RGB or RGBA")
    if bit_depth == 32:  # integer pixels are in [0, 1] already
        if not np.isfinite(array).all():
            raise InputFileError(path, "image holds NaN or infinite values")
        array = np.clip(array, 0.0, 1.0)
    array, icc = _to_srgb(path, array, raw.icc, bit_depth, notes)
    meta = ImageMeta(icc, raw.exif, bit_depth, raw.orientation, raw.xmp, raw.dpi, raw.comments)
    return LoadedImage(np.ascontiguousarray(array), alpha, bit_depth, notes, meta)


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


def output_bit_depth(suffix: str, bit_depth: int | None, meta: ImageMeta | None) -> int:
    """The bit depth an output gets: ``bit_depth`` if given, else 16 for an input of more than 8 bits
    where the format holds 16 (PNG, TIFF), else 8."""
    if bit_depth is not None:
        return bit_depth
    deep = meta is not None and meta.bit_depth > 8
    return 16 if deep and suffix.lower() in _HIGH_DEPTH_TYPES else 8


def _encoded(rgb: np.ndarray, bit_depth: int, icc: bytes | None) -> np.ndarray:
    """Quantised pixels, converted from sRGB into the profile ``icc`` unless it is None or sRGB."""
    if icc is None or colour.is_srgb(icc):
        return _quantise(rgb, bit_depth)
    if colour.needs_8bit(icc):  # through LittleCMS, at 8 bits
        return _quantise(to_unit(colour.convert(_quantise(rgb, 8), icc, to_srgb=False)), bit_depth)
    return _quantise(colour.convert(_clamp(rgb), icc, to_srgb=False), bit_depth)  # in float, quantised once


def check_quality(quality: int, owner: str) -> None:
    """Refuse a JPEG/WebP quality outside 1 to 100 (before any work, for a caller that writes many)."""
    if not 1 <= quality <= 100:
        setting = Setting("quality", quality, owner=owner)
        raise InvalidSetting(setting, setting, " must be between 1 and 100")


@dataclass(frozen=True)
class OutputOptions:
    """How relit images are written, as ``relight run``, ``relight batch`` and the page share it: the
    file type ``ext`` (where the caller names the files), the ``bit_depth`` (None: the input's, see
    :func:`output_bit_depth`), the JPEG and WebP ``quality``, and ``srgb`` (write sRGB, tagged so,
    instead of the input's colour profile)."""

    ext: str = ".png"
    bit_depth: int | None = None
    quality: int = DEFAULT_QUALITY
    srgb: bool = False

    def __post_init__(self) -> None:
        if not self.ext.startswith("."):
            object.__setattr__(self, "ext", f".{self.ext}")
        check_quality(self.quality, "OutputOptions")

    def write(self, path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None,
              meta: ImageMeta | None = None) -> Path:
        """:func:`write_image` with these options."""
        return write_image(path, rgb, alpha, self.bit_depth, meta, quality=self.quality, srgb=self.srgb)


def _pillow_options(suffix: str, quality: int, icc: bytes | None, exif: Image.Exif | None, meta: ImageMeta) -> dict[str, Any]:
    """Pillow's save keywords for a JPEG or WebP output: its quality, and what of ``meta`` the format holds
    (WebP has no field for a resolution or a comment)."""
    jpeg = suffix not in (".webp",)
    comment = jpeg_comment(meta) if jpeg else None
    options = {"format": "JPEG" if jpeg else "WEBP", "quality": quality, "icc_profile": icc, "exif": exif, "xmp": meta.xmp,
               "dpi": meta.dpi if jpeg else None, "comment": comment}
    return {key: value for key, value in options.items() if value is not None}


def write_image(
    path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None, bit_depth: int | None = None,
    meta: ImageMeta | None = None, quality: int = DEFAULT_QUALITY, srgb: bool = False,
) -> Path:
    """Write ``H x W x 3`` sRGB, with optional ``H x W`` alpha, atomically, keeping what ``meta`` holds.

    Floats are taken as [0, 1] and clamped, NaN written as 0 (a black or transparent pixel, never noise
    from casting NaN); integer arrays are scaled by their type's range (:func:`to_unit`), as
    :func:`read_image` reads them. The format follows the extension: PNG and TIFF (8 or 16 bit, alpha
    kept), WebP (8 bit, alpha kept), JPEG (8 bit, no alpha) at ``quality``, and ``.npy`` (float32
    ``H x W x 3`` sRGB in [0, 1], not quantised, no metadata). ``bit_depth`` None follows the input
    (:func:`output_bit_depth`). With ``meta``, the output is converted into the input's colour profile
    and tagged with it (or, with ``srgb``, left in sRGB and tagged so), and carries its EXIF.
    A wrong shape is the caller's bug, so it raises a plain ValueError rather than an OutputFileError.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    bit_depth = output_bit_depth(suffix, bit_depth, meta)
    problem = output_type_problem(suffix, bit_depth)
    if problem is not None:
        raise OutputFileError(path, problem)
    check_quality(quality, "write_image")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{path}: write_image needs H x W x 3 RGB, got shape {rgb.shape}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ValueError(f"{path}: write_image needs alpha of shape {rgb.shape[:2]} (H x W of the RGB), got {alpha.shape}")
    if suffix in (".jpg", ".jpeg", ".npy"):
        alpha = None
    rgb = to_unit(rgb) if rgb.dtype.kind in "iu" else rgb
    meta = meta or ImageMeta()
    icc = colour.srgb_icc() if srgb else meta.icc
    exif = output_exif(meta.exif, *rgb.shape[:2]) if meta.exif is not None else None
    with atomic_output(path) as tmp:
        if suffix == ".npy":
            np.save(tmp, _clamp(rgb), allow_pickle=False)
            return path
        pixels = _encoded(rgb, bit_depth, icc)
        if alpha is not None:
            alpha = _quantise(to_unit(alpha) if alpha.dtype.kind in "iu" else alpha, bit_depth)
            pixels = np.concatenate([pixels, alpha[..., None]], axis=2)
        if suffix in (".tif", ".tiff"):
            tifffile.imwrite(tmp, pixels, photometric="rgb", compression="zlib", iccprofile=icc, **tiff_options(exif, meta))
            append_tiff_exif(tmp, exif)
        elif suffix == ".png":
            data = encode_png(pixels)
            plain = icc is None and exif is None and meta.xmp is None and meta.dpi is None and not meta.comments
            tmp.write_bytes(data if plain else png_with_metadata(data, icc, exif, meta))
        else:
            Image.fromarray(pixels, "RGBA" if alpha is not None else "RGB").save(tmp, **_pillow_options(suffix, quality, icc, exif, meta))
    return path


__all__ = ["DEFAULT_QUALITY", "IMAGE_EXTENSIONS", "MAX_PIXELS", "ImageMeta", "LoadedImage", "OutputOptions", "check_input_file", "check_quality", "unreadable",
           "image_size", "output_bit_depth", "read_image", "read_pixels", "to_unit", "write_image"]
