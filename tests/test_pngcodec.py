"""relight's PNG encoder and its decoder for None/Sub/Up-filtered PNGs, against Pillow, pypng and hand-made files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import png
import pytest
from PIL import Image

from badfiles import png_chunk
from relight.io import read_image
from relight.errors import InputFileError
from relight.io.pngcodec import SIGNATURE, decode_png, encode_png

COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filter_row(kind: int, row: bytes, above: bytes, step: int) -> bytes:
    """One row under PNG filter ``kind`` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth), written out longhand."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - step] if i >= step else 0
        b = above[i]
        c = above[i - step] if i >= step else 0
        predictor = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
        out.append((x - predictor) % 256)
    return bytes(out)


def make_png(pixels: np.ndarray, filters: list[int], idat_parts: int = 1, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A PNG of ``pixels`` (H x W x C, uint8 or uint16) with the given filter on each row, independent of relight."""
    h, w, c = pixels.shape
    step = c * pixels.dtype.itemsize
    rows = pixels.astype(pixels.dtype.newbyteorder(">")).tobytes()
    stride = w * step
    scan, above = bytearray(), bytes(stride)
    for r in range(h):
        row = rows[r * stride : (r + 1) * stride]
        scan += bytes([filters[r]]) + _filter_row(filters[r], row, above, step)
        above = row
    data = zlib.compress(bytes(scan), 6)
    cut = [len(data) * k // idat_parts for k in range(idat_parts + 1)]
    header = struct.pack(">IIBBBBB", w, h, 8 * pixels.dtype.itemsize, COLOUR_TYPES[c], 0, 0, 0)
    return SIGNATURE + png_chunk(b"IHDR", header) + b"".join(png_chunk(k, v) for k, v in extra) + b"".join(
        png_chunk(b"IDAT", data[cut[k] : cut[k + 1]]) for k in range(idat_parts)
    ) + png_chunk(b"IEND", b"")


def _pixels(h: int, w: int, c: int, dtype: type, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, (h, w, c)).astype(dtype)


def _as_decoded(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., 0] if pixels.shape[2] == 1 else pixels


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("filters", ["none", "sub", "up", "mixed"])
def test_decoder_undoes_none_sub_and_up_rows_exactly(dtype: type, channels: int, filters: str) -> None:
    h, w = 11, 7
    pixels = _pixels(h, w, channels, dtype, seed=channels)
    rows = {"none": [0] * h, "sub": [1] * h, "up": [2] * h, "mixed": [2, 2, 1, 0, 2, 2, 2, 1, 1, 2, 0]}[filters]
    back = decode_png(make_png(pixels, rows, idat_parts=3))
    assert back is not None
    assert back.dtype == dtype
    assert np.array_equal(back, _as_decoded(pixels))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("kind", [3, 4])
def test_average_and_paeth_rows_fall_back_to_pillow_or_pypng_with_the_same_pixels(
    tmp_path: Path, dtype: type, channels: int, kind: int
) -> None:
    """Pillow for 8 bits and 16-bit grey, pypng for 16-bit colour: every path gives back the exact pixels."""
    pixels = _pixels(9, 5, channels, dtype)
    data = make_png(pixels, [1, 0, 2, kind, 1, 1, 1, 1, 1])
    assert decode_png(data) is None
    path = tmp_path / "x.png"
    path.write_bytes(data)
    expected = np.repeat(pixels, 3 // channels, axis=2).astype(np.float32) / np.iinfo(dtype).max
    assert np.array_equal(read_image(path).rgb, expected)


def test_decoder_checks_filters_while_it_inflates_and_spans_many_steps() -> None:
    """Large enough for several 64 KB inflate steps, over several IDAT chunks; a Paeth row late on still counts."""
    pixels = _pixels(300, 300, 3, np.uint8)
    assert np.array_equal(decode_png(make_png(pixels, [1] * 300, idat_parts=5)), pixels)
    assert decode_png(make_png(pixels, [1] * 299 + [4], idat_parts=5)) is None


def test_encoder_output_is_decoded_without_pillow_and_pillow_files_still_read(tmp_path: Path) -> None:
    pixels = _pixels(40, 30, 4, np.uint8)
    assert np.array_equal(decode_png(encode_png(pixels)), pixels)
    path = tmp_path / "pil.png"
    Image.fromarray(pixels).save(path)  # Pillow's adaptive filters: whichever the decoder covers or not
    assert np.array_equal(np.round(read_image(path).alpha * 255), pixels[..., 3])


def test_palettes_transparency_keys_and_interlacing_are_left_to_pillow() -> None:
    pixels = _pixels(4, 4, 3, np.uint8)
    assert decode_png(make_png(pixels, [0] * 4, extra=[(b"tRNS", b"\0\0\0\0\0\0")])) is None
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 1))  # the last byte: Adam7 interlacing
    assert decode_png(SIGNATURE + header + make_png(pixels, [0] * 4)[33:]) is None
    assert decode_png(b"GIF89a") is None


def _damaged(kind: str) -> bytes:
    data = bytearray(make_png(_pixels(16, 16, 3, np.uint8), [1] * 16))
    if kind == "crc":
        data[-20] ^= 0xFF  # a byte inside the IDAT chunk
        return bytes(data)
    if kind == "truncated":
        return bytes(data[:-30])
    height = {"short data": 17, "long data": 15}[kind]  # the header claims one row more or fewer than the data holds
    return SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, height, 8, 2, 0, 0, 0)) + bytes(data[33:])


@pytest.mark.parametrize(("kind", "problem"), [
    ("crc", "CRC mismatch in chunk IDAT"),
    ("truncated", "file ends inside chunk IDAT"),
    ("short data", "image data is 784 bytes, its header implies 833"),
    ("long data", "more image data than the 735 bytes its header implies"),
])
def test_damaged_files_get_one_line_naming_the_problem(tmp_path: Path, kind: str, problem: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(_damaged(kind))
    with pytest.raises(InputFileError) as err:
        read_image(path)
    message = str(err.value)
    assert str(path) in message
    assert "corrupt or truncated image" in message
    assert problem in message
    assert "\n" not in message


def test_size_is_checked_before_anything_is_inflated() -> None:
    seen = []

    def check(width: int, height: int) -> None:
        seen.append((width, height))
        raise ValueError("too big")

    with pytest.raises(ValueError, match="too big"):
        decode_png(make_png(_pixels(3, 5, 3, np.uint8), [0] * 3), check_size=check)
    assert seen == [(5, 3)]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize(("h", "w"), [(1, 1), (3, 7), (64, 48)])
def test_png_encoder_is_read_back_exactly_by_other_decoders(tmp_path: Path, dtype: type, channels: int, h: int, w: int) -> None:
    """relight writes PNGs itself (Sub filter + deflate): Pillow and pypng must read every byte back."""
    pixels = np.random.default_rng(h * w).integers(0, np.iinfo(dtype).max + 1, (h, w, channels)).astype(dtype)
    path = tmp_path / "x.png"
    path.write_bytes(encode_png(pixels))
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    back = np.vstack([np.asarray(row, dtype=dtype) for row in rows]).reshape(height, width, info["planes"])
    assert info["bitdepth"] == 8 * np.dtype(dtype).itemsize
    assert info["alpha"] == (channels == 4)
    assert np.array_equal(back, pixels)
    if dtype == np.uint8:
        with Image.open(path) as im:
            assert im.mode == ("RGBA" if channels == 4 else "RGB")
            assert np.array_equal(np.asarray(im), pixels)


def test_png_encoder_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="RGB or RGBA"):
        encode_png(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="float32"):
        encode_png(np.zeros((4, 4, 3), np.float32))
