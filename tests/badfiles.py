"""Files the tests build by hand to feed relight's readers: PNG chunks written independently of relight's own
encoder, PNGs that break off or claim more pixels than they hold, and a pickle that runs code when loaded."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk (length, type, data, CRC)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def header_only_png(path: Path, width: int, height: int, idat: bytes = b"\0" * 8) -> Path:
    """An 8-bit RGB PNG whose header claims ``width`` x ``height`` but whose data is ``idat`` compressed: decoding it
    fails as truncated, so a refusal that names the pixel limit came from the header alone."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(idat)) + png_chunk(b"IEND", b""))
    return path


def truncated_png(path: Path) -> None:
    """A 64 x 64 PNG cut off after 300 bytes."""
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])


def bomb_png(path: Path) -> None:
    """A valid PNG header claiming 100000 x 100000 pixels, with almost no data behind it."""
    header_only_png(path, 100_000, 100_000, b"\0" * 10)


class PicklePayload:
    """Unpickled, it touches ``marker``: a depth file carrying it must be refused before it runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))
