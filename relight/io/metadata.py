"""A photo's metadata as it travels from input to output: EXIF orientation applied on reading, the
colour profile and EXIF (camera, date, lens) written into the result.

The pixels :func:`relight.io.read_image` returns are already turned upright (EXIF orientation applied),
so :class:`ImageMeta` holds EXIF with the orientation reset to 1: it describes those pixels, and it is
what the output carries. Pillow writes EXIF into JPEG, PNG and WebP; TIFFs are written by tifffile
(Pillow holds no 16-bit RGB), so their EXIF tags are added here: the camera and date tags of the first
directory, and the EXIF and GPS directories appended and pointed to.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, TiffImagePlugin

ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_PIXEL_WIDTH, _PIXEL_HEIGHT = 0xA002, 0xA003
#: ASCII tags of the first directory that a TIFF output carries over (tifffile writes the layout tags itself).
_TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)
#: The first directory's tags an output's EXIF keeps: the description, camera, orientation, resolution,
#: software, date, artist, copyright and the EXIF and GPS pointers; not a TIFF input's layout tags
#: (strip offsets, sample format), which would be false in any other file.
_KEPT_TAGS = frozenset((*_TIFF_TEXT_TAGS, ORIENTATION, 282, 283, 296, _EXIF_IFD, _GPS_IFD))


@dataclass(frozen=True)
class ImageMeta:
    """What an output keeps of its input besides the pixels.

    ``icc``: the input's ICC profile (None: untagged, taken as sRGB); ``exif``: its EXIF with the
    orientation reset to 1 (None: none); ``bit_depth``: 8, 16, or 32 for float pixels; ``orientation``:
    the EXIF orientation that was applied on reading (1: none).
    """

    icc: bytes | None = None
    exif: bytes | None = None
    bit_depth: int = 8
    orientation: int = 1


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``H x W [x C]`` pixels as they display under EXIF ``orientation`` (1 to 8; others as stored)."""
    if orientation in (5, 6, 7, 8):
        pixels = pixels.swapaxes(0, 1)  # 5 is the transpose; 6, 7 and 8 a flip of it
    if orientation in (2, 3, 6, 7):
        pixels = pixels[:, ::-1]
    if orientation in (3, 4, 7, 8):
        pixels = pixels[::-1]
    return pixels


def exif_of(image: Image.Image) -> tuple[bytes | None, int]:
    """An opened image's EXIF, orientation reset to 1, and the orientation it had (1 without EXIF)."""
    exif = image.getexif()
    if not exif:
        return None, 1
    orientation = exif.get(ORIENTATION, 1)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    for tag in [tag for tag in exif if tag not in _KEPT_TAGS]:
        del exif[tag]
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1
    for pointer in (_EXIF_IFD, _GPS_IFD):  # load the directories, so that writing the EXIF keeps them
        exif.get_ifd(pointer)
    return exif.tobytes(), orientation


def output_exif(exif: bytes, height: int, width: int) -> Image.Exif:
    """The EXIF to write for an ``height x width`` output: the input's, its pixel dimensions updated."""
    out = Image.Exif()
    out.load(exif)
    sub = out.get_ifd(_EXIF_IFD)
    if _PIXEL_WIDTH in sub or _PIXEL_HEIGHT in sub:
        sub[_PIXEL_WIDTH], sub[_PIXEL_HEIGHT] = width, height
    out.get_ifd(_GPS_IFD)
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png_with_metadata(png: bytes, icc: bytes | None, exif: Image.Exif | None) -> bytes:
    """A PNG file's bytes with an ``iCCP`` (the profile) and an ``eXIf`` chunk put after its header, where
    readers look for them."""
    chunks = b""
    if icc is not None:
        chunks += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif is not None:
        chunks += _png_chunk(b"eXIf", exif.tobytes().removeprefix(b"Exif\x00\x00"))
    header_end = 8 + 25  # the signature, then the IHDR chunk (13 bytes of data)
    return png[:header_end] + chunks + png[header_end:]


def tiff_options(exif: Image.Exif | None) -> dict[str, Any]:
    """tifffile's ``imwrite`` keywords for the first directory's EXIF text tags (camera, date), with
    placeholders for the EXIF and GPS directory pointers that :func:`append_tiff_exif` fills in."""
    if exif is None:
        return {}
    extra = [(tag, "s", 0, str(exif[tag]), True) for tag in _TIFF_TEXT_TAGS if tag in exif and tag not in (270, 305, 306)]
    extra += [(ORIENTATION, "H", 1, 1, True)] if ORIENTATION in exif else []
    # tifffile refuses to write the pointer tags: each goes in as the unused tag just below it (so the
    # directory stays sorted once it is renamed) and is renamed by append_tiff_exif
    extra += [(pointer - 1, "I", 1, 0, True) for pointer in (_EXIF_IFD, _GPS_IFD) if exif.get_ifd(pointer)]
    return {"software": exif.get(305, False), "datetime": exif.get(306), "description": exif.get(270), "metadata": None,
            "extratags": extra}


def append_tiff_exif(path: Path, exif: Image.Exif | None) -> None:
    """Append the EXIF and GPS directories to a TIFF written with :func:`tiff_options`, and point to them."""
    import tifffile

    if exif is None:
        return
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        slots = {pointer: (tags[pointer - 1].offset, tags[pointer - 1].valueoffset) for pointer in (_EXIF_IFD, _GPS_IFD) if pointer - 1 in tags}
        order = tif.byteorder
    with path.open("r+b") as fh:
        for pointer, (entry, slot) in slots.items():
            end = fh.seek(0, 2)
            end += end % 2  # directories start on a word boundary
            directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II" if order == "<" else b"MM")
            for tag, value in exif.get_ifd(pointer).items():
                directory[tag] = value
            fh.seek(end)
            fh.write(directory.tobytes(end))
            fh.seek(entry)
            fh.write(struct.pack(f"{order}H", pointer))
            fh.seek(slot)
            fh.write(struct.pack(f"{order}I", end))


__all__ = ["ORIENTATION", "ImageMeta", "append_tiff_exif", "exif_of", "orient", "output_exif", "png_with_metadata", "tiff_options"]
