"""A photo's metadata as it travels from input to output: EXIF orientation applied on reading, the
colour profile, EXIF (camera, date, lens), XMP, the resolution (DPI) and comments written into the
result where its format holds them: XMP in all four output types, the resolution in PNG, JPEG and TIFF,
comments (a PNG's text chunks, a JPEG's comment) in PNG and, as its comment, JPEG.

The pixels :func:`relight.io.read_image` returns are already turned upright (EXIF orientation applied),
so :class:`ImageMeta` holds EXIF with the orientation reset to 1: it describes those pixels, and it is
what the output carries. Pillow writes EXIF into JPEG, PNG and WebP; TIFFs are written by tifffile
(Pillow holds no 16-bit RGB), so their EXIF tags are added here: the camera and date tags of the first
directory, and the EXIF and GPS directories appended and pointed to.
"""

from __future__ import annotations

import numbers
import re
import struct
import zlib
from collections.abc import Iterator
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


#: The PNG text keyword that holds XMP, and the one a JPEG comment is kept as.
XMP_KEYWORD, COMMENT = "XML:com.adobe.xmp", "Comment"
_XMP_ORIENTATION = re.compile(rb"(tiff:Orientation\s*=\s*[\"']|<tiff:Orientation>\s*)[1-8]")
_INCH = 0.0254  # metres
_MAX_TEXT = 1 << 20  # bytes a compressed PNG text chunk may inflate to


@dataclass(frozen=True)
class ImageMeta:
    """What an output keeps of its input besides the pixels.

    ``icc``: the input's ICC profile (None: untagged, taken as sRGB); ``exif``: its EXIF with the
    orientation reset to 1 (None: none); ``bit_depth``: 8, 16, or 32 for float pixels; ``orientation``:
    the EXIF orientation that was applied on reading (1: none); ``xmp``: its XMP packet, its orientation
    reset to 1 too; ``dpi``: (horizontal, vertical) pixels per inch of the upright image; ``comments``:
    (keyword, text) pairs, a PNG's text chunks or a JPEG's comment (as ``Comment``).
    """

    icc: bytes | None = None
    exif: bytes | None = None
    bit_depth: int = 8
    orientation: int = 1
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    comments: tuple[tuple[str, str], ...] = ()


def upright_xmp(xmp: bytes | str | None) -> bytes | None:
    """An XMP packet with its ``tiff:Orientation`` set to 1: it describes the upright pixels, as the EXIF does."""
    if not xmp:
        return None
    data = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
    return _XMP_ORIENTATION.sub(rb"\g<1>1", data)


def upright_dpi(dpi: Any, orientation: int) -> tuple[float, float] | None:
    """A resolution as Pillow reads it (numbers, a TIFF's as fractions), for the pixels turned upright (a
    quarter turn swaps its axes)."""
    if not (isinstance(dpi, tuple) and len(dpi) == 2 and all(isinstance(v, numbers.Real) and v > 0 for v in dpi)):
        return None
    x, y = float(dpi[0]), float(dpi[1])
    return (y, x) if orientation in (5, 6, 7, 8) else (x, y)


def extras_of(im: Image.Image, orientation: int) -> tuple[bytes | None, tuple[float, float] | None, tuple[tuple[str, str], ...]]:
    """An opened JPEG's, TIFF's or WebP's XMP, resolution and comment, from its header (PNG: :func:`png_extras`)."""
    comment = im.info.get("comment") if im.format == "JPEG" else None
    text = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment
    return upright_xmp(im.info.get("xmp")), upright_dpi(im.info.get("dpi"), orientation), ((COMMENT, text),) if text else ()


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """A PNG's chunks up to ``IEND``, as (type, data), the image data left out."""
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IEND":
            return
        if kind != b"IDAT":
            yield kind, data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def png_tag_kinds(data: bytes) -> set[bytes]:
    """The metadata chunk types a PNG holds (``iCCP``, ``eXIf``, ``pHYs``, text), wherever they are."""
    return {kind for kind, _ in _png_chunks(data) if kind in (b"iCCP", b"eXIf", b"pHYs", b"tEXt", b"zTXt", b"iTXt")}


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    text = inflater.decompress(data, _MAX_TEXT)
    if inflater.unconsumed_tail:
        raise ValueError("a text chunk over the size relight keeps")
    return text


def _text_chunk(kind: bytes, body: bytes) -> tuple[str, str]:
    """A ``tEXt``, ``zTXt`` or ``iTXt`` chunk as (keyword, text)."""
    key, _, rest = body.partition(b"\0")
    if kind == b"tEXt":
        return key.decode("latin-1"), rest.decode("latin-1")
    if kind == b"zTXt":
        return key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1")
    compressed, _, rest = rest[0], rest[1], rest[2:]
    _language, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return key.decode("latin-1"), (_inflate(text) if compressed else text).decode("utf-8")


def png_extras(data: bytes, orientation: int) -> tuple[bytes | None, tuple[float, float] | None, tuple[tuple[str, str], ...], list[str]]:
    """A PNG's XMP, resolution (``pHYs`` in metres) and text chunks, read from its bytes (Pillow would decode
    every pixel to find the chunks after them), and notes on what could not be read."""
    xmp, dpi, texts, notes = None, None, [], []
    for kind, body in _png_chunks(data):
        if kind == b"pHYs" and len(body) == 9:
            x, y, unit = struct.unpack(">IIB", body)
            dpi = upright_dpi((x * _INCH, y * _INCH), orientation) if unit == 1 else None
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            try:
                key, text = _text_chunk(kind, body)
            except (ValueError, IndexError, UnicodeDecodeError, zlib.error) as exc:
                notes.append(f"a damaged {kind.decode()} chunk not kept ({exc})")
                continue
            if key == XMP_KEYWORD:
                xmp = upright_xmp(text)
            else:
                texts.append((key, text))
    return xmp, dpi, tuple(texts), notes


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


def _png_text(key: str, text: str) -> bytes:
    """A text chunk: ``tEXt`` where keyword and text are Latin-1, else an uncompressed ``iTXt`` (UTF-8)."""
    try:
        return _png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return _png_chunk(b"iTXt", key.encode("latin-1", "replace") + b"\0\0\0\0\0" + text.encode("utf-8"))


def png_with_metadata(png: bytes, icc: bytes | None, exif: Image.Exif | None, meta: ImageMeta | None = None) -> bytes:
    """A PNG file's bytes with an ``iCCP`` (the profile), an ``eXIf``, a ``pHYs`` (the resolution), an
    ``iTXt`` (the XMP) and text chunks (``meta.comments``) put after its header, where readers look for them."""
    chunks = b""
    if icc is not None:
        chunks += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif is not None:
        chunks += _png_chunk(b"eXIf", exif.tobytes().removeprefix(b"Exif\x00\x00"))
    if meta is not None and meta.dpi is not None:
        chunks += _png_chunk(b"pHYs", struct.pack(">IIB", *(round(v / _INCH) for v in meta.dpi), 1))
    if meta is not None and meta.xmp is not None:
        chunks += _png_chunk(b"iTXt", XMP_KEYWORD.encode() + b"\0\0\0\0\0" + meta.xmp)
    for key, text in meta.comments if meta is not None else ():
        chunks += _png_text(key, text)
    header_end = 8 + 25  # the signature, then the IHDR chunk (13 bytes of data)
    return png[:header_end] + chunks + png[header_end:]


def jpeg_comment(meta: ImageMeta) -> str | None:
    """The comment a JPEG output carries: the input's comments (a PNG's ``Comment`` chunks), joined."""
    texts = [text for key, text in meta.comments if key == COMMENT]
    return "\n".join(texts) if texts else None


def tiff_options(exif: Image.Exif | None, meta: ImageMeta | None = None) -> dict[str, Any]:
    """tifffile's ``imwrite`` keywords for the resolution, the XMP (tag 700) and the first directory's EXIF
    text tags (camera, date), with placeholders for the EXIF and GPS directory pointers that
    :func:`append_tiff_exif` fills in."""
    extras: dict[str, Any] = {}
    if meta is not None and meta.dpi is not None:
        extras = {"resolution": meta.dpi, "resolutionunit": 2}  # per inch
    xmp = [(700, "B", len(meta.xmp), meta.xmp, True)] if meta is not None and meta.xmp is not None else []
    if exif is None:
        return {**extras, "extratags": xmp} if xmp else extras
    extra = xmp + [(tag, "s", 0, str(exif[tag]), True) for tag in _TIFF_TEXT_TAGS if tag in exif and tag not in (270, 305, 306)]
    extra += [(ORIENTATION, "H", 1, 1, True)] if ORIENTATION in exif else []
    # tifffile refuses to write the pointer tags: each goes in as the unused tag just below it (so the
    # directory stays sorted once it is renamed) and is renamed by append_tiff_exif
    extra += [(pointer - 1, "I", 1, 0, True) for pointer in (_EXIF_IFD, _GPS_IFD) if exif.get_ifd(pointer)]
    return {**extras, "software": exif.get(305, False), "datetime": exif.get(306), "description": exif.get(270), "metadata": None,
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


__all__ = ["COMMENT", "ORIENTATION", "XMP_KEYWORD", "ImageMeta", "append_tiff_exif", "exif_of", "extras_of", "jpeg_comment", "orient",
           "output_exif", "png_extras", "png_tag_kinds", "png_with_metadata", "tiff_options", "upright_dpi", "upright_xmp"]
