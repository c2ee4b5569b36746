"""How much faster are relight's PNG encoder and decoder than Pillow's? Side by side, per image.

For each size, one smooth random 8-bit RGB image (as ``benchmarks/batch.py`` uses) is encoded and
decoded ``--repeats`` times by each method in alternation, and the median counts:

* encode: Pillow at level 1 and at its default level 6 (adaptive row filters), relight's encoder
  (:func:`relight.io.pngcodec.encode_png`: "Sub" rows, deflate level 1) with ISA-L where installed, and with
  the standard library's zlib (what it falls back to where ``isal`` has no wheel);
* decode to a pixel array: Pillow, and relight's reading path (:func:`relight.io.pngcodec.decode_png`,
  falling back to Pillow when it returns None, as :func:`relight.io.read_image` does), each on
  relight's file and on Pillow's. Pillow picks each row's filter by content: where it chose Average or
  Paeth rows, relight's path pays for the attempt up to the first such row, and then for Pillow.

Run from the repository root:

    .venv/bin/python benchmarks/pngcodec.py --sizes 256,1024 --repeats 21 --json runs/bench-png.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

import relight.io.pngcodec as pngcodec
from batch import random_field
from relight.cli import out_console
from relight.io import write_json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512,1024", help="comma-separated square sizes")
    parser.add_argument("--repeats", type=int, default=21, help="timed calls per method (median reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


@contextlib.contextmanager
def stdlib_zlib() -> Iterator[None]:
    """relight's encoder as it runs without ``isal``."""
    saved, pngcodec._deflate = pngcodec._deflate, zlib
    try:
        yield
    finally:
        pngcodec._deflate = saved


def pillow_png(pixels: np.ndarray, level: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def pillow_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im)


def relight_decode(data: bytes) -> np.ndarray:
    pixels = pngcodec.decode_png(data)
    return pillow_decode(data) if pixels is None else pixels


def relight_encode_zlib(pixels: np.ndarray) -> bytes:
    with stdlib_zlib():
        return pngcodec.encode_png(pixels)


def bench_size(size: int, repeats: int) -> list[dict[str, object]]:
    pixels = np.round(random_field(np.random.default_rng(size), size, 3) * 255).astype(np.uint8)
    ours, pillows = pngcodec.encode_png(pixels), pillow_png(pixels, 6)
    pillow_fast, ours_zlib = pillow_png(pixels, 1), relight_encode_zlib(pixels)
    methods: dict[str, tuple[str, Callable[[], object], int]] = {  # kind, what is timed, the file's bytes
        "encode: Pillow, level 1": ("encode", lambda: pillow_png(pixels, 1), len(pillow_fast)),
        "encode: Pillow, level 6 (default)": ("encode", lambda: pillow_png(pixels, 6), len(pillows)),
        "encode: relight": ("encode", lambda: pngcodec.encode_png(pixels), len(ours)),
        "encode: relight, stdlib zlib": ("encode", lambda: relight_encode_zlib(pixels), len(ours_zlib)),
        "decode relight's file: Pillow": ("decode", lambda: pillow_decode(ours), len(ours)),
        "decode relight's file: relight": ("decode", lambda: relight_decode(ours), len(ours)),
        "decode Pillow's file: Pillow": ("decode", lambda: pillow_decode(pillows), len(pillows)),
        "decode Pillow's file: relight": ("decode", lambda: relight_decode(pillows), len(pillows)),
    }
    for name, (kind, run, _) in methods.items():  # every method decodes to the same pixels
        if kind == "decode" and not np.array_equal(run(), pixels):
            raise SystemExit(f"{name}: wrong pixels")
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats + 1):  # the first round warms up
        for name, (_, run, _) in methods.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    rows = []
    for name, (kind, _, file_bytes) in methods.items():
        rows.append({"size": size, "kind": kind, "method": name, "ms": 1000 * statistics.median(times[name][1:]),
                     "file_kb": file_bytes / 1024, "pillow_fallback": name == "decode Pillow's file: relight" and pngcodec.decode_png(pillows) is None})
    ms = {row["method"]: row["ms"] for row in rows}
    for row in rows:  # encoders against Pillow at level 1; decoders against Pillow on the same file
        pillow = "encode: Pillow, level 1" if row["kind"] == "encode" else str(row["method"]).split(":")[0] + ": Pillow"
        row["x_pillow"] = ms[pillow] / row["ms"]
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [row for size in sizes for row in bench_size(size, args.repeats)]
    table = Table(title=f"PNG encode and decode, 8-bit RGB, one thread (deflate: {pngcodec._deflate.__name__})")
    for column in ("size", "method", "ms (median)", "file KB", "x Pillow"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in rows:
        method = f"{row['method']} (Average/Paeth rows: Pillow after the attempt)" if row["pillow_fallback"] else str(row["method"])
        table.add_row(str(row["size"]), method, f"{row['ms']:.2f}", f"{row['file_kb']:.0f}", f"{row['x_pillow']:.2f}x")
    (out_console if out_console.is_terminal else Console(width=160)).print(table)
    print("x Pillow: encode rows against Pillow at level 1; decode rows against Pillow on the same file")
    if args.json:
        write_json(args.json, {
            "benchmark": "png",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "repeats": args.repeats,
            "deflate": pngcodec._deflate.__name__,
            "machine": platform.processor() or platform.machine(),
            "rows": rows,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
